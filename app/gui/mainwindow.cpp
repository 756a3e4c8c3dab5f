// SPDX-License-Identifier: MIT
// The Taskfleet main window: it places the panels and wires them to the classes that do the work.
#include "mainwindow.h"

#include "agentnodetype.h"
#include "clustersetup.h"
#include "errorbar.h"
#include "format.h"
#include "historydialog.h"
#include "jobactions.h"
#include "jobnotifier.h"
#include "jobopener.h"
#include "jobsmodel.h"
#include "jobsources.h"
#include "jobsview.h"
#include "jobwatcher.h"
#include "logpanel.h"
#include "mandelbrotview.h"
#include "manualwindow.h"
#include "nodeactions.h"
#include "nodesmodel.h"
#include "nodesview.h"
#include "picturepane.h"
#include "resultsmodel.h"
#include "resultspanel.h"
#include "settingsdialog.h"
#include "statusline.h"
#include "taskmapview.h"
#include "tasksmodel.h"
#include "taskspanel.h"
#include "throughputchart.h"
#include "timelineview.h"
#include "welcomebar.h"
#include "windowlayout.h"
#include "windowprompts.h"

#include "sched/journal.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QMimeData>
#include <QtCore/QSettings>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtGui/QCloseEvent>
#include <QtGui/QIcon>
#include <QtWidgets/QApplication>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QToolBar>

#include <algorithm>

