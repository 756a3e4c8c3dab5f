// SPDX-License-Identifier: MIT
// The fuzz targets' seed corpora, made with the project's own encoders, so each seed is a message
// the decoders accept today and the fuzzer starts from inside the code, not at its first field check.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtCore/QVector>

namespace taskfleet::fuzz {

/** Key the fuzz_beacon target verifies with; the beacon seeds are signed with it. */
QByteArray beaconFuzzKey();
/** The wall clock fuzz_beacon verifies at (fixed, so runs are reproducible); the beacon seeds carry it. */
constexpr qint64 BeaconFuzzNowMs = 1'800'000'000'000;

struct Seed {
    QString target; ///< "frame", "messages", "beacon", "jobfile" or "journal" (fuzz_<target>)
    QString name;   ///< file name in the corpus
    QByteArray data;
};

/** Every seed of every target; the job file seeds are the files of \a jobsDir plus a few written here. */
QVector<Seed> makeSeeds(const QString &jobsDir);

/**
 * True if \a seed is what it claims to be: a message or frame decodes with the decoder of its type, a
 * beacon is accepted by the verifier fuzz_beacon uses, a job file parses with the plugins in \a pluginDir
 * (relative paths in it taken from \a baseDir), a journal reads with jobs in it and no warning.
 */
bool seedDecodes(const Seed &seed, const QString &pluginDir, const QString &baseDir, QString *error);

/** Writes every seed to <dir>/<target>/<name>; false with *error on the first failure. */
bool writeSeeds(const QVector<Seed> &seeds, const QString &dir, QString *error);

} // namespace taskfleet::fuzz
