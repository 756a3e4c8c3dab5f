// SPDX-License-Identifier: MIT
// Echo tasks per second through one taskfleet-agent on loopback (TLS-PSK), and the round trip of single tasks.
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts one taskfleet-agent on 127.0.0.1 and measures echo tasks per second through it (no local workers),\n"
        "then the round trip of one-task jobs sent one after another (median and p99)."));
    parser.addHelpOption();
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("Echo tasks per run."),
                                      QStringLiteral("N"), QStringLiteral("200000"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs (best is kept)."),
                                       QStringLiteral("N"), QStringLiteral("3"));
    const QCommandLineOption workersOpt(QStringLiteral("workers"), QStringLiteral("Agent workers."),
                                        QStringLiteral("N"), QStringLiteral("2"));
    const QCommandLineOption rttOpt(QStringLiteral("round-trips"),
                                    QStringLiteral("One-task jobs for the latency figure."), QStringLiteral("N"),
                                    QStringLiteral("2000"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({tasksOpt, repeatOpt, workersOpt, rttOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int tasks = quick ? 5000 : std::max(1, parser.value(tasksOpt).toInt());
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());
    const int workers = std::max(1, parser.value(workersOpt).toInt());
    const int roundTrips = quick ? 100 : std::max(1, parser.value(rttOpt).toInt());

    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    bench::Agents agents;
    if (!agents.start(1, workers)) {
        std::fprintf(stderr, "taskfleet-agent did not start\n");
        return 1;
    }
    sched::Controller controller;
    controller.setSpeculation(false);
    bench::addLocalNode(controller, 0); // -n 0: remote only
    if (!agents.connect(controller)) {
        std::fprintf(stderr, "the agent did not come online\n");
        return 1;
    }
    if (bench::runJob(controller, bench::echoJob(echo, 1000)).notOk) { // warm-up: upload, workers, batch sizes
        std::fprintf(stderr, "warm-up job failed\n");
        return 1;
    }

    const sched::JobSpec spec = bench::echoJob(echo, tasks);
    double best = 1e9;
    for (int r = 0; r < repeat; ++r) {
        const bench::JobTiming t = bench::runJob(controller, spec);
        if (t.notOk) {
            std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
            return 1;
        }
        best = std::min(best, t.wallSeconds);
    }

    const sched::JobSpec one = bench::echoJob(echo, 1);
    std::vector<double> rttUs;
    rttUs.reserve(size_t(roundTrips));
    for (int i = 0; i < roundTrips; ++i) {
        const bench::JobTiming t = bench::runJob(controller, one, 30000);
        if (t.notOk) {
            std::fprintf(stderr, "a one-task job did not succeed\n");
            return 1;
        }
        rttUs.push_back(t.wallSeconds * 1e6);
    }
    const double median = bench::quantile(rttUs, 0.5);
    const double p99 = bench::quantile(rttUs, 0.99);

    std::printf("%-52s %12s\n", "measure", "value");
    std::printf("%-52s %12.0f\n",
                qPrintable(QStringLiteral("echo tasks/s, 1 agent (TLS), %1 tasks, %2 workers").arg(tasks).arg(workers)),
                double(tasks) / best);
    std::printf("%-52s %12.3f\n", "wall time of that job, s (best)", best);
    std::printf("%-52s %12.1f\n",
                qPrintable(QStringLiteral("one-task job round trip, us, median of %1").arg(roundTrips)), median);
    std::printf("%-52s %12.1f\n", "one-task job round trip, us, p99", p99);
    std::printf("{\"bench\":\"agent_echo\",\"tasks\":%d,\"workers\":%d,\"tasks_per_s\":%.0f,\"wall_s\":%.4f,"
                "\"round_trips\":%d,\"rtt_median_us\":%.1f,\"rtt_p99_us\":%.1f,\"quick\":%s}\n",
                tasks, workers, double(tasks) / best, best, roundTrips, median, p99, quick ? "true" : "false");
    return 0;
}