namespace taskfleet::gui {

namespace {
const QString MandelbrotPlugin = QStringLiteral("mandelbrot");

bool isOver(sched::JobState state)
{
    return state == sched::JobState::Finished || state == sched::JobState::Cancelled;
}
} // namespace

MainWindow::MainWindow(MainWindowOptions options, QWidget *parent)
    : QMainWindow(parent)
    , m_options(std::move(options))
{
    jobsources::initResources(); // the icons and the examples
    registerBuiltinNodeTypes();
    useNodeColorBook(m_options.useSettings ? defaultNodeColorBook() : QString()); // nodes keep their colours
    if (m_options.useSettings)
        m_settings = AppSettings::load();
    rebuildRegistry();

    sched::ControllerHostOptions hostOptions;
    hostOptions.localWorkers = m_options.localWorkers >= 0 ? m_options.localWorkers : m_settings.localWorkers;
    hostOptions.workerProgram = m_options.workerProgram;
    hostOptions.workerValueCacheBytes = qint64(m_settings.valueCacheMb) << 20;
    m_host = new sched::ControllerHost(hostOptions, this);
    m_host->setExitStatisticsPath(m_options.exitStatisticsPath);

    m_nodesModel = new NodesModel(this);
    m_jobsModel = new JobsModel(this);
    m_resultsModel = new ResultsModel(this);
    m_tasksModel = new TasksModel(this);
    // First: the models know a job (and the journal has it) before the window's own slots hear of it.
    m_jobs = new JobLifecycle(m_host, m_tasksModel, m_resultsModel, this);
    m_cluster = new ClusterSetup(m_host, m_nodesModel, m_options, &m_settings, this);
    m_opener = new JobOpener(m_jobs, &m_registry, this);
    m_jobActions = new JobActions(m_host, m_jobsModel, m_jobs, this);
    m_nodeActions = new NodeActions(m_host, m_nodesModel, m_cluster, m_settings.agentPort, this);
    m_watcher = new JobWatcher(this);
    m_notifier = new JobNotifier(this);

    setWindowTitle(tr("Taskfleet"));
    setWindowIcon(QIcon(QStringLiteral(":/taskfleet/icons/taskfleet.png")));
    setAcceptDrops(true);
    buildActions();
    buildLayout();

    connect(m_jobs, &JobLifecycle::jobAdded, this, &MainWindow::onJobAdded);
    connect(m_jobs, &JobLifecycle::recordsAdded, m_mandelbrot, [this](int jobId, const auto &records) {
        if (m_mandelbrot->hasPicture(jobId))
            m_mandelbrot->addRecords(jobId, records);
    });
    connect(m_jobs, &JobLifecycle::submitted, this, [this](const QString &name) {
        m_welcome->hide(); // the controller logs the job as queued, with its id
        emit jobQueued(name);
    });
    connect(m_jobs, &JobLifecycle::errorRaised, this, &MainWindow::showError);
    connect(m_cluster, &ClusterSetup::errorRaised, this, &MainWindow::showError);
    connect(m_opener, &JobOpener::errorRaised, this, &MainWindow::showError);
    connect(m_jobs, &JobLifecycle::confirmed, this, &MainWindow::confirm);
    connect(m_jobActions, &JobActions::confirmed, this, &MainWindow::confirm);
    connect(m_jobActions, &JobActions::logged, this, &MainWindow::log);
    connect(m_jobActions, &JobActions::jobRemoved, m_mandelbrot, &MandelbrotView::removeJob);
    connect(m_cluster, &ClusterSetup::logged, this, &MainWindow::log);
    connect(m_cluster, &ClusterSetup::agentsHintChanged, m_status, &StatusLine::setAgentsHint);
    connect(m_opener, &JobOpener::logged, this, &MainWindow::log);
    connect(m_watcher, &JobWatcher::logged, this, &MainWindow::log);
    connect(m_watcher, &JobWatcher::jobEnded, m_notifier, &JobNotifier::notify);
    connect(m_host, &sched::ControllerHost::snapshotReady, this, &MainWindow::onSnapshot);
    connect(m_host, &sched::ControllerHost::jobFinished, this, [this](int jobId) {
        m_watcher->onJobFinished(jobId); // announced from the next snapshot, which has the final counts
        if (jobId == m_tasksModel->currentJob())
            m_host->requestTaskReport(jobId); // the attempts' history as it ended
    });
    connect(m_host, &sched::ControllerHost::eventLogged, this, &MainWindow::log);
    connect(m_host, &sched::ControllerHost::taskReportReady, m_tasksModel, &TasksModel::setReport);
    // After the Tasks view took the report: the timeline draws what it shows as running.
    connect(m_host, &sched::ControllerHost::taskReportReady, m_area->tasksPanel->timeline(), &TimelineView::setRunning);
    connect(m_host, &sched::ControllerHost::statisticsExported, this,
            [this](const QStringList &files, const QString &error) {
                if (files.isEmpty())
                    showError(tr("Statistics not exported: %1").arg(error));
                else
                    confirm(tr("Statistics written: %1").arg(files.join(QStringLiteral(", "))));
            });
    connect(m_host, &sched::ControllerHost::discoveryRejectionsChanged, this, [this](const QString &summary) {
        m_discoveryRejections = summary;
        m_status->setDiscoveryRejections(summary);
    });
    connect(m_nodesModel, &NodesModel::workerCountRequested, m_host, &sched::ControllerHost::setNodeWorkerCount);
    connect(m_nodesModel, &NodesModel::workerCountRequested, this, [this](const QString &nodeId, int count) {
        if (m_options.useSettings && nodeId == QLatin1String("local") && m_options.localWorkers < 0) {
            m_settings.localWorkers = count; // the next start has this many local workers too
            m_settings.save();
        }
    });
    m_host->start();
    log(tr("Taskfleet started; local node with %1")
            .arg(countOf(hostOptions.localWorkers >= 0 ? hostOptions.localWorkers : QThread::idealThreadCount(),
                         tr("worker"), tr("workers"))));
    m_cluster->addStartNodes();
    m_cluster->applyDiscovery();
    m_cluster->applyAgentListener();
    openJournal();
    if (!m_options.scriptSocket.isEmpty()) {
        QString pluginError;
        if (const auto python = m_registry.resolve(QStringLiteral("python"), &pluginError))
            m_host->enableScriptServer(m_options.scriptSocket, *python);
        else
            log(tr("scripts cannot attach: %1").arg(pluginError));
    }
    resize(1280, 840);
    if (m_options.useSettings)
        restoreWindowState();
}

MainWindow::~MainWindow()
{
    // An editor still open in the Nodes table commits as the widgets go (after this body): its request must not
    // reach this half-destroyed window (UBSan caught a lambda of ours running there).
    m_nodesModel->disconnect(this);
    m_jobs->closeJournal(); // what the controller says while it stops (cancelled tasks) is not the jobs' end
    delete m_host;          // joins the controller thread (and writes the exit statistics) before the views go
    m_host = nullptr;
}

void MainWindow::restoreWindowState()
{
    restoreGeometry(QSettings().value(QStringLiteral("window/geometry")).toByteArray());
    m_area->restoreState();
}

void MainWindow::saveWindowState() const
{
    QSettings().setValue(QStringLiteral("window/geometry"), saveGeometry());
    m_area->saveState();
}

void MainWindow::rebuildRegistry()
{
    m_registry = exec::PluginRegistry();
    for (const QString &dir : std::as_const(m_settings.pluginFolders))
        m_registry.addSearchPath(dir);
    for (auto it = m_options.pluginPaths.crbegin(); it != m_options.pluginPaths.crend(); ++it)
        m_registry.addSearchPath(*it);
}

void MainWindow::buildActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open Job…"), m_opener, &JobOpener::openDialog);
    open->setShortcuts({QKeySequence::Open, QKeySequence::New}); // a new job is a job file opened
    QAction *exportStats = file->addAction(tr("Export &Statistics…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Export Statistics"), QStringLiteral("taskfleet-stats.csv"), tr("CSV files (*.csv)"));
        if (!path.isEmpty())
            m_host->exportStatistics(path);
    });
    exportStats->setShortcut(QKeySequence(tr("Ctrl+Shift+E")));
    m_historyAction = file->addAction(tr("&History…"), this, [this] { showHistory(); });
    m_historyAction->setShortcut(QKeySequence(tr("Ctrl+H")));
    m_historyAction->setEnabled(false); // with a journal (openJournal())
    file->addSeparator();
    file->addAction(tr("Export Results as &JSON Lines…"), this, [this] { m_area->resultsPanel->exportResults(true); })
        ->setShortcut(QKeySequence(tr("Ctrl+E")));
    file->addAction(tr("Export Results as &CSV…"), this, [this] { m_area->resultsPanel->exportResults(false); });
    file->addSeparator();
    file->addAction(tr("Se&ttings…"), this, &MainWindow::onSettings)->setShortcut(QKeySequence(tr("Ctrl+,")));
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)
        ->setShortcut(QKeySequence(tr("Ctrl+Q"))); // Quit is empty where no desktop defines it

    QMenu *examples = menuBar()->addMenu(tr("&Examples"));
    for (const QString &name : jobsources::exampleJobs())
        examples->addAction(jobsources::exampleTitle(name), this, [this, name] { queueExample(name); });
    m_jobActions->addToMenu(menuBar()->addMenu(tr("&Jobs")));
    m_nodeActions->addToMenu(menuBar()->addMenu(tr("&Nodes")));
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Manual"), this, &MainWindow::showManual)->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About Taskfleet"), this, [this] {
        QMessageBox::about(
            this, tr("About Taskfleet"),
            tr("<b>Taskfleet %1</b><p>Parallel tasks on the cores of this computer and the machines of your LAN.</p>")
                .arg(QApplication::applicationVersion()));
    });

    QToolBar *bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(open);
    bar->addSeparator();
    bar->addActions(
        {m_jobActions->pause, m_jobActions->resume, m_jobActions->cancel, m_jobActions->raise, m_jobActions->lower});
    bar->addSeparator();
    bar->addAction(exportStats);
}

