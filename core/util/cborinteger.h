// SPDX-License-Identifier: MIT
// Reading integers from CBOR that came from outside the process.
#pragma once

#include <QtCore/QCborValue>

namespace taskfleet::util {

/**
 * The integer \a v holds, or \a fallback if it holds anything else.
 *
 * QCborValue::toInteger() also accepts doubles and converts them with a plain cast, which is
 * undefined behaviour for NaN and for values beyond qint64 (1e300 from a peer, a script or a
 * damaged journal; found by fuzz_messages under UBSan). Everything read from a frame, a file or
 * another process goes through here instead.
 */
inline qint64 cborInteger(const QCborValue &v, qint64 fallback = 0)
{
    return v.isInteger() ? v.toInteger() : fallback;
}

} // namespace taskfleet::util
