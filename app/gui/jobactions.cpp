// SPDX-License-Identifier: MIT
// The Jobs menu: pause, resume, cancel, priority, retry, rerun, remove and clear, on the selected job.
#include "jobactions.h"

#include "format.h"
#include "joblifecycle.h"
#include "jobsmodel.h"
#include "jobsview.h"

#include <QtGui/QAction>
#include <QtWidgets/QMenu>

namespace taskfleet::gui {

namespace {
bool isOver(const sched::JobSnapshot &job)
{
    return job.state == sched::JobState::Finished || job.state == sched::JobState::Cancelled;
}
} // namespace

JobActions::JobActions(sched::ControllerHost *host, JobsModel *jobs, JobLifecycle *lifecycle, QObject *parent)
    : QObject(parent)
    , m_host(host)
    , m_jobs(jobs)
    , m_lifecycle(lifecycle)
{
    const auto make = [this](const QString &text, const QKeySequence &key, auto slot) {
        auto *action = new QAction(text, this);
        action->setShortcut(key);
        connect(action, &QAction::triggered, this, slot);
        return action;
    };
    pause = make(tr("&Pause"), QKeySequence(tr("Ctrl+Shift+P")), [this] {
        if (const int id = selectedJob(); id >= 0)
            m_host->pauseJob(id);
    });
    resume = make(tr("&Resume"), QKeySequence(tr("Ctrl+Shift+R")), [this] {
        if (const int id = selectedJob(); id >= 0)
            m_host->resumeJob(id);
    });
    cancel = make(tr("&Cancel"), QKeySequence(tr("Ctrl+Shift+C")), [this] {
        if (const int id = selectedJob(); id >= 0)
            m_host->cancelJob(id);
    });
    const auto priority = [this](int delta) {
        if (const sched::JobSnapshot *job = m_jobs->job(selectedJob()))
            m_host->setJobPriority(job->id, job->priority + delta);
    };
    raise = make(tr("Raise Priority"), QKeySequence(tr("Ctrl+Up")), [priority] { priority(+1); });
    lower = make(tr("Lower Priority"), QKeySequence(tr("Ctrl+Down")), [priority] { priority(-1); });
    retry = make(tr("Re&try Failed Tasks"), QKeySequence(tr("Ctrl+T")),
                 [this] { m_lifecycle->retryFailedTasks(selectedJob()); });
    retry->setToolTip(tr("Queue a new job of this job's tasks that failed, returned an error or were cancelled"));
    rerun = make(tr("Re&run Job"), QKeySequence(tr("Ctrl+R")), [this] { m_lifecycle->rerunJob(selectedJob()); });
    rerun->setToolTip(tr("Queue this job again, every task"));
    remove = make(tr("Re&move Job"), QKeySequence::Delete, [this] { removeJob(selectedJob()); });
    remove->setShortcutContext(Qt::WidgetShortcut); // Delete in the Jobs table only, not in a node's or a text
    clear = make(tr("C&lear Finished Jobs"), QKeySequence(tr("Ctrl+Shift+Del")), [this] { clearFinishedJobs(); });
}

void JobActions::addToMenu(QMenu *menu) const
{
    menu->addActions({pause, resume, cancel});
    menu->addSeparator();
    menu->addActions({raise, lower});
    menu->addSeparator();
    menu->addActions({retry, rerun, remove, clear});
}

int JobActions::selectedJob() const
{
    return m_view ? m_view->selectedJob() : -1;
}

void JobActions::update()
{
    const sched::JobSnapshot *job = m_jobs->job(selectedJob());
    const bool over = !job || isOver(*job);
    pause->setEnabled(!over && job->state != sched::JobState::Paused);
    resume->setEnabled(!over && job->state == sched::JobState::Paused);
    cancel->setEnabled(!over);
    raise->setEnabled(!over);
    lower->setEnabled(!over);
    retry->setEnabled(job && over && job->errors + job->failed + job->cancelled > 0); // not on clean jobs
    rerun->setEnabled(job != nullptr);
    remove->setEnabled(job && over);
}

bool JobActions::removeJob(int jobId)
{
    const sched::JobSnapshot *job = m_jobs->job(jobId);
    if (!job || !isOver(*job))
        return false;
    m_lifecycle->forgetJob(jobId);
    emit jobRemoved(jobId);
    emit logged(tr("job %1 removed from the window").arg(jobId));
    return true;
}

int JobActions::clearFinishedJobs()
{
    QVector<int> over;
    for (const sched::JobSnapshot &job : m_jobs->jobs())
        if (isOver(job))
            over.append(job.id);
    for (int id : std::as_const(over))
        removeJob(id);
    if (!over.isEmpty())
        emit confirmed(tr("Cleared %1").arg(countOf(over.size(), tr("finished job"), tr("finished jobs"))));
    return int(over.size());
}

} // namespace taskfleet::gui
