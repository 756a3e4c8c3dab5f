// SPDX-License-Identifier: MIT
// Messages between a worker pool and its worker processes (frames over the worker's stdin/stdout).
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborValue>
#include <QtCore/QString>
#include <QtCore/QVector>

#include <memory>

namespace taskfleet::exec {

/** How one attempt of a task ended. The numeric values travel on the wire. */
enum class Outcome : quint8 {
    Ok = 0,          ///< the plugin returned a value
    PluginError = 1, ///< the plugin rejected this input: a final error result, not retried
    Crashed = 2,     ///< the worker process died while running it
    TimedOut = 3,    ///< it ran past the job's per-task timeout; the worker was ended
    LoadFailed = 4,  ///< the plugin could not be loaded on this node
    Cancelled = 5,   ///< the controller withdrew it before or while it ran
    Lost = 6,        ///< the node running it went away; nobody knows whether it ran
};

/** Returns true for outcomes that end a task for good (a value or the plugin's own error). */
inline bool isFinal(Outcome o)
{
    return o == Outcome::Ok || o == Outcome::PluginError;
}

QString outcomeName(Outcome o);

/**
 * A job's parameters: one value shared by every task of the job (the python plugin's source code),
 * content-addressed so that it crosses each link once per job, never once per task.
 */
struct JobParameters {
    QByteArray id; ///< hex SHA-256 of the value's CBOR encoding
    QCborValue value;
    qint64 encodedSize = 0;
};
using JobParametersPtr = std::shared_ptr<const JobParameters>;

/** Parameters for \a value, or null for a null/undefined value (a job without parameters). */
JobParametersPtr makeJobParameters(const QCborValue &value);

/** One task handed to a worker: an id chosen by the caller, and the plugin input. */
struct WorkItem {
    quint64 id = 0;
    QCborValue input;
};

/** The result of one WorkItem. For Ok, output holds the value; otherwise error says why. */
struct WorkResult {
    quint64 id = 0;
    Outcome outcome = Outcome::Ok;
    QCborValue output;
    QString error;
    qint64 runtimeUs = 0;
    QString log; ///< what the task printed (TaskContext::appendOutput), if anything
};

/**
 * Tasks of one plugin with one timeout and one set of job parameters, sent to a worker in a single
 * frame. The parameters' value travels only in the first batch that names them to a worker
 * (withParametersValue); later batches carry the id, which the worker resolves from its cache.
 */
struct WorkBatch {
    QString pluginPath;
    qint64 timeoutMs = 0; ///< 0: no per-task timeout
    QVector<WorkItem> items;
    JobParametersPtr parameters;      ///< null: none
    bool withParametersValue = false; ///< encode: send the value too
    QByteArray parametersId;          ///< decode: the id named by the batch (empty: none)
    qint64 parametersSize = 0;        ///< decode: their encoded size ("pz"; 0 from an older pool)
    QCborValue parametersValue;       ///< decode: the value, if the batch carried it
    bool hasParametersValue = false;  ///< decode
};

/**
 * The job parameters one worker holds, least recently used first, bounded by count and by bytes (their CBOR
 * encoding's size, which every batch that names them carries). The pool keeps a mirror of each worker's cache and
 * updates it in the same order (frames arrive in order), so it knows when a batch must carry the value again.
 */
class ParametersLru
{
public:
    static constexpr int Capacity = 8;
    /** By default a worker holds at most this many bytes of values (beyond it, only the one in use). */
    static constexpr qint64 ByteCapacity = qint64(1) << 30;

    explicit ParametersLru(qint64 byteCapacity = ByteCapacity)
        : m_byteCapacity(byteCapacity > 0 ? byteCapacity : ByteCapacity)
    {
    }
    qint64 byteCapacity() const { return m_byteCapacity; }
    /**
     * Marks \a id (of \a bytes) as used now; true if it was already held. Evicts the oldest others beyond
     * Capacity values or byteCapacity() bytes; evicted() lists them.
     */
    bool touch(const QByteArray &id, qint64 bytes);
    bool contains(const QByteArray &id) const { return m_ids.contains(id); }
    /** The ids evicted by the last touch(), oldest first. */
    const QVector<QByteArray> &evicted() const { return m_evicted; }
    qint64 bytes() const { return m_bytes; }

private:
    QVector<QByteArray> m_ids; // most recent last
    QVector<qint64> m_sizes;   // of m_ids, in the same order
    QVector<QByteArray> m_evicted;
    qint64 m_bytes = 0;
    qint64 m_byteCapacity;
};

namespace wire {
// Frame types of the worker protocol.
inline const QString Run = QStringLiteral("run");         // pool -> worker: a WorkBatch
inline const QString Cancel = QStringLiteral("cancel");   // pool -> worker: ids to withdraw
inline const QString Quit = QStringLiteral("quit");       // pool -> worker: finish what you have, then exit 0
inline const QString Hello = QStringLiteral("hello");     // worker -> pool: pid, abi
inline const QString Results = QStringLiteral("res");     // worker -> pool: WorkResults
inline const QString CrashNote = QStringLiteral("crash"); // worker -> pool: dying from signal while running id
inline const QString ExitNote = QStringLiteral("exit");   // worker -> pool: the plugin called exit() while running id
inline const QString TimeoutNote = QStringLiteral("timeout"); // worker -> pool: id ran past its timeout
inline const QString Progress = QStringLiteral("prog");       // worker -> pool: id, fraction
inline const QString Log = QStringLiteral("log"); // worker -> pool: id, text the task printed (before its result)
} // namespace wire

QCborMap encodeRun(const WorkBatch &batch);
/** Appends encodeRun(batch) to \a out as a frame, encoded straight from the batch: each input is copied once. */
void appendRunFrame(QByteArray &out, const WorkBatch &batch);
[[nodiscard]] bool decodeRun(const QCborMap &message, WorkBatch *batch, QString *error);

/** Results travel as one flat array [id, outcome, value, runtimeUs, id, ...]; value is the error text unless Ok. */
QCborMap encodeResults(const QVector<WorkResult> &results);
[[nodiscard]] bool decodeResults(const QCborMap &message, QVector<WorkResult> *results, QString *error);

} // namespace taskfleet::exec
