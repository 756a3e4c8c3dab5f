// SPDX-License-Identifier: MIT
// Discovery beacons: only authentic, fresh, unreplayed beacons pass, and every rejection is counted.
#include "net/beacon.h"
#include "net/keyderivation.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QMessageAuthenticationCode>
#include <QtCore/QRandomGenerator>
#include <QtTest/QtTest>

using namespace taskfleet::net;
using taskfleet::protocol::ProtocolMajor;
using taskfleet::protocol::ProtocolMinor;

namespace {

constexpr qint64 Now = 1700000000000; // a fixed wall clock for the tests

QByteArray keyA()
{
    return beaconKey(QByteArrayLiteral("cluster secret A"));
}

QByteArray keyB()
{
    return beaconKey(QByteArrayLiteral("cluster secret B"));
}

Beacon sampleBeacon(qint64 timestampMs = Now)
{
    Beacon b = Beacon::create(Beacon::Kind::Announce, timestampMs);
    b.nodeId = QUuid::fromString(QLatin1String("{6a1f3c2e-9b4d-4e8f-a1b2-c3d4e5f60718}"));
    b.hostName = QStringLiteral("node-7");
    b.tcpPort = 45452;
    b.workersTotal = 8;
    b.workersBusy = 3;
    return b;
}

QByteArray sign(const QByteArray &signedPart, const QByteArray &key)
{
    return signedPart + QMessageAuthenticationCode::hash(signedPart, key, QCryptographicHash::Sha256);
}

// A correctly signed datagram with arbitrary CBOR content, to reach the checks behind the tag.
QByteArray signedRaw(const QCborMap &map, const QByteArray &key = keyA(), char kind = 'A')
{
    return sign(QByteArrayLiteral("TFB1") + kind + map.toCborValue().toCbor(), key);
}

QCborMap validMap()
{
    QCborMap m;
    m.insert(QLatin1String("pv"), QCborArray {ProtocolMajor, ProtocolMinor});
    m.insert(QLatin1String("node"), QUuid::createUuid().toRfc4122());
    m.insert(QLatin1String("host"), QStringLiteral("h"));
    m.insert(QLatin1String("port"), 1234);
    m.insert(QLatin1String("wt"), 1);
    m.insert(QLatin1String("wb"), 0);
    m.insert(QLatin1String("ts"), Now);
    m.insert(QLatin1String("nonce"), newBeaconNonce());
    return m;
}

const QHostAddress Source(QStringLiteral("10.0.0.7"));

} // namespace

class TestBeacon : public QObject
{
    Q_OBJECT

private slots:
    void keysAreDistinct();
    void goodTagAccepted_data();
    void goodTagAccepted();
    void wrongSecretIsBadTagPerAddress();
    void flippedByte_data();
    void flippedByte();
    void staleTimestamp_data();
    void staleTimestamp();
    void replayedNonce();
    void nonceForgottenAfterWindow();
    void datagramShapes_data();
    void datagramShapes();
    void signedButMalformed_data();
    void signedButMalformed();
    void incompatibleVersion_data();
    void incompatibleVersion();
    void wrongKindIsNotCounted();
    void summaryListsAddresses();
    void summaryHonoursMaxAge();
    void mappedAddressesAreOneSource();
    void boundedMemory();
    void longHostNameIsCut();
    void reportTokenRateLimits();
    void encodeRefusesBadInput();
    void randomJunkIsJunkNotAnotherSecret();
    void oldReplayFromFreshSourceIsNotAClockProblem();
    void otherClusterReplyIsSmallAndCarriesTheNonce();
};

void TestBeacon::keysAreDistinct()
{
    const QByteArray secret = QByteArrayLiteral("s3cret");
    QCOMPARE(beaconKey(secret).size(), DerivedKeySize);
    QVERIFY(beaconKey(secret) != deriveKey(secret, KeyPurpose::TlsPsk));
    QVERIFY(beaconKey(QByteArray()).isEmpty());
}

