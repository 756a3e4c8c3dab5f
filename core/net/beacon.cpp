// SPDX-License-Identifier: MIT
// Beacon wire form (magic + kind + CBOR + HMAC tag) and the verifier that counts what it rejects.
#include "beacon.h"

#include "net/keyderivation.h"
#include "protocol/messagereader.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborStreamReader>
#include <QtCore/QCborValue>
#include <QtCore/QMessageAuthenticationCode>
#include <QtCore/QRandomGenerator>

#include <algorithm>
#include <cstdlib>

namespace taskfleet::net {

namespace {

constexpr char Magic[] = "TFB1";
constexpr int MagicSize = 4;
constexpr char KindAnnounce = 'A';
constexpr char KindProbe = 'P';
constexpr char KindOtherCluster = 'X';
constexpr qint64 MaxWorkers = 1000000;
// Timestamps beyond this are nonsense, and keeping them small keeps the window arithmetic overflow-free.
constexpr qint64 MaxTimestampMs = qint64(1) << 50;
// Addresses listed by name in a summary clause before "and N more".
constexpr int MaxSummaryAddresses = 8;

QLatin1String key(const char *k)
{
    return QLatin1String(k);
}

char kindByte(Beacon::Kind kind)
{
    return kind == Beacon::Kind::Probe ? KindProbe : KindAnnounce;
}

QByteArray computeTag(const QByteArray &hmacKey, const QByteArray &signedPart)
{
    QMessageAuthenticationCode mac(QCryptographicHash::Sha256, hmacKey);
    mac.addData(signedPart);
    return mac.result();
}

QString cutHostName(const QString &name)
{
    QString cut = name.left(MaxBeaconHostNameBytes);
    // At most MaxBeaconHostNameBytes iterations: every pass removes one UTF-16 unit.
    while (!cut.isEmpty() && (cut.toUtf8().size() > MaxBeaconHostNameBytes || cut.back().isHighSurrogate()))
        cut.chop(1);
    return cut;
}

bool addressLess(const QHostAddress &a, const QHostAddress &b)
{
    if (a.protocol() != b.protocol())
        return a.protocol() < b.protocol();
    if (a.protocol() == QAbstractSocket::IPv4Protocol)
        return a.toIPv4Address() < b.toIPv4Address();
    return a.toString() < b.toString();
}

QString addressList(const QList<QHostAddress> &addresses)
{
    QStringList names;
    const int shown = std::min<int>(int(addresses.size()), MaxSummaryAddresses);
    for (int i = 0; i < shown; ++i)
        names.append(addresses.at(i).toString());
    QString text = names.join(QStringLiteral(", "));
    if (addresses.size() > shown)
        text += QStringLiteral(" and %1 more").arg(addresses.size() - shown);
    return text;
}

} // namespace

QByteArray beaconKey(const QByteArray &secret)
{
    return deriveKey(secret, KeyPurpose::DiscoveryHmac);
}

QByteArray newBeaconNonce()
{
    QByteArray nonce(BeaconNonceSize, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(nonce.data()), BeaconNonceSize / 4);
    return nonce;
}
static_assert(BeaconNonceSize % 4 == 0, "newBeaconNonce fills 32-bit words");

Beacon Beacon::create(Kind kind, qint64 nowMs)
{
    Beacon b;
    b.kind = kind;
    b.timestampMs = nowMs;
    b.nonce = newBeaconNonce();
    return b;
}

QByteArray encodeBeacon(const Beacon &beacon, const QByteArray &hmacKey)
{
    if (hmacKey.isEmpty() || beacon.nonce.size() != BeaconNonceSize)
        return {};
    QCborMap map;
    map.insert(key("pv"), QCborArray {beacon.protocolMajor, beacon.protocolMinor});
    map.insert(key("node"), beacon.nodeId.toRfc4122());
    map.insert(key("host"), cutHostName(beacon.hostName));
    map.insert(key("port"), int(beacon.tcpPort));
    map.insert(key("wt"), beacon.workersTotal);
    map.insert(key("wb"), beacon.workersBusy);
    map.insert(key("ts"), beacon.timestampMs);
    map.insert(key("nonce"), beacon.nonce);

    QByteArray datagram;
    datagram.reserve(256);
    datagram.append(Magic, MagicSize);
    datagram.append(kindByte(beacon.kind));
    datagram.append(map.toCborValue().toCbor());
    datagram.append(computeTag(hmacKey, datagram));
    return datagram;
}

QString beaconStatusName(BeaconStatus status)
{
    switch (status) {
    case BeaconStatus::Accepted:
        return QStringLiteral("accepted");
    case BeaconStatus::NotTaskfleet:
        return QStringLiteral("not-taskfleet");
    case BeaconStatus::WrongKind:
        return QStringLiteral("wrong-kind");
    case BeaconStatus::Malformed:
        return QStringLiteral("malformed");
    case BeaconStatus::BadTag:
        return QStringLiteral("bad-tag");
    case BeaconStatus::Stale:
        return QStringLiteral("stale");
    case BeaconStatus::Replayed:
        return QStringLiteral("replayed");
    case BeaconStatus::IncompatibleVersion:
        return QStringLiteral("incompatible-version");
    }
    return QStringLiteral("unknown");
}

bool isCountedRejection(BeaconStatus status)
{
    return status != BeaconStatus::Accepted && status != BeaconStatus::NotTaskfleet
           && status != BeaconStatus::WrongKind;
}

quint64 BeaconSourceStats::total() const
{
    quint64 sum = 0;
    for (quint64 c : counts)
        sum += c;
    return sum;
}

BeaconVerifier::BeaconVerifier(const QByteArray &hmacKey, Beacon::Kind accepts, qint64 replayWindowMs)
    : m_key(hmacKey)
    , m_accepts(accepts)
    , m_replayWindowMs(std::max<qint64>(1, replayWindowMs))
{
}

QHostAddress BeaconVerifier::normalizedAddress(const QHostAddress &address)
{
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        bool isV4 = false;
        const quint32 v4 = address.toIPv4Address(&isV4);
        if (isV4)
            return QHostAddress(v4);
    }
    return address;
}

