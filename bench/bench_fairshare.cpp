// SPDX-License-Identifier: MIT
// Two controllers on one agent: A keeps both workers busy with long sleeps, B brings 20,000 tiny
// echo tasks. How long B takes, against the goal "within one of A's task durations plus 1 s".
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts one taskfleet-agent (2 workers) on 127.0.0.1 and two controllers. A submits 2 sleeps of --long-ms per\n"
        "worker; once they run, B submits --tasks echo tasks. Prints B's time alone and beside A, and the goal\n"
        "(A's task duration + 1 s)."));
    parser.addHelpOption();
    const QCommandLineOption longOpt(QStringLiteral("long-ms"), QStringLiteral("A's task duration."),
                                     QStringLiteral("MS"), QStringLiteral("20000"));
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("B's echo tasks."), QStringLiteral("N"),
                                      QStringLiteral("20000"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("2 s tasks (CI smoke run)."));
    parser.addOptions({longOpt, tasksOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int longMs = quick ? 2000 : std::max(100, parser.value(longOpt).toInt());
    const int tasks = std::max(1, parser.value(tasksOpt).toInt());
    constexpr int Workers = 2;

    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    QString error;
    const auto sleep = registry.resolve(QStringLiteral("sleep"), &error);
    if (!sleep) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 2;
    }
    bench::Agents agents;
    if (!agents.start(1, Workers)) {
        std::fprintf(stderr, "taskfleet-agent did not start\n");
        return 1;
    }
    sched::Controller a, b;
    for (sched::Controller *c : {&a, &b}) {
        c->setSpeculation(false);
        bench::addLocalNode(*c, 0);
        if (!agents.connect(*c)) {
            std::fprintf(stderr, "the agent did not come online\n");
            return 1;
        }
    }
    if (bench::runJob(b, bench::echoJob(echo, 1000)).notOk) { // warm-up: upload, workers, batch sizes
        std::fprintf(stderr, "warm-up job failed\n");
        return 1;
    }
    const bench::JobTiming alone = bench::runJob(b, bench::echoJob(echo, tasks));
    bench::waitUntil([] { return false; }, 1500); // B quiet past the agent's grace: A may take both workers

    sched::JobSpec longJob;
    longJob.name = QStringLiteral("A: long sleeps");
    longJob.plugin = *sleep;
    longJob.inputs = sched::JobInputs::range(longMs, 0, 2 * Workers); // {"range": [longMs, longMs]} x 4
    const int aId = a.submit(longJob);
    // Both workers run one of A's sleeps before B comes.
    if (!bench::waitUntil([&] { return a.job(aId)->running >= Workers; }, 30000)) {
        std::fprintf(stderr, "A's sleeps did not start\n");
        return 1;
    }
    bench::waitUntil([] { return false; }, 200);
    const bench::JobTiming beside = bench::runJob(b, bench::echoJob(echo, tasks), longMs * 4 + 60000);
    const qint64 aDone = a.job(aId)->done;
    a.cancelJob(aId);
    if (beside.notOk || alone.notOk) {
        std::fprintf(stderr, "B's tasks did not all succeed\n");
        return 1;
    }
    const double goal = longMs / 1000.0 + 1.0;
    std::printf("%-60s %10s\n", "measure", "value");
    std::printf("%-60s %10.3f\n", qPrintable(QStringLiteral("B: %1 echo tasks alone, s").arg(tasks)),
                alone.wallSeconds);
    std::printf("%-60s %10.3f\n",
                qPrintable(QStringLiteral("B: the same beside A's %1 x %2 ms sleeps on %3 workers, s")
                               .arg(2 * Workers)
                               .arg(longMs)
                               .arg(Workers)),
                beside.wallSeconds);
    std::printf("%-60s %10.3f\n", "goal: one of A's tasks + 1 s, s", goal);
    std::printf("%-60s %10lld\n", "A's sleeps done when B finished", static_cast<long long>(aDone));
    std::printf(
        "{\"bench\":\"fairshare\",\"long_ms\":%d,\"tasks\":%d,\"alone_s\":%.3f,\"beside_s\":%.3f,\"goal_s\":%.3f,"
        "\"met\":%s,\"a_done\":%lld,\"quick\":%s}\n",
        longMs, tasks, alone.wallSeconds, beside.wallSeconds, goal, beside.wallSeconds <= goal ? "true" : "false",
        static_cast<long long>(aDone), quick ? "true" : "false");
    return 0;
}