void TestBeacon::goodTagAccepted_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("hostName");
    QTest::addColumn<int>("workersTotal");
    QTest::addColumn<int>("workersBusy");
    QTest::addColumn<int>("tcpPort");

    QTest::newRow("announce") << int(Beacon::Kind::Announce) << QStringLiteral("node-7") << 8 << 3 << 45452;
    QTest::newRow("unicode host") << int(Beacon::Kind::Announce) << QStringLiteral("Rechner-Grüße-計算") << 64 << 64
                                  << 1;
    QTest::newRow("no workers") << int(Beacon::Kind::Announce) << QString() << 0 << 0 << 65535;
    QTest::newRow("probe") << int(Beacon::Kind::Probe) << QStringLiteral("controller") << 0 << 0 << 0;
}

void TestBeacon::goodTagAccepted()
{
    QFETCH(int, kind);
    QFETCH(QString, hostName);
    QFETCH(int, workersTotal);
    QFETCH(int, workersBusy);
    QFETCH(int, tcpPort);

    Beacon b = sampleBeacon();
    b.kind = Beacon::Kind(kind);
    b.hostName = hostName;
    b.workersTotal = workersTotal;
    b.workersBusy = workersBusy;
    b.tcpPort = quint16(tcpPort);
    const QByteArray datagram = encodeBeacon(b, keyA());
    QVERIFY(datagram.startsWith("TFB1"));
    QVERIFY(datagram.size() <= MaxBeaconSize);

    BeaconVerifier verifier(keyA(), b.kind);
    Beacon out;
    QString why;
    QCOMPARE(verifier.verify(datagram, Source, Now + 500, &out, &why), BeaconStatus::Accepted);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QCOMPARE(int(out.kind), kind);
    QCOMPARE(out.nodeId, b.nodeId);
    QCOMPARE(out.hostName, hostName);
    QCOMPARE(out.tcpPort, quint16(tcpPort));
    QCOMPARE(out.workersTotal, workersTotal);
    QCOMPARE(out.workersBusy, workersBusy);
    QCOMPARE(out.protocolMajor, ProtocolMajor);
    QCOMPARE(out.protocolMinor, ProtocolMinor);
    QCOMPARE(out.timestampMs, Now);
    QCOMPARE(out.nonce, b.nonce);
    QVERIFY(verifier.rejectionsBySource().isEmpty());
}

void TestBeacon::wrongSecretIsBadTagPerAddress()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    const QHostAddress other(QStringLiteral("10.0.0.9"));
    QString why;
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now, nullptr, &why), BeaconStatus::BadTag);
    QVERIFY(why.contains(QLatin1String("secret")));
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now + 10), BeaconStatus::BadTag);
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(), keyB()), other, Now + 20), BeaconStatus::BadTag);
    // A good beacon from a third address is not counted anywhere.
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(), keyA()), QHostAddress(QStringLiteral("10.0.0.8")), Now),
             BeaconStatus::Accepted);

    const QList<BeaconSourceStats> stats = verifier.rejectionsBySource();
    QCOMPARE(stats.size(), 2);
    QCOMPARE(stats.at(0).address, Source);
    QCOMPARE(stats.at(0).count(BeaconStatus::BadTag), quint64(2));
    QCOMPARE(stats.at(0).total(), quint64(2));
    QCOMPARE(stats.at(0).lastSeenMs[size_t(BeaconStatus::BadTag)], Now + 10);
    QCOMPARE(stats.at(0).lastSeenAnyMs, Now + 10);
    QCOMPARE(stats.at(1).address, other);
    QCOMPARE(stats.at(1).count(BeaconStatus::BadTag), quint64(1));
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::BadTag), quint64(3));
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::Accepted), quint64(0));
}

void TestBeacon::flippedByte_data()
{
    QTest::addColumn<QByteArray>("datagram");
    QTest::addColumn<int>("index");

    const QByteArray good = encodeBeacon(sampleBeacon(), keyA());
    for (int i = 0; i < good.size(); ++i) {
        for (int bit : {0, 7}) {
            QByteArray bad = good;
            bad[i] = char(bad.at(i) ^ (1 << bit));
            QTest::addRow("byte %d bit %d", i, bit) << bad << i;
        }
    }
}

