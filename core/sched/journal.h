// SPDX-License-Identifier: MIT
// The job journal: jobs and every finished result, appended as they happen, so nothing finished is lost.
#pragma once

#include "controller.h"
#include "jobspec.h"

#include <QtCore/QCborStreamWriter>
#include <QtCore/QFile>
#include <QtCore/QHash>

#include <functional>

#include <optional>

namespace taskfleet::sched {

/**
 * Appends to a journal file: one "job" record when a job starts (the whole spec, so a resume
 * needs neither the job file nor its inputs file), one "res" record per batch of finished
 * tasks, one "end" record when a job is over. Records are frames (4-byte length + CBOR map),
 * written with one write() per batch: a process killed at any moment leaves at most a torn
 * last record, which JournalReader ignores. Not thread-safe.
 */
class JournalWriter
{
public:
    /** Opens \a path for appending (creating it and its folder). */
    [[nodiscard]] bool open(const QString &path, QString *error);
    QString path() const { return m_file.fileName(); }

    /** Records a job under \a key (unique within the journal, e.g. a UUID). */
    void writeJob(const QString &key, const JobSpec &spec);
    /** Records finished tasks; each record's index is the task's index in the journaled spec. */
    void writeResults(const QString &key, const QVector<TaskRecord> &records);
    /** Records that a job is over, and syncs the file to disk. */
    void writeEnd(const QString &key);
    /** Syncs what was written to disk; true when it is there and no write failed since open(). */
    [[nodiscard]] bool sync();
    /** True once a write failed (a full disk): records since may be missing. */
    bool hasFailed() const { return m_failed; }

private:
    void append(const QCborMap &record);
    /** Appends one record that \a write encodes straight into its frame (big values are copied once). */
    void appendWith(const std::function<void(QCborStreamWriter &)> &write);
    QFile m_file;
    bool m_failed = false;
};

/** A job as found in a journal: its spec, the results recorded so far, and whether it ended. */
struct JournaledJob {
    QString key;
    JobSpec spec;
    QHash<int, TaskRecord> results; ///< by task index; the first record of an index wins
    qint64 repeatedResults = 0;     ///< records of an index already recorded (none when every task ended once)
    bool ended = false;
};

/** Reads a journal written by JournalWriter. */
class JournalReader
{
public:
    /**
     * Reads every complete record of \a path, in order. A torn or corrupt tail (a killed writer)
     * is skipped and reported in *warning; a file that is not a journal at all is an error.
     */
    [[nodiscard]] static std::optional<QVector<JournaledJob>> read(const QString &path, QString *error,
                                                                   QString *warning = nullptr);
};

/** The default journal location: $XDG_STATE_HOME/taskfleet/journal (~/.local/state/taskfleet/journal). */
QString defaultJournalDir();

} // namespace taskfleet::sched
