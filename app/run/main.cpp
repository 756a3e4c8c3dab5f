// SPDX-License-Identifier: MIT
// taskfleet-run: runs job files on the local node (and agents) without a window, or serves the
// Python client (--session). The command line is parsed by runcommandline.cpp.
#include "runcommandline.h"
#include "runner.h"
#include "session.h"
#include "util/allocator.h"

#include <QtCore/QCoreApplication>

#include <cstdio>

using namespace taskfleet::app;

namespace {
/** Starts \a engine (a Runner or a Session) and runs the event loop until it finishes. */
template <typename Engine>
int runUntilFinished(QCoreApplication &app, Engine &engine)
{
    int exitCode = 0;
    QObject::connect(&engine, &Engine::finished, &app, [&exitCode, &app](int code) {
        exitCode = code;
        app.exit(code);
    });
    if (!engine.start(&exitCode))
        return exitCode;
    app.exec();
    return exitCode;
}
} // namespace

int main(int argc, char **argv)
{
    taskfleet::util::tuneAllocatorForBigValues();
    QCoreApplication app(argc, argv);
    taskfleet::util::trimFreeMemoryPeriodically(&app);
    QCoreApplication::setApplicationName(QStringLiteral("taskfleet-run"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));

    RunCommandLine cl;
    const bool run = parseRunCommandLine(QCoreApplication::arguments(), &cl);
    for (const QString &w : std::as_const(cl.warnings))
        std::fprintf(stderr, "taskfleet-run: warning: %s\n", qPrintable(w));
    if (!run) {
        if (cl.exitCode == 0)
            std::fputs(qPrintable(cl.message), stdout);
        else
            std::fprintf(stderr, "taskfleet-run: %s\n", qPrintable(cl.message));
        return cl.exitCode;
    }
    if (cl.session) {
        Session session(cl.options);
        return runUntilFinished(app, session);
    }
    Runner runner(cl.options);
    return runUntilFinished(app, runner);
}