void TestBeacon::flippedByte()
{
    QFETCH(QByteArray, datagram);
    QFETCH(int, index);

    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    const BeaconStatus status = verifier.verify(datagram, Source, Now);
    QVERIFY(status != BeaconStatus::Accepted);
    if (index < 3) {
        QCOMPARE(status, BeaconStatus::NotTaskfleet); // the magic is gone: someone else's datagram
        QVERIFY(verifier.rejectionsBySource().isEmpty());
    } else if (index >= datagram.size() - BeaconTagSize) {
        QCOMPARE(status, BeaconStatus::BadTag); // tag altered, content still well-formed
    } else if (index >= BeaconHeaderSize) {
        // Content altered: still a well-formed beacon (a value changed) is "another secret or altered"; broken
        // CBOR or field shapes are junk.
        QVERIFY2(status == BeaconStatus::BadTag || status == BeaconStatus::Malformed,
                 qPrintable(beaconStatusName(status)));
    }
}

void TestBeacon::staleTimestamp_data()
{
    QTest::addColumn<qint64>("offsetMs"); // beacon timestamp minus receiver clock
    QTest::addColumn<int>("expected");

    QTest::newRow("just now") << qint64(0) << int(BeaconStatus::Accepted);
    QTest::newRow("29 s old") << qint64(-29000) << int(BeaconStatus::Accepted);
    QTest::newRow("29 s ahead") << qint64(29000) << int(BeaconStatus::Accepted);
    QTest::newRow("30 s old, at the edge") << -DefaultReplayWindowMs << int(BeaconStatus::Accepted);
    QTest::newRow("31 s old") << qint64(-31000) << int(BeaconStatus::Stale);
    QTest::newRow("31 s ahead") << qint64(31000) << int(BeaconStatus::Stale);
    QTest::newRow("a day old") << qint64(-86400000) << int(BeaconStatus::Stale);
    QTest::newRow("a year ahead") << qint64(365) * 86400000 << int(BeaconStatus::Stale);
    QTest::newRow("epoch") << -Now << int(BeaconStatus::Stale);
}

void TestBeacon::staleTimestamp()
{
    QFETCH(qint64, offsetMs);
    QFETCH(int, expected);

    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(Now + offsetMs), keyA()), Source, Now), BeaconStatus(expected));
    if (BeaconStatus(expected) == BeaconStatus::Stale) {
        QCOMPARE(verifier.rejectedTotal(BeaconStatus::Stale), quint64(1));
        QCOMPARE(verifier.rejectionsBySource().value(0).lastClockSkewMs, offsetMs);
        QVERIFY(verifier.rejectionSummary(Now).contains(QLatin1String("clock")));
        QCOMPARE(verifier.rememberedNonces(), 0); // stale beacons are not remembered
    }
}

void TestBeacon::replayedNonce()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    const Beacon b = sampleBeacon();
    const QByteArray datagram = encodeBeacon(b, keyA());
    QCOMPARE(verifier.verify(datagram, Source, Now), BeaconStatus::Accepted);
    QCOMPARE(verifier.verify(datagram, Source, Now + 1000), BeaconStatus::Replayed);
    // From another address it is still a replay.
    QCOMPARE(verifier.verify(datagram, QHostAddress(QStringLiteral("10.0.0.66")), Now + 2000), BeaconStatus::Replayed);

    // Same nonce in a freshly signed beacon with other content: still a replay.
    Beacon again = b;
    again.workersBusy = 0;
    QCOMPARE(verifier.verify(encodeBeacon(again, keyA()), Source, Now + 3000), BeaconStatus::Replayed);

    // A new nonce is fine.
    Beacon fresh = b;
    fresh.nonce = newBeaconNonce();
    QCOMPARE(verifier.verify(encodeBeacon(fresh, keyA()), Source, Now + 3000), BeaconStatus::Accepted);
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::Replayed), quint64(3));
    QCOMPARE(verifier.rejectionsBySource().size(), 2);
}

