// SPDX-License-Identifier: MIT
// What the window says about jobs as they change: pause and resume in the log, each job's end once.
#include "jobwatcher.h"

namespace taskfleet::gui {

namespace {
bool isOver(sched::JobState state)
{
    return state == sched::JobState::Finished || state == sched::JobState::Cancelled;
}
} // namespace

void JobWatcher::onSnapshot(const sched::ClusterSnapshot &snapshot)
{
    for (const sched::JobSnapshot &j : snapshot.jobs) {
        const auto was = m_jobStates.constFind(j.id);
        if (was != m_jobStates.constEnd() && *was != j.state
            && (j.state == sched::JobState::Paused || *was == sched::JobState::Paused)
            && j.state != sched::JobState::Cancelled)
            emit logged(tr("job %1 \"%2\" %3")
                            .arg(j.id)
                            .arg(j.name, j.state == sched::JobState::Paused ? tr("paused") : tr("resumed")));
        m_jobStates.insert(j.id, j.state);
        if (isOver(j.state) && m_endedUnannounced.remove(j.id))
            emit jobEnded(j);
    }
}

QString JobWatcher::title(const sched::ClusterSnapshot &snapshot)
{
    qint64 ran = 0, toRun = 0;
    for (const sched::JobSnapshot &j : snapshot.jobs) {
        if (isOver(j.state))
            continue;
        ran += j.done + j.errors + j.failed;
        toRun += j.total;
    }
    return toRun ? tr("%1 % · Taskfleet").arg(100 * ran / toRun) : tr("Taskfleet");
}

} // namespace taskfleet::gui
