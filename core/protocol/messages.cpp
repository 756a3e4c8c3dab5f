// SPDX-License-Identifier: MIT
// Encoding and validating decoding of the controller <-> agent messages.
#include "messages.h"

#include "messagereader.h"
#include "util/cborinteger.h"
#include "version.h"

#include <QtCore/QCborArray>
#include <QtCore/QtEndian>
#include <QtCore/QHash>

namespace taskfleet::protocol {

namespace {

const QString KeyType = QStringLiteral("t");
constexpr qint64 MaxWorkers = 4096;
constexpr qsizetype MaxText = 4096;
constexpr int MaxOutcome = 6;
constexpr qint64 MaxProbe = qint64(1) << 53; ///< ping numbers stay exact in any JSON/CBOR reader

struct TypeEntry {
    MessageType type;
    const char *name;
};

constexpr TypeEntry Types[] = {
    {MessageType::Hello, "hello"},
    {MessageType::Run, "run"},
    {MessageType::Results, "results"},
    {MessageType::Cancel, "cancel"},
    {MessageType::Status, "status"},
    {MessageType::SetWorkers, "set-workers"},
    {MessageType::PluginQuery, "plugin-query"},
    {MessageType::PluginHave, "plugin-have"},
    {MessageType::PluginUpload, "plugin-upload"},
    {MessageType::PluginStored, "plugin-stored"},
    {MessageType::PluginRejected, "plugin-rejected"},
    {MessageType::Heartbeat, "heartbeat"},
    {MessageType::Error, "error"},
    {MessageType::Bye, "bye"},
    {MessageType::ParametersEvicted, "parameters-evicted"},
};

QCborMap envelope(MessageType type)
{
    QCborMap m;
    m.insert(KeyType, messageTypeName(type));
    return m;
}

bool finish(MessageReader &r, QString *error)
{
    if (r.ok())
        return true;
    *error = r.error();
    return false;
}

/** A string field of at most \a maxLength characters. */
QString text(MessageReader &r, const char *key, qsizetype maxLength = 256)
{
    QString s = r.string(key);
    if (r.ok() && s.size() > maxLength)
        r.fail(QStringLiteral("field \"%1\" is longer than %2 characters").arg(QLatin1String(key)).arg(maxLength));
    return s;
}

QByteArray sha(MessageReader &r, const char *key = "sha")
{
    const QByteArray hex = r.string(key).toLatin1();
    if (r.ok() && !isSha256Hex(hex))
        r.fail(QStringLiteral("field \"%1\" must be a SHA-256 as 64 lowercase hex digits").arg(QLatin1String(key)));
    return hex;
}

/** The array field \a key of at most MaxBatch entries; false (with *error set) if it is missing or longer. */
bool batchArray(MessageReader &r, const char *key, QCborArray *out, QString *error)
{
    *out = r.array(key);
    if (!r.ok())
        return finish(r, error);
    if (out->size() > MaxBatch) {
        *error = QStringLiteral("too many ids");
        return false;
    }
    return true;
}

QCborArray idArray(const QVector<quint64> &ids)
{
    QCborArray a;
    for (quint64 id : ids)
        a.append(qint64(id));
    return a;
}

} // namespace

QString messageTypeName(MessageType type)
{
    for (const TypeEntry &e : Types)
        if (e.type == type)
            return QLatin1String(e.name);
    return QStringLiteral("unknown");
}

MessageType messageType(const QCborMap &message, QString *error)
{
    const QCborValue t = message.value(KeyType);
    if (!t.isString()) {
        *error = t.isUndefined() ? QStringLiteral("message without a type (field \"t\")")
                                 : QStringLiteral("field \"t\" must be a string");
        return MessageType::Unknown;
    }
    const QString name = t.toString();
    for (const TypeEntry &e : Types)
        if (name == QLatin1String(e.name))
            return e.type;
    *error = QStringLiteral("unknown message type \"%1\"").arg(name.left(40));
    return MessageType::Unknown;
}

bool isSha256Hex(const QByteArray &hex)
{
    if (hex.size() != 64)
        return false;
    for (char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

// ---- hello ----

QCborMap encode(const Hello &m)
{
    QCborMap c = envelope(MessageType::Hello);
    c.insert(QStringLiteral("major"), m.major);
    c.insert(QStringLiteral("minor"), m.minor);
    c.insert(QStringLiteral("role"), m.role);
    c.insert(QStringLiteral("id"), m.nodeId);
    c.insert(QStringLiteral("host"), m.hostName);
    c.insert(QStringLiteral("abi"), m.abi);
    c.insert(QStringLiteral("qt"), m.qtVersion);
    c.insert(QStringLiteral("cores"), m.cores);
    c.insert(QStringLiteral("workers"), m.workers);
    if (!m.os.isEmpty())
        c.insert(QStringLiteral("os"), m.os.left(256));
    if (!m.version.isEmpty())
        c.insert(QStringLiteral("version"), m.version.left(32));
    if (!m.slurmJob.isEmpty())
        c.insert(QStringLiteral("slurm-job"), m.slurmJob.left(64));
    if (!m.slurmNode.isEmpty())
        c.insert(QStringLiteral("slurm-node"), m.slurmNode.left(256));
    if (!m.plugins.isEmpty() || m.pluginsComplete) {
        QCborArray list;
        for (const QByteArray &sha : m.plugins.mid(0, MaxHelloPlugins))
            list.append(QString::fromLatin1(sha));
        c.insert(QStringLiteral("plugins"), list);
        c.insert(QStringLiteral("plugins-all"), m.pluginsComplete && m.plugins.size() <= MaxHelloPlugins);
    }
    return c;
}

bool decode(const QCborMap &message, Hello *out, QString *error)
{
    MessageReader r(message);
    // Version first: a peer of another major version may have changed anything else.
    out->major = int(r.integer("major", 0, 65535));
    out->minor = int(r.integer("minor", 0, 65535));
    if (!r.ok())
        return finish(r, error);
    if (out->major != ProtocolMajor) {
        // Still read what helps the message, but do not insist on it.
        out->role = message.value(QStringLiteral("role")).toString().left(32);
        out->hostName = message.value(QStringLiteral("host")).toString().left(256);
        return true;
    }
    out->role = text(r, "role", 32);
    if (r.ok() && out->role != QLatin1String("controller") && out->role != QLatin1String("agent"))
        r.fail(QStringLiteral("field \"role\" must be \"controller\" or \"agent\""));
    out->nodeId = text(r, "id", 64);
    out->hostName = text(r, "host");
    out->abi = text(r, "abi");
    out->qtVersion = text(r, "qt", 32);
    out->cores = int(r.integer("cores", 0, 1 << 20));
    out->workers = int(r.integer("workers", 0, MaxWorkers));
    out->os = r.has("os") ? text(r, "os") : QString();
    out->version = r.has("version") ? text(r, "version", 32) : QString();
    out->slurmJob = r.has("slurm-job") ? text(r, "slurm-job", 64) : QString();
    out->slurmNode = r.has("slurm-node") ? text(r, "slurm-node") : QString();
    out->plugins.clear();
    out->pluginsComplete = false;
    if (r.has("plugins")) {
        const QCborArray list = r.array("plugins");
        if (list.size() > MaxHelloPlugins)
            r.fail(QStringLiteral("field \"plugins\" lists more than %1 plugins").arg(MaxHelloPlugins));
        for (const QCborValue &v : list) {
            const QByteArray sha = v.toString().toLatin1();
            if (!v.isString() || !isSha256Hex(sha)) {
                r.fail(QStringLiteral("field \"plugins\" holds something other than a hex SHA-256"));
                break;
            }
            out->plugins.append(sha);
        }
        out->pluginsComplete = r.booleanOr("plugins-all", false);
    }
    return finish(r, error);
}

QString checkCompatible(const Hello &peer, const QString &expectedRole)
{
    if (peer.major != ProtocolMajor)
        return QStringLiteral("protocol version %1.%2 of %3 is not supported (this side speaks %4.x)")
            .arg(peer.major)
            .arg(peer.minor)
            .arg(peer.hostName.isEmpty() ? QStringLiteral("the peer") : peer.hostName)
            .arg(ProtocolMajor);
    if (peer.role != expectedRole)
        return QStringLiteral("peer says it is a %1, expected a %2").arg(peer.role, expectedRole);
    return {};
}

// ---- run ----

QCborMap encode(const Run &m)
{
    QCborMap c = envelope(MessageType::Run);
    c.insert(QStringLiteral("sha"), QString::fromLatin1(m.sha256));
    c.insert(QStringLiteral("timeout"), m.timeoutMs);
    QCborArray flat;
    for (const TaskItem &t : m.tasks) {
        flat.append(qint64(t.id));
        flat.append(t.input);
    }
    c.insert(QStringLiteral("tasks"), flat);
    if (!m.parametersSha256.isEmpty()) {
        c.insert(QStringLiteral("ps"), QString::fromLatin1(m.parametersSha256));
        if (m.hasParameters)
            c.insert(QStringLiteral("pv"), m.parameters);
    }
    return c;
}

bool decode(const QCborMap &message, Run *out, QString *error)
{
    MessageReader r(message);
    out->sha256 = sha(r);
    out->timeoutMs = r.integer("timeout", 0, qint64(7) * 24 * 3600 * 1000);
    const QCborArray flat = r.array("tasks");
    out->parametersSha256.clear();
    out->hasParameters = message.contains(QStringLiteral("pv"));
    out->parameters = message.value(QStringLiteral("pv"));
    if (r.ok() && (message.contains(QStringLiteral("ps")) || out->hasParameters))
        out->parametersSha256 = sha(r, "ps");
    if (!r.ok())
        return finish(r, error);
    if (flat.size() % 2 != 0 || flat.size() / 2 > MaxBatch) {
        *error = QStringLiteral("field \"tasks\" must hold [id, input] pairs, at most %1").arg(MaxBatch);
        return false;
    }
    out->tasks.clear();
    out->tasks.reserve(flat.size() / 2);
    for (qsizetype i = 0; i < flat.size(); i += 2) {
        const QCborValue id = flat.at(i);
        if (!id.isInteger() || id.toInteger() < 0) {
            *error = QStringLiteral("task %1: id must be a non-negative integer").arg(i / 2);
            return false;
        }
        out->tasks.append(TaskItem {quint64(id.toInteger()), flat.at(i + 1)});
    }
    return true;
}

// ---- results ----

QCborMap encode(const Results &m)
{
    QCborMap c = envelope(MessageType::Results);
    QCborArray flat;
    QCborArray logs; // [id, text, ...] for the few results that printed something
    for (const TaskResult &t : m.results) {
        flat.append(qint64(t.id));
        flat.append(t.outcome);
        flat.append(t.value);
        flat.append(t.runtimeUs);
        if (!t.log.isEmpty()) {
            logs.append(qint64(t.id));
            logs.append(t.log);
        }
    }
    c.insert(QStringLiteral("r"), flat);
    if (!logs.isEmpty())
        c.insert(QStringLiteral("logs"), logs);
    return c;
}

void writeResults(QCborStreamWriter &w, const Results &m)
{
    qsizetype logged = 0;
    for (const TaskResult &t : m.results)
        logged += t.log.isEmpty() ? 0 : 1;
    w.startMap(logged ? 3 : 2);
    w.append(KeyType);
    w.append(messageTypeName(MessageType::Results));
    w.append(QLatin1String("r"));
    w.startArray(quint64(m.results.size()) * 4);
    for (const TaskResult &t : m.results) {
        w.append(qint64(t.id));
        w.append(qint64(t.outcome));
        t.value.toCbor(w);
        w.append(t.runtimeUs);
    }
    w.endArray();
    if (logged) {
        w.append(QLatin1String("logs"));
        w.startArray(quint64(logged) * 2);
        for (const TaskResult &t : m.results) {
            if (!t.log.isEmpty()) {
                w.append(qint64(t.id));
                w.append(t.log);
            }
        }
        w.endArray();
    }
    w.endMap();
}

bool decode(const QCborMap &message, Results *out, QString *error)
{
    MessageReader r(message);
    const QCborArray flat = r.array("r");
    if (!r.ok())
        return finish(r, error);
    if (flat.size() % 4 != 0 || flat.size() / 4 > MaxBatch) {
        *error
            = QStringLiteral("field \"r\" must hold [id, outcome, value, runtimeUs] groups, at most %1").arg(MaxBatch);
        return false;
    }
    out->results.clear();
    out->results.reserve(flat.size() / 4);
    for (qsizetype i = 0; i < flat.size(); i += 4) {
        const QCborValue id = flat.at(i);
        const QCborValue outcome = flat.at(i + 1);
        const QCborValue runtime = flat.at(i + 3);
        if (!id.isInteger() || id.toInteger() < 0 || !outcome.isInteger() || outcome.toInteger() < 0
            || outcome.toInteger() > MaxOutcome || !runtime.isInteger() || runtime.toInteger() < 0) {
            *error = QStringLiteral("result %1 is malformed").arg(i / 4);
            return false;
        }
        const QCborValue value = flat.at(i + 2);
        if (outcome.toInteger() != 0 && !value.isString()) {
            *error = QStringLiteral("result %1: an error result must carry its reason as text").arg(i / 4);
            return false;
        }
        out->results.append(
            TaskResult {quint64(id.toInteger()), int(outcome.toInteger()), value, runtime.toInteger(), {}});
    }
    const QCborValue logs = message.value(QStringLiteral("logs"));
    if (logs.isUndefined())
        return true;
    const QCborArray pairs = logs.toArray();
    if (!logs.isArray() || pairs.size() % 2 != 0) {
        *error = QStringLiteral("field \"logs\" must hold [id, text] pairs");
        return false;
    }
    // Few results print: match each log to its result by id.
    QHash<quint64, qsizetype> at;
    for (qsizetype i = 0; i < out->results.size(); ++i)
        at.insert(out->results.at(i).id, i);
    for (qsizetype i = 0; i < pairs.size(); i += 2) {
        const auto it = at.constFind(quint64(util::cborInteger(pairs.at(i))));
        if (!pairs.at(i).isInteger() || !pairs.at(i + 1).isString() || it == at.constEnd()) {
            *error = QStringLiteral("log %1 names no result of this frame, or is not text").arg(i / 2);
            return false;
        }
        out->results[it.value()].log = pairs.at(i + 1).toString();
    }
    return true;
}

// ---- cancel ----

QCborMap encode(const Cancel &m)
{
    QCborMap c = envelope(MessageType::Cancel);
    c.insert(QStringLiteral("ids"), idArray(m.ids));
    return c;
}

bool decode(const QCborMap &message, Cancel *out, QString *error)
{
    MessageReader r(message);
    QCborArray ids;
    if (!batchArray(r, "ids", &ids, error))
        return false;
    out->ids.clear();
    for (const QCborValue &v : ids) {
        if (!v.isInteger() || v.toInteger() < 0) {
            *error = QStringLiteral("field \"ids\" must hold non-negative integers");
            return false;
        }
        out->ids.append(quint64(v.toInteger()));
    }
    return true;
}

// ---- status ----

QCborMap encode(const Status &m)
{
    QCborMap c = envelope(MessageType::Status);
    c.insert(QStringLiteral("workers"), m.workers);
    c.insert(QStringLiteral("busy"), m.busy);
    c.insert(QStringLiteral("queued"), m.queued);
    c.insert(QStringLiteral("capacity"), m.capacity);
    c.insert(QStringLiteral("done"), m.tasksDone);
    c.insert(QStringLiteral("failures"), m.failures);
    c.insert(QStringLiteral("load"), m.load);
    c.insert(QStringLiteral("uploads"), m.uploads);
    if (m.memTotal >= 0) {
        c.insert(QStringLiteral("memUsed"), m.memUsed);
        c.insert(QStringLiteral("memTotal"), m.memTotal);
    }
    if (m.uptimeSeconds >= 0)
        c.insert(QStringLiteral("uptime"), m.uptimeSeconds);
    if (m.valueCacheLimit >= 0) {
        c.insert(QStringLiteral("valueCache"), m.valueCacheBytes);
        c.insert(QStringLiteral("valueCacheLimit"), m.valueCacheLimit);
        c.insert(QStringLiteral("valueCacheFull"), m.valueCacheFull);
    }
    return c;
}

bool decode(const QCborMap &message, Status *out, QString *error)
{
    MessageReader r(message);
    out->workers = int(r.integer("workers", 0, MaxWorkers));
    out->busy = int(r.integer("busy", 0, MaxWorkers));
    out->queued = int(r.integer("queued", 0, std::numeric_limits<int>::max()));
    out->capacity = int(r.integer("capacity", 0, 1 << 24));
    out->tasksDone = r.integer("done", 0);
    out->failures = r.integer("failures", 0);
    out->load = r.number("load");
    out->uploads = r.integerOr("uploads", 0, 0);
    out->memTotal = r.integerOr("memTotal", -1, 0, qint64(1) << 50);
    out->memUsed = r.integerOr("memUsed", -1, 0, qint64(1) << 50);
    if (r.ok() && out->memUsed > out->memTotal)
        r.fail(QStringLiteral("field \"memUsed\" is more than \"memTotal\""));
    out->uptimeSeconds = r.integerOr("uptime", -1, 0, qint64(1) << 40);
    out->valueCacheBytes = r.integerOr("valueCache", -1, 0, qint64(1) << 50);
    out->valueCacheLimit = r.integerOr("valueCacheLimit", -1, 0, qint64(1) << 50);
    out->valueCacheFull = r.booleanOr("valueCacheFull", false);
    return finish(r, error);
}

// ---- set-workers ----

QCborMap encode(const SetWorkers &m)
{
    QCborMap c = envelope(MessageType::SetWorkers);
    c.insert(QStringLiteral("count"), m.count);
    return c;
}

bool decode(const QCborMap &message, SetWorkers *out, QString *error)
{
    MessageReader r(message);
    out->count = int(r.integer("count", 0, MaxWorkers));
    return finish(r, error);
}

// ---- plugins ----

QCborMap encode(const PluginQuery &m)
{
    QCborMap c = envelope(MessageType::PluginQuery);
    c.insert(QStringLiteral("sha"), QString::fromLatin1(m.sha256));
    return c;
}

bool decode(const QCborMap &message, PluginQuery *out, QString *error)
{
    MessageReader r(message);
    out->sha256 = sha(r);
    return finish(r, error);
}

QCborMap encode(const PluginHave &m)
{
    QCborMap c = envelope(MessageType::PluginHave);
    c.insert(QStringLiteral("sha"), QString::fromLatin1(m.sha256));
    c.insert(QStringLiteral("have"), m.have);
    return c;
}

bool decode(const QCborMap &message, PluginHave *out, QString *error)
{
    MessageReader r(message);
    out->sha256 = sha(r);
    out->have = r.boolean("have");
    return finish(r, error);
}

QByteArray compressPlugin(const QByteArray &bytes)
{
    return qCompress(bytes, 1); // level 1: a third of level 6's CPU for 10 % more bytes
}

QCborMap encode(const PluginUpload &m)
{
    QCborMap c = envelope(MessageType::PluginUpload);
    c.insert(QStringLiteral("sha"), QString::fromLatin1(m.sha256));
    c.insert(QStringLiteral("name"), m.name);
    if (m.compressed) {
        c.insert(QStringLiteral("bytes"), m.zlibBytes.isEmpty() ? compressPlugin(m.bytes) : m.zlibBytes);
        c.insert(QStringLiteral("zlib"), true);
    } else {
        c.insert(QStringLiteral("bytes"), m.bytes);
    }
    return c;
}

bool decode(const QCborMap &message, PluginUpload *out, QString *error)
{
    MessageReader r(message);
    out->sha256 = sha(r);
    out->name = text(r, "name");
    out->bytes = r.bytes("bytes");
    out->compressed = r.booleanOr("zlib", false);
    if (r.ok() && out->compressed) {
        // qCompress's 4-byte big-endian size first: checked before inflating, so no upload inflates past the limit.
        const qint64 size = out->bytes.size() >= 4 ? qint64(qFromBigEndian<quint32>(out->bytes.constData())) : -1;
        if (size < 0 || size > MaxPluginSize) {
            r.fail(size < 0
                       ? QStringLiteral("compressed plugin upload too short")
                       : QStringLiteral("plugin upload of %1 bytes is larger than %2").arg(size).arg(MaxPluginSize));
        } else {
            QByteArray plain = qUncompress(out->bytes);
            if (plain.size() != size)
                r.fail(QStringLiteral("compressed plugin upload does not inflate to its declared %1 bytes").arg(size));
            out->bytes = std::move(plain);
        }
    }
    if (r.ok() && out->bytes.size() > MaxPluginSize)
        r.fail(QStringLiteral("plugin upload of %1 bytes is larger than %2").arg(out->bytes.size()).arg(MaxPluginSize));
    return finish(r, error);
}

QCborMap encode(const PluginStored &m)
{
    QCborMap c = envelope(MessageType::PluginStored);
    c.insert(QStringLiteral("sha"), QString::fromLatin1(m.sha256));
    return c;
}

bool decode(const QCborMap &message, PluginStored *out, QString *error)
{
    MessageReader r(message);
    out->sha256 = sha(r);
    return finish(r, error);
}

// ---- parameters-evicted ----

QCborMap encode(const ParametersEvicted &m)
{
    QCborMap c = envelope(MessageType::ParametersEvicted);
    QCborArray ids;
    for (const QByteArray &id : m.ids)
        ids.append(QString::fromLatin1(id));
    c.insert(QStringLiteral("ps"), ids);
    return c;
}

bool decode(const QCborMap &message, ParametersEvicted *out, QString *error)
{
    MessageReader r(message);
    QCborArray ids;
    if (!batchArray(r, "ps", &ids, error))
        return false;
    out->ids.clear();
    for (const QCborValue &v : ids) {
        const QByteArray hex = v.toString().toLatin1();
        if (!v.isString() || !isSha256Hex(hex)) {
            *error = QStringLiteral("field \"ps\" must hold SHA-256s as 64 lowercase hex digits");
            return false;
        }
        out->ids.append(hex);
    }
    return true;
}

QCborMap encode(const PluginRejected &m)
{
    QCborMap c = envelope(MessageType::PluginRejected);
    c.insert(QStringLiteral("sha"), QString::fromLatin1(m.sha256));
    c.insert(QStringLiteral("reason"), m.reason);
    return c;
}

bool decode(const QCborMap &message, PluginRejected *out, QString *error)
{
    MessageReader r(message);
    out->sha256 = sha(r);
    out->reason = text(r, "reason", MaxText);
    return finish(r, error);
}

// ---- heartbeat, error, bye ----

QCborMap encodeHeartbeat(const Heartbeat &m)
{
    QCborMap c = envelope(MessageType::Heartbeat);
    if (m.ping >= 0)
        c.insert(QStringLiteral("ping"), m.ping);
    if (m.pong >= 0)
        c.insert(QStringLiteral("pong"), m.pong);
    return c;
}

bool decode(const QCborMap &message, Heartbeat *out, QString *error)
{
    MessageReader r(message);
    out->ping = r.integerOr("ping", -1, 0, MaxProbe);
    out->pong = r.integerOr("pong", -1, 0, MaxProbe);
    return finish(r, error);
}

QCborMap encodeError(const QString &text)
{
    QCborMap c = envelope(MessageType::Error);
    c.insert(QStringLiteral("text"), text.left(MaxText));
    return c;
}

QCborMap encodeBye(const QString &text)
{
    QCborMap c = envelope(MessageType::Bye);
    c.insert(QStringLiteral("text"), text.left(MaxText));
    return c;
}

bool decode(const QCborMap &message, ErrorMessage *out, QString *error)
{
    MessageReader r(message);
    out->text = text(r, "text", MaxText);
    return finish(r, error);
}

} // namespace taskfleet::protocol