void MainWindow::buildLayout()
{
    m_errorBar = new ErrorBar(this);
    auto *welcome = new WelcomeBar(this);
    connect(welcome, &WelcomeBar::exampleChosen, this, &MainWindow::queueExample);
    m_welcome = welcome;
    m_area = new WindowLayout(m_nodesModel, m_jobsModel, m_resultsModel, m_tasksModel, m_jobActions, m_nodeActions,
                              m_options.useSettings, {m_errorBar, m_welcome}, this);
    setCentralWidget(m_area);
    m_mandelbrot = m_area->picture->mandelbrot();
    m_nodeActions->setView(m_area->nodesView);
    m_jobActions->setView(m_area->jobsView);
    connect(m_area->jobsView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::onSelectionChanged);
    connect(m_area->nodesView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::updateActions);
    connect(m_area->resultsPanel, &ResultsPanel::written, this,
            [this](const QString &path) { confirm(tr("Results written: %1").arg(QDir::toNativeSeparators(path))); });
    connect(m_area->resultsPanel, &ResultsPanel::failed, this, &MainWindow::showError);
    // Task reports come while the Tasks tab or the task map shows a running job.
    auto *reportTimer = new QTimer(this);
    connect(reportTimer, &QTimer::timeout, this, &MainWindow::requestTaskReport);
    reportTimer->start(500);
    connect(m_area->tabs, &QTabWidget::currentChanged, this, &MainWindow::requestTaskReport);

    m_status = new StatusLine(statusBar());
    connect(m_status, &StatusLine::linkActivated, this, [this](const QString &link) {
        if (link == QLatin1String("settings"))
            onSettings();
        else if (link == QLatin1String("add"))
            m_nodeActions->addNode();
    });
    updateActions();
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (std::any_of(urls.cbegin(), urls.cend(), [](const QUrl &url) { return url.isLocalFile(); }))
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    QStringList paths;
    const QList<QUrl> urls = event->mimeData()->urls();
    for (const QUrl &url : urls)
        if (url.isLocalFile())
            paths.append(url.toLocalFile());
    if (paths.isEmpty())
        return;
    event->acceptProposedAction();
    openFiles(paths);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    // Unfinished jobs stop with the app (the journal lets the next start resume them): the user is asked first.
    // (A signal from the session or a script quits without asking: quitWithoutAsking().)
    if (const int running = unfinishedJobs();
        running > 0 && m_askBeforeQuit
        && !askToQuit(this, running, m_jobs->journal().isOpen() && !m_jobs->journal().hasFailed())) {
        event->ignore();
        return;
    }
    if (m_options.useSettings)
        saveWindowState();
    event->accept();
}

