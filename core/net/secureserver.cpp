// SPDX-License-Identifier: MIT
// Accept, rate-limit and hand over TLS-PSK channels.
#include "secureserver.h"

#include "util/logging.h"

#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

namespace taskfleet::net {

namespace {

/** Above this many remembered addresses, stale records are pruned. */
constexpr int PruneThreshold = 1024;

QHostAddress normalized(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4) : address;
}

} // namespace

/** QTcpServer that hands raw descriptors to the SecureServer (no pending-connection queue). */
class SecureServer::Listener : public QTcpServer
{
public:
    explicit Listener(SecureServer *owner) : QTcpServer(owner), m_owner(owner) {}

protected:
    void incomingConnection(qintptr descriptor) override { m_owner->onIncomingConnection(descriptor); }

private:
    SecureServer *m_owner;
};

SecureServer::SecureServer(const ServerOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_listener(new Listener(this))
{
    m_clock.start();
}

SecureServer::~SecureServer()
{
    // Channels are children and die with us; stop tracking them first so that nothing calls back.
    for (SecureChannel *channel : std::as_const(m_pending))
        channel->disconnect(this);
    for (SecureChannel *channel : std::as_const(m_established))
        channel->disconnect(this);
}

bool SecureServer::listen(const QHostAddress &address, quint16 port)
{
    m_error.clear();
    if (m_options.channel.psk.isEmpty()) {
        // Without a key every handshake would fail and count against honest clients: refuse early.
        m_error = QStringLiteral("no cluster secret configured");
        qCWarning(lcNet).noquote() << "not listening on" << address.toString() << ":" << m_error;
        return false;
    }
    if (!m_listener->listen(address, port)) {
        m_error = m_listener->errorString();
        qCWarning(lcNet) << "cannot listen on" << address << port << ":" << m_listener->errorString();
        return false;
    }
    return true;
}

void SecureServer::close()
{
    m_listener->close();
}

bool SecureServer::isListening() const
{
    return m_listener->isListening();
}

quint16 SecureServer::serverPort() const
{
    return m_listener->serverPort();
}

QHostAddress SecureServer::serverAddress() const
{
    return m_listener->serverAddress();
}

QString SecureServer::errorString() const
{
    return m_error;
}

bool SecureServer::isBlocked(const QHostAddress &address) const
{
    const auto it = m_failures.constFind(normalized(address));
    return it != m_failures.constEnd() && it->blockedUntil > m_clock.elapsed();
}

void SecureServer::onIncomingConnection(qintptr descriptor)
{
    auto *socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        qCWarning(lcNet) << "cannot take over an accepted connection:" << socket->errorString();
        delete socket;
        return;
    }
    const QHostAddress address = normalized(socket->peerAddress());

    // Cheap refusals first: no TLS state is created for these.
    if (isBlocked(address)) {
        ++m_counters.rejectedRateLimited;
        qCDebug(lcNet) << "refused a connection from blocked address" << address.toString();
        socket->abort();
        delete socket;
        return;
    }
    if (m_pending.size() >= m_options.maxPendingHandshakes || openConnections() >= m_options.maxConnections) {
        ++m_counters.rejectedBusy;
        qCWarning(lcNet).noquote() << "refused a connection from" << address.toString() << ":"
                                   << m_pending.size() << "handshakes pending," << openConnections()
                                   << "connections open";
        socket->abort();
        delete socket;
        return;
    }

    ++m_counters.accepted;
    auto *channel = new SecureChannel(socket, m_options.channel, this);
    m_pending.insert(channel);
    connect(channel, &SecureChannel::ready, this, [this, channel] { onChannelReady(channel); });
    connect(channel, &SecureChannel::closed, this,
            [this, channel](const QString &reason) { onChannelClosed(channel, reason); });
    connect(channel, &QObject::destroyed, this, [this, channel] {
        m_pending.remove(channel);
        m_established.remove(channel);
    });
}

void SecureServer::onChannelReady(SecureChannel *channel)
{
    if (!m_pending.remove(channel))
        return;
    m_established.insert(channel);
    ++m_counters.established;
    qCDebug(lcNet) << "TLS-PSK session with" << channel->peerAddress() << "using" << channel->sessionCipher().name();
    emit channelReady(channel);
}

void SecureServer::onChannelClosed(SecureChannel *channel, const QString &reason)
{
    if (m_established.remove(channel))
        return; // the receiver owns it now
    if (!m_pending.remove(channel))
        return;
    ++m_counters.failedHandshakes;
    const QString peer = channel->peerAddress();
    qCWarning(lcNet).noquote() << "failed TLS handshake from" << peer << ":" << reason;
    recordFailure(channel->peerHostAddress());
    channel->deleteLater();
    emit handshakeFailed(peer, reason);
}

void SecureServer::recordFailure(const QHostAddress &address)
{
    if (m_options.failureLimit <= 0)
        return;
    const qint64 now = m_clock.elapsed();
    if (m_failures.size() > PruneThreshold)
        pruneFailures(now);
    FailureRecord &record = m_failures[address];
    record.times.append(now);
    while (!record.times.isEmpty() && record.times.first() <= now - m_options.failureWindowMs)
        record.times.removeFirst();
    if (record.times.size() >= m_options.failureLimit && record.blockedUntil <= now) {
        record.blockedUntil = now + m_options.blockMs;
        record.times.clear();
        ++m_counters.blockedAddresses;
        qCWarning(lcNet).noquote() << m_options.failureLimit << "failed TLS handshakes from" << address.toString()
                                   << "within" << m_options.failureWindowMs / 1000.0 << "s; refusing its connections for"
                                   << m_options.blockMs / 1000.0 << "s";
        emit addressBlocked(address);
    }
}

void SecureServer::pruneFailures(qint64 now)
{
    for (auto it = m_failures.begin(); it != m_failures.end();) {
        const bool stale = it->blockedUntil <= now
                           && (it->times.isEmpty() || it->times.last() <= now - m_options.failureWindowMs);
        it = stale ? m_failures.erase(it) : std::next(it);
    }
}

} // namespace taskfleet::net
