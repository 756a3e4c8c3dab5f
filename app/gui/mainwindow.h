// SPDX-License-Identifier: MIT
// The Taskfleet main window: nodes, jobs, results, picture, throughput and log.
#pragma once

#include "appsettings.h"
#include "joblifecycle.h"
#include "exec/pluginregistry.h"
#include "net/secretstore.h"
#include "sched/controllerhost.h"

#include <QtCore/QSet>
#include <QtWidgets/QMainWindow>

#include <optional>

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

class HistoryDialog;
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

/** How the window starts its controller. */
struct MainWindowOptions {
    int localWorkers = -1;      ///< -1: from the settings, else one per CPU
    QStringList pluginPaths;    ///< searched first (e.g. --plugin-path)
    QString workerProgram;      ///< empty: the default worker program
    QString exitStatisticsPath; ///< statistics CSV written when the window is destroyed
    bool useSettings = true;    ///< read AppSettings (tests turn this off)
    QStringList nodes;          ///< agents to add at start, "HOST:PORT" each (--node)
    QString secretFile;         ///< the cluster secret for agents comes from this file (--secret-file)
    QString listen;             ///< agents may dial here, "[ADDR:]PORT" (--listen); empty: as Settings say
    /** Discovery: unset = as Settings say (on, UDP port from Settings; never without useSettings); set = these sockets. */
    std::optional<net::ListenerConfig> discovery;
    /** Where Python scripts attach (taskfleet.Server(attach=True), docs/python.md); empty: they cannot. */
    QString scriptSocket;
    /** The journal's folder; empty: sched::defaultJournalDir() with useSettings, else no journal. */
    QString journalDir;
    /** Unfinished jobs of an earlier session found in the journal folder at start. */
    enum class Resume { Ask, Always, Never } resume = Resume::Ask;
};

