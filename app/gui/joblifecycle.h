// SPDX-License-Identifier: MIT
// The jobs' lifecycle behind the window: submit, retry, rerun, resume, remove, and the journal of it all.
#pragma once

#include "appjournal.h"

#include "sched/controllerhost.h"

#include <QtCore/QHash>
#include <QtCore/QObject>

namespace taskfleet::gui {

class ResultsModel;
class TasksModel;

/**
 * What happens to the window's jobs between the panels and the controller, without a widget: jobs are
 * submitted through a ControllerHost, each with a ticket (JobSpec::ticket) that comes back with its id, so
 * what a submission asked for (select it, the job and tasks it retries, the journaled job it resumes) is
 * found by the job's own submission, never by counting acknowledgements; an attached script's jobs
 * (JobSpec::origin) come in between without disturbing anything. Keyed by job id from then on.
 *
 * Every job's spec is kept (for Retry and Rerun); its inputs and records go to the ResultsModel and the
 * TasksModel; the window's own jobs and their results to the AppJournal. A resumed job runs as the whole
 * journaled job with its earlier results counted as ended (JobSpec::endedBefore): its indices, total and
 * progress are the original job's, and its earlier results are in the models from the start.
 *
 * Lives on the window's thread; the host's signals must reach it before the window's own slots for the
 * same signals (connect it first), so the models know a job before the window shows it.
 */
class JobLifecycle : public QObject
{
    Q_OBJECT

public:
    JobLifecycle(sched::ControllerHost *host, TasksModel *tasks, ResultsModel *results, QObject *parent = nullptr);
    ~JobLifecycle() override;

    /** Queues \a spec; \a select: jobAdded() asks for it to be selected. */
    void submit(sched::JobSpec spec, bool select = false);
    /**
     * Queues a new job of the tasks of \a jobId that failed, returned an error or were cancelled (same plugin,
     * parameters and options; the Tasks view names the task each one retries). Returns how many (0: none to
     * retry, nothing queued, confirmed() says so).
     */
    int retryFailedTasks(int jobId);
    /** Queues the job again, every task (the window's job now, even if a script submitted it). False if unknown. */
    bool rerunJob(int jobId);
    /** Forgets a job that is over in the controller and the models. False for an unknown job. */
    bool forgetJob(int jobId);
    /** The job as submitted, or null. */
    const sched::JobSpec *spec(int jobId) const;
    /** Jobs submitted through submit() whose id has not come back yet. */
    int awaitedJobs() const { return int(m_intents.size()); }

    /** Opens this session's journal in \a dir and reads what earlier sessions left unfinished (leftoverJobs()). */
    [[nodiscard]] bool openJournal(const QString &dir, QString *error, QStringList *warnings);
    /** Writes what was asked for and stops journaling (the app is closing). */
    void closeJournal() { m_journal.close(); }
    AppJournal &journal() { return m_journal; }
    const AppJournal &journal() const { return m_journal; }
    /** Unfinished jobs of ended sessions waiting to be resumed or discarded. */
    int leftoverJobs() const;
    /** One line per leftover job: "• NAME: N of M tasks left". */
    QStringList leftoverLines() const;
    /** Queues the leftover jobs (each named "… (resumed: N of M tasks left)"); returns how many jobs. */
    int resumeLeftovers();
    /** Forgets the leftover jobs and removes their journals. */
    void discardLeftovers();
    /** Leaves the leftover jobs in their journals, to be offered at the next start. */
    void postponeLeftovers() { m_leftovers.clear(); }

signals:
    /** A job was handed to the controller (its id comes with jobAdded()). */
    void submitted(const QString &name);
    /** Job \a jobId is in the models now; \a select: the user or a script just queued it, show it. */
    void jobAdded(int jobId, const taskfleet::sched::JobSpec &spec, bool select);
    /** Records of job \a jobId the models took (a resumed job's earlier ones first, right after jobAdded()). */
    void recordsAdded(int jobId, const QVector<taskfleet::sched::TaskRecord> &records);
    /** Job \a jobId has \a tasks tasks now: an attached script's loop added to it (Controller::addTasks). */
    void tasksAdded(int jobId, int tasks);
    /** Something to tell the user in the error bar. */
    void errorRaised(const QString &message);
    /** Something done, for the log and the status bar. */
    void confirmed(const QString &message);

private:
    struct Intent {
        bool select = false;
        int retryOf = -1;
        QVector<int> retryIndices; ///< the retried job's task index of each new task
        QString resumeKey;         ///< the journaled job it resumes
        QVector<sched::TaskRecord> earlier;
    };
    void queue(sched::JobSpec spec, Intent intent);
    void onJobSubmitted(int jobId, const sched::JobSpec &spec);
    void onTasksAdded(int jobId, int first, const QVector<QCborValue> &inputs);
    void onResults(int jobId, const QVector<sched::TaskRecord> &records);
    void onJobFinished(int jobId);
    /** Removes a leftover journal whose jobs this session's journal now holds (kept if that cannot be synced). */
    void dropLeftover(AppJournal::Leftover &leftover);

    sched::ControllerHost *m_host;
    TasksModel *m_tasks;
    ResultsModel *m_results;
    AppJournal m_journal;
    QVector<AppJournal::Leftover> m_leftovers;
    quint64 m_nextTicket = 1;
    QHash<quint64, Intent> m_intents;   ///< ticket -> what its submission asked for
    QHash<int, sched::JobSpec> m_specs; ///< every job as submitted (its inputs are shared, not copied)
};

} // namespace taskfleet::gui
