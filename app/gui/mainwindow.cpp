// SPDX-License-Identifier: MIT
// The Taskfleet main window: nodes, jobs, results, picture, throughput and log.
#include "mainwindow.h"

#include "addnodedialog.h"
#include "agentnodetype.h"
#include "delegates.h"
#include "format.h"
#include "jobsmodel.h"
#include "mandelbrotview.h"
#include "manualwindow.h"
#include "nodesmodel.h"
#include "plugininputsdialog.h"
#include "pythonjobdialog.h"
#include "resultsmodel.h"
#include "settingsdialog.h"
#include "historydialog.h"
#include "jobsview.h"
#include "logpanel.h"
#include "nodesview.h"
#include "picturepane.h"
#include "resultspanel.h"
#include "tasksmodel.h"
#include "taskmapview.h"
#include "taskspanel.h"
#include "throughputchart.h"

#include "sched/jobfile.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMimeData>
#include <QtCore/QRegularExpression>
#include <QtCore/QSettings>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtGui/QCloseEvent>
#include <QtGui/QDragEnterEvent>
#include <QtGui/QDropEvent>
#include <QtGui/QFontDatabase>
#include <QtGui/QIcon>
#include <QtWidgets/QApplication>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMenu>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QSystemTrayIcon>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolBar>
#include <QtWidgets/QToolButton>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

static void initTaskfleetResources()
{
    Q_INIT_RESOURCE(taskfleet);
    Q_INIT_RESOURCE(pythonexamples);
}

