// SPDX-License-Identifier: MIT
// Wall time of Parallel Python's sum-of-primes demo job with 1 and 2 local workers, and the
// parallel efficiency t1 / (2 t2) of a job of equal tasks that keeps 2 workers busy for seconds.
#include "benchsupport.h"

#include "sched/jobfile.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>

#include <cmath>
#include <cstdio>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Times the sum-of-primes demo job with 1 and 2 local workers."));
    parser.addHelpOption();
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"),
                                       QStringLiteral("Runs per configuration (best is kept)."), QStringLiteral("N"),
                                       QStringLiteral("5"));
    const QCommandLineOption busyOpt(QStringLiteral("busy-seconds"),
                                     QStringLiteral("How long the efficiency job keeps 2 workers busy (0 to skip)."),
                                     QStringLiteral("S"), QStringLiteral("6"));
    const QCommandLineOption effRepeatOpt(QStringLiteral("efficiency-repeat"),
                                          QStringLiteral("Runs of the efficiency job per worker count (best is kept)."),
                                          QStringLiteral("N"), QStringLiteral("2"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({repeatOpt, busyOpt, effRepeatOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());
    const double busySeconds = quick ? 0.3 : std::max(0.0, parser.value(busyOpt).toDouble());
    const int effRepeat = quick ? 1 : std::max(1, parser.value(effRepeatOpt).toInt());

    exec::PluginRegistry registry;
    QString error;
    const QString jobPath = QStringLiteral(TF_SOURCE_DIR "/resources/jobs/sumprimes.json");
    auto spec = sched::parseJobFile(jobPath, registry, &error);
    if (!spec) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 2;
    }

    std::printf("%-44s %8s %12s\n", "job", "workers", "wall time s");
    double best[3] = {0, 1e9, 1e9};
    for (int workers : {1, 2}) {
        for (int i = 0; i < repeat; ++i) {
            const auto t = bench::runLocal(*spec, workers);
            if (t.notOk) {
                std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
                return 1;
            }
            best[workers] = std::min(best[workers], t.wallSeconds);
        }
        std::printf("%-44s %8d %12.4f\n", "sumprimes.json (8 inputs, 100000..100700)", workers, best[workers]);
    }

    // Parallel efficiency: equal tasks of the same plugin, as many as keep 2 workers busy for
    // busySeconds, so start-up and the tail (at most one task) vanish. t1 / (2 * t2).
    const int LongInput = quick ? 100000 : 1000000;
    int longInputs = 0;
    double longBest[3] = {0, 1e9, 1e9};
    double busy[3] = {0, 0, 0}; // task time / (workers * wall) of the best run: 1.0 = no scheduling gaps
    if (busySeconds > 0) {
        sched::JobSpec probe = *spec;
        probe.inputs = {QCborValue(LongInput), QCborValue(LongInput)};
        const double perTask = bench::runLocal(probe, 1).wallSeconds / 2;
        longInputs = std::max(4, 2 * int(std::ceil(busySeconds / std::max(perTask, 1e-4))));
        sched::JobSpec longSpec = *spec;
        longSpec.inputs.clear();
        for (int i = 0; i < longInputs; ++i)
            longSpec.inputs.append(LongInput);
        for (int r = 0; r < effRepeat; ++r)
            for (int workers : {1, 2}) {          // interleaved, so a burst of load elsewhere hits both alike
                sched::JobSpec warmUp = longSpec; // one task per worker: started, loaded, task time known
                warmUp.inputs = longSpec.inputs.mid(0, workers);
                const auto t = bench::runLocal(longSpec, workers, warmUp);
                if (t.notOk) {
                    std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
                    return 1;
                }
                if (t.wallSeconds < longBest[workers]) {
                    longBest[workers] = t.wallSeconds;
                    busy[workers] = t.taskSeconds / (workers * t.wallSeconds);
                }
            }
        for (int workers : {1, 2})
            std::printf("%-44s %8d %12.4f\n",
                        qPrintable(QStringLiteral("sumprimes %1 x %2 (efficiency job)").arg(longInputs).arg(LongInput)),
                        workers, longBest[workers]);
        std::printf("parallel efficiency t1 / (2 * t2): %.3f\n", longBest[1] / (2 * longBest[2]));
        std::printf("workers busy (task time / (workers * wall)): 1 worker %.4f, 2 workers %.4f\n", busy[1], busy[2]);
        std::printf(
            "task time per task: 1 worker %.4f s, 2 workers %.4f s (a difference means other load on the cores)\n",
            busy[1] * longBest[1] / longInputs, 2 * busy[2] * longBest[2] / longInputs);
    } else {
        longBest[1] = longBest[2] = 0;
    }
    std::printf(
        "{\"bench\":\"sumprimes\",\"demo_1_worker_s\":%.4f,\"demo_2_workers_s\":%.4f,"
        "\"long_inputs\":%d,\"long_1_worker_s\":%.4f,\"long_2_workers_s\":%.4f,\"efficiency\":%.3f,\"busy_1\":%.4f,\"busy_2\":%.4f,\"quick\":%s}\n",
        best[1], best[2], longInputs, longBest[1], longBest[2], longInputs > 0 ? longBest[1] / (2 * longBest[2]) : 0.0,
        busy[1], busy[2], quick ? "true" : "false");
    return 0;
}
