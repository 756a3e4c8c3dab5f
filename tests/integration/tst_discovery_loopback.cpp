// SPDX-License-Identifier: MIT
// Discovery end to end in one process on 127.0.0.1: announce, probe, other secret, expiry and rejoin.
#include "net/beacon.h"
#include "net/discoveryannouncer.h"
#include "net/discoverylistener.h"

#include <QtCore/QElapsedTimer>
#include <QtNetwork/QUdpSocket>
#include <QtCore/QRandomGenerator>
#include <QtCore/QDateTime>
#include <QtTest/QtTest>

#include <memory>
#include <vector>

using namespace taskfleet::net;

namespace {

// Loopback only. 127.255.255.255 reaches only sockets bound to 0.0.0.0, and the tests bind
// 127.0.0.1 so nothing is exposed on the LAN; the "broadcast" address is therefore 127.0.0.1.
const QHostAddress Loopback(QHostAddress::LocalHost);
constexpr int IntervalMs = 200;
constexpr int ExpiryMs = 3 * IntervalMs + IntervalMs / 2;

QByteArray keyA()
{
    return beaconKey(QByteArrayLiteral("loopback secret A"));
}

QByteArray keyB()
{
    return beaconKey(QByteArrayLiteral("loopback secret B"));
}

AnnouncedNode makeNode(quint16 tcpPort = 45999)
{
    AnnouncedNode n;
    n.nodeId = QUuid::createUuid();
    n.hostName = QStringLiteral("loop-agent");
    n.tcpPort = tcpPort;
    n.workersTotal = 4;
    n.workersBusy = 1;
    return n;
}

} // namespace

class TestDiscoveryLoopback : public QObject
{
    Q_OBJECT

private slots:
    void nodeSeenWithinTwoSeconds();
    void changesAreReportedOnlyWhenDataChanges();
    void probeIsAnswered();
    void probeWithOtherSecretIsIgnored();
    void junkAndOldReplaysAreNotMisreported();
    void otherSecretIsCountedAndSummarized();
    void stoppedAnnouncerExpiresAndRejoins();
    void sameNodeFromNewAddressIsAnUpdate();
    void floodIsBoundedAndSurvived();
    void bindConflictIsReported();

private:
    std::unique_ptr<DiscoveryListener> startListener(const QByteArray &key, bool probe = false);
    std::unique_ptr<DiscoveryAnnouncer> startAnnouncer(const QByteArray &key, quint16 targetPort,
                                                       const AnnouncedNode &node, int intervalMs = IntervalMs,
                                                       const QHostAddress &bind = Loopback);
};

std::unique_ptr<DiscoveryListener> TestDiscoveryLoopback::startListener(const QByteArray &key, bool probe)
{
    auto listener = std::make_unique<DiscoveryListener>(key);
    ListenerConfig config;
    config.bindAddress = Loopback;
    config.port = 0;
    config.probeAddresses = {Loopback};
    config.probePort = 9; // replaced by setProbeTargets() before any probe goes out
    config.probeAtStart = probe;
    config.expiryMs = ExpiryMs;
    listener->setConfig(config);
    QString error;
    if (!listener->start(&error)) {
        qWarning().noquote() << error;
        return nullptr;
    }
    return listener;
}

std::unique_ptr<DiscoveryAnnouncer> TestDiscoveryLoopback::startAnnouncer(const QByteArray &key, quint16 targetPort,
                                                                          const AnnouncedNode &node, int intervalMs,
                                                                          const QHostAddress &bind)
{
    auto announcer = std::make_unique<DiscoveryAnnouncer>(key);
    AnnouncerConfig config;
    config.bindAddress = bind;
    config.port = 0;
    config.broadcastAddresses = {Loopback};
    config.targetPort = targetPort;
    config.intervalMs = intervalMs;
    announcer->setConfig(config);
    announcer->setNode(node);
    QString error;
    if (!announcer->start(&error)) {
        qWarning().noquote() << error;
        return nullptr;
    }
    return announcer;
}

