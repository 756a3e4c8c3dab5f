// SPDX-License-Identifier: MIT
// Accept, rate-limit and hand over TLS-PSK channels; bound and evict pending handshakes.
#include "secureserver.h"

#include "util/logging.h"

#include <QtCore/QSocketNotifier>
#include <QtCore/QTimer>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

#include <algorithm>
#include <cstring>

#ifdef Q_OS_UNIX
#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace taskfleet::net {

namespace {

/** Above this many remembered addresses, stale records are pruned. */
constexpr int PruneThreshold = 1024;

/** Refused sockets kept open (at most LingerMs) so that the peer reads the busy alert before the close. */
constexpr int MaxLingering = 64;
constexpr int LingerMs = 1000;

/** TLS record: alert (21), version 3.3, length 2, fatal (2), internal_error (80). */
constexpr char BusyAlert[] = {21, 3, 3, 0, 2, 2, 80};

QHostAddress normalized(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4) : address;
}

/** The peer of an accepted descriptor, without creating a socket object. */
QHostAddress peerOf(qintptr descriptor)
{
#ifdef Q_OS_UNIX
    sockaddr_storage storage {};
    socklen_t length = sizeof(storage);
    if (::getpeername(int(descriptor), reinterpret_cast<sockaddr *>(&storage), &length) == 0)
        return normalized(QHostAddress(reinterpret_cast<const sockaddr *>(&storage)));
#else
    Q_UNUSED(descriptor);
#endif
    return {};
}

/** Sends the busy alert on a raw descriptor and closes it: the cheapest refusal (no TLS state, no Qt object). */
void refuseRaw(qintptr descriptor, bool alert)
{
#ifdef Q_OS_UNIX
    if (alert)
        (void)::send(int(descriptor), BusyAlert, sizeof(BusyAlert), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(int(descriptor));
#else
    QTcpSocket s;
    s.setSocketDescriptor(descriptor);
    s.abort();
    Q_UNUSED(alert);
#endif
}

/** Writes the busy alert straight to the TCP socket, past any TLS state (ours has sent nothing encrypted yet). */
bool sendBusyAlert(QSslSocket *socket)
{
#ifdef Q_OS_UNIX
    const qintptr fd = socket ? socket->socketDescriptor() : -1;
    if (fd < 0 || socket->encryptedBytesToWrite() > 0)
        return false;
    return ::send(int(fd), BusyAlert, sizeof(BusyAlert), MSG_DONTWAIT | MSG_NOSIGNAL) == qsizetype(sizeof(BusyAlert));
#else
    Q_UNUSED(socket);
    return false;
#endif
}

} // namespace

/** QTcpServer that hands raw descriptors to the SecureServer (no pending-connection queue). */
class SecureServer::Listener : public QTcpServer
{
public:
    explicit Listener(SecureServer *owner)
        : QTcpServer(owner)
        , m_owner(owner)
    {
    }

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
    if (m_options.handshakeDeadlineMs > 0)
        m_options.channel.handshakeTimeoutMs
            = std::min(m_options.channel.handshakeTimeoutMs, m_options.handshakeDeadlineMs);
    m_clock.start();
}

SecureServer::~SecureServer()
{
    for (auto it = m_silent.cbegin(); it != m_silent.cend(); ++it) {
        it->notifier->setEnabled(false);
        refuseRaw(it.key(), false);
    }
    // Channels are children and die with us; stop tracking them first so that nothing calls back.
    for (auto it = m_pending.cbegin(); it != m_pending.cend(); ++it)
        it.key()->disconnect(this);
    for (SecureChannel *channel : std::as_const(m_evicted))
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
    // Qt's default backlog (50) overflows under a burst of connections while the event loop is busy; the kernel
    // then drops the client's final ACK and the connection hangs half-made, never seen here and never timed out.
    // A deep queue lets every connection reach the handshake deadline and the per-address caps (the kernel caps
    // the value at net.core.somaxconn).
    m_listener->setListenBacklogSize(m_options.listenBacklog);
    if (!m_listener->listen(address, port)) {
        m_error = m_listener->errorString();
        qCWarning(lcNet) << "cannot listen on" << address << port << ":" << m_listener->errorString();
        return false;
    }
#ifdef Q_OS_UNIX
    // QTcpServer accepts everything the kernel has queued in one go, creating our TLS state for each: under a
    // storm the event loop then did nothing else, and descriptors and memory piled up. We accept in batches.
    m_listener->pauseAccepting();
    m_acceptNotifier = new QSocketNotifier(m_listener->socketDescriptor(), QSocketNotifier::Read, this);
    connect(m_acceptNotifier, &QSocketNotifier::activated, this, &SecureServer::acceptBatch);
#endif
    return true;
}

