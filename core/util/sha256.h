// SPDX-License-Identifier: MIT
// SHA-256 through OpenSSL: content addresses of plugins and job parameters.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>

namespace taskfleet::util {

/**
 * The SHA-256 of \a data as 64 lowercase hex digits. OpenSSL's, not QCryptographicHash's: OpenSSL uses the
 * CPU's SHA instructions, Qt 6.4 does not, and every agent hashes a shared value of any size as it arrives
 * (docs/benchmarks.md has the figures).
 */
QByteArray sha256Hex(QByteArrayView data);

} // namespace taskfleet::util