void TestBeacon::nonceForgottenAfterWindow()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce, 1000);
    const QByteArray datagram = encodeBeacon(sampleBeacon(), keyA());
    QCOMPARE(verifier.verify(datagram, Source, Now), BeaconStatus::Accepted);
    QCOMPARE(verifier.rememberedNonces(), 1);
    // Once the timestamp has left the window, the datagram is stale; its nonce can be forgotten.
    QCOMPARE(verifier.verify(datagram, Source, Now + 1001), BeaconStatus::Stale);
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(Now + 5000), keyA()), Source, Now + 5000),
             BeaconStatus::Accepted);
    QCOMPARE(verifier.rememberedNonces(), 1);
}

void TestBeacon::datagramShapes_data()
{
    QTest::addColumn<QByteArray>("datagram");
    QTest::addColumn<int>("expected");
    QTest::addColumn<bool>("counted");

    const QByteArray good = encodeBeacon(sampleBeacon(), keyA());
    QTest::newRow("empty") << QByteArray() << int(BeaconStatus::NotTaskfleet) << false;
    QTest::newRow("other program") << QByteArrayLiteral("M-SEARCH * HTTP/1.1\r\n") << int(BeaconStatus::NotTaskfleet)
                                   << false;
    QTest::newRow("random bytes") << QByteArray(600, '\x5a') << int(BeaconStatus::NotTaskfleet) << false;
    QTest::newRow("large other program") << QByteArray(4000, 'x') << int(BeaconStatus::NotTaskfleet) << false;
    QTest::newRow("magic prefix only") << QByteArrayLiteral("TFB") << int(BeaconStatus::Malformed) << true;
    QTest::newRow("magic only") << QByteArrayLiteral("TFB1") << int(BeaconStatus::Malformed) << true;
    QTest::newRow("header only") << QByteArrayLiteral("TFB1A") << int(BeaconStatus::Malformed) << true;
    QTest::newRow("header and short tag")
        << QByteArrayLiteral("TFB1A") + QByteArray(32, '\0') << int(BeaconStatus::Malformed) << true;
    QTest::newRow("unknown kind") << QByteArrayLiteral("TFB1Z") + good.mid(5) << int(BeaconStatus::Malformed) << true;
    QTest::newRow("truncated by one") << good.chopped(1) << int(BeaconStatus::Malformed)
                                      << true; // junk, not another secret
    QTest::newRow("truncated to half") << good.left(good.size() / 2) << int(BeaconStatus::Malformed) << true;
    QTest::newRow("tag missing") << good.chopped(BeaconTagSize) << int(BeaconStatus::Malformed) << true;
    QTest::newRow("byte appended") << good + 'x' << int(BeaconStatus::Malformed) << true;
    QTest::newRow("oversized") << good + QByteArray(MaxBeaconSize, 'x') << int(BeaconStatus::Malformed) << true;
    QTest::newRow("exactly one byte too many")
        << good.left(BeaconHeaderSize) + QByteArray(MaxBeaconSize + 1 - BeaconHeaderSize, '\0')
        << int(BeaconStatus::Malformed) << true;
    QTest::newRow("future beacon format")
        << QByteArrayLiteral("TFB2") + good.mid(4) << int(BeaconStatus::IncompatibleVersion) << true;
}

void TestBeacon::datagramShapes()
{
    QFETCH(QByteArray, datagram);
    QFETCH(int, expected);
    QFETCH(bool, counted);

    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    QString why;
    QCOMPARE(verifier.verify(datagram, Source, Now, nullptr, &why), BeaconStatus(expected));
    QVERIFY(!why.isEmpty());
    QCOMPARE(verifier.rejectionsBySource().size(), counted ? 1 : 0);
    QCOMPARE(isCountedRejection(BeaconStatus(expected)), counted);
}