/**
 * The desktop app's window. It owns a ControllerHost (the controller runs on its own thread)
 * and shows what its snapshots and result batches say; it never touches the controller.
 *
 * Job files dropped on the window or opened with File ▸ Open Job are queued; a plugin file opens
 * PluginInputsDialog and a Python script PythonJobDialog, whose job is queued and selected. A job file
 * that cannot be read or parsed is refused with a message in a bar at the top of the
 * window (lastError(), errorShown()) and nothing already queued changes.
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
    TasksPanel *tasksPanel() const { return m_tasksPanel; }
    ResultsPanel *resultsPanel() const { return m_resultsPanel; }
    QTableView *nodesView() const;
    QTableView *jobsView() const;
    QPlainTextEdit *logView() const;
    MandelbrotView *mandelbrotView() const { return m_mandelbrot; }
    TaskMapView *taskMap() const;
    ThroughputChart *throughputChart() const { return m_chart; }
    /** The right-hand pane's page now shown: the task map or the Mandelbrot picture. */
    QWidget *pictureOrMap() const;
    const exec::PluginRegistry &plugins() const { return m_registry; }

    /**
     * Queues every job file; plugin files open the inputs dialog, Python scripts (.py) the Python job
     * dialog (their jobs are queued when the dialog is accepted). Returns how many jobs were queued now.
     */
    int openFiles(const QStringList &paths);
    /** Parses and queues one job file; false with *error (and nothing queued) when it is bad. */
    bool queueJobFile(const QString &path, QString *error);
    /** Queues an example job embedded in the app (":/taskfleet/jobs/NAME"; a script it names is embedded beside it). */
    bool queueExample(const QString &fileName);
    /** Example job files embedded in the app (file names, the Mandelbrot picture first). */
    static QStringList exampleJobs();
    /**
     * What the Examples menu calls an example: the job's "name" with a capital ("Sum of primes in Python
     * (Parallel Python demo)"), else its file name made readable. \a brief cuts it before a comma or
     * parenthesis, for the welcome bar's buttons ("Sum of primes in Python").
     */
    static QString exampleTitle(const QString &fileName, bool brief = false);

    /** The last message shown in the error bar (empty when none yet). */
    QString lastError() const { return m_lastError; }
    /** Shows \a message in the error bar and the log. */
    void showError(const QString &message);
    /** Jobs neither finished nor cancelled. */
    int unfinishedJobs() const;
    /** Closes without the "jobs are not finished" question (a termination signal, a script). */
    void quitWithoutAsking();
    /** Help ▸ Manual: opens (or raises) the manual window. */
    ManualWindow *showManual();
    /** The last "job ended" notification's text (also when no system tray could show it). */
    QString lastNotification() const { return m_lastNotification; }
    /** Appends a line to the Log tab (it follows new lines unless the user scrolled up). */
    void log(const QString &message);
    /**
     * Adds a remote node of type \a typeIndex (NodeTypes::types(); 0 = taskfleet-agent) at host:port,
     * with clusterSecret() — what Nodes ▸ Add Node… does. Its row appears as connecting, then online or
     * refused/offline with the reason. False with *error (also shown) when there is no secret.
     */
    bool addRemoteNode(const QString &host, quint16 port, int typeIndex = 0, QString *error = nullptr);
    /**
     * The cluster secret for agents: --secret-file if given, else the secret stored in Settings,
     * else TASKFLEET_SECRET. Not ok() (with the reason) when none is set.
     */
    net::SecretResult clusterSecret() const;

    /** Discovery's latest rejection summary, as shown in the status bar (empty: none). */
    QString discoveryRejections() const { return m_discoveryRejections; }

    /** Selects a job in the jobs table (results and picture follow). */
    void selectJob(int jobId);
    /** The job selected in the jobs table, or -1. */
    int selectedJob() const;

    /**
     * Jobs ▸ Retry Failed Tasks: queues a new job of the tasks of \a jobId that failed, returned an error
     * or were cancelled (same plugin, parameters and options; its Tasks view names the task each one
     * retries). Returns how many tasks it queued (0: none to retry; nothing queued).
     */
    int retryFailedTasks(int jobId);
    /** Jobs ▸ Rerun Job: queues the job again, every task. False for a job the window does not know. */
    bool rerunJob(int jobId);
    /** Jobs ▸ Remove Job: forgets a job that is over, here and in the controller. False if it still runs. */
    bool removeJob(int jobId);
    /** Jobs ▸ Clear Finished Jobs: removes every job that is over; returns how many. */
    int clearFinishedJobs();

    /** This session's journal file (empty: no journal). */
    QString journalPath() const { return m_jobs->journal().isOpen() ? m_jobs->journal().path() : QString(); }
    /** The jobs' lifecycle (submit, retry, rerun, resume, journal) the window wires its panels to. */
    JobLifecycle *lifecycle() const { return m_jobs; }
    /** Unfinished jobs of ended sessions waiting to be resumed or discarded. */
    int leftoverJobs() const;
    /** Queues the leftover jobs' missing tasks (each job named "… (resumed: N of M tasks left)"); returns how many jobs. */
    int resumeLeftovers();
    /** Forgets the leftover jobs and removes their journals. */
    void discardLeftovers();
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
    void resizeEvent(QResizeEvent *event) override;