namespace taskfleet::gui {

namespace {
const QString MandelbrotPlugin = QStringLiteral("mandelbrot");

bool looksLikePlugin(const QString &path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == QLatin1String("so") || suffix == QLatin1String("dylib") || suffix == QLatin1String("dll");
}

bool looksLikePython(const QString &path)
{
    return QFileInfo(path).suffix().toLower() == QLatin1String("py");
}

const QString ExamplesDir = QStringLiteral(":/taskfleet/jobs");

QGroupBox *group(const QString &title, QWidget *content, QWidget *parent)
{
    auto *box = new QGroupBox(title, parent);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(content);
    return box;
}
} // namespace

MainWindow::MainWindow(MainWindowOptions options, QWidget *parent)
    : QMainWindow(parent)
    , m_options(std::move(options))
{
    initTaskfleetResources();
    registerBuiltinNodeTypes();
    if (m_options.useSettings)
        m_settings = AppSettings::load();
    rebuildRegistry();

    sched::ControllerHostOptions hostOptions;
    hostOptions.localWorkers = m_options.localWorkers >= 0 ? m_options.localWorkers : m_settings.localWorkers;
    hostOptions.workerProgram = m_options.workerProgram;
    m_host = new sched::ControllerHost(hostOptions, this);
    m_host->setExitStatisticsPath(m_options.exitStatisticsPath);

    m_nodesModel = new NodesModel(this);
    m_jobsModel = new JobsModel(this);
    m_resultsModel = new ResultsModel(this);
    m_tasksModel = new TasksModel(this);
    // First: the models know a job (and the journal has it) before the window's own slots hear of it.
    m_jobs = new JobLifecycle(m_host, m_tasksModel, m_resultsModel, this);
    connect(m_jobs, &JobLifecycle::jobAdded, this, &MainWindow::onJobAdded);
    connect(m_jobs, &JobLifecycle::errorRaised, this, &MainWindow::showError);
    connect(m_jobs, &JobLifecycle::confirmed, this, &MainWindow::confirm);
    connect(m_jobs, &JobLifecycle::submitted, this, [this](const QString &name) {
        m_welcome->hide(); // the controller logs the job as queued, with its id
        emit jobQueued(name);
    });

    setWindowTitle(tr("Taskfleet"));
    setWindowIcon(QIcon(QStringLiteral(":/taskfleet/icons/taskfleet.png")));
    setAcceptDrops(true);
    buildActions();
    buildLayout();

    connect(m_host, &sched::ControllerHost::snapshotReady, this, &MainWindow::onSnapshot);
    connect(m_host, &sched::ControllerHost::resultsRecorded, this, &MainWindow::onResults);
    connect(m_host, &sched::ControllerHost::jobFinished, this, &MainWindow::onJobFinished);
    connect(m_host, &sched::ControllerHost::eventLogged, this, &MainWindow::log);
    connect(m_host, &sched::ControllerHost::taskReportReady, m_tasksModel, &TasksModel::setReport);
    connect(m_host, &sched::ControllerHost::statisticsExported, this, &MainWindow::onStatisticsExported);
    connect(m_host, &sched::ControllerHost::discoveryRejectionsChanged, this, &MainWindow::onDiscoveryRejections);
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
    for (const QString &address : std::as_const(m_options.nodes)) {
        QString host, why;
        quint16 port = 0;
        if (parseNodeAddress(address, &host, &port, &why))
            addRemoteNode(host, port);
        else
            showError(tr("node %1: %2").arg(address, why));
    }
    applyDiscovery();
    applyAgentListener();
    openJournal();
    if (!m_options.scriptSocket.isEmpty()) {
        QString pluginError;
        if (const auto python = m_registry.resolve(QStringLiteral("python"), &pluginError))
            m_host->enableScriptServer(m_options.scriptSocket, *python);
        else
            log(tr("scripts cannot attach: %1").arg(pluginError));
    }
    resize(1280, 840);
    if (m_options.useSettings) {
        for (const QString &address : std::as_const(m_settings.manualNodes)) {
            QString host, why;
            quint16 port = 0;
            if (parseNodeAddress(address, &host, &port, &why) && !m_options.nodes.contains(address))
                addRemoteNode(host, port);
        }
        restoreWindowState();
    }
}

void MainWindow::restoreWindowState()
{
    QSettings s;
    restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
    m_mainSplitter->restoreState(s.value(QStringLiteral("window/mainSplitter")).toByteArray());
    m_leftSplitter->restoreState(s.value(QStringLiteral("window/leftSplitter")).toByteArray());
    m_rightSplitter->restoreState(s.value(QStringLiteral("window/rightSplitter")).toByteArray());
    m_resultsPanel->view()->horizontalHeader()->restoreState(
        s.value(QStringLiteral("window/resultsColumns")).toByteArray());
}

void MainWindow::saveWindowState() const
{
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/mainSplitter"), m_mainSplitter->saveState());
    s.setValue(QStringLiteral("window/leftSplitter"), m_leftSplitter->saveState());
    s.setValue(QStringLiteral("window/rightSplitter"), m_rightSplitter->saveState());
    s.setValue(QStringLiteral("window/resultsColumns"), m_resultsPanel->view()->horizontalHeader()->saveState());
}

int MainWindow::unfinishedJobs() const
{
    int n = 0;
    for (const sched::JobSnapshot &j : m_jobsModel->jobs())
        n += j.state != sched::JobState::Finished && j.state != sched::JobState::Cancelled;
    return n;
}

void MainWindow::quitWithoutAsking()
{
    m_askBeforeQuit = false;
    close();
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
    QAction *open = file->addAction(tr("&Open Job…"), this, &MainWindow::onOpenJob);
    open->setShortcut(QKeySequence::Open);
    file->addAction(tr("Export &Statistics…"), this, &MainWindow::onExportStatistics);
    m_historyAction = file->addAction(tr("&History…"), this, [this] { showHistory(); });
    m_historyAction->setEnabled(false); // with a journal (openJournal())
    file->addSeparator();
    file->addAction(tr("Export Results as &JSON Lines…"), this, [this] { m_resultsPanel->exportResults(true); });
    file->addAction(tr("Export Results as &CSV…"), this, [this] { m_resultsPanel->exportResults(false); });
    file->addSeparator();
    file->addAction(tr("Se&ttings…"), this, &MainWindow::onSettings);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *examples = menuBar()->addMenu(tr("&Examples"));
    const QStringList jobs = exampleJobs();
    for (const QString &name : jobs)
        examples->addAction(exampleTitle(name), this, [this, name] { queueExample(name); });

    QMenu *jobsMenu = menuBar()->addMenu(tr("&Jobs"));
    m_pauseAction = jobsMenu->addAction(tr("&Pause"), this, &MainWindow::onPause);
    m_resumeAction = jobsMenu->addAction(tr("&Resume"), this, &MainWindow::onResume);
    m_cancelAction = jobsMenu->addAction(tr("&Cancel"), this, &MainWindow::onCancel);
    jobsMenu->addSeparator();
    m_raiseAction = jobsMenu->addAction(tr("Raise Priority"), this, [this] { onPriority(+1); });
    m_lowerAction = jobsMenu->addAction(tr("Lower Priority"), this, [this] { onPriority(-1); });
    jobsMenu->addSeparator();
    m_retryAction = jobsMenu->addAction(tr("Re&try Failed Tasks"), this, [this] { retryFailedTasks(selectedJob()); });
    m_retryAction->setToolTip(
        tr("Queue a new job of this job's tasks that failed, returned an error or were cancelled"));
    m_rerunAction = jobsMenu->addAction(tr("Re&run Job"), this, [this] { rerunJob(selectedJob()); });
    m_rerunAction->setToolTip(tr("Queue this job again, every task"));
    m_removeJobAction = jobsMenu->addAction(tr("Re&move Job"), this, [this] { removeJob(selectedJob()); });
    m_clearJobsAction = jobsMenu->addAction(tr("C&lear Finished Jobs"), this, &MainWindow::clearFinishedJobs);

    QMenu *nodes = menuBar()->addMenu(tr("&Nodes"));
    nodes->addAction(tr("&Add Node…"), this, &MainWindow::onAddNode);
    m_removeNodeAction = nodes->addAction(tr("&Remove Node"), this, &MainWindow::onRemoveNode);
    m_reconnectNodeAction = nodes->addAction(tr("Re&connect"), this, &MainWindow::onReconnectNode);
    // Deadline's "suspend a worker": running tasks finish, no new ones start; unchecked, it works again.
    m_drainNodeAction = nodes->addAction(tr("&Drain (Take No New Tasks)"));
    m_drainNodeAction->setCheckable(true);
    connect(m_drainNodeAction, &QAction::triggered, this, &MainWindow::onDrainNode);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *manual = help->addAction(tr("&Manual"), this, &MainWindow::showManual);
    manual->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About Taskfleet"), this, &MainWindow::onAbout);

    QToolBar *bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(open);
    bar->addSeparator();
    bar->addAction(m_pauseAction);
    bar->addAction(m_resumeAction);
    bar->addAction(m_cancelAction);
    bar->addAction(m_raiseAction);
    bar->addAction(m_lowerAction);
    bar->addSeparator();
    bar->addAction(tr("Export Statistics…"), this, &MainWindow::onExportStatistics);
}

QWidget *MainWindow::buildWelcome()
{
    auto *welcome = new QFrame(this);
    welcome->setObjectName(QStringLiteral("welcomeBar"));
    welcome->setFrameShape(QFrame::StyledPanel);
    welcome->setStyleSheet(QStringLiteral("QFrame { background: palette(alternate-base); }"));
    auto *layout = new QHBoxLayout(welcome);
    layout->setContentsMargins(8, 4, 8, 4);
    auto *text = new QLabel(tr("Drop job files, Python scripts or task plugins here, or try an example:"), welcome);
    text->setWordWrap(true); // two lines rather than a window wider than a 1024 px screen
    text->setMinimumWidth(text->fontMetrics().horizontalAdvance(text->text()) / 2 + 8);
    layout->addWidget(text, 1);
    // The three most telling examples as buttons, the others in a menu: the bar fits 1024 px.
    const QStringList jobs = exampleJobs();
    const QStringList first
        = {QStringLiteral("mandelbrot.json"), QStringLiteral("sum_primes.json"), QStringLiteral("pi.json")};
    QMenu *more = nullptr;
    for (const QString &name : jobs) {
        if (!first.contains(name)) {
            if (!more)
                more = new QMenu(welcome);
            more->addAction(exampleTitle(name), this, [this, name] { queueExample(name); });
            continue;
        }
        auto *button = new QPushButton(exampleTitle(name, true), welcome);
        button->setToolTip(exampleTitle(name));
        button->setObjectName(QStringLiteral("example_") + QFileInfo(name).completeBaseName());
        connect(button, &QPushButton::clicked, this, [this, name] { queueExample(name); });
        layout->addWidget(button);
    }
    if (more) {
        auto *button = new QPushButton(tr("More examples"), welcome);
        button->setObjectName(QStringLiteral("moreExamples"));
        button->setMenu(more);
        layout->addWidget(button);
    }
    return welcome;
}

void MainWindow::buildLayout()
{
    // Error bar: non-modal, so that a bad file never blocks the window (or a test).
    m_errorBar = new QFrame(this);
    m_errorBar->setObjectName(QStringLiteral("errorBar"));
    m_errorBar->setStyleSheet(
        QStringLiteral("#errorBar { background: #fdecea; border: 1px solid #e57373; border-radius: 3px; }"
                       "QLabel { color: #8e1c1c; }"));
    auto *errorLayout = new QHBoxLayout(m_errorBar);
    errorLayout->setContentsMargins(8, 4, 4, 4);
    m_errorText = new QLabel(m_errorBar);
    m_errorText->setWordWrap(true);
    m_errorText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *dismiss = new QToolButton(m_errorBar);
    dismiss->setText(QStringLiteral("\u2715"));
    dismiss->setAutoRaise(true);
    connect(dismiss, &QToolButton::clicked, m_errorBar, &QWidget::hide);
    errorLayout->addWidget(m_errorText, 1);
    errorLayout->addWidget(dismiss);
    m_errorBar->hide();

    m_welcome = buildWelcome();

    m_nodesView = new NodesView(m_nodesModel, {m_reconnectNodeAction, m_drainNodeAction, m_removeNodeAction}, this);
    m_jobsView = new JobsView(
        m_jobsModel, {m_pauseAction, m_resumeAction, m_cancelAction, m_retryAction, m_rerunAction, m_removeJobAction},
        this);
    connect(m_jobsView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::onSelectionChanged);
    connect(m_nodesView->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::updateActions);
    m_resultsPanel = new ResultsPanel(m_resultsModel, this);
    connect(m_resultsPanel, &ResultsPanel::written, this,
            [this](const QString &path) { confirm(tr("Results written: %1").arg(QDir::toNativeSeparators(path))); });
    connect(m_resultsPanel, &ResultsPanel::failed, this, &MainWindow::showError);
    m_log = new LogPanel(this);

    // Tasks: every task of the selected job, with its detail; reports come while the tab shows a running job.
    m_tasksPanel = new TasksPanel(m_tasksModel, this);
    m_tasksPanel->addButtons({m_retryAction, m_rerunAction});
    auto *reportTimer = new QTimer(this);
    connect(reportTimer, &QTimer::timeout, this, &MainWindow::requestTaskReport);
    reportTimer->start(500);

    m_tabs = new QTabWidget(this);
    m_tabs->addTab(m_resultsPanel, tr("Results"));
    m_tabs->addTab(m_tasksPanel, tr("Tasks"));
    connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::requestTaskReport);
    m_tabs->addTab(m_log, tr("Log"));