void TestBeacon::signedButMalformed_data()
{
    QTest::addColumn<QByteArray>("datagram");

    QCborMap m = validMap();
    QTest::newRow("control: valid") << signedRaw(m);

    m = validMap();
    m.remove(QLatin1String("ts"));
    QTest::newRow("no timestamp") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("ts"), QStringLiteral("yesterday"));
    QTest::newRow("timestamp is text") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("nonce"), QByteArray(8, 'n'));
    QTest::newRow("short nonce") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("node"), QByteArray(15, 'n'));
    QTest::newRow("short node id") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("node"), QUuid().toRfc4122());
    QTest::newRow("null node id") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("port"), 0);
    QTest::newRow("announce without port") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("port"), 70000);
    QTest::newRow("port out of range") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("wt"), -1);
    QTest::newRow("negative workers") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("host"), QString(300, QLatin1Char('h')));
    QTest::newRow("host name too long") << signedRaw(m);
    m = validMap();
    m.remove(QLatin1String("pv"));
    QTest::newRow("no version") << signedRaw(m);
    m = validMap();
    m.insert(QLatin1String("pv"), ProtocolMajor);
    QTest::newRow("version not an array") << signedRaw(m);
    QTest::newRow("not a map") << sign(QByteArrayLiteral("TFB1A") + QCborValue(42).toCbor(), keyA());
    QTest::newRow("not CBOR") << sign(QByteArrayLiteral("TFB1A\xff\xff\xff"), keyA());
    QTest::newRow("trailing bytes") << sign(QByteArrayLiteral("TFB1A") + validMap().toCborValue().toCbor() + '\0',
                                            keyA());
}

void TestBeacon::signedButMalformed()
{
    QFETCH(QByteArray, datagram);

    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    QString why;
    const BeaconStatus status = verifier.verify(datagram, Source, Now, nullptr, &why);
    if (QByteArray(QTest::currentDataTag()).startsWith("control")) {
        QCOMPARE(status, BeaconStatus::Accepted);
        return;
    }
    QCOMPARE(status, BeaconStatus::Malformed);
    QVERIFY(!why.isEmpty());
    QVERIFY(verifier.rejectionSummary(Now).contains(QLatin1String("junk")));
}

void TestBeacon::incompatibleVersion_data()
{
    QTest::addColumn<int>("major");
    QTest::addColumn<int>("minor");
    QTest::addColumn<int>("expected");

    QTest::newRow("same") << ProtocolMajor << ProtocolMinor << int(BeaconStatus::Accepted);
    QTest::newRow("newer minor") << ProtocolMajor << ProtocolMinor + 7 << int(BeaconStatus::Accepted);
    QTest::newRow("newer major") << ProtocolMajor + 1 << 0 << int(BeaconStatus::IncompatibleVersion);
    QTest::newRow("older major") << ProtocolMajor - 1 << 9 << int(BeaconStatus::IncompatibleVersion);
}

void TestBeacon::incompatibleVersion()
{
    QFETCH(int, major);
    QFETCH(int, minor);
    QFETCH(int, expected);

    Beacon b = sampleBeacon();
    b.protocolMajor = major;
    b.protocolMinor = minor;
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    Beacon out;
    QString why;
    QCOMPARE(verifier.verify(encodeBeacon(b, keyA()), Source, Now, &out, &why), BeaconStatus(expected));
    if (BeaconStatus(expected) == BeaconStatus::Accepted) {
        QCOMPARE(out.protocolMinor, minor);
    } else {
        QVERIFY2(why.contains(QStringLiteral("%1.%2").arg(major).arg(minor)), qPrintable(why));
        QCOMPARE(verifier.rejectionSummary(Now),
                 QStringLiteral("1 agent at 10.0.0.7 runs an incompatible protocol version"));
    }
}

