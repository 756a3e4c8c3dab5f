// SPDX-License-Identifier: MIT
// taskfleet: the desktop app. The command line is parsed by guioptions.cpp; this opens the main window.
#include "guioptions.h"
#include "mainwindow.h"
#include "signalwatcher.h"
#include "util/allocator.h"

#include <QtWidgets/QApplication>

#include <cstdio>

using namespace taskfleet;

int main(int argc, char *argv[])
{
    // --help and --version need no window: without a display they must not reach the platform plugin's abort.
    if (gui::asksForTextOnly(argc, argv) && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")
        && qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    util::tuneAllocatorForBigValues();
    QApplication app(argc, argv);
    util::trimFreeMemoryPeriodically(&app);
    QApplication::setOrganizationName(QStringLiteral("taskfleet"));
    QApplication::setApplicationName(QStringLiteral("taskfleet"));
    QApplication::setApplicationDisplayName(QStringLiteral("Taskfleet"));
    QApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("taskfleet"));

    gui::GuiCommandLine cl;
    const bool run = gui::parseGuiCommandLine(QApplication::arguments(), &cl);
    for (const QString &w : std::as_const(cl.warnings))
        std::fprintf(stderr, "taskfleet: %s\n", qPrintable(w));
    if (!run) {
        if (cl.exitCode == 0)
            std::fputs(qPrintable(cl.message), stdout);
        else
            std::fprintf(stderr, "taskfleet: %s\n", qPrintable(cl.message));
        return cl.exitCode;
    }

    gui::SignalWatcher watcher;
    auto *window = new gui::MainWindow(cl.options);
    window->setAttribute(Qt::WA_DeleteOnClose, false);
    QObject::connect(&watcher, &gui::SignalWatcher::terminationRequested, window,
                     [window](int) { window->quitWithoutAsking(); });
    window->show();
    window->openFiles(cl.jobFiles);

    const int code = QApplication::exec();
    delete window; // stops the controller, writes --export-stats
    return code;
}
