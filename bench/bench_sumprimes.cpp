// SPDX-License-Identifier: MIT
// Wall time of Parallel Python's sum-of-primes demo job with 1 and 2 local workers, and the
// parallel efficiency of a longer variant that keeps the workers busy for seconds.
#include "benchsupport.h"

#include "sched/jobfile.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>

#include <cstdio>

using namespace taskfleet;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Times the sum-of-primes demo job with 1 and 2 local workers."));
    parser.addHelpOption();
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs per configuration (best is kept)."),
                                       QStringLiteral("N"), QStringLiteral("5"));
    const QCommandLineOption scaleOpt(QStringLiteral("long-inputs"),
                                      QStringLiteral("Inputs of the longer efficiency job (0 to skip)."),
                                      QStringLiteral("N"), QStringLiteral("16"));
    parser.addOptions({repeatOpt, scaleOpt});
    parser.process(app);
    const int repeat = std::max(1, parser.value(repeatOpt).toInt());
    const int longInputs = std::max(0, parser.value(scaleOpt).toInt());

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

    // A longer job of the same plugin: enough work that start-up costs vanish and 2 workers stay busy.
    double longBest[3] = {0, 0, 0};
    if (longInputs > 0) {
        sched::JobSpec longSpec = *spec;
        longSpec.inputs.clear();
        for (int i = 0; i < longInputs; ++i)
            longSpec.inputs.append(1000000 + 1000 * i);
        for (int workers : {1, 2}) {
            longBest[workers] = bench::runLocal(longSpec, workers).wallSeconds;
            std::printf("%-44s %8d %12.4f\n", qPrintable(QStringLiteral("sumprimes %1 inputs of ~1,000,000").arg(longInputs)),
                        workers, longBest[workers]);
        }
        std::printf("parallel efficiency t1 / (2 * t2): %.3f\n", longBest[1] / (2 * longBest[2]));
    }
    std::printf("{\"bench\":\"sumprimes\",\"demo_1_worker_s\":%.4f,\"demo_2_workers_s\":%.4f,"
                "\"long_inputs\":%d,\"long_1_worker_s\":%.4f,\"long_2_workers_s\":%.4f,\"efficiency\":%.3f}\n",
                best[1], best[2], longInputs, longBest[1], longBest[2],
                longInputs > 0 ? longBest[1] / (2 * longBest[2]) : 0.0);
    return 0;
}