BeaconStatus BeaconVerifier::verify(const QByteArray &datagram, const QHostAddress &sender, qint64 nowMs,
                                    Beacon *beacon, QString *detail)
{
    if (!datagram.startsWith(QByteArrayView(Magic, MagicSize - 1))) {
        if (detail)
            *detail = QStringLiteral("no Taskfleet magic");
        return BeaconStatus::NotTaskfleet;
    }
    if (datagram.size() < MagicSize || datagram.at(MagicSize - 1) != Magic[MagicSize - 1]) {
        if (datagram.size() >= MagicSize && datagram.at(MagicSize - 1) >= '2' && datagram.at(MagicSize - 1) <= '9')
            return reject(BeaconStatus::IncompatibleVersion, sender, nowMs, detail,
                          QStringLiteral("beacon format %1, this build reads format 1")
                              .arg(QLatin1Char(datagram.at(MagicSize - 1))));
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("bad magic"));
    }
    if (datagram.size() == OtherClusterReplySize && datagram.at(MagicSize) == KindOtherCluster) {
        if (detail)
            *detail = QStringLiteral("an \"another cluster\" reply (read by DiscoveryListener, not here)");
        return BeaconStatus::WrongKind;
    }
    if (datagram.size() > MaxBeaconSize)
        return reject(BeaconStatus::Malformed, sender, nowMs, detail,
                      QStringLiteral("%1 bytes, more than %2").arg(datagram.size()).arg(MaxBeaconSize));
    if (datagram.size() < BeaconHeaderSize + 1 + BeaconTagSize)
        return reject(BeaconStatus::Malformed, sender, nowMs, detail,
                      QStringLiteral("truncated (%1 bytes)").arg(datagram.size()));

    const char kindChar = datagram.at(MagicSize);
    if (kindChar != KindAnnounce && kindChar != KindProbe)
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("unknown beacon kind"));
    const Beacon::Kind kind = kindChar == KindProbe ? Beacon::Kind::Probe : Beacon::Kind::Announce;
    if (kind != m_accepts) {
        if (detail)
            *detail = QStringLiteral("ignoring a %1")
                          .arg(kind == Beacon::Kind::Probe ? QStringLiteral("probe") : QStringLiteral("announcement"));
        return BeaconStatus::WrongKind;
    }

    // The shape is checked before the tag, so that only a well-formed beacon whose tag fails counts as "another
    // secret"; anything else is junk (Malformed). Parsing at most MaxBeaconSize bytes of CBOR is cheap and fuzzed.
    const qsizetype signedSize = datagram.size() - BeaconTagSize;
    const QByteArray signedPart = datagram.left(signedSize);
    const QByteArray cbor = signedPart.mid(BeaconHeaderSize);
    QCborStreamReader stream(cbor);
    const QCborValue root = QCborValue::fromCbor(stream);
    if (stream.lastError() != QCborError::NoError || !root.isMap())
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("content is not a CBOR map"));
    if (stream.currentOffset() != cbor.size())
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("bytes after the CBOR map"));

    const QCborMap map = root.toMap();
    protocol::MessageReader reader(map);
    const QCborArray version = reader.array("pv");
    if (!reader.ok() || version.size() < 2 || !version.at(0).isInteger() || !version.at(1).isInteger())
        return reject(BeaconStatus::Malformed, sender, nowMs, detail,
                      reader.ok() ? QStringLiteral("field \"pv\" must be [major, minor]") : reader.error());
    const qint64 major = version.at(0).toInteger();
    const qint64 minor = version.at(1).toInteger();

    Beacon b;
    b.kind = kind;
    b.protocolMajor = int(std::clamp<qint64>(major, 0, 65535));
    b.protocolMinor = int(std::clamp<qint64>(minor, 0, 65535));
    const QByteArray nodeBytes = reader.bytes("node");
    b.hostName = reader.string("host");
    b.tcpPort = quint16(reader.integer("port", 0, 65535));
    b.workersTotal = int(reader.integer("wt", 0, MaxWorkers));
    b.workersBusy = int(reader.integer("wb", 0, MaxWorkers));
    b.timestampMs = reader.integer("ts", 0, MaxTimestampMs);
    b.nonce = reader.bytes("nonce");
    if (!reader.ok())
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, reader.error());
    if (nodeBytes.size() != 16)
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("node id is not 16 bytes"));
    b.nodeId = QUuid::fromRfc4122(nodeBytes);
    if (b.nonce.size() != BeaconNonceSize)
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("nonce is not 16 bytes"));
    if (b.hostName.toUtf8().size() > MaxBeaconHostNameBytes)
        return reject(BeaconStatus::Malformed, sender, nowMs, detail, QStringLiteral("host name too long"));

    if (m_key.isEmpty() || !constantTimeEquals(computeTag(m_key, signedPart), datagram.mid(signedSize))) {
        if (beacon)
            *beacon = b; // well-formed but unauthenticated: only for an "another cluster" reply (its nonce)
        return reject(BeaconStatus::BadTag, sender, nowMs, detail,
                      QStringLiteral("tag does not match: signed with another secret, or altered"));
    }

    // Authentic from here on.
    if (major != protocol::ProtocolMajor)
        return reject(BeaconStatus::IncompatibleVersion, sender, nowMs, detail,
                      QStringLiteral("protocol %1.%2, this build speaks %3.%4")
                          .arg(major)
                          .arg(minor)
                          .arg(protocol::ProtocolMajor)
                          .arg(protocol::ProtocolMinor));
    if (kind == Beacon::Kind::Announce && (b.nodeId.isNull() || b.tcpPort == 0))
        return reject(BeaconStatus::Malformed, sender, nowMs, detail,
                      QStringLiteral("announcement without node id or TCP port"));

    const qint64 skew = b.timestampMs - nowMs;
    const QHostAddress source = normalizedAddress(sender);
    if (skew > m_replayWindowMs || skew < -m_replayWindowMs) {
        // A clock problem shows in every beacon of that agent; an old copy from an address (or of a node) that
        // also sends fresh ones is a replay.
        if (hasFreshBeacons(source, b.nodeId, nowMs))
            return reject(BeaconStatus::Replayed, sender, nowMs, detail,
                          QStringLiteral("an old beacon (%1 s off) from an address or node that also sends fresh ones")
                              .arg(std::abs(skew) / 1000));
        return reject(BeaconStatus::Stale, sender, nowMs, detail,
                      QStringLiteral("timestamp %1 ms %2 this clock, outside ±%3 ms")
                          .arg(skew < 0 ? -skew : skew)
                          .arg(skew < 0 ? QStringLiteral("behind") : QStringLiteral("ahead of"))
                          .arg(m_replayWindowMs),
                      skew);
    }

    forgetExpiredNonces(nowMs);
    // The beacon passes the window check until its timestamp leaves the window; remember it that long.
    if (!rememberNonce(b.nonce, std::max(b.timestampMs, nowMs) + m_replayWindowMs))
        return reject(BeaconStatus::Replayed, sender, nowMs, detail, QStringLiteral("nonce already seen"));

    rememberFresh(source, b.nodeId, nowMs);
    if (beacon)
        *beacon = b;
    if (detail)
        detail->clear();
    return BeaconStatus::Accepted;
}