void MainWindow::onSnapshot(const sched::ClusterSnapshot &snapshot)
{
    m_nodesModel->setSnapshot(snapshot);
    m_jobsModel->setSnapshot(snapshot);
    m_area->chart->setSnapshot(snapshot);
    QHash<QString, int> busy;
    QHash<QString, int> workers;
    for (const sched::NodeSnapshot &n : snapshot.nodes) {
        busy[n.name] += n.busy;
        workers[n.name] += n.workers;
    }
    m_tasksModel->setNodesBusy(busy);
    m_area->tasksPanel->timeline()->setNodeWorkers(workers);
    if (!m_clockOriginSet) { // the controller's clock started with the window: attempt times become clock times
        m_tasksModel->setClockOrigin(QDateTime::currentMSecsSinceEpoch() - snapshot.takenUs / 1000);
        m_clockOriginSet = true;
    }
    m_mandelbrot->setNodeOrder(snapshot.throughputNodeNames);
    m_watcher->onSnapshot(snapshot);
    setWindowTitle(JobWatcher::title(snapshot));
    if (m_pendingSelect >= 0 && m_jobsModel->rowOf(m_pendingSelect) >= 0) {
        selectJob(m_pendingSelect);
        m_pendingSelect = -1;
    }
    const auto active = std::count_if(snapshot.jobs.cbegin(), snapshot.jobs.cend(), [](const sched::JobSnapshot &j) {
        return j.state == sched::JobState::Running || j.state == sched::JobState::Queued;
    });
    m_status->setSummary(m_nodesModel, active);
    updateActions();
}

void MainWindow::onJobAdded(int jobId, const sched::JobSpec &spec, bool select)
{
    if (spec.plugin.name == MandelbrotPlugin) {
        m_mandelbrot->setJobInputs(jobId, spec.inputs);
        m_mandelbrot->setCurrentJob(jobId);
    }
    if (select || selectedJob() < 0 || spec.plugin.name == MandelbrotPlugin)
        m_pendingSelect = jobId;
}

void MainWindow::requestTaskReport()
{
    const int jobId = m_tasksModel->currentJob();
    const sched::JobSnapshot *job = m_jobsModel->job(jobId);
    if (job && !isOver(job->state) && m_area->showsTasks())
        m_host->requestTaskReport(jobId);
}