void TestBeacon::wrongKindIsNotCounted()
{
    // Agents see each other's announcements and controllers see each other's probes on the shared port.
    BeaconVerifier agentSide(keyA(), Beacon::Kind::Probe);
    QCOMPARE(agentSide.verify(encodeBeacon(sampleBeacon(), keyA()), Source, Now), BeaconStatus::WrongKind);
    QCOMPARE(agentSide.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now), BeaconStatus::WrongKind);
    QVERIFY(agentSide.rejectionsBySource().isEmpty());

    BeaconVerifier controllerSide(keyA(), Beacon::Kind::Announce);
    Beacon probe = Beacon::create(Beacon::Kind::Probe, Now);
    QCOMPARE(controllerSide.verify(encodeBeacon(probe, keyB()), Source, Now), BeaconStatus::WrongKind);
    QVERIFY(controllerSide.rejectionsBySource().isEmpty());
    QVERIFY(controllerSide.rejectionSummary(Now).isEmpty());

    QCOMPARE(agentSide.verify(encodeBeacon(probe, keyA()), Source, Now), BeaconStatus::Accepted);
    QCOMPARE(agentSide.verify(encodeBeacon(Beacon::create(Beacon::Kind::Probe, Now), keyB()), Source, Now),
             BeaconStatus::BadTag);
}

void TestBeacon::summaryListsAddresses()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    QVERIFY(verifier.rejectionSummary(Now).isEmpty());

    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), QHostAddress(QStringLiteral("10.0.0.9")), Now);
    QCOMPARE(verifier.rejectionSummary(Now), QStringLiteral("1 agent at 10.0.0.9 answers with another secret"));

    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now);
    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now); // same address twice: one agent
    QCOMPARE(verifier.rejectionSummary(Now),
             QStringLiteral("2 agents at 10.0.0.7, 10.0.0.9 answer with another secret"));
    QCOMPARE(verifier.rejectingSources(BeaconStatus::BadTag, Now),
             (QList<QHostAddress> {Source, QHostAddress(QStringLiteral("10.0.0.9"))}));

    verifier.verify(encodeBeacon(sampleBeacon(Now - 600000), keyA()), QHostAddress(QStringLiteral("10.0.0.20")), Now);
    QCOMPARE(verifier.rejectionSummary(Now),
             QStringLiteral("2 agents at 10.0.0.7, 10.0.0.9 answer with another secret; "
                            "1 agent at 10.0.0.20 has a clock more than 30 s off (check NTP)"));

    // Many sources: the list is cut.
    for (int i = 100; i < 112; ++i)
        verifier.verify(encodeBeacon(sampleBeacon(), keyB()), QHostAddress(QStringLiteral("10.0.1.%1").arg(i)), Now);
    const QString many = verifier.rejectionSummary(Now);
    QVERIFY2(many.startsWith(QLatin1String("14 agents at 10.0.0.7, 10.0.0.9, 10.0.1.100,")), qPrintable(many));
    QVERIFY2(many.contains(QLatin1String(" and 6 more answer with another secret")), qPrintable(many));

    verifier.clearRejections();
    QVERIFY(verifier.rejectionSummary(Now).isEmpty());
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::BadTag), quint64(0));
}

void TestBeacon::summaryHonoursMaxAge()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now);
    QCOMPARE(verifier.rejectionSummary(Now + 5000, 10000),
             QStringLiteral("1 agent at 10.0.0.7 answers with another secret"));
    QVERIFY(verifier.rejectionSummary(Now + 20000, 10000).isEmpty());
    QVERIFY(!verifier.rejectionSummary(Now + 20000, 0).isEmpty()); // 0: any age
}

void TestBeacon::mappedAddressesAreOneSource()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), QHostAddress(QStringLiteral("::ffff:10.0.0.7")), Now);
    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now);
    QCOMPARE(verifier.rejectionsBySource().size(), 1);
    QCOMPARE(verifier.rejectionsBySource().at(0).address, Source);
    QCOMPARE(verifier.rejectionsBySource().at(0).count(BeaconStatus::BadTag), quint64(2));
}

