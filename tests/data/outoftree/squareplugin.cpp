// SPDX-License-Identifier: MIT
// An out-of-tree example task plugin: squares an integer.
#include "squareplugin.h"

QCborValue SquarePlugin::run(const QCborValue &input, taskfleet::TaskContext &, QString *error)
{
    const double d = input.isInteger() ? double(input.toInteger()) : input.toDouble(0.5);
    if (d != qint64(d) || d < -3.0e9 || d > 3.0e9) {
        *error = QStringLiteral("square expects an integer of at most 3e9 in size");
        return {};
    }
    const qint64 n = qint64(d);
    return n * n;
}
