// SPDX-License-Identifier: MIT
// The Taskfleet main window: nodes, jobs, results, picture, throughput and log.
#pragma once

#include "appsettings.h"
#include "clustersetup.h"
#include "jobactions.h"
#include "joblifecycle.h"
#include "jobnotifier.h"
#include "jobopener.h"
#include "jobsources.h"
#include "jobsview.h"
#include "logpanel.h"
#include "mainwindowoptions.h"
#include "nodesview.h"
#include "picturepane.h"
#include "windowlayout.h"

#include "exec/pluginregistry.h"
#include "net/secretstore.h"
#include "sched/controllerhost.h"

#include <QtWidgets/QMainWindow>

class QAction;
class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableView;
class QTabWidget;
class QSplitter;
class QSystemTrayIcon;
class QWidget;

namespace taskfleet::gui {

class ClusterSetup;
class ErrorBar;
class HistoryDialog;
class JobActions;
class JobNotifier;
class JobOpener;
class JobWatcher;
class NodeActions;
class StatusLine;
class WindowLayout;
class JobsModel;
class JobsView;
class LogPanel;
class NodesView;
class PicturePane;
class ResultsPanel;
class MandelbrotView;
class ManualWindow;
class NodesModel;
class ResultsModel;
class TaskMapView;
class TasksModel;
class TasksPanel;
class ThroughputChart;

/**
 * The desktop app's window. It owns a ControllerHost (the controller runs on its own thread)
 * and shows what its snapshots and result batches say; it never touches the controller.
 *
 * Job files dropped on the window or opened with File ▸ Open Job are queued; a plugin file opens
 * PluginInputsDialog and a Python script PythonJobDialog, whose job is queued and selected. A job file
 * that cannot be read or parsed is refused with a message in a bar at the top of the
 * window (lastError(), errorShown()) and nothing already queued changes.
 *
 * The window only places the panels and wires them to the classes that do the work: JobLifecycle (the jobs'
 * submit, retry, rerun, resume and journal), ClusterSetup, JobOpener, JobActions, NodeActions, JobWatcher,
 * JobNotifier, StatusLine and WindowLayout; its public methods are their doors for menus, tests and scripts.
 */
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(MainWindowOptions options = {}, QWidget *parent = nullptr);
    ~MainWindow() override;

    sched::ControllerHost *host() const { return m_host; }
    NodesModel *nodesModel() const { return m_nodesModel; }
    JobsModel *jobsModel() const { return m_jobsModel; }
    ResultsModel *resultsModel() const { return m_resultsModel; }
    TasksModel *tasksModel() const { return m_tasksModel; }
    TasksPanel *tasksPanel() const { return m_area->tasksPanel; }
    ResultsPanel *resultsPanel() const { return m_area->resultsPanel; }
    QTableView *nodesView() const { return m_area->nodesView; }
    QTableView *jobsView() const { return m_area->jobsView; }
    QPlainTextEdit *logView() const { return m_area->log; }
    MandelbrotView *mandelbrotView() const { return m_mandelbrot; }
    TaskMapView *taskMap() const { return m_area->picture->taskMap(); }
    ThroughputChart *throughputChart() const { return m_area->chart; }
    /** The right-hand pane's page now shown: the task map or the Mandelbrot picture. */
    QWidget *pictureOrMap() const { return m_area->picture->currentPage(); }
    const exec::PluginRegistry &plugins() const { return m_registry; }

    /**
     * Queues every job file; plugin files open the inputs dialog, Python scripts (.py) the Python job
     * dialog (their jobs are queued when the dialog is accepted). Returns how many jobs were queued now.
     */
    int openFiles(const QStringList &paths) { return m_opener->openFiles(paths); }
    /** Parses and queues one job file; false with *error (and nothing queued) when it is bad. */
    bool queueJobFile(const QString &path, QString *error) { return m_opener->queueJobFile(path, error); }
    /** Queues an example job embedded in the app (":/taskfleet/jobs/NAME"; a script it names is embedded beside it). */
    bool queueExample(const QString &fileName) { return m_opener->queueExample(fileName); }
    /** Example job files embedded in the app (file names, the Mandelbrot picture first). */
    static QStringList exampleJobs() { return jobsources::exampleJobs(); }
    /**
     * What the Examples menu calls an example: the job's "name" with a capital ("Sum of primes in Python
     * (Parallel Python demo)"), else its file name made readable. \a brief cuts it before a comma or
     * parenthesis, for the welcome bar's buttons ("Sum of primes in Python").
     */
    static QString exampleTitle(const QString &fileName, bool brief = false)
    {
        return jobsources::exampleTitle(fileName, brief);
    }

