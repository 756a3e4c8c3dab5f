// SPDX-License-Identifier: MIT
#include "keyderivation.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

namespace taskfleet::net {

namespace {

const char *contextFor(KeyPurpose purpose)
{
    switch (purpose) {
    case KeyPurpose::TlsPsk:
        return "taskfleet/v1 tls-psk";
    case KeyPurpose::DiscoveryHmac:
        return "taskfleet/v1 discovery-hmac";
    }
    return "";
}

struct PkeyCtxDeleter {
    void operator()(EVP_PKEY_CTX *ctx) const { EVP_PKEY_CTX_free(ctx); }
};

} // namespace

QByteArray deriveKey(const QByteArray &secret, KeyPurpose purpose)
{
    if (secret.isEmpty())
        return {};
    static const unsigned char salt[] = "taskfleet cluster secret";
    const char *info = contextFor(purpose);

    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    QByteArray key(DerivedKeySize, '\0');
    size_t keyLength = size_t(key.size());
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0
        || EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt, int(sizeof(salt) - 1)) <= 0
        || EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), reinterpret_cast<const unsigned char *>(secret.constData()),
                                      int(secret.size()))
               <= 0
        || EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<const unsigned char *>(info), int(qstrlen(info)))
               <= 0
        || EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char *>(key.data()), &keyLength) <= 0
        || keyLength != size_t(DerivedKeySize)) {
        return {};
    }
    return key;
}

bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    return CRYPTO_memcmp(a.constData(), b.constData(), size_t(a.size())) == 0;
}

} // namespace taskfleet::net
