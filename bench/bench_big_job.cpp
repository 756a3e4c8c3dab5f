// SPDX-License-Identifier: MIT
// A job of a million echo tasks: the controller's peak memory and whether throughput holds up to the end.
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs one big echo job on the local node; prints the controller's peak RSS (VmHWM) and the\n"
                       "throughput of the first and the last 10% of the tasks."));
    parser.addHelpOption();
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("Echo tasks."), QStringLiteral("N"),
                                      QStringLiteral("1000000"));
    const QCommandLineOption workersOpt(QStringLiteral("workers"), QStringLiteral("Local workers."),
                                        QStringLiteral("N"), QStringLiteral("2"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({tasksOpt, workersOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int tasks = quick ? 20000 : std::max(10, parser.value(tasksOpt).toInt());
    const int workers = std::max(1, parser.value(workersOpt).toInt());

    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    sched::Controller controller;
    controller.setSpeculation(false);
    bench::addLocalNode(controller, workers);
    bench::runJob(controller, bench::echoJob(echo, 1000)); // warm-up
    const qint64 rssBeforeKb = bench::procStatusKb("VmRSS");

    // Time when the 10% and 90% marks are passed, counted in recorded results.
    const qint64 tenth = tasks / 10;
    qint64 recorded = 0;
    QElapsedTimer clock;
    double tFirst = 0, tLast = 0;
    QObject::connect(&controller, &sched::Controller::resultsRecorded, &controller,
                     [&](int, const QVector<sched::TaskRecord> &records) {
                         const qint64 before = recorded;
                         recorded += records.size();
                         if (before < tenth && recorded >= tenth)
                             tFirst = double(clock.nsecsElapsed()) / 1e9;
                         if (before < tasks - tenth && recorded >= tasks - tenth)
                             tLast = double(clock.nsecsElapsed()) / 1e9;
                     });
    sched::JobSpec spec = bench::echoJob(echo, tasks);
    clock.start();
    const bench::JobTiming t = bench::runJob(controller, std::move(spec), 1800000);
    if (t.notOk) {
        std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
        return 1;
    }
    const double end = t.wallSeconds;
    const double firstRate = double(tenth) / tFirst;
    const double lastRate = double(tenth) / std::max(1e-9, end - tLast);
    const qint64 hwmKb = bench::procStatusKb("VmHWM");

    std::printf("%-52s %12s\n", "measure", "value");
    std::printf("%-52s %12.0f\n",
                qPrintable(QStringLiteral("echo tasks/s, %1 tasks, %2 local workers").arg(tasks).arg(workers)),
                double(tasks) / end);
    std::printf("%-52s %12.0f\n", "tasks/s in the first 10%", firstRate);
    std::printf("%-52s %12.0f\n", "tasks/s in the last 10%", lastRate);
    std::printf("%-52s %12.2f\n", "last / first", lastRate / firstRate);
    std::printf("%-52s %12.1f\n", "controller RSS before the job, MB", double(rssBeforeKb) / 1024);
    std::printf("%-52s %12.1f\n", "controller peak RSS (VmHWM), MB", double(hwmKb) / 1024);
    std::printf("{\"bench\":\"big_job\",\"tasks\":%d,\"workers\":%d,\"tasks_per_s\":%.0f,\"wall_s\":%.3f,"
                "\"first10_tasks_per_s\":%.0f,\"last10_tasks_per_s\":%.0f,\"last_over_first\":%.3f,"
                "\"rss_before_mb\":%.1f,\"peak_rss_mb\":%.1f,\"quick\":%s}\n",
                tasks, workers, double(tasks) / end, end, firstRate, lastRate, lastRate / firstRate,
                double(rssBeforeKb) / 1024, double(hwmKb) / 1024, quick ? "true" : "false");
    return 0;
}