    /** The last message shown in the error bar (empty when none yet). */
    QString lastError() const { return m_lastError; }
    /** Shows \a message in the error bar and the log. */
    void showError(const QString &message);
    /** Jobs neither finished nor cancelled, with tasks that have not ended (what quitting would lose). */
    int unfinishedJobs() const;
    /** Closes without the "jobs are not finished" question (a termination signal, a script). */
    void quitWithoutAsking();
    /** Help ▸ Manual: opens (or raises) the manual window. */
    ManualWindow *showManual();
    /** The last "job ended" notification's text (also when no system tray could show it). */
    QString lastNotification() const { return m_notifier->lastText(); }
    /** Appends a line to the Log tab (it follows new lines unless the user scrolled up). */
    void log(const QString &message);
    /**
     * Adds a remote node of type \a typeIndex (NodeTypes::types(); 0 = taskfleet-agent) at host:port,
     * with clusterSecret() — what Nodes ▸ Add Node… does. Its row appears as connecting, then online or
     * refused/offline with the reason. False with *error (also shown) when there is no secret.
     */
    bool addRemoteNode(const QString &host, quint16 port, int typeIndex = 0, QString *error = nullptr)
    {
        return m_cluster->addRemoteNode(host, port, typeIndex, error);
    }
    /**
     * The cluster secret for agents: --secret-file if given, else the secret stored in Settings,
     * else TASKFLEET_SECRET. Not ok() (with the reason) when none is set.
     */
    net::SecretResult clusterSecret() const { return m_cluster->clusterSecret(); }

    /** Discovery's latest rejection summary, as shown in the status bar (empty: none). */
    QString discoveryRejections() const { return m_discoveryRejections; }

    /** Selects a job in the jobs table (results and picture follow). */
    void selectJob(int jobId);
    /** The job selected in the jobs table, or -1. */
    int selectedJob() const { return m_area->jobsView->selectedJob(); }

    /**
     * Jobs ▸ Retry Failed Tasks: queues a new job of the tasks of \a jobId that failed, returned an error
     * or were cancelled (same plugin, parameters and options; its Tasks view names the task each one
     * retries). Returns how many tasks it queued (0: none to retry; nothing queued).
     */
    int retryFailedTasks(int jobId) { return m_jobs->retryFailedTasks(jobId); }
    /** Jobs ▸ Rerun Job: queues the job again, every task. False for a job the window does not know. */
    bool rerunJob(int jobId) { return m_jobs->rerunJob(jobId); }
    /** Jobs ▸ Remove Job: forgets a job that is over, here and in the controller. False if it still runs. */
    bool removeJob(int jobId) { return m_jobActions->removeJob(jobId); }
    /** Jobs ▸ Clear Finished Jobs: removes every job that is over; returns how many. */
    int clearFinishedJobs() { return m_jobActions->clearFinishedJobs(); }

    /** This session's journal file (empty: no journal). */
    QString journalPath() const { return m_jobs->journal().isOpen() ? m_jobs->journal().path() : QString(); }
    /** The jobs' lifecycle (submit, retry, rerun, resume, journal) the window wires its panels to. */
    JobLifecycle *lifecycle() const { return m_jobs; }
    /** Unfinished jobs of ended sessions waiting to be resumed or discarded. */
    int leftoverJobs() const { return m_jobs->leftoverJobs(); }
    /**
     * Queues each leftover job whole, its earlier results counted as ended, so only its missing tasks run (named
     * "… (resumed: N of M tasks left)", with the original indices and results); returns how many jobs.
     */
    int resumeLeftovers() { return m_jobs->resumeLeftovers(); }
    /** Forgets the leftover jobs and removes their journals. */
    void discardLeftovers() { m_jobs->discardLeftovers(); }
    /** File ▸ History…: the jobs earlier sessions finished (nullptr without a journal). */
    HistoryDialog *showHistory();

signals:
    void errorShown(const QString &message);
    /** A file or example became a job (its id arrives later in the jobs model). */
    void jobQueued(const QString &name);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;

private:
    /** Menus and toolbar: the window's own actions, then JobActions' and NodeActions'. */
    void buildActions();
    /** Geometry, splitters and the results columns, as QSettings remembers them (with useSettings). */
    void restoreWindowState();
    void saveWindowState() const;
    void buildLayout();
    void rebuildRegistry();
    void openJournal();
    void onSnapshot(const sched::ClusterSnapshot &snapshot);
    void onJobAdded(int jobId, const sched::JobSpec &spec, bool select);
    /** Asks for the selected job's task report while the Tasks tab shows a job that runs (and once after). */
    void requestTaskReport();
    /** A done thing (a file written): in the log and, for a while, in the status bar. */
    void confirm(const QString &message);
    void onSelectionChanged();
    void onSettings();
    void updateActions();

    MainWindowOptions m_options;
    AppSettings m_settings;
    exec::PluginRegistry m_registry;
    sched::ControllerHost *m_host = nullptr;
    NodesModel *m_nodesModel = nullptr;
    JobsModel *m_jobsModel = nullptr;
    ResultsModel *m_resultsModel = nullptr;
    TasksModel *m_tasksModel = nullptr;
    JobLifecycle *m_jobs = nullptr;
    ClusterSetup *m_cluster = nullptr;
    JobOpener *m_opener = nullptr;
    JobActions *m_jobActions = nullptr;
    NodeActions *m_nodeActions = nullptr;
    JobWatcher *m_watcher = nullptr;
    JobNotifier *m_notifier = nullptr;
    StatusLine *m_status = nullptr;
    WindowLayout *m_area = nullptr;
    MandelbrotView *m_mandelbrot = nullptr; ///< m_area's picture's
    ManualWindow *m_manual = nullptr;
    ErrorBar *m_errorBar = nullptr;
    QWidget *m_welcome = nullptr;
    QAction *m_historyAction = nullptr;
    bool m_askBeforeQuit = true;
    bool m_clockOriginSet = false;
    int m_pendingSelect = -1;
    QString m_journalDir;
    QString m_lastError;
    QString m_discoveryRejections;
};

} // namespace taskfleet::gui