    m_chart = new ThroughputChart(this);

    auto *left = m_leftSplitter = new QSplitter(Qt::Vertical, this);
    left->addWidget(group(tr("Nodes"), m_nodesView, left));
    left->addWidget(group(tr("Jobs"), m_jobsView, left));
    left->addWidget(m_tabs);
    left->setStretchFactor(0, 2);
    left->setStretchFactor(1, 3);
    left->setStretchFactor(2, 4);
    auto *right = m_rightSplitter = new QSplitter(Qt::Vertical, this);
    // The picture for a job that draws one; for any other job a map of its tasks.
    m_picture = new PicturePane(m_tasksModel, m_options.useSettings, right);
    m_mandelbrot = m_picture->mandelbrot();
    connect(m_picture->taskMap(), &TaskMapView::taskClicked, this, [this](int task) {
        m_tabs->setCurrentWidget(m_tasksPanel);
        m_tasksPanel->setStateFilter(-1);
        m_tasksPanel->selectTask(task);
    });
    right->addWidget(m_picture);
    right->addWidget(group(tr("Throughput"), m_chart, right));
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2); // the chart keeps a plot of a usable height on a 700 px screen
    auto *main = m_mainSplitter = new QSplitter(Qt::Horizontal, this);
    main->addWidget(left);
    main->addWidget(right);
    main->setStretchFactor(0, 3);
    main->setStretchFactor(1, 2);
    main->setSizes({840, 440});
    left->setSizes({205, 145, 430});
    right->setSizes({500, 280});
    // The Nodes pane as tall as its rows (totals row included), so no scroll bar hides the totals.
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(m_nodesModel, signal, this, [this] { QTimer::singleShot(0, this, &MainWindow::fitNodesPane); });
    connect(m_nodesModel, &QAbstractItemModel::modelReset, this,
            [this] { QTimer::singleShot(0, this, &MainWindow::fitNodesPane); });

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_errorBar);
    layout->addWidget(m_welcome);
    layout->addWidget(main, 1);
    setCentralWidget(central);

    m_statusText = new QLabel(this);
    statusBar()->addWidget(m_statusText, 1);
    // How agents join, always in view (not only in the Log tab): set by applyDiscovery().
    m_agentsText = new QLabel(this);
    m_agentsText->setObjectName(QStringLiteral("agentsHint"));
    m_agentsText->setTextFormat(Qt::RichText);
    connect(m_agentsText, &QLabel::linkActivated, this, [this](const QString &link) {
        if (link == QLatin1String("settings"))
            onSettings();
        else if (link == QLatin1String("add"))
            onAddNode();
    });
    statusBar()->addPermanentWidget(m_agentsText);
    m_discoveryText = new QLabel(this);
    m_discoveryText->setObjectName(QStringLiteral("discoveryRejections"));
    m_discoveryText->setStyleSheet(QStringLiteral("QLabel { color: #b26a00; }"));
    m_discoveryText->hide();
    statusBar()->addPermanentWidget(m_discoveryText);
    updateActions();
}

