// SPDX-License-Identifier: MIT
// Agent side of discovery: periodic signed announcements and answers to verified probes.
#include "discoveryannouncer.h"

#include "util/logging.h"

#include <QtCore/QDateTime>
#include <QtNetwork/QNetworkDatagram>
#include <QtNetwork/QUdpSocket>

#include <algorithm>

namespace taskfleet::net {

namespace {

// Datagrams handled per readyRead before yielding to the event loop.
constexpr int MaxDatagramsPerRead = 64;
// At most one log line per this many ms for repeated send errors and rejected probes.
constexpr qint64 LogGapMs = 30000;

qint64 systemClock()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace

DiscoveryAnnouncer::DiscoveryAnnouncer(const QByteArray &hmacKey, QObject *parent)
    : QObject(parent)
    , m_key(hmacKey)
    , m_clock(&systemClock)
    , m_verifier(hmacKey, Beacon::Kind::Probe)
{
    m_timer.setTimerType(Qt::CoarseTimer);
    connect(&m_timer, &QTimer::timeout, this, &DiscoveryAnnouncer::announceNow);
}

DiscoveryAnnouncer::~DiscoveryAnnouncer()
{
    stop();
}

AnnouncedNode DiscoveryAnnouncer::node() const
{
    return m_provider ? m_provider() : m_node;
}

void DiscoveryAnnouncer::setClock(std::function<qint64()> clock)
{
    m_clock = clock ? std::move(clock) : std::function<qint64()>(&systemClock);
}

bool DiscoveryAnnouncer::start(QString *error)
{
    stop();
    if (m_key.isEmpty()) {
        if (error)
            *error = QStringLiteral("no discovery key (empty cluster secret)");
        return false;
    }
    m_verifier = BeaconVerifier(m_key, Beacon::Kind::Probe, m_config.replayWindowMs);
    auto *socket = new QUdpSocket(this);
    if (!socket->bind(m_config.bindAddress, m_config.port, QUdpSocket::ShareAddress | QUdpSocket::ReuseAddressHint)) {
        const QString why = QStringLiteral("cannot bind discovery port %1 on %2: %3")
                                .arg(m_config.port)
                                .arg(m_config.bindAddress.toString(), socket->errorString());
        qCWarning(lcDiscovery).noquote() << why;
        if (error)
            *error = why;
        delete socket;
        return false;
    }
    m_socket = socket;
    connect(socket, &QUdpSocket::readyRead, this, &DiscoveryAnnouncer::onReadyRead);
    qCDebug(lcDiscovery).noquote() << "announcing on port" << m_config.targetPort << "every" << m_config.intervalMs
                                   << "ms; probes on" << socket->localAddress().toString() << socket->localPort();
    m_timer.start(std::max(10, m_config.intervalMs));
    announceNow();
    return true;
}

void DiscoveryAnnouncer::stop()
{
    m_timer.stop();
    if (m_socket) {
        // deleteLater: stop() may be called from a slot connected to a signal emitted while reading.
        disconnect(m_socket, nullptr, this, nullptr);
        m_socket->close();
        m_socket->deleteLater();
    }
    m_socket = nullptr;
}

bool DiscoveryAnnouncer::isRunning() const
{
    return !m_socket.isNull();
}

quint16 DiscoveryAnnouncer::boundPort() const
{
    return m_socket ? m_socket->localPort() : quint16(0);
}

void DiscoveryAnnouncer::announceNow()
{
    if (!m_socket)
        return;
    for (const QHostAddress &address : std::as_const(m_config.broadcastAddresses))
        sendAnnouncement(address, m_config.targetPort);
}

bool DiscoveryAnnouncer::sendAnnouncement(const QHostAddress &address, quint16 port)
{
    // A fresh beacon (nonce) per datagram: the same beacon reaching a listener twice would look replayed.
    const AnnouncedNode info = node();
    Beacon beacon = Beacon::create(Beacon::Kind::Announce, now());
    beacon.nodeId = info.nodeId;
    beacon.hostName = info.hostName;
    beacon.tcpPort = info.tcpPort;
    beacon.workersTotal = info.workersTotal;
    beacon.workersBusy = info.workersBusy;
    const QByteArray datagram = encodeBeacon(beacon, m_key);
    if (datagram.isEmpty())
        return false;
    if (m_socket->writeDatagram(datagram, address, port) != datagram.size()) {
        const qint64 t = now();
        if (m_lastSendErrorLogMs == 0 || t - m_lastSendErrorLogMs >= LogGapMs) {
            m_lastSendErrorLogMs = t;
            qCWarning(lcDiscovery).noquote() << QStringLiteral("cannot send announcement to %1:%2: %3")
                                                    .arg(address.toString())
                                                    .arg(port)
                                                    .arg(m_socket->errorString());
        }
        return false;
    }
    ++m_announcementsSent;
    return true;
}

void DiscoveryAnnouncer::onReadyRead()
{
    // A bounded batch; every receive re-enables Qt's read notifier, so the rest comes with the next readyRead.
    for (int i = 0; i < MaxDatagramsPerRead && m_socket && m_socket->hasPendingDatagrams(); ++i) {
        // One byte more than a beacon may have, so an oversized datagram is seen as oversized.
        const QNetworkDatagram datagram = m_socket->receiveDatagram(MaxBeaconSize + 1);
        if (!datagram.isValid())
            break;
        handleProbe(datagram.data(), datagram.senderAddress(), quint16(datagram.senderPort()));
    }
}

void DiscoveryAnnouncer::handleProbe(const QByteArray &datagram, const QHostAddress &sender, quint16 senderPort)
{
    const qint64 t = now();
    QString why;
    Beacon probe;
    const BeaconStatus status = m_verifier.verify(datagram, sender, t, &probe, &why);
    if (status != BeaconStatus::Accepted) {
        if (isCountedRejection(status) && (m_lastProbeRejectLogMs == 0 || t - m_lastProbeRejectLogMs >= LogGapMs)) {
            m_lastProbeRejectLogMs = t;
            qCInfo(lcDiscovery).noquote() << QStringLiteral("ignoring probe from %1: %2 (%3)")
                                                 .arg(sender.toString(), beaconStatusName(status), why);
        }
        if (status == BeaconStatus::BadTag && m_config.answerOtherClusters && senderPort != 0)
            replyOtherCluster(probe.nonce, sender, senderPort, t);
        return;
    }
    if (senderPort == 0 || !takeAnswerToken(t))
        return;
    if (sendAnnouncement(sender, senderPort)) {
        ++m_probesAnswered;
        emit probeAnswered(sender, senderPort);
    }
}

bool DiscoveryAnnouncer::takeAnswerToken(qint64 t)
{
    if (t - m_answerWindowStartMs >= 1000 || t < m_answerWindowStartMs) {
        m_answerWindowStartMs = t;
        m_answersInWindow = 0;
    }
    if (m_answersInWindow >= m_config.maxProbeAnswersPerSecond)
        return false;
    ++m_answersInWindow;
    return true;
}

void DiscoveryAnnouncer::replyOtherCluster(const QByteArray &probeNonce, const QHostAddress &sender, quint16 senderPort,
                                           qint64 t)
{
    const QHostAddress source = BeaconVerifier::normalizedAddress(sender);
    const qint64 last = m_lastOtherClusterReply.value(source, -1);
    if (last >= 0 && t >= last && t - last < m_config.otherClusterReplyGapMs)
        return;
    if (!m_socket || !takeAnswerToken(t))
        return;
    if (!m_lastOtherClusterReply.contains(source)
        && m_lastOtherClusterReply.size() >= BeaconVerifier::MaxTrackedSources) {
        for (auto it = m_lastOtherClusterReply.begin(); it != m_lastOtherClusterReply.end();)
            it = t - it.value() >= m_config.otherClusterReplyGapMs ? m_lastOtherClusterReply.erase(it) : std::next(it);
        if (m_lastOtherClusterReply.size() >= BeaconVerifier::MaxTrackedSources)
            return; // that many distinct sources within one gap: a spoofed flood, not controllers
    }
    m_lastOtherClusterReply.insert(source, t);
    const QByteArray reply = encodeOtherClusterReply(probeNonce);
    if (!reply.isEmpty() && m_socket->writeDatagram(reply, sender, senderPort) == reply.size())
        ++m_otherClusterReplies;
}

} // namespace taskfleet::net
