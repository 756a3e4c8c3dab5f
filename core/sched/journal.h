// SPDX-License-Identifier: MIT
// The job journal: jobs and every finished result, appended as they happen, so nothing finished is lost.
#pragma once

#include "controller.h"
#include "jobspec.h"

#include <QtCore/QBitArray>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QFile>
#include <QtCore/QHash>

#include <functional>

#include <optional>

namespace taskfleet::sched {

/**
 * Appends to a journal file: one "job" record when a job starts (the whole spec, so a resume
 * needs neither the job file nor its inputs file), one "res" record per batch of finished
 * tasks, one "end" record when a job is over. Each record is written with one write() (a big one
 * a MiB at a time): a process killed at any moment leaves at most a torn last record.
 *
 * Format 3 (written to every new journal; docs/scale.md "Journals"): a header frame (4-byte length
 * + the CBOR map {"t": "journal", "magic": "taskfleet-journal/3"}), then records of
 * "\xFETFJ", a 4-byte length, a kind byte, 3 zero bytes, a CRC-32C of those 12 bytes, the CBOR
 * map, and a CRC-32C of the map. A damaged record is found by its checksums and skipped: the
 * reader finds the next record by its marker. Appending to a journal of format 1 or 2 (a resume
 * of one) goes on in that format. Not thread-safe.
 */
class JournalWriter
{
public:
    /**
     * Opens \a path for appending (creating it and its folder) and, for a new file, writes its header.
     * Refuses what is not a regular file (a FIFO would block), a file that is not a journal, and a
     * header that cannot be written (a full disk): *error names the path and the reason.
     */
    [[nodiscard]] bool open(const QString &path, QString *error);
    QString path() const { return m_path; }

    /**
     * Records a job under \a key (unique within the journal, e.g. a UUID), queued at \a startedMs (ms since
     * the epoch, UTC; -1: now): the record's "at" field (JournaledJob::startedMs).
     */
    void writeJob(const QString &key, const JobSpec &spec, qint64 startedMs = -1);
    /** Records finished tasks; each record's index is the task's index in the journaled spec. */
    void writeResults(const QString &key, const QVector<TaskRecord> &records);
    /** Records that a job is over at \a endedMs (ms since the epoch; -1: now), and syncs the file to disk. */
    void writeEnd(const QString &key, qint64 endedMs = -1);
    /** Syncs what was written to disk; true when it is there and no write failed since open(). */
    [[nodiscard]] bool sync();
    /**
     * True once a write failed (a full disk): records since may be missing, and nothing more is
     * written. The journal must then not be offered for a resume.
     */
    bool hasFailed() const { return m_failed; }
    /** Why the first write failed: "cannot write journal PATH: REASON"; empty while none did. */
    QString errorString() const { return m_error; }

private:
    void append(const QCborMap &record, char kind);
    /** Appends one record that \a write encodes straight into it (big values are copied once). */
    void appendWith(char kind, const std::function<void(QCborStreamWriter &)> &write);
    void fail(const QString &reason);
    QFile m_file;
    QString m_path;
    int m_version = 3; ///< the format appended in: 3, or 2 when appending to a journal of format 1 or 2
    bool m_failed = false;
    QString m_error;
};

/** A job as found in a journal: its spec, the results recorded so far, and whether it ended. */
struct JournaledJob {
    QString key;
    JobSpec spec;
    QHash<int, TaskRecord> results; ///< by task index; the first record of an index wins (empty from scan())
    QBitArray done;                 ///< which task indices have a result (as many bits as inputs)
    qint64 doneCount = 0;           ///< bits set in done: results.size() for read()
    qint64 repeatedResults = 0;     ///< records of an index already recorded (none when every task ended once)
    bool ended = false;
    qint64 startedMs = -1; ///< when the job was queued (ms since the epoch, UTC); -1: not journaled (an older journal)
    qint64 endedMs = -1;   ///< when it ended; -1: not ended, or not journaled
    qint64 record = 0;     ///< the number of its job record in the file (1 is the header), for messages
};

/**
 * Reads a journal written by JournalWriter.
 *
 * What is not a journal at all, a FIFO or other non-regular file, a damaged header, and a damaged
 * record of a job or of its inputs (format 3) are errors naming the file and the record. A damaged
 * record of results or of a job's end is skipped (its tasks run again), and so is a torn last record
 * (a killed writer): *warning says which and how many. Format 3 finds the records after a damaged one
 * by their marker and checksums; formats 1 and 2 have neither, and stop at the first damaged record.
 */
class JournalReader
{
public:
    /** Called by scan() with each job's first result of each index, in file order. */
    using ResultSink = std::function<void(const JournaledJob &job, const TaskRecord &record)>;

    /** Reads every record of \a path, in order, keeping every job's results. */
    [[nodiscard]] static std::optional<QVector<JournaledJob>> read(const QString &path, QString *error,
                                                                   QString *warning = nullptr);
    /**
     * Like read(), but keeps no results (only JournaledJob::done): each goes to \a sink, if set, as it
     * is read. Memory is the jobs' inputs (a range: three numbers) and one bit per task, whatever
     * the number of results. Reading the same file twice makes the same decisions.
     */
    [[nodiscard]] static std::optional<QVector<JournaledJob>> scan(const QString &path, const ResultSink &sink,
                                                                   QString *error, QString *warning = nullptr);
    /** read() or scan() of an open device (a QBuffer: the fuzz target), named \a name in messages. */
    [[nodiscard]] static std::optional<QVector<JournaledJob>> read(QIODevice *device, const QString &name,
                                                                   bool keepResults, const ResultSink &sink,
                                                                   QString *error, QString *warning = nullptr);
};

/** The default journal location: $XDG_STATE_HOME/taskfleet/journal (~/.local/state/taskfleet/journal). */
QString defaultJournalDir();

} // namespace taskfleet::sched