private:
    void buildActions();
    /** Geometry, splitters and the results columns, as QSettings remembers them (with useSettings). */
    void restoreWindowState();
    void saveWindowState() const;
    void buildLayout();
    /** Gives the Nodes pane the height of its rows (at most 45 % of the left side), the rest to the jobs. */
    void fitNodesPane();
    QWidget *buildWelcome();
    void rebuildRegistry();
    /** \a select: select the job in the jobs table once it is there (jobs the user just set up in a dialog). */
    void submit(const sched::JobSpec &spec, bool select = false) { m_jobs->submit(spec, select); }
    void openPluginFile(const QString &path, const exec::PluginInfo &plugin);
    void openPythonFile(const QString &path);
    void applyDiscovery();
    /** The status bar's word on how agents join (rich text with links "settings" and "add"). */
    void setAgentsHint(const QString &html, bool warning, const QString &why = {});
    /** Agents may dial this window's controller: --listen, else Settings' "agents may connect" port. */
    void applyAgentListener();
    void onDiscoveryRejections(const QString &summary);

    void onSnapshot(const sched::ClusterSnapshot &snapshot);
    void onJobAdded(int jobId, const sched::JobSpec &spec, bool select);
    void onResults(int jobId, const QVector<sched::TaskRecord> &records);
    void onJobFinished(int jobId);
    /** Opens this session's journal and looks for jobs earlier sessions left unfinished. */
    void openJournal();
    void askToResume();
    /** Asks for the selected job's task report while the Tasks tab shows a job that runs (and once after). */
    void requestTaskReport();
    void onStatisticsExported(const QStringList &files, const QString &error);
    /** A done thing (a file written): in the log and, for a while, in the status bar. */
    void confirm(const QString &message);
    /** A job ended: a tray message where there is a tray, else the window asks for attention. */
    void notifyJobEnded(const sched::JobSnapshot &job);
    void onSelectionChanged();
    void onOpenJob();
    void onExportStatistics();
    void onSettings();
    void onAddNode();
    void onRemoveNode();
    void onReconnectNode();
    void onDrainNode(bool draining);
    QString selectedNodeId() const;
    void onPause();
    void onResume();
    void onCancel();
    void onPriority(int delta);
    void onAbout();
    void updateActions();

    MainWindowOptions m_options;
    AppSettings m_settings;
    exec::PluginRegistry m_registry;
    sched::ControllerHost *m_host = nullptr;
    NodesModel *m_nodesModel = nullptr;
    JobsModel *m_jobsModel = nullptr;
    ResultsModel *m_resultsModel = nullptr;
    TasksModel *m_tasksModel = nullptr;
    TasksPanel *m_tasksPanel = nullptr;
    NodesView *m_nodesView = nullptr;
    JobsView *m_jobsView = nullptr;
    ResultsPanel *m_resultsPanel = nullptr;
    PicturePane *m_picture = nullptr;
    MandelbrotView *m_mandelbrot = nullptr; ///< m_picture's
    ThroughputChart *m_chart = nullptr;
    LogPanel *m_log = nullptr;
    ManualWindow *m_manual = nullptr;
    QSplitter *m_mainSplitter = nullptr;
    QSplitter *m_leftSplitter = nullptr;
    QSplitter *m_rightSplitter = nullptr;
    bool m_askBeforeQuit = true;
    QSystemTrayIcon *m_tray = nullptr;
    QSet<int> m_endedUnannounced; ///< jobs finished whose end the next snapshot announces
    QString m_lastNotification;
    QTabWidget *m_tabs = nullptr;
    QWidget *m_errorBar = nullptr;
    QLabel *m_errorText = nullptr;
    QWidget *m_welcome = nullptr;
    QLabel *m_statusText = nullptr;
    QLabel *m_discoveryText = nullptr;
    QLabel *m_agentsText = nullptr;
    QString m_discoveryRejections;
    QAction *m_pauseAction = nullptr;
    QAction *m_resumeAction = nullptr;
    QAction *m_cancelAction = nullptr;
    QAction *m_raiseAction = nullptr;
    QAction *m_lowerAction = nullptr;
    QAction *m_retryAction = nullptr;
    QAction *m_rerunAction = nullptr;
    QAction *m_removeJobAction = nullptr;
    QAction *m_clearJobsAction = nullptr;
    QAction *m_historyAction = nullptr;
    QString m_journalDir;
    QAction *m_removeNodeAction = nullptr;
    QAction *m_reconnectNodeAction = nullptr;
    QAction *m_drainNodeAction = nullptr;
    QString m_lastError;
    int m_pendingSelect = -1;
    JobLifecycle *m_jobs = nullptr;
    int m_lastMandelbrotJob = -1;
    bool m_clockOriginSet = false;
    QHash<int, sched::JobState> m_jobStates; ///< each job's state in the last snapshot (to log pause and resume)
};

} // namespace taskfleet::gui
