// SPDX-License-Identifier: MIT
#include "util/sha256.h"

#include <openssl/evp.h>

namespace taskfleet::util {

QByteArray sha256Hex(QByteArrayView data)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), size_t(data.size()), digest, &length, EVP_sha256(), nullptr) != 1)
        qFatal("OpenSSL's SHA-256 failed"); // only if OpenSSL itself is broken: no content address is then safe
    return QByteArray(reinterpret_cast<const char *>(digest), int(length)).toHex();
}

} // namespace taskfleet::util
