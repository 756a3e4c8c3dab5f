// SPDX-License-Identifier: MIT
// taskfleet: the desktop app. Parses the command line and opens the main window.
#include "agentnodetype.h"
#include "mainwindow.h"
#include "sched/journal.h"
#include "sched/scriptserver.h"
#include "signalwatcher.h"
#include "util/allocator.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtWidgets/QApplication>

#include <cstdio>
#include <cstring>

// Whether the command line asks for help or the version (before any "--"): that needs no window, so
// it must work without a display too (ssh, a server's terminal), where the platform plugin would abort
// before the parser could answer. The parser answers them and exits, whatever else the line holds.
static bool asksForText(int argc, char *argv[])
{
    for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
        for (const char *option : {"-h", "--help", "--help-all", "-?", "-v", "--version"}) {
            if (std::strcmp(argv[i], option) == 0)
                return true;
        }
    }
    return false;
}

int main(int argc, char *argv[])
{
    if (asksForText(argc, argv) && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")
        && qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    taskfleet::util::tuneAllocatorForBigValues();
    QApplication app(argc, argv);
    taskfleet::util::trimFreeMemoryPeriodically(&app);
    QApplication::setOrganizationName(QStringLiteral("taskfleet"));
    QApplication::setApplicationName(QStringLiteral("taskfleet"));
    QApplication::setApplicationDisplayName(QStringLiteral("Taskfleet"));
    QApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("taskfleet"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Run many small computations in parallel on this computer and your LAN.\n\n"
        "Examples:\n"
        "  taskfleet                                   open the window (agents on the LAN are discovered)\n"
        "  taskfleet -n 4 resources/jobs/mandelbrot.json   4 local workers, queue a job at start\n"
        "  taskfleet -n 0 --node 192.168.1.20:45450 --secret-file ~/.config/taskfleet.secret job.json\n"
        "  taskfleet --listen 45460                    agents may dial in (taskfleet-agent --connect THIS-HOST:45460)\n"
        "  taskfleet --plugin-path ~/myplugins/build --export-stats stats.csv"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption workers(
        {QStringLiteral("n"), QStringLiteral("local-workers")},
        QStringLiteral("Workers on this computer (default: from the settings, else one per CPU)."),
        QStringLiteral("N"));
    const QCommandLineOption pluginPath(QStringLiteral("plugin-path"),
                                        QStringLiteral("Also look for task plugins in DIR (repeatable)."),
                                        QStringLiteral("DIR"));
    const QCommandLineOption exportStats(
        QStringLiteral("export-stats"),
        QStringLiteral("Write the statistics CSV (and .timeseries.csv, .tasks.csv) to FILE on exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption nodeOpt(QStringLiteral("node"),
                                     QStringLiteral("Also run tasks on the taskfleet-agent at HOST:PORT (repeatable)."),
                                     QStringLiteral("HOST:PORT"));
    const QCommandLineOption secretFileOpt(QStringLiteral("secret-file"),
                                           QStringLiteral("Read the cluster secret for agents from FILE "
                                                          "(else the one in Settings, else TASKFLEET_SECRET)."),
                                           QStringLiteral("FILE"));
    const QCommandLineOption listenOpt(
        QStringLiteral("listen"),
        QStringLiteral(
            "Let agents dial this computer at [ADDR:]PORT (taskfleet-agent --connect; for agents behind NAT, "
            "a firewall or on Slurm nodes; shown as \"dialed in\" in the Nodes table). Default: as Settings "
            "say (off unless \"Agents may connect\" is ticked)."),
        QStringLiteral("[ADDR:]PORT"));
    const QCommandLineOption scriptSocketOpt(
        QStringLiteral("script-socket"),
        QStringLiteral("Python scripts attach at PATH (default: %1).").arg(taskfleet::sched::defaultScriptSocketPath()),
        QStringLiteral("PATH"));
    const QCommandLineOption noScriptsOpt(QStringLiteral("no-scripts"),
                                          QStringLiteral("Python scripts cannot attach to this window."));
    const QCommandLineOption resumeOpt(
        QStringLiteral("resume"),
        QStringLiteral("Resume the jobs an earlier session left unfinished (in the journal, %1) without asking.")
            .arg(taskfleet::sched::defaultJournalDir()));
    const QCommandLineOption noResumeOpt(
        QStringLiteral("no-resume"),
        QStringLiteral("Do not offer to resume them this time (they stay in the journal)."));
    parser.addOption(workers);
    parser.addOption(resumeOpt);
    parser.addOption(noResumeOpt);
    parser.addOption(nodeOpt);
    parser.addOption(listenOpt);
    parser.addOption(scriptSocketOpt);
    parser.addOption(noScriptsOpt);
    parser.addOption(secretFileOpt);
    parser.addOption(pluginPath);
    parser.addOption(exportStats);
    parser.addPositionalArgument(QStringLiteral("JOBFILE"), QStringLiteral("Job files to queue at start."),
                                 QStringLiteral("[JOBFILE…]"));
    parser.process(app);

    taskfleet::gui::MainWindowOptions options;
    if (parser.isSet(workers)) {
        bool ok = false;
        options.localWorkers = parser.value(workers).toInt(&ok);
        if (!ok || options.localWorkers < 0) {
            std::fprintf(stderr, "taskfleet: --local-workers: expected a number >= 0, got \"%s\"\n",
                         qPrintable(parser.value(workers)));
            return 2;
        }
    }
    const QStringList pluginDirs = parser.values(pluginPath);
    for (const QString &dir : pluginDirs)
        options.pluginPaths.append(QDir(dir).absolutePath());
    const QStringList nodes = parser.values(nodeOpt);
    for (const QString &node : nodes) {
        QString host, why;
        quint16 port = 0;
        if (!taskfleet::gui::parseNodeAddress(node, &host, &port, &why)) {
            std::fprintf(stderr, "taskfleet: --node %s: %s\n", qPrintable(node), qPrintable(why));
            return 2;
        }
        options.nodes.append(node);
    }
    if (parser.isSet(listenOpt)) {
        QHostAddress address;
        quint16 port = 0;
        QString why;
        if (!taskfleet::net::parseListenAddress(parser.value(listenOpt), &address, &port, &why)) {
            std::fprintf(stderr, "taskfleet: --listen %s: %s\n", qPrintable(parser.value(listenOpt)), qPrintable(why));
            return 2;
        }
        options.listen = parser.value(listenOpt).trimmed();
    }
    if (parser.isSet(secretFileOpt)) {
        options.secretFile = QDir::current().absoluteFilePath(parser.value(secretFileOpt));
        const taskfleet::net::SecretResult secret = taskfleet::net::SecretStore::loadFile(options.secretFile);
        for (const QString &w : secret.warnings)
            std::fprintf(stderr, "taskfleet: %s\n", qPrintable(w));
        if (!secret.ok()) {
            std::fprintf(stderr, "taskfleet: --secret-file: %s\n", qPrintable(secret.error));
            return 2;
        }
    }
    if (!parser.isSet(noScriptsOpt))
        options.scriptSocket = parser.isSet(scriptSocketOpt)
                                   ? QDir::current().absoluteFilePath(parser.value(scriptSocketOpt))
                                   : taskfleet::sched::defaultScriptSocketPath();
    if (parser.isSet(resumeOpt))
        options.resume = taskfleet::gui::MainWindowOptions::Resume::Always;
    else if (parser.isSet(noResumeOpt))
        options.resume = taskfleet::gui::MainWindowOptions::Resume::Never;
    if (parser.isSet(exportStats))
        options.exitStatisticsPath = QDir::current().absoluteFilePath(parser.value(exportStats));

    taskfleet::gui::SignalWatcher watcher;
    auto *window = new taskfleet::gui::MainWindow(options);
    window->setAttribute(Qt::WA_DeleteOnClose, false);
    QObject::connect(&watcher, &taskfleet::gui::SignalWatcher::terminationRequested, window,
                     [window](int) { window->quitWithoutAsking(); });
    window->show();
    const QStringList files = parser.positionalArguments();
    window->openFiles(files);

    const int code = QApplication::exec();
    delete window; // stops the controller, writes --export-stats
    return code;
}
