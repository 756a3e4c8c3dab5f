// SPDX-License-Identifier: MIT
// The sumprimes task plugin: the Parallel Python demo, sum of the primes below n by trial division.
#include "sumprimesplugin.h"

#include "cborinput.h"

#include <cmath>

namespace taskfleet::plugins {

namespace {

// The same work per number as pp's isprime(): every divisor from 2 to ceil(sqrt(n)), so that
// timings compare with the Python demo rather than with a cleverer algorithm.
bool isPrime(qint64 n)
{
    if (n < 2)
        return false;
    if (n == 2)
        return true;
    const auto max = qint64(std::ceil(std::sqrt(double(n))));
    for (qint64 i = 2; i <= max; ++i) {
        if (n % i == 0)
            return false;
    }
    return true;
}

} // namespace

QCborValue SumPrimesPlugin::run(const QCborValue &input, TaskContext &context, QString *error)
{
    qint64 n = 0;
    if (!toInteger(input, &n)) {
        *error = QStringLiteral("sumprimes expects an integer n, got %1").arg(input.toDiagnosticNotation());
        return {};
    }
    if (n < 0) {
        *error = QStringLiteral("sumprimes expects n >= 0, got %1").arg(n);
        return {};
    }
    if (n > MaxN) {
        *error = QStringLiteral("sumprimes expects n <= %1, got %2").arg(MaxN).arg(n);
        return {};
    }

    qint64 sum = 0;
    for (qint64 x = 2; x < n; ++x) {
        if ((x & 0x3ff) == 0) {
            if (context.isCancelled()) {
                *error = QStringLiteral("cancelled at %1 of %2").arg(x).arg(n);
                return {};
            }
            context.reportProgress(double(x) / double(n));
        }
        if (isPrime(x))
            sum += x;
    }
    context.reportProgress(1.0);
    return sum;
}

} // namespace taskfleet::plugins