bool BeaconVerifier::hasFreshBeacons(const QHostAddress &source, const QUuid &nodeId, qint64 nowMs) const
{
    const auto recent = [&](qint64 at) { return at != 0 && nowMs - at <= m_replayWindowMs; };
    return recent(m_freshBySource.value(source)) || (!nodeId.isNull() && recent(m_freshByNode.value(nodeId)));
}

bool BeaconVerifier::sendsFreshBeacons(const QHostAddress &source, qint64 nowMs, qint64 maxAgeMs) const
{
    const qint64 at = m_freshBySource.value(normalizedAddress(source));
    return at != 0 && (maxAgeMs <= 0 || nowMs - at <= maxAgeMs);
}

void BeaconVerifier::rememberFresh(const QHostAddress &source, const QUuid &nodeId, qint64 nowMs)
{
    const auto put = [nowMs](auto &table, const auto &key) {
        if (!table.contains(key) && table.size() >= MaxTrackedSources)
            table.erase(std::min_element(table.begin(), table.end()));
        table.insert(key, nowMs);
    };
    put(m_freshBySource, source);
    if (!nodeId.isNull())
        put(m_freshByNode, nodeId);
}

void BeaconVerifier::countRejection(BeaconStatus status, const QHostAddress &sender, qint64 nowMs)
{
    reject(status, sender, nowMs, nullptr, QString());
}

