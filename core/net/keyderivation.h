// SPDX-License-Identifier: MIT
// Keys derived from the cluster secret; the secret itself never leaves the process.
#pragma once

#include <QtCore/QByteArray>

namespace taskfleet::net {

/** What a derived key is for. Each purpose has its own context string, so keys never coincide. */
enum class KeyPurpose {
    TlsPsk,        ///< the TLS pre-shared key for controller <-> agent connections
    DiscoveryHmac, ///< the HMAC-SHA256 key that signs discovery beacons
};

/** Length of every derived key, in bytes. */
constexpr int DerivedKeySize = 32;

/**
 * HKDF-SHA256 (RFC 5869) of \a secret with a fixed salt and a per-purpose context string.
 * Returns DerivedKeySize bytes, or an empty array if \a secret is empty or OpenSSL fails.
 */
QByteArray deriveKey(const QByteArray &secret, KeyPurpose purpose);

/** Compares two byte arrays in time that depends only on their lengths. */
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);

} // namespace taskfleet::net
