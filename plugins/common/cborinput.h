// SPDX-License-Identifier: MIT
// Input helpers shared by the shipped plugins (not part of the public SDK).
#pragma once

#include <QtCore/QCborValue>

#include <cmath>

namespace taskfleet::plugins {

/** Reads an integer input. Job files are JSON, where 100000 may arrive as the double 100000.0. */
inline bool toInteger(const QCborValue &v, qint64 *out)
{
    if (v.isInteger()) {
        *out = v.toInteger();
        return true;
    }
    if (v.isDouble()) {
        const double d = v.toDouble();
        if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e18) {
            *out = qint64(d);
            return true;
        }
    }
    return false;
}

} // namespace taskfleet::plugins