BeaconStatus BeaconVerifier::reject(BeaconStatus status, const QHostAddress &sender, qint64 nowMs, QString *detail,
                                    const QString &why, qint64 skewMs)
{
    if (detail)
        *detail = why;
    m_totals[size_t(status)] += 1;

    const QHostAddress address = normalizedAddress(sender);
    auto it = m_sources.find(address);
    if (it == m_sources.end()) {
        if (m_sources.size() >= MaxTrackedSources) {
            auto oldest = std::min_element(m_sources.begin(), m_sources.end(),
                                           [](const BeaconSourceStats &a, const BeaconSourceStats &b) {
                                               return a.lastSeenAnyMs < b.lastSeenAnyMs;
                                           });
            m_sources.erase(oldest);
        }
        BeaconSourceStats fresh;
        fresh.address = address;
        it = m_sources.insert(address, fresh);
    }
    BeaconSourceStats &stats = it.value();
    stats.counts[size_t(status)] += 1;
    stats.lastSeenMs[size_t(status)] = nowMs;
    stats.lastSeenAnyMs = nowMs;
    if (status == BeaconStatus::Stale)
        stats.lastClockSkewMs = skewMs;
    return status;
}

void BeaconVerifier::forgetExpiredNonces(qint64 nowMs)
{
    while (!m_noncesByExpiry.empty() && m_noncesByExpiry.begin()->first < nowMs) {
        m_nonceExpiry.remove(m_noncesByExpiry.begin()->second);
        m_noncesByExpiry.erase(m_noncesByExpiry.begin());
    }
}

bool BeaconVerifier::rememberNonce(const QByteArray &nonce, qint64 expiryMs)
{
    if (m_nonceExpiry.contains(nonce))
        return false;
    if (m_nonceExpiry.size() >= MaxRememberedNonces && !m_noncesByExpiry.empty()) {
        m_nonceExpiry.remove(m_noncesByExpiry.begin()->second);
        m_noncesByExpiry.erase(m_noncesByExpiry.begin());
    }
    m_nonceExpiry.insert(nonce, expiryMs);
    m_noncesByExpiry.emplace(expiryMs, nonce);
    return true;
}

QList<BeaconSourceStats> BeaconVerifier::rejectionsBySource() const
{
    QList<BeaconSourceStats> list = m_sources.values();
    std::sort(list.begin(), list.end(),
              [](const BeaconSourceStats &a, const BeaconSourceStats &b) { return addressLess(a.address, b.address); });
    return list;
}

QList<QHostAddress> BeaconVerifier::rejectingSources(BeaconStatus status, qint64 nowMs, qint64 maxAgeMs) const
{
    QList<QHostAddress> addresses;
    for (const BeaconSourceStats &s : m_sources) {
        if (s.count(status) == 0)
            continue;
        if (maxAgeMs > 0 && nowMs - s.lastSeenMs[size_t(status)] > maxAgeMs)
            continue;
        addresses.append(s.address);
    }
    std::sort(addresses.begin(), addresses.end(), addressLess);
    return addresses;
}