void MainWindow::fitNodesPane()
{
    QWidget *pane = m_leftSplitter->widget(0);
    QList<int> sizes = m_leftSplitter->sizes();
    if (sizes.size() != 3 || sizes.at(0) <= 0 || !isVisible())
        return;
    const int rows = m_nodesModel->rowCount();
    QHeaderView *header = m_nodesView->horizontalHeader();
    int table = std::max(header->height(), header->sizeHint().height()) + 2 * m_nodesView->frameWidth();
    for (int r = 0; r < rows; ++r)
        table += m_nodesView->rowHeight(r);
    const int all = sizes.at(0) + sizes.at(1) + sizes.at(2);
    const int want = std::min(pane->height() - m_nodesView->height() + table + 2, all * 45 / 100);
    const int delta = want - sizes.at(0);
    if (delta == 0)
        return;
    sizes[0] = want;
    if (delta < 0) {
        sizes[1] -= delta; // room given back goes to the jobs
    } else {
        const int fromTabs = std::min(delta, std::max(0, sizes.at(2) - m_tabs->minimumSizeHint().height()));
        sizes[2] -= fromTabs;
        sizes[1] -= delta - fromTabs;
    }
    m_leftSplitter->setSizes(sizes);
}

void MainWindow::resizeEvent(QResizeEvent *event)
{
    QMainWindow::resizeEvent(event);
    QTimer::singleShot(0, this, &MainWindow::fitNodesPane);
}

QStringList MainWindow::exampleJobs()
{
    initTaskfleetResources();
    QStringList names = QDir(ExamplesDir).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    // The picture first: it is the most telling demo.
    const QString first = QStringLiteral("mandelbrot.json");
    if (names.removeAll(first))
        names.prepend(first);
    return names;
}

QString MainWindow::exampleTitle(const QString &fileName, bool brief)
{
    initTaskfleetResources();
    QFile f(ExamplesDir + QLatin1Char('/') + fileName);
    QString title;
    if (f.open(QIODevice::ReadOnly))
        title = QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("name")).toString().trimmed();
    if (title.isEmpty())
        title = QFileInfo(fileName)
                    .completeBaseName()
                    .replace(QLatin1Char('-'), QLatin1Char(' '))
                    .replace(QLatin1Char('_'), QLatin1Char(' '));
    if (brief) {
        const qsizetype cut = title.indexOf(QRegularExpression(QStringLiteral("\\s*[,(]")));
        if (cut > 0)
            title.truncate(cut);
    }
    if (!title.isEmpty())
        title[0] = title.at(0).toUpper();
    return title;
}

bool MainWindow::queueExample(const QString &fileName)
{
    QFile f(ExamplesDir + QLatin1Char('/') + fileName);
    if (!f.open(QIODevice::ReadOnly)) {
        showError(tr("example %1: %2").arg(fileName, f.errorString()));
        return false;
    }
    QString error;
    // Relative to the embedded folder: sum_primes.json's "script" is the embedded sum_primes.py.
    auto spec = sched::parseJobJson(f.readAll(), tr("example %1").arg(fileName), ExamplesDir, m_registry, &error);
    if (!spec) {
        showError(error);
        return false;
    }
    if (spec->name.isEmpty())
        spec->name = QFileInfo(fileName).completeBaseName();
    submit(*spec, true);
    return true;
}

int MainWindow::openFiles(const QStringList &paths)
{
    int queued = 0;
    for (const QString &path : paths) {
        if (looksLikePlugin(path)) {
            QString error;
            const auto plugin = exec::PluginRegistry::inspect(path, &error);
            if (!plugin) {
                showError(tr("%1: not a task plugin: %2").arg(QDir::toNativeSeparators(path), error));
                continue;
            }
            openPluginFile(path, *plugin);
            continue;
        }
        if (looksLikePython(path)) {
            openPythonFile(path);
            continue;
        }
        QString error;
        if (queueJobFile(path, &error))
            ++queued;
        else
            showError(error);
    }
    return queued;
}

bool MainWindow::queueJobFile(const QString &path, QString *error)
{
    auto spec = sched::parseJobFile(path, m_registry, error);
    if (!spec)
        return false;
    if (spec->name.isEmpty())
        spec->name = QFileInfo(path).completeBaseName();
    submit(*spec, true); // selected, so Pause and Cancel work on it at once (the last of several wins)
    return true;
}

