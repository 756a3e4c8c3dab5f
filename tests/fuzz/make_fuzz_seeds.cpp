// SPDX-License-Identifier: MIT
// make_fuzz_seeds OUTDIR JOBSDIR: writes the seed corpora of the fuzz targets to OUTDIR/<target>/.
#include "fuzzseeds.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QStringList>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 3) {
        std::fprintf(stderr, "usage: make_fuzz_seeds OUTDIR JOBSDIR\n");
        return 2;
    }
    const auto seeds = taskfleet::fuzz::makeSeeds(args.at(2));
    QString error;
    if (!taskfleet::fuzz::writeSeeds(seeds, args.at(1), &error)) {
        std::fprintf(stderr, "make_fuzz_seeds: %s\n", qPrintable(error));
        return 1;
    }
    std::printf("make_fuzz_seeds: %d seeds in %s\n", int(seeds.size()), qPrintable(args.at(1)));
    return 0;
}
