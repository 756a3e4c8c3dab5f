// SPDX-License-Identifier: MIT
// The Jobs menu: pause, resume, cancel, priority, retry, rerun, remove and clear, on the selected job.
#pragma once

#include <QtCore/QObject>

class QAction;
class QMenu;

namespace taskfleet::sched {
class ControllerHost;
}

namespace taskfleet::gui {

class JobLifecycle;
class JobsModel;
class JobsView;

/**
 * The actions on jobs (the Jobs menu, the Jobs table's context menu, the toolbar), enabled for what the selected
 * job can do now (update()): Pause/Resume/Cancel/priority while it runs; Retry Failed Tasks once it is over with
 * some failed, error or cancelled tasks (never on a clean job); Rerun on any; Remove once it is over. Each has a
 * shortcut (docs/gui.md). Not a widget: the window places the actions.
 */
class JobActions : public QObject
{
    Q_OBJECT

public:
    JobActions(sched::ControllerHost *host, JobsModel *jobs, JobLifecycle *lifecycle, QObject *parent = nullptr);
    /** The table whose selected job the actions act on (set once it exists: it shows the actions too). */
    void setView(JobsView *view) { m_view = view; }

    void addToMenu(QMenu *menu) const;
    /** Enables each action for the selected job as it is now. */
    void update();

    /** Forgets a job that is over (here, in the controller and the models); false if it still runs. */
    bool removeJob(int jobId);
    /** Removes every job that is over; returns how many. */
    int clearFinishedJobs();

    QAction *pause = nullptr;
    QAction *resume = nullptr;
    QAction *cancel = nullptr;
    QAction *raise = nullptr;
    QAction *lower = nullptr;
    QAction *retry = nullptr;
    QAction *rerun = nullptr;
    QAction *remove = nullptr;
    QAction *clear = nullptr;

signals:
    void logged(const QString &message);
    void confirmed(const QString &message);
    /** Job \a jobId left the window (the picture of it goes too). */
    void jobRemoved(int jobId);

private:
    int selectedJob() const;

    sched::ControllerHost *m_host;
    JobsModel *m_jobs;
    JobLifecycle *m_lifecycle;
    JobsView *m_view = nullptr;
};

} // namespace taskfleet::gui
