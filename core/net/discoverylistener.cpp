// SPDX-License-Identifier: MIT
// Controller side of discovery: verified announcements become node events, rejections become counters.
#include "discoverylistener.h"

#include "util/logging.h"

#include <QtCore/QDateTime>
#include <QtNetwork/QNetworkDatagram>
#include <QtNetwork/QUdpSocket>

#include <algorithm>
#include <cstdlib>

namespace taskfleet::net {

namespace {

// Datagrams handled per readyRead before yielding to the event loop.
constexpr int MaxDatagramsPerRead = 64;
// beaconRejected() emissions over all sources per report interval.
constexpr int MaxReportsPerInterval = 16;
constexpr qint64 LogGapMs = 30000;

qint64 systemClock()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace

QString DiscoveredNode::endpoint() const
{
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return QStringLiteral("[%1]:%2").arg(address.toString()).arg(tcpPort);
    return QStringLiteral("%1:%2").arg(address.toString()).arg(tcpPort);
}

bool DiscoveredNode::sameAnnouncement(const DiscoveredNode &other) const
{
    return nodeId == other.nodeId && hostName == other.hostName && address == other.address && tcpPort == other.tcpPort
           && protocolMajor == other.protocolMajor && protocolMinor == other.protocolMinor
           && workersTotal == other.workersTotal && workersBusy == other.workersBusy;
}

DiscoveryListener::DiscoveryListener(const QByteArray &hmacKey, QObject *parent)
    : QObject(parent)
    , m_key(hmacKey)
    , m_clock(&systemClock)
    , m_verifier(hmacKey, Beacon::Kind::Announce)
{
    m_monotonic.start();
    connect(&m_expiryTimer, &QTimer::timeout, this, &DiscoveryListener::onExpiryTimer);
}

DiscoveryListener::~DiscoveryListener()
{
    stop();
}

void DiscoveryListener::setProbeTargets(const QList<QHostAddress> &addresses, quint16 port)
{
    m_config.probeAddresses = addresses;
    m_config.probePort = port;
}

void DiscoveryListener::setClock(std::function<qint64()> clock)
{
    m_clock = clock ? std::move(clock) : std::function<qint64()>(&systemClock);
}

bool DiscoveryListener::start(QString *error)
{
    stop();
    if (m_key.isEmpty()) {
        if (error)
            *error = QStringLiteral("no discovery key (empty cluster secret)");
        return false;
    }
    m_verifier = BeaconVerifier(m_key, Beacon::Kind::Announce, m_config.replayWindowMs);

    auto fail = [&](QUdpSocket *socket, quint16 port) {
        const QString why = QStringLiteral("cannot bind discovery port %1 on %2: %3")
                                .arg(port)
                                .arg(m_config.bindAddress.toString(), socket->errorString());
        qCWarning(lcDiscovery).noquote() << why;
        if (error)
            *error = why;
        stop();
        return false;
    };

    auto *socket = new QUdpSocket(this);
    m_socket = socket;
    if (!socket->bind(m_config.bindAddress, m_config.port, QUdpSocket::ShareAddress | QUdpSocket::ReuseAddressHint))
        return fail(socket, m_config.port);
    auto *probeSocket = new QUdpSocket(this);
    m_probeSocket = probeSocket;
    if (!probeSocket->bind(m_config.bindAddress, 0))
        return fail(probeSocket, 0);
    connect(socket, &QUdpSocket::readyRead, this, &DiscoveryListener::onListenSocketReadyRead);
    connect(probeSocket, &QUdpSocket::readyRead, this, &DiscoveryListener::onProbeSocketReadyRead);

    m_expiryTimer.start(std::clamp(m_config.expiryMs / 4, 20, 1000));
    qCDebug(lcDiscovery).noquote() << "listening for beacons on" << m_config.bindAddress.toString()
                                   << socket->localPort();
    if (m_config.probeAtStart)
        probe();
    return true;
}

void DiscoveryListener::stop()
{
    m_expiryTimer.stop();
    // deleteLater: stop() may be called from a slot connected to nodeSeen(), emitted while reading.
    for (QPointer<QUdpSocket> *socket : {&m_socket, &m_probeSocket}) {
        if (*socket) {
            disconnect(*socket, nullptr, this, nullptr);
            (*socket)->close();
            (*socket)->deleteLater();
        }
        *socket = nullptr;
    }
    m_nodes.clear();
}

bool DiscoveryListener::isRunning() const
{
    return !m_socket.isNull();
}

quint16 DiscoveryListener::boundPort() const
{
    return m_socket ? m_socket->localPort() : quint16(0);
}

quint16 DiscoveryListener::probeSourcePort() const
{
    return m_probeSocket ? m_probeSocket->localPort() : quint16(0);
}

QList<DiscoveredNode> DiscoveryListener::nodes() const
{
    QList<DiscoveredNode> list;
    list.reserve(m_nodes.size());
    for (const Entry &e : m_nodes)
        list.append(e.node);
    return list;
}

QString DiscoveryListener::rejectionSummary() const
{
    return m_verifier.rejectionSummary(now(), m_config.summaryMaxAgeMs);
}

void DiscoveryListener::probe()
{
    if (!m_probeSocket)
        return;
    for (const QHostAddress &address : std::as_const(m_config.probeAddresses)) {
        Beacon beacon = Beacon::create(Beacon::Kind::Probe, now());
        beacon.nodeId = m_config.controllerId;
        beacon.hostName = m_config.hostName;
        const QByteArray datagram = encodeBeacon(beacon, m_key);
        for (auto it = m_probeNonces.begin(); it != m_probeNonces.end();)
            it = beacon.timestampMs - it.value() > m_config.replayWindowMs || m_probeNonces.size() >= MaxProbeNonces
                     ? m_probeNonces.erase(it)
                     : std::next(it);
        m_probeNonces.insert(beacon.nonce, beacon.timestampMs);
        if (m_probeSocket->writeDatagram(datagram, address, m_config.probePort) == datagram.size())
            continue;
        const qint64 t = now();
        if (m_lastProbeErrorLogMs == 0 || t - m_lastProbeErrorLogMs >= LogGapMs) {
            m_lastProbeErrorLogMs = t;
            qCWarning(lcDiscovery).noquote() << QStringLiteral("cannot send probe to %1:%2: %3")
                                                    .arg(address.toString())
                                                    .arg(m_config.probePort)
                                                    .arg(m_probeSocket->errorString());
        }
    }
}

void DiscoveryListener::onListenSocketReadyRead()
{
    readDatagrams(m_socket);
}

void DiscoveryListener::onProbeSocketReadyRead()
{
    readDatagrams(m_probeSocket);
}

void DiscoveryListener::readDatagrams(QUdpSocket *socket)
{
    // A bounded batch per readyRead, so a flood cannot starve the event loop. Every receive
    // re-enables Qt's (level-triggered) read notifier, so what is left emits readyRead again on
    // the next event-loop round. (Draining it from a queued call instead would race with that
    // notification: Qt disables the notifier and never re-enables it if the socket is already empty.)
    QPointer<QUdpSocket> guard(socket);
    for (int i = 0; i < MaxDatagramsPerRead && guard && guard->hasPendingDatagrams(); ++i) {
        // One byte more than a beacon may have, so an oversized datagram is seen as oversized.
        const QNetworkDatagram datagram = guard->receiveDatagram(MaxBeaconSize + 1);
        if (!datagram.isValid())
            break;
        handleDatagram(datagram.data(), datagram.senderAddress());
    }
}

void DiscoveryListener::handleDatagram(const QByteArray &datagram, const QHostAddress &sender)
{
    const qint64 t = now();
    const QByteArray replyNonce = otherClusterReplyNonce(datagram);
    if (!replyNonce.isEmpty()) {
        handleOtherClusterReply(replyNonce, sender, t);
        return;
    }
    Beacon beacon;
    QString why;
    const BeaconStatus status = m_verifier.verify(datagram, sender, t, &beacon, &why);
    if (status != BeaconStatus::Accepted) {
        if (isCountedRejection(status))
            reportRejection(sender, status, why, t);
        return;
    }

    DiscoveredNode node;
    node.nodeId = beacon.nodeId;
    node.hostName = beacon.hostName;
    node.address = BeaconVerifier::normalizedAddress(sender);
    node.tcpPort = beacon.tcpPort;
    node.protocolMajor = beacon.protocolMajor;
    node.protocolMinor = beacon.protocolMinor;
    node.workersTotal = beacon.workersTotal;
    node.workersBusy = beacon.workersBusy;
    node.lastSeenMs = t;

    auto it = m_nodes.find(node.nodeId);
    if (it == m_nodes.end()) {
        if (m_nodes.size() >= MaxNodes) {
            qCWarning(lcDiscovery) << "ignoring node" << node.nodeId << "at" << node.endpoint() << ": already tracking"
                                   << MaxNodes << "nodes";
            return;
        }
        it = m_nodes.insert(node.nodeId, Entry {node, m_monotonic.elapsed()});
        qCInfo(lcDiscovery).noquote() << "found node" << node.hostName << "at" << node.endpoint();
        emit nodeSeen(node);
        return;
    }
    const bool changed = !it->node.sameAnnouncement(node);
    it->node = node;
    it->lastSeenMonotonicMs = m_monotonic.elapsed();
    if (changed)
        emit nodeSeen(node);
}

void DiscoveryListener::handleOtherClusterReply(const QByteArray &probeNonce, const QHostAddress &sender, qint64 nowMs)
{
    const auto it = m_probeNonces.constFind(probeNonce);
    if (it == m_probeNonces.constEnd() || std::abs(nowMs - it.value()) > m_config.replayWindowMs)
        return; // not an answer to a probe of ours: unsolicited, ignored
    m_verifier.countRejection(BeaconStatus::BadTag, sender, nowMs);
    reportRejection(sender, BeaconStatus::BadTag, QStringLiteral("answered our probe: an agent of another cluster"),
                    nowMs);
}

void DiscoveryListener::reportRejection(const QHostAddress &sender, BeaconStatus status, const QString &why,
                                        qint64 nowMs)
{
    if (!m_verifier.takeReportToken(sender, status, nowMs, m_config.rejectionReportIntervalMs))
        return;
    if (nowMs - m_reportWindowStartMs >= m_config.rejectionReportIntervalMs || nowMs < m_reportWindowStartMs) {
        m_reportWindowStartMs = nowMs;
        m_reportsInWindow = 0;
    }
    if (m_reportsInWindow >= MaxReportsPerInterval)
        return;
    ++m_reportsInWindow;
    qCWarning(lcDiscovery).noquote() << QStringLiteral("rejected beacon from %1: %2 (%3)")
                                            .arg(BeaconVerifier::normalizedAddress(sender).toString(),
                                                 beaconStatusName(status), why);
    emit beaconRejected(BeaconVerifier::normalizedAddress(sender), status);
}

void DiscoveryListener::onExpiryTimer()
{
    const qint64 mono = m_monotonic.elapsed();
    QList<QUuid> expired;
    for (auto it = m_nodes.cbegin(); it != m_nodes.cend(); ++it) {
        if (mono - it->lastSeenMonotonicMs > m_config.expiryMs)
            expired.append(it.key());
    }
    for (const QUuid &id : std::as_const(expired)) {
        const Entry entry = m_nodes.take(id);
        qCInfo(lcDiscovery).noquote() << "lost node" << entry.node.hostName << "at" << entry.node.endpoint()
                                      << "(no announcement for" << m_config.expiryMs << "ms)";
        emit nodeExpired(id);
    }
}

} // namespace taskfleet::net