void TestDiscoveryLoopback::nodeSeenWithinTwoSeconds()
{
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QVERIFY(listener->boundPort() != 0);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);

    const AnnouncedNode node = makeNode(45123);
    QElapsedTimer timer;
    timer.start();
    auto announcer = startAnnouncer(keyA(), listener->boundPort(), node, DefaultAnnounceIntervalMs);
    QVERIFY(announcer);
    QVERIFY(seen.wait(2000));
    QVERIFY(timer.elapsed() < 2000);

    const auto found = seen.at(0).at(0).value<DiscoveredNode>();
    QCOMPARE(found.nodeId, node.nodeId);
    QCOMPARE(found.hostName, node.hostName);
    QCOMPARE(found.address, Loopback);
    QCOMPARE(found.tcpPort, quint16(45123));
    QCOMPARE(found.endpoint(), QStringLiteral("127.0.0.1:45123"));
    QCOMPARE(found.workersTotal, 4);
    QCOMPARE(found.workersBusy, 1);
    QCOMPARE(found.protocolMajor, taskfleet::protocol::ProtocolMajor);
    QVERIFY(found.lastSeenMs > 0);
    QCOMPARE(listener->nodes().size(), 1);
    QVERIFY(listener->rejectionSummary().isEmpty());
}

void TestDiscoveryLoopback::changesAreReportedOnlyWhenDataChanges()
{
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);

    AnnouncedNode node = makeNode();
    int busy = 1;
    auto announcer = startAnnouncer(keyA(), listener->boundPort(), node);
    QVERIFY(announcer);
    announcer->setNodeProvider([&node, &busy]() {
        AnnouncedNode n = node;
        n.workersBusy = busy;
        return n;
    });
    QVERIFY(seen.wait(2000));
    // Several more identical announcements: no new event.
    const quint64 sent = announcer->announcementsSent();
    QTRY_VERIFY_WITH_TIMEOUT(announcer->announcementsSent() >= sent + 3, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(
        listener->nodes().value(0).lastSeenMs > seen.at(0).at(0).value<DiscoveredNode>().lastSeenMs, 2000);
    QCOMPARE(seen.count(), 1);

    busy = 3;
    QTRY_COMPARE_WITH_TIMEOUT(seen.count(), 2, 2000);
    QCOMPARE(seen.at(1).at(0).value<DiscoveredNode>().workersBusy, 3);
    QCOMPARE(listener->nodes().size(), 1);
}

void TestDiscoveryLoopback::probeIsAnswered()
{
    // The announcer's periodic beacons go to a first listener only, with a period longer than the
    // test: a second listener can learn about the node only by probing.
    auto elsewhere = startListener(keyA());
    QVERIFY(elsewhere);
    const AnnouncedNode node = makeNode(45200);
    auto announcer = startAnnouncer(keyA(), elsewhere->boundPort(), node, 600000);
    QVERIFY(announcer);
    QSignalSpy answered(announcer.get(), &DiscoveryAnnouncer::probeAnswered);

    auto prober = std::make_unique<DiscoveryListener>(keyA());
    ListenerConfig config;
    config.bindAddress = Loopback;
    config.port = 0;
    config.probeAddresses = {Loopback};
    config.probePort = announcer->boundPort();
    config.probeAtStart = true;
    prober->setConfig(config);
    QSignalSpy seen(prober.get(), &DiscoveryListener::nodeSeen);
    QElapsedTimer timer;
    timer.start();
    QVERIFY(prober->start());
    QVERIFY(seen.wait(2000));
    QVERIFY(timer.elapsed() < 2000);
    QCOMPARE(seen.at(0).at(0).value<DiscoveredNode>().nodeId, node.nodeId);
    QCOMPARE(seen.at(0).at(0).value<DiscoveredNode>().tcpPort, quint16(45200));
    QCOMPARE(answered.count(), 1);
    QCOMPARE(answered.at(0).at(1).value<quint16>(), prober->probeSourcePort());
    QCOMPARE(announcer->probesAnswered(), quint64(1));

    // probe() on demand is answered as well; the node is already known, so no new nodeSeen.
    prober->probe();
    QTRY_COMPARE_WITH_TIMEOUT(announcer->probesAnswered(), quint64(2), 2000);
    QCOMPARE(prober->nodes().size(), 1);
}

