// SPDX-License-Identifier: MIT
// The pi task plugin: counts random points of the unit square that fall in the quarter circle.
#include "piplugin.h"

#include "cborinput.h"

#include <QtCore/QCborMap>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace taskfleet::plugins {

namespace {

// splitmix64: tiny, fast and good enough for Monte Carlo; the same seed gives the same stream
// on every machine, so a task retried elsewhere returns the same result.
class SplitMix64
{
public:
    explicit SplitMix64(std::uint64_t seed)
        : m_state(seed)
    {
    }

    std::uint64_t next()
    {
        std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    double nextDouble() { return double(next() >> 11) * 0x1.0p-53; }

private:
    std::uint64_t m_state;
};

} // namespace

QCborValue PiPlugin::run(const QCborValue &input, TaskContext &context, QString *error)
{
    qint64 samples = 0;
    qint64 seed = 0;
    if (input.isMap()) {
        const QCborMap map = input.toMap();
        for (auto it = map.constBegin(); it != map.constEnd(); ++it) {
            const QString key = it.key().toString();
            if (key != QLatin1String("samples") && key != QLatin1String("seed")) {
                *error = QStringLiteral("pi: unknown key \"%1\" (expected \"samples\" and \"seed\")")
                             .arg(it.key().toDiagnosticNotation());
                return {};
            }
        }
        if (!map.contains(QLatin1String("samples"))) {
            *error = QStringLiteral("pi: missing \"samples\"");
            return {};
        }
        if (!toInteger(map.value(QLatin1String("samples")), &samples)) {
            *error = QStringLiteral("pi: \"samples\" must be an integer, got %1")
                         .arg(map.value(QLatin1String("samples")).toDiagnosticNotation());
            return {};
        }
        if (map.contains(QLatin1String("seed")) && !toInteger(map.value(QLatin1String("seed")), &seed)) {
            *error = QStringLiteral("pi: \"seed\" must be an integer, got %1")
                         .arg(map.value(QLatin1String("seed")).toDiagnosticNotation());
            return {};
        }
    } else if (!toInteger(input, &samples)) {
        *error = QStringLiteral("pi expects {\"samples\": n, \"seed\": s} or an integer n, got %1")
                     .arg(input.toDiagnosticNotation());
        return {};
    }
    if (samples < 0) {
        *error = QStringLiteral("pi: \"samples\" must be >= 0, got %1").arg(samples);
        return {};
    }

    SplitMix64 rng {std::uint64_t(seed)};
    qint64 hits = 0;
    constexpr qint64 Chunk = 1 << 16;
    for (qint64 done = 0; done < samples;) {
        if (context.isCancelled()) {
            *error = QStringLiteral("cancelled after %1 of %2 samples").arg(done).arg(samples);
            return {};
        }
        const qint64 end = std::min(samples, done + Chunk);
        for (; done < end; ++done) {
            const double x = rng.nextDouble();
            const double y = rng.nextDouble();
            hits += (x * x + y * y <= 1.0) ? 1 : 0;
        }
        context.reportProgress(double(done) / double(samples));
    }

    QCborMap out;
    out.insert(QLatin1String("samples"), samples);
    out.insert(QLatin1String("hits"), hits);
    return out;
}

} // namespace taskfleet::plugins