QString BeaconVerifier::rejectionSummary(qint64 nowMs, qint64 maxAgeMs) const
{
    QStringList clauses;
    auto clause = [&](BeaconStatus status, const char *oneAgent, const char *manyAgents) {
        const QList<QHostAddress> sources = rejectingSources(status, nowMs, maxAgeMs);
        if (sources.isEmpty())
            return;
        const bool one = sources.size() == 1;
        clauses.append(QStringLiteral("%1 %2 at %3 %4")
                           .arg(sources.size())
                           .arg(one ? QStringLiteral("agent") : QStringLiteral("agents"), addressList(sources),
                                QLatin1String(one ? oneAgent : manyAgents)));
    };
    clause(BeaconStatus::BadTag, "answers with another secret", "answer with another secret");
    clause(BeaconStatus::IncompatibleVersion, "runs an incompatible protocol version",
           "run an incompatible protocol version");
    const QString window = QStringLiteral("%1 s").arg(m_replayWindowMs / 1000.0);
    // Stale beacons from an address that (also) sent fresh ones are replays, whichever arrived first.
    QList<QHostAddress> stale;
    QList<QHostAddress> replayed = rejectingSources(BeaconStatus::Replayed, nowMs, maxAgeMs);
    for (const QHostAddress &a : rejectingSources(BeaconStatus::Stale, nowMs, maxAgeMs)) {
        if (sendsFreshBeacons(a, nowMs, maxAgeMs)) {
            if (!replayed.contains(a))
                replayed.append(a);
        } else {
            stale.append(a);
        }
    }
    std::sort(replayed.begin(), replayed.end(), addressLess);
    if (!stale.isEmpty()) {
        const bool one = stale.size() == 1;
        clauses.append(QStringLiteral("%1 %2 at %3 %4 a clock more than %5 off (check NTP)")
                           .arg(stale.size())
                           .arg(one ? QStringLiteral("agent") : QStringLiteral("agents"), addressList(stale),
                                one ? QStringLiteral("has") : QStringLiteral("have"), window));
    }
    if (!replayed.isEmpty())
        clauses.append(QStringLiteral("%1 %2 at %3 sent copies of old or already seen beacons (replays, ignored)")
                           .arg(replayed.size())
                           .arg(replayed.size() == 1 ? QStringLiteral("address") : QStringLiteral("addresses"),
                                addressList(replayed)));
    const QList<QHostAddress> junk = rejectingSources(BeaconStatus::Malformed, nowMs, maxAgeMs);
    if (!junk.isEmpty())
        clauses.append(
            QStringLiteral("%1 %2 at %3 sent junk (datagrams with the beacon magic that are not valid beacons)")
                .arg(junk.size())
                .arg(junk.size() == 1 ? QStringLiteral("address") : QStringLiteral("addresses"), addressList(junk)));
    return clauses.join(QStringLiteral("; "));
}

void BeaconVerifier::clearRejections()
{
    m_sources.clear();
    m_freshBySource.clear();
    m_freshByNode.clear();
    m_totals.fill(0);
}

bool BeaconVerifier::takeReportToken(const QHostAddress &sender, BeaconStatus status, qint64 nowMs, qint64 minGapMs)
{
    auto it = m_sources.find(normalizedAddress(sender));
    if (it == m_sources.end())
        return false;
    qint64 &last = it->lastReportedMs[size_t(status)];
    if (last != 0 && nowMs - last < minGapMs)
        return false;
    last = nowMs;
    return true;
}

QByteArray encodeOtherClusterReply(const QByteArray &probeNonce)
{
    if (probeNonce.size() != BeaconNonceSize)
        return {};
    QByteArray reply;
    reply.reserve(OtherClusterReplySize);
    reply.append(Magic, MagicSize);
    reply.append(KindOtherCluster);
    reply.append(probeNonce);
    return reply;
}

QByteArray otherClusterReplyNonce(const QByteArray &datagram)
{
    if (datagram.size() != OtherClusterReplySize || !datagram.startsWith(QByteArrayView(Magic, MagicSize))
        || datagram.at(MagicSize) != KindOtherCluster)
        return {};
    return datagram.mid(BeaconHeaderSize);
}

} // namespace taskfleet::net