void SecureServer::acceptBatch()
{
#ifdef Q_OS_UNIX
    const int listening = int(m_listener->socketDescriptor());
    for (int i = 0; i < std::max(1, m_options.acceptBatch); ++i) {
        const int fd = ::accept4(listening, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            onIncomingConnection(fd);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Out of descriptors or memory: the queue stays readable, so wait instead of spinning.
            qCWarning(lcNet) << "cannot accept a connection:" << ::strerror(errno) << "; pausing 100 ms";
            m_acceptNotifier->setEnabled(false);
            QTimer::singleShot(100, m_acceptNotifier, [n = m_acceptNotifier] { n->setEnabled(true); });
        }
        break; // EAGAIN: nothing more queued
    }
#endif
}

void SecureServer::close()
{
    if (m_acceptNotifier) {
        delete m_acceptNotifier;
        m_acceptNotifier = nullptr;
    }
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

int SecureServer::pendingFrom(const QHostAddress &address) const
{
    const QHostAddress a = normalized(address);
    return int(std::count_if(m_pending.cbegin(), m_pending.cend(), [&a](const Pending &p) { return p.address == a; }))
           + m_silentFrom.value(a);
}

bool SecureServer::isBlocked(const QHostAddress &address) const
{
    const auto it = m_failures.constFind(normalized(address));
    return it != m_failures.constEnd() && it->blockedUntil > m_clock.elapsed();
}

void SecureServer::onIncomingConnection(qintptr descriptor)
{
    const QHostAddress address = peerOf(descriptor);

    // Cheap refusals first: no TLS state, no socket object is created for these.
    if (isBlocked(address)) {
        ++m_counters.rejectedRateLimited;
        qCDebug(lcNet) << "refused a connection from blocked address" << address.toString();
        refuseRaw(descriptor, false);
        return;
    }
    if (m_options.maxPendingPerAddress > 0 && pendingFrom(address) >= m_options.maxPendingPerAddress) {
        refuseBusy(descriptor, address,
                   QStringLiteral("%1 handshakes pending from that address").arg(m_options.maxPendingPerAddress));
        return;
    }
    if (heldDescriptors() >= m_options.maxConnections) {
        refuseBusy(descriptor, address, QStringLiteral("%1 connections held (the cap)").arg(heldDescriptors()));
        return;
    }
#ifdef Q_OS_UNIX
    // Silent until its first bytes: held by the descriptor alone, with no TLS state (a storm of connections that
    // never speak costs a descriptor each, for the handshake deadline at most).
    if (m_silent.size() >= std::max(1, m_options.maxSilent)) {
        const auto oldest = std::min_element(m_silent.cbegin(), m_silent.cend(),
                                             [](const Silent &a, const Silent &b) { return a.sinceMs < b.sinceMs; });
        ++m_counters.evictedHandshakes;
        closeSilent(oldest.key(), false, QString()); // with the busy alert: a real client that was slow can tell
    }
    auto *notifier = new QSocketNotifier(descriptor, QSocketNotifier::Read, this);
    connect(notifier, &QSocketNotifier::activated, this, [this, descriptor] { onSilentReadable(descriptor); });
    m_silent.insert(descriptor, Silent {address, m_clock.elapsed(), notifier});
    ++m_silentFrom[address];
    if (!m_silentSweep) {
        m_silentSweep = new QTimer(this);
        connect(m_silentSweep, &QTimer::timeout, this, &SecureServer::sweepSilent);
    }
    if (!m_silentSweep->isActive())
        m_silentSweep->start(250);
#else
    startHandshake(descriptor, address);
#endif
}

void SecureServer::onSilentReadable(qintptr descriptor)
{
#ifdef Q_OS_UNIX
    const auto it = m_silent.constFind(descriptor);
    if (it == m_silent.constEnd())
        return;
    char byte = 0;
    const auto n = ::recv(int(descriptor), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) // closed (or reset) without a word
        return closeSilent(descriptor, true,
                           QStringLiteral("the client closed the connection before the TLS handshake"));
    const QHostAddress address = it->address;
    it->notifier->setEnabled(false); // before the socket takes the descriptor: one notifier per descriptor
    it->notifier->deleteLater();     // we are inside its signal
    if (--m_silentFrom[address] <= 0)
        m_silentFrom.remove(address);
    m_silent.erase(it);
    startHandshake(descriptor, address);
#else
    Q_UNUSED(descriptor);
#endif
}

void SecureServer::closeSilent(qintptr descriptor, bool failure, const QString &why)
{
    const auto it = m_silent.constFind(descriptor);
    if (it == m_silent.constEnd())
        return;
    const QHostAddress address = it->address;
    it->notifier->setEnabled(false);
    it->notifier->deleteLater();
    if (--m_silentFrom[address] <= 0)
        m_silentFrom.remove(address);
    m_silent.erase(it);
    refuseRaw(descriptor, !failure); // evicted: the busy alert; timed out or gone: nothing to say
    if (!failure)
        return;
    ++m_counters.failedHandshakes;
    const QString peer = address.toString();
    qCDebug(lcNet).noquote() << "closed a silent connection from" << peer << ":" << why;
    recordFailure(address);
    emit handshakeFailed(peer, why);
}

void SecureServer::sweepSilent()
{
    const qint64 deadline = m_clock.elapsed() - m_options.channel.handshakeTimeoutMs;
    QList<qintptr> expired;
    for (auto it = m_silent.cbegin(); it != m_silent.cend(); ++it)
        if (it->sinceMs <= deadline)
            expired.append(it.key());
    for (qintptr fd : std::as_const(expired))
        closeSilent(fd, true,
                    QStringLiteral("no TLS handshake within %1 ms (the client sent nothing)")
                        .arg(m_options.channel.handshakeTimeoutMs));
    if (m_silent.isEmpty())
        m_silentSweep->stop();
}

void SecureServer::startHandshake(qintptr descriptor, const QHostAddress &address)
{
    if (m_pending.size() >= m_options.maxPendingHandshakes)
        evictOldestPending(address);

    auto *socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        qCWarning(lcNet) << "cannot take over an accepted connection:" << socket->errorString();
        delete socket;
        refuseRaw(descriptor, false);
        return;
    }
    ++m_counters.accepted;
    auto *channel = new SecureChannel(socket, m_options.channel, this);
    m_pending.insert(channel, Pending {address, m_clock.elapsed(), socket});
    connect(channel, &SecureChannel::ready, this, [this, channel] { onChannelReady(channel); });
    connect(channel, &SecureChannel::closed, this,
            [this, channel](const QString &reason) { onChannelClosed(channel, reason); });
    connect(channel, &QObject::destroyed, this, [this, channel] {
        m_pending.remove(channel);
        m_evicted.remove(channel);
        m_established.remove(channel);
    });
}