void MainWindow::openPluginFile(const QString &path, const exec::PluginInfo &plugin)
{
    auto *dialog = new PluginInputsDialog(plugin, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, path] {
        QString error;
        if (auto spec = dialog->jobSpec(&error)) {
            spec->sourceFile = path;
            submit(*spec, true);
        } else {
            showError(error);
        }
    });
    dialog->open();
}

void MainWindow::openPythonFile(const QString &path)
{
    QString pluginError;
    const auto python = m_registry.resolve(QStringLiteral("python"), &pluginError);
    auto *dialog = new PythonJobDialog(path, python, pluginError, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!dialog->problem().isEmpty())
        log(tr("%1: %2").arg(QDir::toNativeSeparators(path), dialog->problem()));
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        QString error;
        if (auto spec = dialog->jobSpec(&error))
            submit(*spec, true);
        else
            showError(error);
    });
    dialog->open();
}

void MainWindow::showError(const QString &message)
{
    m_lastError = message;
    m_errorText->setText(message);
    m_errorBar->show();
    log(tr("error: %1").arg(message));
    emit errorShown(message);
}

void MainWindow::log(const QString &message)
{
    m_log->addLine(message);
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    for (const QUrl &url : urls) {
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
    }
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
    if (const int running = unfinishedJobs(); running > 0 && m_askBeforeQuit) {
        QMessageBox box(QMessageBox::Warning, tr("Quit"),
                        tr("%1 not finished. Quit anyway?").arg(countOf(running, tr("job is"), tr("jobs are"))),
                        QMessageBox::NoButton, this);
        box.setInformativeText(
            m_jobs->journal().isOpen() && !m_jobs->journal().hasFailed()
                ? tr("They stay in the journal: the next start offers to resume them.")
                : tr("Their tasks that have not run yet are lost; results so far can be exported first."));
        QPushButton *quit = box.addButton(tr("Quit"), QMessageBox::DestructiveRole);
        box.addButton(QMessageBox::Cancel);
        box.setDefaultButton(QMessageBox::Cancel);
        box.setObjectName(QStringLiteral("quitQuestion"));
        box.exec();
        if (box.clickedButton() != quit) {
            event->ignore();
            return;
        }
    }
    if (m_options.useSettings)
        saveWindowState();
    event->accept();
}

void MainWindow::onSnapshot(const sched::ClusterSnapshot &snapshot)
{
    m_nodesModel->setSnapshot(snapshot);
    m_jobsModel->setSnapshot(snapshot);
    m_chart->setSnapshot(snapshot);
    QHash<QString, int> busy;
    for (const sched::NodeSnapshot &n : snapshot.nodes)
        busy[n.name] += n.busy;
    m_tasksModel->setNodesBusy(busy);
    if (!m_clockOriginSet) { // the controller's clock started with the window: attempt times become clock times
        m_tasksModel->setClockOrigin(QDateTime::currentMSecsSinceEpoch() - snapshot.takenUs / 1000);
        m_clockOriginSet = true;
    }
    m_mandelbrot->setNodeOrder(snapshot.throughputNodeNames);
    // Pause and resume, whoever asked (the window, a script), as the controller does not log them.
    for (const sched::JobSnapshot &j : snapshot.jobs) {
        const auto was = m_jobStates.constFind(j.id);
        if (was != m_jobStates.constEnd() && *was != j.state
            && (j.state == sched::JobState::Paused || *was == sched::JobState::Paused)
            && j.state != sched::JobState::Cancelled)
            log(tr("job %1 \"%2\" %3")
                    .arg(j.id)
                    .arg(j.name, j.state == sched::JobState::Paused ? tr("paused") : tr("resumed")));
        m_jobStates.insert(j.id, j.state);
    }
    for (auto it = m_endedUnannounced.begin(); it != m_endedUnannounced.end();) {
        const sched::JobSnapshot *job = m_jobsModel->job(*it);
        if (job && (job->state == sched::JobState::Finished || job->state == sched::JobState::Cancelled)) {
            notifyJobEnded(*job);
            it = m_endedUnannounced.erase(it);
        } else {
            ++it;
        }
    }
    // The progress of the unfinished jobs in the title, so the taskbar shows it too.
    qint64 ran = 0, toRun = 0;
    for (const sched::JobSnapshot &j : snapshot.jobs) {
        if (j.state == sched::JobState::Finished || j.state == sched::JobState::Cancelled)
            continue;
        ran += j.done + j.errors + j.failed;
        toRun += j.total;
    }
    setWindowTitle(toRun ? tr("%1 % · Taskfleet").arg(100 * ran / toRun) : tr("Taskfleet"));
    if (m_pendingSelect >= 0 && m_jobsModel->rowOf(m_pendingSelect) >= 0) {
        selectJob(m_pendingSelect);
        m_pendingSelect = -1;
    }
    qint64 active = 0;
    for (const sched::JobSnapshot &j : snapshot.jobs)
        active += j.state == sched::JobState::Running || j.state == sched::JobState::Queued;
    // From the table's totals row, so the status bar and the table always agree.
    const sched::NodeSnapshot &total = m_nodesModel->totals();
    const int gone = m_nodesModel->goneCount();
    const QString nodes = countOf(m_nodesModel->nodes().size() - gone, tr("node"), tr("nodes"))
                          + (gone ? tr(" (+%1 gone)").arg(gone) : QString());
    m_statusText->setText(tr("%1 · %2 of %3 busy · %4 done · %5 tasks/s · %6 active")
                              .arg(nodes)
                              .arg(total.busy)
                              .arg(countOf(total.workers, tr("worker"), tr("workers")))
                              .arg(countOf(total.tasksDone, tr("task"), tr("tasks")))
                              .arg(formatRate(total.tasksPerSecond))
                              .arg(countOf(active, tr("job"), tr("jobs"))));
    updateActions();
}

