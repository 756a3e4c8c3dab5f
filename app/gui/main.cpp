// SPDX-License-Identifier: MIT
// taskfleet: the desktop app. Parses the command line and opens the main window.
#include "mainwindow.h"
#include "signalwatcher.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtWidgets/QApplication>

#include <cstdio>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("taskfleet"));
    QApplication::setApplicationName(QStringLiteral("taskfleet"));
    QApplication::setApplicationDisplayName(QStringLiteral("Taskfleet"));
    QApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("taskfleet"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Run many small computations in parallel on this computer and your LAN."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption workers({QStringLiteral("n"), QStringLiteral("local-workers")},
                                     QStringLiteral("Workers on this computer (default: from the settings, else one per CPU)."),
                                     QStringLiteral("N"));
    const QCommandLineOption pluginPath(QStringLiteral("plugin-path"), QStringLiteral("Also look for task plugins in DIR (repeatable)."),
                                        QStringLiteral("DIR"));
    const QCommandLineOption exportStats(QStringLiteral("export-stats"),
                                         QStringLiteral("Write the statistics CSV (and .timeseries.csv, .tasks.csv) to FILE on exit."),
                                         QStringLiteral("FILE"));
    parser.addOption(workers);
    parser.addOption(pluginPath);
    parser.addOption(exportStats);
    parser.addPositionalArgument(QStringLiteral("JOBFILE"), QStringLiteral("Job files to queue at start."), QStringLiteral("[JOBFILE…]"));
    parser.process(app);

    taskfleet::gui::MainWindowOptions options;
    if (parser.isSet(workers)) {
        bool ok = false;
        options.localWorkers = parser.value(workers).toInt(&ok);
        if (!ok || options.localWorkers < 0) {
            std::fprintf(stderr, "taskfleet: --local-workers: expected a number >= 0, got \"%s\"\n", qPrintable(parser.value(workers)));
            return 2;
        }
    }
    const QStringList pluginDirs = parser.values(pluginPath);
    for (const QString &dir : pluginDirs)
        options.pluginPaths.append(QDir(dir).absolutePath());
    if (parser.isSet(exportStats))
        options.exitStatisticsPath = QDir::current().absoluteFilePath(parser.value(exportStats));

    taskfleet::gui::SignalWatcher watcher;
    auto *window = new taskfleet::gui::MainWindow(options);
    window->setAttribute(Qt::WA_DeleteOnClose, false);
    QObject::connect(&watcher, &taskfleet::gui::SignalWatcher::terminationRequested, window, [window](int) { window->close(); });
    window->show();
    const QStringList files = parser.positionalArguments();
    window->openFiles(files);

    const int code = QApplication::exec();
    delete window; // stops the controller, writes --export-stats
    return code;
}