void TestBeacon::boundedMemory()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    const int n = BeaconVerifier::MaxRememberedNonces + 500;
    for (int i = 0; i < n; ++i)
        QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(), keyA()), Source, Now), BeaconStatus::Accepted);
    QCOMPARE(verifier.rememberedNonces(), BeaconVerifier::MaxRememberedNonces);

    const QByteArray bad = encodeBeacon(sampleBeacon(), keyB());
    for (int i = 0; i < BeaconVerifier::MaxTrackedSources + 100; ++i)
        verifier.verify(bad, QHostAddress(quint32(0x0a000000 + i)), Now + i);
    QCOMPARE(verifier.rejectionsBySource().size(), BeaconVerifier::MaxTrackedSources);
    // The oldest sources were dropped; the totals still count everything.
    QVERIFY(!verifier.rejectingSources(BeaconStatus::BadTag, Now + 10000).contains(QHostAddress(quint32(0x0a000000))));
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::BadTag), quint64(BeaconVerifier::MaxTrackedSources + 100));
}

void TestBeacon::longHostNameIsCut()
{
    Beacon b = sampleBeacon();
    b.hostName = QString(1000, QChar(0x00e9)) + QString::fromUtf8("\xf0\x9f\x98\x80"); // 2-byte chars + emoji
    const QByteArray datagram = encodeBeacon(b, keyA());
    QVERIFY(!datagram.isEmpty());
    QVERIFY(datagram.size() <= MaxBeaconSize);
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    Beacon out;
    QCOMPARE(verifier.verify(datagram, Source, Now, &out), BeaconStatus::Accepted);
    QVERIFY(out.hostName.toUtf8().size() <= MaxBeaconHostNameBytes);
    QVERIFY(out.hostName.size() >= 120);
    QVERIFY(b.hostName.startsWith(out.hostName));
}

void TestBeacon::reportTokenRateLimits()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    QVERIFY(!verifier.takeReportToken(Source, BeaconStatus::BadTag, Now, 5000)); // unknown source
    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now);
    QVERIFY(verifier.takeReportToken(Source, BeaconStatus::BadTag, Now, 5000));
    QVERIFY(!verifier.takeReportToken(Source, BeaconStatus::BadTag, Now + 4999, 5000));
    QVERIFY(verifier.takeReportToken(Source, BeaconStatus::Stale, Now + 4999, 5000)); // per reason
    QVERIFY(verifier.takeReportToken(Source, BeaconStatus::BadTag, Now + 5000, 5000));
}

void TestBeacon::encodeRefusesBadInput()
{
    QVERIFY(encodeBeacon(sampleBeacon(), QByteArray()).isEmpty());
    Beacon b = sampleBeacon();
    b.nonce.chop(1);
    QVERIFY(encodeBeacon(b, keyA()).isEmpty());
    // Two beacons of the same node differ by their nonce.
    QVERIFY(encodeBeacon(sampleBeacon(), keyA()) != encodeBeacon(sampleBeacon(), keyA()));
    // An empty key verifies nothing.
    BeaconVerifier keyless(QByteArray(), Beacon::Kind::Announce);
    QCOMPARE(keyless.verify(encodeBeacon(sampleBeacon(), keyA()), Source, Now), BeaconStatus::BadTag);
}

void TestBeacon::randomJunkIsJunkNotAnotherSecret()
{
    // Random bytes behind the magic, of a beacon's size, from 101 addresses, were "101 agents ... answer
    // with another secret". Now they are junk; a well-formed beacon of another secret still is another secret.
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    QRandomGenerator rng(17);
    for (int i = 0; i < 101; ++i) {
        QByteArray junk = QByteArrayLiteral("TFB1A");
        for (int k = 0; k < 150; ++k)
            junk.append(char(rng.bounded(256)));
        QCOMPARE(verifier.verify(junk, QHostAddress(quint32(0x0a010000 + i)), Now), BeaconStatus::Malformed);
    }
    verifier.verify(encodeBeacon(sampleBeacon(), keyB()), Source, Now);
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::BadTag), quint64(1));
    QCOMPARE(verifier.rejectedTotal(BeaconStatus::Malformed), quint64(101));
    const QString summary = verifier.rejectionSummary(Now);
    qInfo("%s", qPrintable(summary));
    QVERIFY2(summary.startsWith(QLatin1String("1 agent at 10.0.0.7 answers with another secret; 101 addresses at ")),
             qPrintable(summary));
    QVERIFY2(summary.endsWith(QLatin1String("sent junk (datagrams with the beacon magic that are not valid beacons)")),
             qPrintable(summary));
}