void MainWindow::openJournal()
{
    QString dir = m_options.journalDir;
    if (dir.isEmpty() && m_options.useSettings)
        dir = sched::defaultJournalDir();
    if (dir.isEmpty())
        return;
    QString error;
    QStringList warnings;
    if (!m_jobs->openJournal(dir, &error, &warnings)) {
        showError(tr("No journal: %1. Jobs are lost if the app ends before they do.").arg(error));
        return;
    }
    log(tr("journal: %1").arg(m_jobs->journal().path()));
    m_journalDir = dir;
    m_historyAction->setEnabled(true);
    for (const QString &warning : std::as_const(warnings))
        log(tr("journal: %1").arg(warning));
    if (const int jobs = leftoverJobs(); jobs > 0 && m_options.resume == MainWindowOptions::Resume::Never) {
        log(tr("journal: %1 from an earlier session wait for the next start")
                .arg(countOf(jobs, tr("unfinished job"), tr("unfinished jobs"))));
        m_jobs->postponeLeftovers(); // their locks go: the files stay for later
    } else if (jobs > 0 && m_options.resume == MainWindowOptions::Resume::Always) {
        resumeLeftovers();
    } else if (jobs > 0) {
        QTimer::singleShot(0, this, [this] { askToResume(this, m_jobs); }); // once the window is up
    }
}

HistoryDialog *MainWindow::showHistory()
{
    if (m_journalDir.isEmpty())
        return nullptr;
    auto *dialog = new HistoryDialog(m_journalDir, m_jobs->journal().path(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

void MainWindow::onSelectionChanged()
{
    const int jobId = selectedJob();
    m_resultsModel->setCurrentJob(jobId);
    if (jobId != m_tasksModel->currentJob()) {
        m_tasksModel->setCurrentJob(jobId);
        if (jobId >= 0)
            m_host->requestTaskReport(jobId); // running tasks and attempt history now, not at the next tick
    }
    if (m_mandelbrot->hasPicture(jobId))
        m_mandelbrot->setCurrentJob(jobId);
    m_area->picture->showFor(jobId);
    updateActions();
}

void MainWindow::updateActions()
{
    m_jobActions->update();
    m_nodeActions->update();
}

void MainWindow::onSettings()
{
    auto *dialog = new SettingsDialog(m_settings, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const AppSettings old = m_settings;
        m_settings = dialog->settings();
        m_settings.save();
        if (dialog->secretChanged()) {
            QString error;
            if (!AppSettings::setSecret(dialog->secret(), &error))
                showError(error);
        }
        rebuildRegistry();
        m_nodeActions->setDefaultPort(m_settings.agentPort);
        m_cluster->applySettings(old, dialog->secretChanged());
        log(tr("settings saved"));
    });
    dialog->open();
}

void MainWindow::confirm(const QString &message)
{
    log(message);
    statusBar()->showMessage(message, 10000); // says it happened where the user looks, then gives the bar back
}

void MainWindow::showError(const QString &message)
{
    m_lastError = message;
    m_errorBar->showMessage(message);
    log(tr("error: %1").arg(message));
    emit errorShown(message);
}

void MainWindow::log(const QString &message)
{
    m_area->log->addLine(message);
}

int MainWindow::unfinishedJobs() const
{
    // A script's job waiting a moment for more of its loop has nothing left to lose: every task it has ended.
    const auto &jobs = m_jobsModel->jobs();
    return int(std::count_if(jobs.cbegin(), jobs.cend(), [](const sched::JobSnapshot &j) {
        return !isOver(j.state) && !(j.total > 0 && j.done + j.errors + j.failed + j.cancelled == j.total);
    }));
}

void MainWindow::quitWithoutAsking()
{
    m_askBeforeQuit = false;
    close();
}

ManualWindow *MainWindow::showManual()
{
    if (!m_manual)
        m_manual = new ManualWindow(this);
    m_manual->show();
    m_manual->raise();
    m_manual->activateWindow();
    return m_manual;
}

void MainWindow::selectJob(int jobId)
{
    if (m_area->jobsView->selectJob(jobId)) // and in view: a new job may be below the rows shown
        m_area->jobsView->scrollTo(m_jobsModel->index(m_jobsModel->rowOf(jobId), 0));
}

} // namespace taskfleet::gui
