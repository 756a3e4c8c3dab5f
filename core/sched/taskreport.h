// SPDX-License-Identifier: MIT
// What a window's Tasks view asks the controller about one job: the attempts in flight and the
// attempts that did not give their task its result.
#pragma once

#include <QtCore/QHash>
#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtCore/QVector>

namespace taskfleet::sched {

/**
 * One attempt that did not end its task with the task's result: it crashed or timed out, was lost
 * with its node, could not load the plugin, or was a speculative copy that lost the race. The
 * attempt that did end the task is its TaskRecord.
 */
struct AttemptNote {
    QString nodeName;
    qint64 startUs = 0;   ///< since the controller started
    qint64 runtimeUs = 0; ///< 0 when the attempt never reported (lost, cancelled)
    QString what;         ///< "crashed: …", "timed out: …", "lost with its node: …", …
};

/** One attempt in flight. */
struct RunningAttempt {
    int index = 0;
    QString nodeName;
    qint64 startUs = 0; ///< since the controller started
};

/**
 * A job's tasks as the controller sees them now, beyond what its TaskRecords say: which attempts run
 * where, and the history of attempts that did not count (Controller::MaxAttemptNotes per job, the
 * first ones kept). Tasks neither running nor ended are queued.
 */
struct TaskReport {
    int jobId = -1;       ///< -1: no such job
    qint64 takenUs = 0;   ///< controller clock, for the age of running attempts
    bool jobOver = false; ///< finished or cancelled: the report will not change any more
    QVector<RunningAttempt> running;
    QHash<int, QVector<AttemptNote>> notes; ///< by task index
    bool notesTruncated = false;            ///< more attempts went wrong than notes were kept
};

} // namespace taskfleet::sched

Q_DECLARE_METATYPE(taskfleet::sched::TaskReport)
