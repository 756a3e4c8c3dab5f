// SPDX-License-Identifier: MIT
// Tasks per second of the echo plugin through one taskfleet-agent on loopback, and the round trip of one task.
#include "benchsupport.h"

#include "net/securechannel.h"
#include "sched/remotenode.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>

#include <cstdio>

using namespace taskfleet;

namespace {

/** Runs \a spec on \a controller and waits for it; returns the wall time in seconds (-1 if not all ok). */
double runJob(sched::Controller &controller, const sched::JobSpec &spec)
{
    QEventLoop loop;
    const auto conn = QObject::connect(&controller, &sched::Controller::jobFinished, &loop, &QEventLoop::quit);
    QElapsedTimer clock;
    clock.start();
    const int id = controller.submit(spec);
    if (!controller.job(id)->isOver())
        loop.exec();
    const double s = double(clock.nsecsElapsed()) / 1e9;
    QObject::disconnect(conn);
    return controller.job(id)->done == controller.job(id)->total() ? s : -1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts one taskfleet-agent on 127.0.0.1 and measures echo tasks per second through it (remote only),\n"
        "and the round trip of a one-task job."));
    parser.addHelpOption();
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("Echo tasks per run."), QStringLiteral("N"),
                                      QStringLiteral("200000"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs (best is kept)."), QStringLiteral("N"),
                                       QStringLiteral("3"));
    const QCommandLineOption workersOpt(QStringLiteral("workers"), QStringLiteral("Agent workers."), QStringLiteral("N"),
                                        QStringLiteral("2"));
    const QCommandLineOption rttOpt(QStringLiteral("round-trips"), QStringLiteral("One-task jobs for the latency figure."),
                                    QStringLiteral("N"), QStringLiteral("200"));
    parser.addOptions({tasksOpt, repeatOpt, workersOpt, rttOpt});
    parser.process(app);
    const int tasks = std::max(1, parser.value(tasksOpt).toInt());
    const int repeat = std::max(1, parser.value(repeatOpt).toInt());
    const int workers = std::max(1, parser.value(workersOpt).toInt());
    const int roundTrips = std::max(1, parser.value(rttOpt).toInt());

    exec::PluginRegistry registry;
    QString error;
    const auto echo = registry.resolve(QStringLiteral("echo"), &error);
    if (!echo) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 2;
    }

    // The agent: a child process with its own state dir and secret.
    QTemporaryDir dir;
    const QByteArray secret = "bench secret " + QByteArray::number(QCoreApplication::applicationPid());
    {
        QFile f(dir.filePath(QStringLiteral("secret")));
        if (!f.open(QIODevice::WriteOnly))
            return 2;
        f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        f.write(secret);
    }
    QProcess agent;
    agent.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    agent.start(QCoreApplication::applicationDirPath() + QStringLiteral("/taskfleet-agent"),
                {QStringLiteral("-p"), QStringLiteral("0"), QStringLiteral("-i"), QStringLiteral("127.0.0.1"),
                 QStringLiteral("-w"), QString::number(workers), QStringLiteral("--state-dir"), dir.filePath(QStringLiteral("state")),
                 QStringLiteral("--secret-file"), dir.filePath(QStringLiteral("secret"))});
    quint16 port = 0;
    static const QRegularExpression re(QStringLiteral("listening on \\S+:(\\d+),"));
    QElapsedTimer startClock;
    startClock.start();
    while (port == 0 && startClock.elapsed() < 15000 && agent.waitForReadyRead(1000))
        while (agent.canReadLine()) {
            const auto m = re.match(QString::fromUtf8(agent.readLine()));
            if (m.hasMatch())
                port = quint16(m.captured(1).toUInt());
        }
    if (port == 0) {
        std::fprintf(stderr, "taskfleet-agent did not start\n");
        agent.kill();
        agent.waitForFinished(5000);
        return 1;
    }

    int rc = 0;
    {
        sched::Controller controller;
        controller.setSpeculation(false);
        exec::WorkerPoolOptions none;
        none.workers = 0;
        controller.addNode(new sched::LocalNode(none));
        sched::RemoteNodeOptions o;
        o.host = QStringLiteral("127.0.0.1");
        o.port = port;
        o.channel = net::ChannelOptions::fromSecret(secret);
        auto *node = new sched::RemoteNode(o);
        controller.addNode(node);
        node->start();

        sched::JobSpec spec;
        spec.name = QStringLiteral("echo");
        spec.plugin = *echo;
        for (int i = 0; i < 1000; ++i)
            spec.inputs.append(i);
        runJob(controller, spec); // warm-up: connect, upload, start workers

        spec.inputs.clear();
        for (int i = 0; i < tasks; ++i)
            spec.inputs.append(i);
        double best = 1e9;
        for (int r = 0; r < repeat; ++r) {
            const double s = runJob(controller, spec);
            if (s < 0) {
                std::fprintf(stderr, "not every task succeeded\n");
                rc = 1;
                break;
            }
            best = std::min(best, s);
        }

        sched::JobSpec one = spec;
        one.inputs = {QCborValue(1)};
        QElapsedTimer rtt;
        rtt.start();
        for (int i = 0; i < roundTrips && rc == 0; ++i)
            if (runJob(controller, one) < 0)
                rc = 1;
        const double rttMs = double(rtt.nsecsElapsed()) / 1e6 / roundTrips;

        std::printf("%-48s %12s\n", "measure", "value");
        std::printf("%-48s %12.0f\n", qPrintable(QStringLiteral("echo tasks/s, %1 tasks, %2 agent workers").arg(tasks).arg(workers)),
                    double(tasks) / best);
        std::printf("%-48s %12.3f\n", "wall time of that job, s (best)", best);
        std::printf("%-48s %12.3f\n", "one-task job round trip, ms (mean)", rttMs);
        std::printf("{\"bench\":\"agent_echo\",\"tasks\":%d,\"workers\":%d,\"tasks_per_s\":%.0f,\"wall_s\":%.4f,"
                    "\"round_trip_ms\":%.3f}\n",
                    tasks, workers, double(tasks) / best, best, rttMs);
    }
    agent.terminate();
    if (!agent.waitForFinished(10000)) {
        agent.kill();
        agent.waitForFinished(5000);
    }
    return rc;
}
