// SPDX-License-Identifier: MIT
// The controller <-> agent wire messages: one plain struct per message, encode/decode with full validation.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QCborValue>
#include <QtCore/QString>
#include <QtCore/QVector>

namespace taskfleet::protocol {

/**
 * Message types of the controller <-> agent protocol (value of the "t" key). See docs/protocol.md.
 * Every decode function validates every field and returns false with a human-readable *error;
 * the caller then closes the connection with that error. Nothing here executes or allocates
 * more than the (already size-limited) frame holds.
 */
enum class MessageType {
    Unknown,
    Hello,
    Run,
    Results,
    Cancel,
    Status,
    SetWorkers,
    PluginQuery,
    PluginHave,
    PluginUpload,
    PluginStored,
    PluginRejected,
    Heartbeat,
    Error,
    Bye,
    ParametersEvicted,
};

/** The wire name of \a type ("hello", "run", ...). */
QString messageTypeName(MessageType type);
/** The type of \a message; Unknown (with *error set) if "t" is missing, not a string or not known. */
[[nodiscard]] MessageType messageType(const QCborMap &message, QString *error);

/** Largest plugin file a controller may upload (must fit in one frame with its envelope). */
constexpr qint64 MaxPluginSize = qint64(60) * 1024 * 1024;
/** Largest job parameters value (its CBOR encoding); like a plugin, it must fit in one frame. */
constexpr qint64 MaxParametersSize = qint64(60) * 1024 * 1024;
/** Largest number of tasks or results in one frame. */
constexpr qsizetype MaxBatch = 1 << 20;

/** First frame both ways. */
struct Hello {
    int major = 0;
    int minor = 0;
    QString role;   ///< "controller" or "agent"
    QString nodeId; ///< persistent QUuid (string form) of the sender
    QString hostName;
    QString abi; ///< QSysInfo::buildAbi()
    QString qtVersion;
    int cores = 0;
    int workers = 0;   ///< the agent's worker count (0 from a controller)
    QString os;        ///< operating system and kernel (optional, since 1.1)
    QString version;   ///< Taskfleet's version (optional, since 1.1)
    QString slurmJob;  ///< agent under Slurm: its SLURM_JOB_ID (optional, since 1.2)
    QString slurmNode; ///< agent under Slurm: its SLURMD_NODENAME (optional, since 1.2)
    /**
     * Agent: hex SHA-256s of plugins in its cache, most recently used first, at most MaxHelloPlugins (optional,
     * since 1.3). A controller then ships a plugin at once, or runs it at once, without a plugin-query round trip.
     */
    QVector<QByteArray> plugins {};
    bool pluginsComplete = false; ///< \a plugins is the whole cache: a plugin not in it is not there
};

/** A plugin file in the form a compressed PluginUpload carries (zlib, qCompress's format). */
QByteArray compressPlugin(const QByteArray &bytes);

/** Plugins an agent lists in its hello at most (a bounded hello: one TCP flight with room to spare). */
constexpr int MaxHelloPlugins = 64;

/** One task of a Run batch: the controller's attempt id and the plugin input. */
struct TaskItem {
    quint64 id = 0;
    QCborValue input;
};

/** Controller -> agent: a batch of tasks of one plugin. */
struct Run {
    QByteArray sha256; ///< hex SHA-256 of the plugin (64 lowercase hex characters)
    qint64 timeoutMs = 0;
    QVector<TaskItem> tasks;
    /** The job's parameters, by the hex SHA-256 of their CBOR encoding ("ps"); empty: none. */
    QByteArray parametersSha256;
    /** Their value ("pv"), in the first run of the job on a connection only; the agent checks its SHA-256. */
    QCborValue parameters;
    bool hasParameters = false;
};

/** One result; outcome uses exec::Outcome's numeric values (0..6). value is the output when Ok, else the error text. */
struct TaskResult {
    quint64 id = 0;
    int outcome = 0;
    QCborValue value;
    qint64 runtimeUs = 0;
    QString log; ///< what the task printed; travels in the optional "logs" array as [id, text] pairs
};

/** Agent -> controller: results, streamed as they finish. */
struct Results {
    QVector<TaskResult> results;
};

/** Controller -> agent: withdraw tasks. */
struct Cancel {
    QVector<quint64> ids;
};

/** Agent -> controller: the node's state, pushed at a bounded rate. */
struct Status {
    int workers = 0; ///< target worker count
    int busy = 0;
    int queued = 0;   ///< tasks queued in the pool (all sessions)
    int capacity = 0; ///< how many outstanding tasks this controller may have here
    qint64 tasksDone = 0;
    qint64 failures = 0;
    double load = 0;           ///< 1-minute load average, -1 if unknown
    qint64 uploads = 0;        ///< plugins stored from uploads since the agent started
    qint64 memUsed = -1;       ///< bytes of memory in use on the machine, -1 if unknown (optional, since 1.1)
    qint64 memTotal = -1;      ///< bytes, -1 if unknown (optional, since 1.1)
    qint64 uptimeSeconds = -1; ///< how long the agent has run, -1 if unknown (optional, since 1.1)
    /** The agent's store of job parameters (shared values): bytes held, its bound, -1 if unknown (optional, since 1.4). */
    qint64 valueCacheBytes = -1;
    qint64 valueCacheLimit = -1;
    /** Over its bound with every value in use by queued tasks: the agent keeps working, beyond its bound (since 1.4). */
    bool valueCacheFull = false;
};

/** Controller -> agent. */
struct SetWorkers {
    int count = 0;
};

/** Controller -> agent: do you have this plugin? */
struct PluginQuery {
    QByteArray sha256;
};

/** Agent -> controller: answer to PluginQuery. */
struct PluginHave {
    QByteArray sha256;
    bool have = false;
};

/**
 * Controller -> agent: the plugin file. With \a compressed (protocol 1.3, only to agents that speak it) it travels
 * zlib-compressed ("zlib": true; qCompress's format) and decode() returns it inflated, its declared size checked
 * against MaxPluginSize first: on a distant link fewer bytes are fewer round trips of TCP slow start.
 */
struct PluginUpload {
    QByteArray sha256;
    QString name;
    QByteArray bytes; ///< the plugin file, uncompressed (decode() always fills it)
    bool compressed = false;
    /** encode() with \a compressed: qCompress(bytes) made once for many agents, sent as is (then \a bytes may be empty). */
    QByteArray zlibBytes {};
};

/** Agent -> controller: the upload was verified and stored (or was already there). */
struct PluginStored {
    QByteArray sha256;
};

/** Agent -> controller: the upload was refused. */
struct PluginRejected {
    QByteArray sha256;
    QString reason;
};

/**
 * Either side: liveness. Since protocol 1.1 it may carry a round-trip probe: the controller sends
 * `ping` n and the agent answers at once with a heartbeat carrying `pong` n, so the controller
 * knows the link's round trip without counting time tasks wait at the agent (dispatch credit).
 */
struct Heartbeat {
    qint64 ping = -1; ///< -1: none
    qint64 pong = -1; ///< -1: none
};

/**
 * Agent -> controller (protocol 1.4, only to controllers that speak it): job parameters it sent were evicted from the
 * agent's bounded store. The controller sends the value again with the next run that names it; a run already on its
 * way that names it without the value gets its tasks back as Lost ("evicted"), and they are dispatched again.
 */
struct ParametersEvicted {
    QVector<QByteArray> ids; ///< hex SHA-256s
};

/** Either side: text, then the sender closes. Bye is the same for a clean shutdown. */
struct ErrorMessage {
    QString text;
};

QCborMap encode(const Hello &m);
QCborMap encode(const Run &m);
QCborMap encode(const Results &m);
/**
 * The same message as encode(\a m), written straight to \a w (net::SecureChannel::sendWith): the values are not
 * copied into a QCborArray first. Byte for byte what encode() gives.
 */
void writeResults(QCborStreamWriter &w, const Results &m);
QCborMap encode(const Cancel &m);
QCborMap encode(const Status &m);
QCborMap encode(const SetWorkers &m);
QCborMap encode(const PluginQuery &m);
QCborMap encode(const PluginHave &m);
QCborMap encode(const PluginUpload &m);
QCborMap encode(const PluginStored &m);
QCborMap encode(const PluginRejected &m);
QCborMap encode(const ParametersEvicted &m);
QCborMap encodeHeartbeat(const Heartbeat &m = {});
QCborMap encodeError(const QString &text);
QCborMap encodeBye(const QString &text);

[[nodiscard]] bool decode(const QCborMap &message, Hello *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, Run *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, Results *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, Cancel *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, Status *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, SetWorkers *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, PluginQuery *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, PluginHave *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, PluginUpload *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, PluginStored *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, PluginRejected *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, ParametersEvicted *out, QString *error);
[[nodiscard]] bool decode(const QCborMap &message, Heartbeat *out, QString *error);
/** Error and Bye. */
[[nodiscard]] bool decode(const QCborMap &message, ErrorMessage *out, QString *error);

/** True for 64 lowercase hex characters. */
bool isSha256Hex(const QByteArray &hex);

/**
 * Checks a peer's hello against ours: nullopt-like empty string when compatible, otherwise the
 * reason ("protocol version 2.0 is not supported (this side speaks 1.x)").
 */
QString checkCompatible(const Hello &peer, const QString &expectedRole);

} // namespace taskfleet::protocol