void TestBeacon::oldReplayFromFreshSourceIsNotAClockProblem()
{
    BeaconVerifier verifier(keyA(), Beacon::Kind::Announce);
    const QByteArray old = encodeBeacon(sampleBeacon(Now - 600000), keyA()); // captured 10 minutes ago
    // The old copy arrives first, then the agent's fresh beacon: counted as stale at first, reported as a replay.
    QCOMPARE(verifier.verify(old, Source, Now), BeaconStatus::Stale);
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(), keyA()), Source, Now + 10), BeaconStatus::Accepted);
    QCOMPARE(verifier.rejectionSummary(Now + 20),
             QStringLiteral("1 address at 10.0.0.7 sent copies of old or already seen beacons (replays, ignored)"));
    // Once the source sends fresh beacons, old copies are replays at once, also from another address (same node id).
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(Now - 600000), keyA()), Source, Now + 30),
             BeaconStatus::Replayed);
    const QHostAddress elsewhere(QStringLiteral("10.0.0.66"));
    QCOMPARE(verifier.verify(encodeBeacon(sampleBeacon(Now - 600000), keyA()), elsewhere, Now + 40),
             BeaconStatus::Replayed);
    QVERIFY(!verifier.rejectionSummary(Now + 50).contains(QLatin1String("clock")));
    // An agent whose clock really is off sends nothing fresh: that stays a clock problem.
    Beacon skewed = sampleBeacon(Now - 600000);
    skewed.nodeId = QUuid::createUuid();
    QCOMPARE(verifier.verify(encodeBeacon(skewed, keyA()), QHostAddress(QStringLiteral("10.0.0.20")), Now + 60),
             BeaconStatus::Stale);
    QVERIFY2(verifier.rejectionSummary(Now + 70).contains(
                 QLatin1String("1 agent at 10.0.0.20 has a clock more than 30 s off (check NTP)")),
             qPrintable(verifier.rejectionSummary(Now + 70)));
}

void TestBeacon::otherClusterReplyIsSmallAndCarriesTheNonce()
{
    Beacon probe = Beacon::create(Beacon::Kind::Probe, Now);
    const QByteArray probeDatagram = encodeBeacon(probe, keyB());
    // An agent with key A cannot verify it, but it is well-formed: BadTag, with the nonce readable.
    BeaconVerifier agentSide(keyA(), Beacon::Kind::Probe);
    Beacon seen;
    QCOMPARE(agentSide.verify(probeDatagram, Source, Now, &seen), BeaconStatus::BadTag);
    QCOMPARE(seen.nonce, probe.nonce);
    const QByteArray reply = encodeOtherClusterReply(seen.nonce);
    QCOMPARE(reply.size(), OtherClusterReplySize);
    QVERIFY(reply.size() * 4 < probeDatagram.size()); // no amplification
    QCOMPARE(otherClusterReplyNonce(reply), probe.nonce);
    QVERIFY(otherClusterReplyNonce(reply + 'x').isEmpty());
    QVERIFY(otherClusterReplyNonce(probeDatagram).isEmpty());
    // Verifiers ignore it (not counted): only DiscoveryListener reads it, matched against its own probes.
    BeaconVerifier controllerSide(keyA(), Beacon::Kind::Announce);
    QCOMPARE(controllerSide.verify(reply, Source, Now), BeaconStatus::WrongKind);
    QVERIFY(controllerSide.rejectionsBySource().isEmpty());
}

QTEST_GUILESS_MAIN(TestBeacon)
#include "tst_beacon.moc"