void TestDiscoveryLoopback::probeWithOtherSecretIsIgnored()
{
    auto elsewhere = startListener(keyA());
    QVERIFY(elsewhere);
    auto announcer = startAnnouncer(keyA(), elsewhere->boundPort(), makeNode(), 600000);
    QVERIFY(announcer);

    // A controller of another cluster probes: the agent does not announce itself to it, but answers with the
    // 21-byte "another cluster" reply, so the stranger names it within a round trip (not 2 s later, or never).
    auto stranger = startListener(keyB());
    QVERIFY(stranger);
    QSignalSpy rejected(stranger.get(), &DiscoveryListener::beaconRejected);
    stranger->setProbeTargets({Loopback}, announcer->boundPort());
    QElapsedTimer clock;
    clock.start();
    stranger->probe();
    QVERIFY(rejected.wait(2000));
    const qint64 namedMs = clock.elapsed();
    QCOMPARE(stranger->rejectionSummary(), QStringLiteral("1 agent at 127.0.0.1 answers with another secret"));
    QCOMPARE(announcer->probeVerifier().rejectedTotal(BeaconStatus::BadTag), quint64(1));
    QCOMPARE(announcer->probesAnswered(), quint64(0));
    QCOMPARE(announcer->otherClusterReplies(), quint64(1));
    QVERIFY(stranger->nodes().isEmpty());

    // Rate-limited per source: a burst of 50 probes gets no further reply within the 1 s gap.
    for (int i = 0; i < 50; ++i)
        stranger->probe();
    QTRY_COMPARE_WITH_TIMEOUT(announcer->probeVerifier().rejectedTotal(BeaconStatus::BadTag), quint64(51), 2000);
    QCOMPARE(announcer->otherClusterReplies(), quint64(1));
    qInfo(
        "another-cluster agent named %lld ms after the probe; reply %d bytes for a probe of %d; 1 reply for 51 probes",
        namedMs, OtherClusterReplySize,
        int(encodeBeacon(Beacon::create(Beacon::Kind::Probe, QDateTime::currentMSecsSinceEpoch()), keyB()).size()));

    // An "another cluster" reply that answers no probe of ours is ignored (not counted).
    auto fresh = startListener(keyB());
    QVERIFY(fresh);
    QUdpSocket spoofer;
    QVERIFY(spoofer.bind(QHostAddress(QStringLiteral("127.0.0.9")), 0));
    spoofer.writeDatagram(encodeOtherClusterReply(newBeaconNonce()), Loopback, fresh->boundPort());
    QTest::qWait(200);
    QVERIFY(fresh->rejectionSummary().isEmpty());
}

void TestDiscoveryLoopback::junkAndOldReplaysAreNotMisreported()
{
    // Spoofed datagrams must not steer the summary: junk from 60 addresses is junk, not "60 agents with another
    // secret"; an old copy of an authentic beacon from an address that also sends fresh ones is a replay, not a
    // clock problem.
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);
    const AnnouncedNode node = makeNode();
    auto good = startAnnouncer(keyA(), listener->boundPort(), node);
    QVERIFY(good);
    QVERIFY(seen.count() > 0 || seen.wait(2000));

    QRandomGenerator rng(17);
    std::vector<std::unique_ptr<QUdpSocket>> sources;
    for (int host = 2; host < 62; ++host) {
        auto socket = std::make_unique<QUdpSocket>();
        QVERIFY(socket->bind(QHostAddress(QStringLiteral("127.0.0.%1").arg(host)), 0));
        QByteArray junk = QByteArrayLiteral("TFB1A");
        for (int k = 0; k < 150; ++k)
            junk.append(char(rng.bounded(256)));
        socket->writeDatagram(junk, Loopback, listener->boundPort());
        sources.push_back(std::move(socket));
    }
    Beacon old = Beacon::create(Beacon::Kind::Announce, QDateTime::currentMSecsSinceEpoch() - 600000);
    old.nodeId = node.nodeId;
    old.hostName = node.hostName;
    old.tcpPort = node.tcpPort;
    QUdpSocket replayer;
    QVERIFY(replayer.bind(Loopback, 0)); // the healthy agent's own address
    replayer.writeDatagram(encodeBeacon(old, keyA()), Loopback, listener->boundPort());
    QTRY_VERIFY_WITH_TIMEOUT(listener->rejectedTotal(BeaconStatus::Malformed) == 60
                                 && listener->rejectedTotal(BeaconStatus::Replayed) == 1,
                             3000);
    const QString summary = listener->rejectionSummary();
    qInfo("summary: %s", qPrintable(summary));
    QCOMPARE(listener->rejectedTotal(BeaconStatus::BadTag), quint64(0));
    QVERIFY(!summary.contains(QLatin1String("another secret")));
    QVERIFY(!summary.contains(QLatin1String("clock")));
    QVERIFY(summary.contains(QLatin1String("60 addresses at 127.0.0.2, ")));
    QVERIFY(summary.contains(QLatin1String("1 address at 127.0.0.1 sent copies of old or already seen beacons")));
}

