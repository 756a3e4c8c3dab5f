// SPDX-License-Identifier: MIT
// Many small nodes: echo tasks per second over 32 loopback agents of one worker each, and the controller's CPU.
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts N taskfleet-agents on 127.0.0.1 with one worker each, runs an echo job over all of them\n"
        "(no local workers) and prints tasks per second and the controller's CPU use (cores)."));
    parser.addHelpOption();
    const QCommandLineOption agentsOpt(QStringLiteral("agents"), QStringLiteral("Agents."), QStringLiteral("N"),
                                       QStringLiteral("32"));
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("Echo tasks per run."),
                                      QStringLiteral("N"), QStringLiteral("100000"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs (best is kept)."),
                                       QStringLiteral("N"), QStringLiteral("3"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({agentsOpt, tasksOpt, repeatOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int agentCount = quick ? 4 : std::max(1, parser.value(agentsOpt).toInt());
    const int tasks = quick ? 5000 : std::max(1, parser.value(tasksOpt).toInt());
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());

    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    bench::Agents agents;
    if (!agents.start(agentCount, 1)) {
        std::fprintf(stderr, "not every taskfleet-agent started\n");
        return 1;
    }
    sched::Controller controller;
    controller.setSpeculation(false);
    bench::addLocalNode(controller, 0);
    if (!agents.connect(controller, 60000)) {
        std::fprintf(stderr, "not every agent came online\n");
        return 1;
    }
    if (bench::runJob(controller, bench::echoJob(echo, 200 * agentCount)).notOk) {
        std::fprintf(stderr, "warm-up job failed\n");
        return 1;
    }

    const sched::JobSpec spec = bench::echoJob(echo, tasks);
    double best = 1e9, bestCpu = 0;
    for (int r = 0; r < repeat; ++r) {
        const double cpu0 = bench::processCpuSeconds();
        const bench::JobTiming t = bench::runJob(controller, spec);
        const double cpu = bench::processCpuSeconds() - cpu0;
        if (t.notOk) {
            std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
            return 1;
        }
        if (t.wallSeconds < best) {
            best = t.wallSeconds;
            bestCpu = cpu;
        }
    }
    int used = 0;
    for (const auto &n : controller.snapshot(1).nodes)
        used += n.tasksDone > 0 && !n.local ? 1 : 0;

    std::printf("%-52s %12s\n", "measure", "value");
    std::printf("%-52s %12.0f\n",
                qPrintable(QStringLiteral("echo tasks/s, %1 agents x 1 worker, %2 tasks").arg(agentCount).arg(tasks)),
                double(tasks) / best);
    std::printf("%-52s %12.3f\n", "wall time, s (best run)", best);
    std::printf("%-52s %12.3f\n", "controller CPU time in that run, s", bestCpu);
    std::printf("%-52s %12.2f\n", "controller CPU, cores (CPU time / wall time)", bestCpu / best);
    std::printf("%-52s %12d\n", "agents that ran tasks", used);
    std::printf("{\"bench\":\"many_agents\",\"agents\":%d,\"tasks\":%d,\"tasks_per_s\":%.0f,\"wall_s\":%.4f,"
                "\"controller_cpu_s\":%.3f,\"controller_cores\":%.3f,\"agents_used\":%d,\"quick\":%s}\n",
                agentCount, tasks, double(tasks) / best, best, bestCpu, bestCpu / best, used, quick ? "true" : "false");
    return 0;
}
