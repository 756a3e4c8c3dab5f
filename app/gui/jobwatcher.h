// SPDX-License-Identifier: MIT
// What the window says about jobs as they change: pause and resume in the log, each job's end once.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QSet>

namespace taskfleet::gui {

/**
 * Watches the controller's snapshots: a job paused or resumed (whoever asked: the window or a script; the
 * controller does not log it) is logged once; a job that ended (jobFinished(), or a cancel) is announced once,
 * with its final counts, from the first snapshot that has them.
 */
class JobWatcher : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    void onSnapshot(const sched::ClusterSnapshot &snapshot);
    void onJobFinished(int jobId) { m_endedUnannounced.insert(jobId); }

    /** The window's title: the unfinished jobs' progress ("44 % · Taskfleet"), so the taskbar shows it too. */
    static QString title(const sched::ClusterSnapshot &snapshot);

signals:
    void logged(const QString &message);
    /** \a job ended (finished or cancelled); said once per job. */
    void jobEnded(const taskfleet::sched::JobSnapshot &job);

private:
    QSet<int> m_endedUnannounced;            ///< jobs finished whose end the next snapshot announces
    QHash<int, sched::JobState> m_jobStates; ///< each job's state in the last snapshot
};

} // namespace taskfleet::gui