void SecureServer::refuseBusy(qintptr descriptor, const QHostAddress &address, const QString &why)
{
    ++m_counters.rejectedBusy;
    // One line a second at most: a storm refuses thousands a second, and the log must not become its amplifier.
    if (m_lastRefusalLogMs < 0 || m_clock.elapsed() - m_lastRefusalLogMs >= 1000) {
        qCWarning(lcNet).noquote() << "refused a connection from" << address.toString() << ":" << why << "("
                                   << m_pending.size() << "handshakes pending," << openConnections()
                                   << "connections open;" << m_counters.rejectedBusy << "refused so far)";
        m_lastRefusalLogMs = m_clock.elapsed();
    }
    if (m_lingering >= MaxLingering || heldDescriptors() >= m_options.maxConnections) {
        refuseRaw(descriptor, true); // the alert may be lost to the reset; the peer sees a closed connection
        return;
    }
    auto *socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        refuseRaw(descriptor, false);
        return;
    }
#ifdef Q_OS_UNIX
    if (sendBusyAlert(socket)) {
        // Half-close and wait (bounded) for the peer to close after reading the alert: closing at once
        // with its ClientHello unread would send a reset, which may overtake the alert.
        ::shutdown(int(socket->socketDescriptor()), SHUT_WR);
        ++m_lingering;
        auto done = [this, socket] {
            if (socket->property("tfLingerDone").toBool())
                return;
            socket->setProperty("tfLingerDone", true);
            --m_lingering;
            socket->abort();
            socket->deleteLater();
        };
        connect(socket, &QIODevice::readyRead, socket, [socket] { socket->readAll(); });
        connect(socket, &QAbstractSocket::disconnected, this, done);
        connect(socket, &QAbstractSocket::errorOccurred, this, done);
        QTimer::singleShot(LingerMs, socket, done);
        return;
    }