void MainWindow::onJobAdded(int jobId, const sched::JobSpec &spec, bool select)
{
    if (spec.plugin.name == MandelbrotPlugin) {
        m_mandelbrot->setJobInputs(jobId, spec.inputs);
        m_lastMandelbrotJob = jobId;
        m_mandelbrot->setCurrentJob(jobId);
    }
    if (select || selectedJob() < 0 || spec.plugin.name == MandelbrotPlugin)
        m_pendingSelect = jobId;
}

void MainWindow::onResults(int jobId, const QVector<sched::TaskRecord> &records)
{
    if (m_mandelbrot->hasPicture(jobId))
        m_mandelbrot->addRecords(jobId, records);
}

void MainWindow::onJobFinished(int jobId)
{
    // The snapshot that follows has the job's final state and counts: it is announced from there.
    m_endedUnannounced.insert(jobId);
    if (jobId == m_tasksModel->currentJob())
        m_host->requestTaskReport(jobId); // the attempts' history as it ended
}

void MainWindow::requestTaskReport()
{
    const int jobId = m_tasksModel->currentJob();
    const sched::JobSnapshot *job = m_jobsModel->job(jobId);
    const bool over = job && (job->state == sched::JobState::Finished || job->state == sched::JobState::Cancelled);
    const bool shown = m_tabs->currentWidget() == m_tasksPanel || m_picture->currentPage() == m_picture->taskMap();
    if (job && !over && shown)
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
    const int jobs = leftoverJobs();
    if (jobs == 0)
        return;
    switch (m_options.resume) {
    case MainWindowOptions::Resume::Always:
        resumeLeftovers();
        break;
    case MainWindowOptions::Resume::Never:
        log(tr("journal: %1 from an earlier session wait for the next start")
                .arg(countOf(jobs, tr("unfinished job"), tr("unfinished jobs"))));
        m_jobs->postponeLeftovers(); // their locks go: the files stay for later
        break;
    case MainWindowOptions::Resume::Ask:
        QTimer::singleShot(0, this, &MainWindow::askToResume); // once the window is up
        break;
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

int MainWindow::leftoverJobs() const
{
    return m_jobs->leftoverJobs();
}

void MainWindow::askToResume()
{
    const int jobs = leftoverJobs();
    if (jobs == 0)
        return;
    QMessageBox box(QMessageBox::Question, tr("Resume Jobs"),
                    tr("%1 did not finish when Taskfleet last ended. Resume %2?")
                        .arg(countOf(jobs, tr("job"), tr("jobs")), jobs == 1 ? tr("it") : tr("them")),
                    QMessageBox::NoButton, this);
    box.setInformativeText(m_jobs->leftoverLines().join(QLatin1Char('\n')));
    QPushButton *resume = box.addButton(tr("Resume"), QMessageBox::AcceptRole);
    QPushButton *discard = box.addButton(tr("Discard"), QMessageBox::DestructiveRole);
    box.addButton(tr("Later"), QMessageBox::RejectRole);
    box.setDefaultButton(resume);
    box.setObjectName(QStringLiteral("resumeQuestion"));
    box.exec();
    if (box.clickedButton() == resume) {
        resumeLeftovers();
    } else if (box.clickedButton() == discard) {
        discardLeftovers();
    } else {
        m_jobs->postponeLeftovers(); // asked again at the next start
    }
}

int MainWindow::resumeLeftovers()
{
    return m_jobs->resumeLeftovers();
}

void MainWindow::discardLeftovers()
{
    m_jobs->discardLeftovers();
}

int MainWindow::retryFailedTasks(int jobId)
{
    return m_jobs->retryFailedTasks(jobId);
}

bool MainWindow::rerunJob(int jobId)
{
    return m_jobs->rerunJob(jobId);
}

bool MainWindow::removeJob(int jobId)
{
    const sched::JobSnapshot *job = m_jobsModel->job(jobId);
    if (!job || (job->state != sched::JobState::Finished && job->state != sched::JobState::Cancelled))
        return false;
    m_jobs->forgetJob(jobId);
    m_mandelbrot->removeJob(jobId);
    log(tr("job %1 removed from the window").arg(jobId));
    return true;
}

int MainWindow::clearFinishedJobs()
{
    QVector<int> over;
    for (const sched::JobSnapshot &job : m_jobsModel->jobs())
        if (job.state == sched::JobState::Finished || job.state == sched::JobState::Cancelled)
            over.append(job.id);
    for (int id : std::as_const(over))
        removeJob(id);
    if (!over.isEmpty())
        confirm(tr("Cleared %1").arg(countOf(over.size(), tr("finished job"), tr("finished jobs"))));
    return int(over.size());
}

void MainWindow::notifyJobEnded(const sched::JobSnapshot &job)
{
    m_lastNotification = tr("Job %1 \"%2\": %3").arg(job.id).arg(job.name, JobsModel::stateText(job));
    // Not logged: the controller logs the job's end (with its counts and time) already.
    if (!m_tray && QSystemTrayIcon::isSystemTrayAvailable()) {
        m_tray = new QSystemTrayIcon(windowIcon(), this);
        m_tray->setToolTip(tr("Taskfleet"));
        connect(m_tray, &QSystemTrayIcon::activated, this, [this] {
            showNormal();
            raise();
            activateWindow();
        });
        m_tray->show();
    }
    if (m_tray)
        m_tray->showMessage(tr("Taskfleet"), m_lastNotification,
                            JobsModel::outcome(job) == JobsModel::FinishedOk ? QSystemTrayIcon::Information
                                                                             : QSystemTrayIcon::Warning);
    else
        QApplication::alert(this); // no tray: the taskbar entry asks for attention
}

void MainWindow::onStatisticsExported(const QStringList &files, const QString &error)
{
    if (files.isEmpty())
        showError(tr("Statistics not exported: %1").arg(error));
    else
        confirm(tr("Statistics written: %1").arg(files.join(QStringLiteral(", "))));
}

void MainWindow::confirm(const QString &message)
{
    log(message);
    statusBar()->showMessage(message, 10000); // says it happened where the user looks, then gives the bar back
}

void MainWindow::selectJob(int jobId)
{
    m_jobsView->selectJob(jobId);
}

int MainWindow::selectedJob() const
{
    return m_jobsView->selectedJob();
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
    m_picture->showFor(jobId);
    updateActions();
}

QWidget *MainWindow::pictureOrMap() const
{
    return m_picture->currentPage();
}

TaskMapView *MainWindow::taskMap() const
{
    return m_picture->taskMap();
}

QTableView *MainWindow::nodesView() const
{
    return m_nodesView;
}

QTableView *MainWindow::jobsView() const
{
    return m_jobsView;
}

QPlainTextEdit *MainWindow::logView() const
{
    return m_log;
}

void MainWindow::updateActions()
{
    const sched::JobSnapshot *job = m_jobsModel->job(selectedJob());
    const bool over = !job || job->state == sched::JobState::Finished || job->state == sched::JobState::Cancelled;
    m_pauseAction->setEnabled(!over && job->state != sched::JobState::Paused);
    m_resumeAction->setEnabled(!over && job->state == sched::JobState::Paused);
    m_cancelAction->setEnabled(!over);
    m_raiseAction->setEnabled(!over);
    m_lowerAction->setEnabled(!over);
    m_retryAction->setEnabled(job && over && job->errors + job->failed + job->cancelled > 0); // not on clean jobs
    m_rerunAction->setEnabled(job != nullptr);
    m_removeJobAction->setEnabled(job && over);
    const int nodeRow = m_nodesView->selectedRow();
    const bool remote
        = nodeRow >= 0 && nodeRow < m_nodesModel->nodes().size() && !m_nodesModel->nodes().at(nodeRow).local;
    m_removeNodeAction->setEnabled(remote);
    m_reconnectNodeAction->setEnabled(remote && !m_nodesModel->isGone(nodeRow));
    const bool live = nodeRow >= 0 && nodeRow < m_nodesModel->nodes().size() && !m_nodesModel->isGone(nodeRow);
    m_drainNodeAction->setEnabled(live);
    m_drainNodeAction->setChecked(live && m_nodesModel->nodes().at(nodeRow).draining);
}

void MainWindow::onOpenJob()
{
    const QStringList files
        = QFileDialog::getOpenFileNames(this, tr("Open Job"), QString(),
                                        tr("Jobs, Python scripts and plugins (*.json *.py *.so);;Job files (*.json);;"
                                           "Python scripts (*.py);;Task plugins (*.so);;All files (*)"));
    openFiles(files);
}

void MainWindow::onExportStatistics()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Statistics"),
                                                      QStringLiteral("taskfleet-stats.csv"), tr("CSV files (*.csv)"));
    if (!path.isEmpty())
        m_host->exportStatistics(path);
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
        if (dialog->secretChanged() || m_settings.discovery != old.discovery
            || m_settings.discoveryPort != old.discoveryPort)
            applyDiscovery();
        if (dialog->secretChanged() || m_settings.acceptAgents != old.acceptAgents
            || m_settings.listenPort != old.listenPort)
            applyAgentListener();
        if (m_settings.localWorkers != old.localWorkers)
            m_host->setNodeWorkerCount(QStringLiteral("local"), m_settings.localWorkers >= 0
                                                                    ? m_settings.localWorkers
                                                                    : QThread::idealThreadCount());
        log(tr("settings saved"));
    });
    dialog->open();
}

