// SPDX-License-Identifier: MIT
// Echo tasks per second through the controller's embedded local node (per-task overhead of the local path).
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Runs echo jobs on the local node and prints tasks per second."));
    parser.addHelpOption();
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("Echo tasks per run."),
                                      QStringLiteral("N"), QStringLiteral("200000"));
    const QCommandLineOption workersOpt(QStringLiteral("workers"), QStringLiteral("Local workers."),
                                        QStringLiteral("N"), QStringLiteral("2"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs (best is kept)."),
                                       QStringLiteral("N"), QStringLiteral("5"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({tasksOpt, workersOpt, repeatOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int tasks = quick ? 5000 : std::max(1, parser.value(tasksOpt).toInt());
    const int workers = std::max(1, parser.value(workersOpt).toInt());
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());

    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    sched::Controller controller;
    controller.setSpeculation(false);
    bench::addLocalNode(controller, workers);
    bench::runJob(controller, bench::echoJob(echo, 1000)); // warm-up: plugin loaded, batch sizes learned

    const sched::JobSpec spec = bench::echoJob(echo, tasks);
    std::vector<double> runs;
    for (int r = 0; r < repeat; ++r) {
        const bench::JobTiming t = bench::runJob(controller, spec);
        if (t.notOk) {
            std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
            return 1;
        }
        runs.push_back(t.wallSeconds);
    }
    const double best = *std::min_element(runs.begin(), runs.end());
    const double median = bench::quantile(runs, 0.5);
    std::printf("%-52s %12s\n", "measure", "value");
    std::printf(
        "%-52s %12.0f\n",
        qPrintable(QStringLiteral("echo tasks/s, local node, %1 tasks, %2 workers (best)").arg(tasks).arg(workers)),
        double(tasks) / best);
    std::printf("%-52s %12.0f\n", "echo tasks/s (median run)", double(tasks) / median);
    std::printf("%-52s %12.3f\n", "wall time, s (best)", best);
    std::printf("%-52s %12.2f\n", "overhead per task, us (best)", best * 1e6 / tasks);
    std::printf("{\"bench\":\"local_echo\",\"tasks\":%d,\"workers\":%d,\"runs\":%d,\"tasks_per_s\":%.0f,"
                "\"tasks_per_s_median\":%.0f,\"wall_s\":%.4f,\"quick\":%s}\n",
                tasks, workers, repeat, double(tasks) / best, double(tasks) / median, best, quick ? "true" : "false");
    return 0;
}