void TestDiscoveryLoopback::otherSecretIsCountedAndSummarized()
{
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);
    QSignalSpy rejected(listener.get(), &DiscoveryListener::beaconRejected);

    auto good = startAnnouncer(keyA(), listener->boundPort(), makeNode());
    auto other = startAnnouncer(keyB(), listener->boundPort(), makeNode());
    QVERIFY(good && other);
    QVERIFY(rejected.count() > 0 || rejected.wait(2000));
    QCOMPARE(rejected.at(0).at(0).value<QHostAddress>(), Loopback);
    QCOMPARE(rejected.at(0).at(1).value<BeaconStatus>(), BeaconStatus::BadTag);
    QTRY_COMPARE_WITH_TIMEOUT(seen.count(), 1, 2000);
    QCOMPARE(listener->rejectionSummary(), QStringLiteral("1 agent at 127.0.0.1 answers with another secret"));

    // Every bad beacon is counted, but reported once per report interval only.
    const quint64 sent = other->announcementsSent();
    QTRY_VERIFY_WITH_TIMEOUT(listener->rejectedTotal(BeaconStatus::BadTag) >= 4, 5000);
    QVERIFY(other->announcementsSent() >= 4 && other->announcementsSent() >= sent);
    QCOMPARE(rejected.count(), 1);
    const QList<BeaconSourceStats> stats = listener->rejectionStats();
    QCOMPARE(stats.size(), 1);
    QVERIFY(stats.at(0).count(BeaconStatus::BadTag) >= 4);
    QCOMPARE(listener->nodes().size(), 1);
}

void TestDiscoveryLoopback::stoppedAnnouncerExpiresAndRejoins()
{
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);
    QSignalSpy expired(listener.get(), &DiscoveryListener::nodeExpired);

    const AnnouncedNode node = makeNode();
    auto announcer = startAnnouncer(keyA(), listener->boundPort(), node);
    QVERIFY(announcer);
    QVERIFY(seen.wait(2000));

    QElapsedTimer timer;
    timer.start();
    announcer->stop();
    QVERIFY(expired.wait(ExpiryMs + 5 * IntervalMs));
    const qint64 took = timer.elapsed();
    QVERIFY2(took >= 2 * IntervalMs, qPrintable(QString::number(took))); // not before it really missed beacons
    QCOMPARE(expired.at(0).at(0).toUuid(), node.nodeId);
    QVERIFY(listener->nodes().isEmpty());

    // The pp lesson: a node that died and came back is used again.
    QVERIFY(announcer->start());
    QTRY_COMPARE_WITH_TIMEOUT(seen.count(), 2, 2000);
    QCOMPARE(seen.at(1).at(0).value<DiscoveredNode>().nodeId, node.nodeId);
    QCOMPARE(listener->nodes().size(), 1);
}