void MainWindow::onAddNode()
{
    auto *dialog = new AddNodeDialog(m_settings.agentPort, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const QVector<NodeTypes::Type> types = NodeTypes::types();
        const int type = dialog->typeIndex();
        if (type < 0 || type >= types.size())
            return;
        QString host = dialog->host(), why;
        quint16 port = dialog->port();
        // "host:port" typed in the host field
        if (host.contains(QLatin1Char(':')) && !parseNodeAddress(host, &host, &port, &why)) {
            showError(tr("node %1: %2").arg(host, why));
            return;
        }
        if (addRemoteNode(host, port, type) && m_options.useSettings) {
            const QString address = net::formatNodeAddress(host, port);
            if (!m_settings.manualNodes.contains(address)) {
                m_settings.manualNodes.append(address); // added again at the next start
                m_settings.save();
            }
        }
    });
    dialog->open();
}

void MainWindow::applyDiscovery()
{
    std::optional<net::ListenerConfig> config = m_options.discovery;
    if (!config && m_options.useSettings && m_settings.discovery) {
        config.emplace();
        config->port = m_settings.discoveryPort;
        config->probePort = m_settings.discoveryPort;
    }
    const QString addByHand = tr("<a href=\"add\">add one by its address</a>");
    if (!config) {
        m_host->disableDiscovery();
        setAgentsHint(tr("Agents: discovery is off (File ▸ Settings); %1").arg(addByHand), false);
        return;
    }
    const net::SecretResult secret = clusterSecret();
    if (!secret.ok()) {
        m_host->disableDiscovery();
        log(tr("discovery off: %1").arg(secret.error));
        setAgentsHint(tr("Agents: discovery off, no cluster secret: <a href=\"settings\">set one in Settings</a>"),
                      true, secret.error);
        return;
    }
    m_host->enableDiscovery(*config, secret.secret);
    setAgentsHint(tr("Agents: found by discovery (UDP %1) when they have this cluster secret").arg(config->probePort),
                  false);
}

