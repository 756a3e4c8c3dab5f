// SPDX-License-Identifier: MIT
// libFuzzer target: the discovery beacon verifier, on raw datagrams and on correctly signed garbage.
#include "fuzzseeds.h"
#include "net/beacon.h"

#include <QtCore/QMessageAuthenticationCode>
#include <QtNetwork/QHostAddress>

using namespace taskfleet::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const QByteArray key = taskfleet::fuzz::beaconFuzzKey(); // the beacon seeds are signed with it
    static BeaconVerifier announces(key, Beacon::Kind::Announce);
    static BeaconVerifier probes(key, Beacon::Kind::Probe);
    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const QHostAddress sender(QStringLiteral("127.0.0.1"));
    const qint64 now = taskfleet::fuzz::BeaconFuzzNowMs; // fixed, so runs are reproducible
    Beacon beacon;
    QString detail;
    announces.verify(bytes, sender, now, &beacon, &detail);
    // Sign the input as it is, so the fuzzer also reaches the parts behind the tag check.
    const QByteArray signedBytes = bytes + QMessageAuthenticationCode::hash(bytes, key, QCryptographicHash::Sha256);
    announces.verify(signedBytes, sender, now, &beacon, &detail);
    probes.verify(signedBytes, sender, now, &beacon, &detail);
    if (announces.rememberedNonces() > BeaconVerifier::MaxRememberedNonces)
        __builtin_trap();
    return 0;
}