void TestDiscoveryLoopback::sameNodeFromNewAddressIsAnUpdate()
{
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);
    QSignalSpy expired(listener.get(), &DiscoveryListener::nodeExpired);

    AnnouncedNode node = makeNode(46001);
    auto first = startAnnouncer(keyA(), listener->boundPort(), node, 600000);
    QVERIFY(first);
    QVERIFY(seen.wait(2000));
    first->stop();

    // Same node id, now from 127.0.0.2 (all of 127/8 is local on Linux) and another TCP port.
    node.tcpPort = 46002;
    auto moved = startAnnouncer(keyA(), listener->boundPort(), node, 600000, QHostAddress(QStringLiteral("127.0.0.2")));
    QVERIFY(moved);
    QTRY_COMPARE_WITH_TIMEOUT(seen.count(), 2, 2000);
    const auto updated = seen.at(1).at(0).value<DiscoveredNode>();
    QCOMPARE(updated.nodeId, node.nodeId);
    QCOMPARE(updated.address, QHostAddress(QStringLiteral("127.0.0.2")));
    QCOMPARE(updated.tcpPort, quint16(46002));
    QCOMPARE(listener->nodes().size(), 1);
    QCOMPARE(expired.count(), 0);
}

void TestDiscoveryLoopback::floodIsBoundedAndSurvived()
{
    auto listener = startListener(keyA());
    QVERIFY(listener);
    QSignalSpy rejected(listener.get(), &DiscoveryListener::beaconRejected);
    QSignalSpy seen(listener.get(), &DiscoveryListener::nodeSeen);

    QUdpSocket flooder;
    QVERIFY(flooder.bind(Loopback, 0));
    const int floodSize = 3000;
    int sent = 0;
    for (int i = 0; i < floodSize; ++i) {
        QByteArray junk = QByteArrayLiteral("TFB1A") + QByteArray(40 + i % 100, char(i));
        if (i % 10 == 0)
            junk = QByteArrayLiteral("TFB1A") + QByteArray(1400, 'x'); // oversized
        if (i % 7 == 0)
            junk = QByteArrayLiteral("NOTUS") + QByteArray(100, 'y'); // someone else's: ignored, not counted
        if (flooder.writeDatagram(junk, Loopback, listener->boundPort()) > 0)
            ++sent;
    }
    QVERIFY(sent > 0);

    // A good announcer still gets through while the flood is being drained.
    auto announcer = startAnnouncer(keyA(), listener->boundPort(), makeNode());
    QVERIFY(announcer);
    QVERIFY(seen.count() > 0 || seen.wait(3000));
    QTRY_VERIFY_WITH_TIMEOUT(
        listener->rejectedTotal(BeaconStatus::Malformed) + listener->rejectedTotal(BeaconStatus::BadTag) > 100, 5000);
    QVERIFY(listener->rejectedTotal(BeaconStatus::Malformed) > 0); // the oversized ones
    // Reported once per address and reason, not once per datagram.
    QVERIFY2(rejected.count() <= 2, qPrintable(QString::number(rejected.count())));
    QVERIFY(listener->rejectionSummary().contains(QLatin1String("127.0.0.1")));
}

void TestDiscoveryLoopback::bindConflictIsReported()
{
    QUdpSocket exclusive;
    QVERIFY(exclusive.bind(Loopback, 0, QUdpSocket::DontShareAddress));

    DiscoveryListener listener(keyA());
    ListenerConfig config;
    config.bindAddress = Loopback;
    config.port = exclusive.localPort();
    config.probeAddresses = {Loopback};
    config.probeAtStart = false;
    listener.setConfig(config);
    QString error;
    QVERIFY(!listener.start(&error));
    QVERIFY2(error.contains(QString::number(exclusive.localPort())), qPrintable(error));
    QVERIFY(!listener.isRunning());

    DiscoveryAnnouncer announcer(keyA());
    AnnouncerConfig aconfig;
    aconfig.bindAddress = Loopback;
    aconfig.port = exclusive.localPort();
    aconfig.broadcastAddresses = {Loopback}; // never the LAN, even if binding unexpectedly worked
    aconfig.targetPort = exclusive.localPort();
    announcer.setConfig(aconfig);
    QVERIFY(!announcer.start(&error));
    QVERIFY(!announcer.isRunning());

    DiscoveryListener keyless {QByteArray()};
    keyless.setConfig(config);
    QVERIFY(!keyless.start(&error));
    QVERIFY(error.contains(QLatin1String("secret")));
}

QTEST_GUILESS_MAIN(TestDiscoveryLoopback)
#include "tst_discovery_loopback.moc"