void MainWindow::setAgentsHint(const QString &html, bool warning, const QString &why)
{
    m_agentsText->setText(html);
    m_agentsText->setStyleSheet(warning ? QStringLiteral("QLabel { color: #b26a00; }") : QString());
    m_agentsText->setToolTip(
        (why.isEmpty() ? QString() : why + QStringLiteral("\n\n"))
        + tr("Agents on other machines (taskfleet-agent) join this window by discovery on the LAN when they "
             "have the same cluster secret, or by Nodes ▸ Add Node… with their address."));
}

void MainWindow::applyAgentListener()
{
    QHostAddress address = QHostAddress::Any;
    quint16 port = m_settings.listenPort;
    QString why;
    if (!m_options.listen.isEmpty()) {
        if (!net::parseListenAddress(m_options.listen, &address, &port, &why))
            return log(tr("agents cannot connect: --listen %1: %2").arg(m_options.listen, why));
    } else if (!m_options.useSettings || !m_settings.acceptAgents) {
        return m_host->disableAgentListener();
    }
    const net::SecretResult secret = clusterSecret();
    if (!secret.ok()) {
        m_host->disableAgentListener();
        return log(tr("agents cannot connect: %1").arg(secret.error));
    }
    m_host->enableAgentListener(address, port, secret.secret);
}

void MainWindow::onDiscoveryRejections(const QString &summary)
{
    m_discoveryRejections = summary;
    m_discoveryText->setText(summary);
    m_discoveryText->setToolTip(tr("Agents that discovery rejected (see the Log tab). Set the same cluster secret on "
                                   "them and here (File ▸ Settings) to use them."));
    m_discoveryText->setVisible(!summary.isEmpty());
}

net::SecretResult MainWindow::clusterSecret() const
{
    net::SecretSources sources;
    sources.file = m_options.secretFile;
    if (m_options.useSettings)
        sources.storedFile = AppSettings::secretFilePath();
    sources.missing = tr("no cluster secret: set it in File ▸ Settings (the agent prints where its secret is stored), "
                         "or start the app with --secret-file FILE or TASKFLEET_SECRET");
    return net::SecretStore::lookup(sources);
}

bool MainWindow::addRemoteNode(const QString &host, quint16 port, int typeIndex, QString *error)
{
    const QVector<NodeTypes::Type> types = NodeTypes::types();
    QString why;
    const net::SecretResult secret = clusterSecret();
    if (typeIndex < 0 || typeIndex >= types.size())
        why = tr("no such node type");
    else if (host.trimmed().isEmpty() || port == 0)
        why = tr("expected a host and a port");
    else if (!secret.ok())
        why = secret.error;
    if (!why.isEmpty()) {
        showError(tr("cannot add node %1:%2: %3").arg(host).arg(port).arg(why));
        if (error)
            *error = why;
        return false;
    }
    for (const QString &w : secret.warnings)
        log(w);
    const NodeTypes::Factory factory = types.at(typeIndex).factory;
    const QString s = QString::fromUtf8(secret.secret);
    const QString h = host.trimmed();
    m_nodesModel->remember(net::formatNodeAddress(h, port));
    m_host->addNode([factory, h, port, s] { return factory(h, port, s); });
    log(tr("adding node %1:%2 (%3)").arg(h).arg(port).arg(types.at(typeIndex).name));
    return true;
}

QString MainWindow::selectedNodeId() const
{
    const QModelIndexList rows = m_nodesView->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(NodesModel::NodeIdRole).toString();
}

void MainWindow::onRemoveNode()
{
    if (const QString id = selectedNodeId(); !id.isEmpty()) {
        m_nodesModel->forget(id); // a departed node's row goes at once; a live one's is not kept when it leaves
        m_host->removeNode(id);
        if (m_options.useSettings && m_settings.manualNodes.removeAll(id) > 0)
            m_settings.save();
    }
}

void MainWindow::onReconnectNode()
{
    if (const QString id = selectedNodeId(); !id.isEmpty())
        m_host->reconnectNode(id);
}

void MainWindow::onDrainNode(bool draining)
{
    if (const QString id = selectedNodeId(); !id.isEmpty())
        m_host->setNodeDraining(id, draining);
}

void MainWindow::onPause()
{
    if (const int id = selectedJob(); id >= 0)
        m_host->pauseJob(id);
}

void MainWindow::onResume()
{
    if (const int id = selectedJob(); id >= 0)
        m_host->resumeJob(id);
}

void MainWindow::onCancel()
{
    if (const int id = selectedJob(); id >= 0)
        m_host->cancelJob(id);
}

void MainWindow::onPriority(int delta)
{
    if (const sched::JobSnapshot *job = m_jobsModel->job(selectedJob()))
        m_host->setJobPriority(job->id, job->priority + delta);
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

void MainWindow::onAbout()
{
    QMessageBox::about(
        this, tr("About Taskfleet"),
        tr("<b>Taskfleet %1</b><p>Parallel tasks on the cores of this computer and the machines of your LAN.</p>")
            .arg(QApplication::applicationVersion()));
}

} // namespace taskfleet::gui
