// SPDX-License-Identifier: MIT
// The mandelbrot task plugin: renders one square tile of a view of the Mandelbrot set.
#include "mandelbrotplugin.h"

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace taskfleet::plugins {

namespace {

const char *const Keys[] = {"x", "y", "tiles", "size", "iterations", "cx", "cy", "scale"};

// Reads map[key] as an integer in [min, max]; job files are JSON, so 8.0 counts as 8.
bool readInteger(const QCborMap &map, const char *key, qint64 fallback, qint64 min, qint64 max, qint64 *out,
                 QString *error)
{
    const QCborValue v = map.value(QLatin1String(key));
    if (v.isUndefined()) {
        if (fallback < min) {
            *error = QStringLiteral("mandelbrot: missing \"%1\"").arg(QLatin1String(key));
            return false;
        }
        *out = fallback;
        return true;
    }
    bool ok = false;
    if (v.isInteger()) {
        *out = v.toInteger();
        ok = true;
    } else if (v.isDouble()) {
        const double d = v.toDouble();
        ok = std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e18;
        *out = ok ? qint64(d) : 0;
    }
    if (!ok || *out < min || *out > max) {
        *error = QStringLiteral("mandelbrot: \"%1\" must be an integer from %2 to %3, got %4")
                     .arg(QLatin1String(key))
                     .arg(min)
                     .arg(max)
                     .arg(v.toDiagnosticNotation());
        return false;
    }
    return true;
}

bool readReal(const QCborMap &map, const char *key, double fallback, double *out, QString *error)
{
    const QCborValue v = map.value(QLatin1String(key));
    if (v.isUndefined()) {
        *out = fallback;
        return true;
    }
    if (v.isInteger())
        *out = double(v.toInteger());
    else if (v.isDouble())
        *out = v.toDouble();
    if ((!v.isInteger() && !v.isDouble()) || !std::isfinite(*out)) {
        *error = QStringLiteral("mandelbrot: \"%1\" must be a finite number, got %2")
                     .arg(QLatin1String(key), v.toDiagnosticNotation());
        return false;
    }
    return true;
}

} // namespace

QCborValue MandelbrotPlugin::run(const QCborValue &input, TaskContext &context, QString *error)
{
    if (!input.isMap()) {
        *error = QStringLiteral("mandelbrot expects a map {\"x\": column, \"y\": row, ...}, got %1")
                     .arg(input.toDiagnosticNotation());
        return {};
    }
    const QCborMap map = input.toMap();
    for (auto it = map.constBegin(); it != map.constEnd(); ++it) {
        const QString key = it.key().toString();
        if (std::none_of(std::begin(Keys), std::end(Keys), [&](const char *k) { return key == QLatin1String(k); })) {
            *error
                = QStringLiteral("mandelbrot: unknown key %1 (expected x, y, tiles, size, iterations, cx, cy, scale)")
                      .arg(it.key().toDiagnosticNotation());
            return {};
        }
    }

    qint64 tiles = 0, size = 0, iterations = 0, x = 0, y = 0;
    double cx = 0, cy = 0, scale = 0;
    if (!readInteger(map, "tiles", 8, 1, MaxTiles, &tiles, error)
        || !readInteger(map, "size", 64, 1, MaxSize, &size, error)
        || !readInteger(map, "iterations", 256, 1, MaxIterations, &iterations, error)
        || !readInteger(map, "x", -1, 0, tiles - 1, &x, error) || !readInteger(map, "y", -1, 0, tiles - 1, &y, error)
        || !readReal(map, "cx", -0.5, &cx, error) || !readReal(map, "cy", 0.0, &cy, error)
        || !readReal(map, "scale", 3.0, &scale, error))
        return {};
    if (!(scale > 0)) {
        *error = QStringLiteral("mandelbrot: \"scale\" must be greater than 0, got %1").arg(scale);
        return {};
    }

    // The whole view is square, tiles * size pixels a side; each pixel is sampled at its centre,
    // and row 0 is the top (largest imaginary part).
    const double step = scale / double(tiles * size);
    const double left = cx - scale / 2;
    const double top = cy + scale / 2;
    const int n = int(size);
    const int maxIter = int(iterations);
    QByteArray pixels(qsizetype(n) * n, Qt::Uninitialized);
    char *out = pixels.data();
    for (int py = 0; py < n; ++py) {
        if (context.isCancelled()) {
            *error = QStringLiteral("cancelled after %1 of %2 rows").arg(py).arg(n);
            return {};
        }
        const double im = top - (double(y * size + py) + 0.5) * step;
        for (int px = 0; px < n; ++px) {
            const double re = left + (double(x * size + px) + 0.5) * step;
            double zr = 0, zi = 0;
            int k = 1;
            for (; k <= maxIter; ++k) {
                const double t = zr * zr - zi * zi + re;
                zi = 2 * zr * zi + im;
                zr = t;
                if (zr * zr + zi * zi > 4.0)
                    break;
            }
            // k is the iteration at which |z| first exceeded 2; escaped points map to 0..254.
            *out++ = char(k > maxIter ? 255 : (255 * (k - 1)) / maxIter);
        }
        context.reportProgress(double(py + 1) / double(n));
    }

    QCborMap result;
    result.insert(QLatin1String("x"), x);
    result.insert(QLatin1String("y"), y);
    result.insert(QLatin1String("w"), size);
    result.insert(QLatin1String("h"), size);
    result.insert(QLatin1String("iterations"), iterations);
    result.insert(QLatin1String("pixels"), pixels);
    return result;
}

} // namespace taskfleet::plugins