#endif
    socket->abort();
    delete socket;
}

void SecureServer::evictOldestPending(const QHostAddress &newcomer)
{
    // The oldest silent one (no ClientHello yet) first: a client mid-handshake is not given up for a connection
    // that may never say anything; only when every pending one has spoken does the oldest of all go.
    auto oldest = m_pending.end();
    for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
        const bool silent = !it.key()->peerSpoke();
        if (oldest == m_pending.end()) {
            oldest = it;
            continue;
        }
        const bool oldestSilent = !oldest.key()->peerSpoke();
        if ((silent && !oldestSilent) || (silent == oldestSilent && it->sinceMs < oldest->sinceMs))
            oldest = it;
    }
    SecureChannel *channel = oldest.key();
    const Pending victim = oldest.value();
    m_pending.erase(oldest);
    m_evicted.insert(channel);
    ++m_counters.evictedHandshakes;
    const qint64 age = m_clock.elapsed() - victim.sinceMs;
    qCDebug(lcNet).noquote() << "evicted the pending handshake of" << channel->peerAddress() << "after" << age
                             << "ms to make room for" << newcomer.toString();
    sendBusyAlert(victim.socket);
    channel->close(QStringLiteral("evicted after %1 ms pending: the handshake table is full").arg(age));
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
    if (m_evicted.remove(channel)) {
        channel->deleteLater(); // not the peer's failure: it may have been about to finish
        return;
    }
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
                                   << "within" << m_options.failureWindowMs / 1000.0
                                   << "s; refusing its connections for" << m_options.blockMs / 1000.0 << "s";
        emit addressBlocked(address);
    }
}

void SecureServer::pruneFailures(qint64 now)
{
    for (auto it = m_failures.begin(); it != m_failures.end();) {
        const bool stale
            = it->blockedUntil <= now && (it->times.isEmpty() || it->times.last() <= now - m_options.failureWindowMs);
        it = stale ? m_failures.erase(it) : std::next(it);
    }
}

bool isBusyRefusal(QSsl::AlertLevel level, QSsl::AlertType type)
{
    return level == QSsl::AlertLevel::Fatal && type == QSsl::AlertType::InternalError;
}

void watchForBusyRefusal(SecureChannel *channel, QObject *context, std::function<void()> onRefused)
{
    // The channel owns its socket as a direct child; its alerts are not part of the channel's API.
    auto *socket = channel ? channel->findChild<QSslSocket *>(QString(), Qt::FindDirectChildrenOnly) : nullptr;
    if (!socket)
        return;
    QObject::connect(socket, &QSslSocket::alertReceived, context,
                     [channel = QPointer<SecureChannel>(channel), onRefused](QSsl::AlertLevel level,
                                                                             QSsl::AlertType type, const QString &) {
                         if (channel && !channel->isReady() && isBusyRefusal(level, type))
                             onRefused();
                     });
}

QString busyRefusalReason(const QString &hostPort)
{
    return QStringLiteral("TLS handshake refused — the agent at %1 is refusing new connections (overloaded: at its "
                          "pending-handshake limit, too many unauthenticated connections at once, for this address or "
                          "in total; a connection flood?)")
        .arg(hostPort);
}

} // namespace taskfleet::net
