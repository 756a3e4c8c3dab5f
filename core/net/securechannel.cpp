// SPDX-License-Identifier: MIT
// TLS-PSK frame channel: socket set-up, adaptive write coalescing, frame decoding, error reasons.
#include "securechannel.h"

#include "eventtimeline.h"

#include "net/keyderivation.h"
#include "util/logging.h"

#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslPreSharedKeyAuthenticator>

#ifdef Q_OS_LINUX
#include <cstddef>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

namespace taskfleet::net {

namespace {

/** How long a closed channel keeps flushing what was queued before it, in the background. */
constexpr int LingerMs = 5000;

/** Small frames are coalesced into outgoing buffers of up to this size. */
constexpr qsizetype CoalesceBytes = 256 * 1024;

/** At most this much is handed to the socket at once (it encrypts in full-size TLS records). */
constexpr qsizetype WriteSliceBytes = 4 * 1024 * 1024;

/** Reads into a buffer of this size, unless a big frame's payload can take the bytes directly. */
constexpr qsizetype ReadChunkBytes = 64 * 1024;

/** ECDHE-PSK suites in order of preference; only those this OpenSSL offers are used. */
const char *const PskCipherNames[] = {
    "ECDHE-PSK-CHACHA20-POLY1305",
    "ECDHE-PSK-AES256-CBC-SHA384",
    "ECDHE-PSK-AES128-CBC-SHA256",
};

const QList<QSslCipher> &pskCiphers()
{
    static const QList<QSslCipher> ciphers = [] {
        QList<QSslCipher> result;
        const QList<QSslCipher> supported = QSslConfiguration::supportedCiphers();
        for (const char *name : PskCipherNames) {
            for (const QSslCipher &cipher : supported) {
                if (cipher.name() == QLatin1String(name)) {
                    result.append(cipher);
                    break;
                }
            }
        }
        return result;
    }();
    return ciphers;
}

QString seconds(int ms)
{
    return QString::number(ms / 1000.0, 'g', 3);
}

QHostAddress normalized(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4) : address;
}

QString hostPort(const QString &host, quint16 port)
{
    if (host.contains(QLatin1Char(':')))
        return QStringLiteral("[%1]:%2").arg(host).arg(port);
    return QStringLiteral("%1:%2").arg(host).arg(port);
}

bool isBadKeyAlert(QSsl::AlertType type)
{
    // With a different PSK both sides derive different keys: the first encrypted handshake record
    // (Finished) fails to decrypt or verify.
    return type == QSsl::AlertType::BadRecordMac || type == QSsl::AlertType::DecryptError;
}

} // namespace

ChannelOptions ChannelOptions::fromSecret(const QByteArray &secret)
{
    ChannelOptions options;
    options.psk = deriveKey(secret, KeyPurpose::TlsPsk);
    return options;
}

SecureChannel::SecureChannel(const ChannelOptions &options, QObject *parent)
    : QObject(parent)
    , m_mode(Mode::Client)
    , m_options(options)
    , m_socket(new QSslSocket(this))
    , m_handshakeTimer(new QTimer(this))
    , m_decoder(options.maxFrameSize)
{
    setUpSocket();
}

SecureChannel::SecureChannel(QSslSocket *socket, const ChannelOptions &options, QObject *parent)
    : QObject(parent)
    , m_mode(Mode::Server)
    , m_options(options)
    , m_socket(socket)
    , m_handshakeTimer(new QTimer(this))
    , m_decoder(options.maxFrameSize)
{
    Q_ASSERT(socket);
    m_socket->setParent(this);
    m_peerHost = normalized(m_socket->peerAddress());
    m_peerPort = m_socket->peerPort();
    setUpSocket();
    if (!checkOptions())
        return;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_state = State::Handshaking;
    m_handshakeTimer->start(m_options.handshakeTimeoutMs);
    m_socket->startServerEncryption();
}

SecureChannel::~SecureChannel()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void SecureChannel::setUpSocket()
{
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setProtocol(QSsl::TlsV1_2);
    config.setCiphers(pskCiphers());
    config.setPeerVerifyMode(QSslSocket::VerifyNone);
    config.setCaCertificates({});
    if (m_mode == Mode::Server)
        config.setPreSharedKeyIdentityHint(QByteArray(PskIdentity));
    m_socket->setSslConfiguration(config);
    m_socket->setPeerVerifyMode(QSslSocket::VerifyNone);

    m_handshakeTimer->setSingleShot(true);
    connect(m_handshakeTimer, &QTimer::timeout, this, &SecureChannel::onHandshakeTimeout);

    connect(m_socket, &QAbstractSocket::connected, this, &SecureChannel::onConnected);
    connect(m_socket, &QSslSocket::encrypted, this, &SecureChannel::onEncrypted);
    connect(m_socket, &QIODevice::readyRead, this, &SecureChannel::onReadyRead);
    connect(m_socket, &QIODevice::bytesWritten, this, &SecureChannel::onBytesWritten);
    connect(m_socket, &QSslSocket::encryptedBytesWritten, this, &SecureChannel::onBytesWritten);
    connect(m_socket, &QAbstractSocket::disconnected, this, &SecureChannel::onDisconnected);
    connect(m_socket, &QAbstractSocket::errorOccurred, this, &SecureChannel::onErrorOccurred);
    connect(m_socket, &QSslSocket::preSharedKeyAuthenticationRequired, this, &SecureChannel::onPreSharedKeyRequired);
    connect(m_socket, &QSslSocket::alertReceived, this, &SecureChannel::onAlertReceived);
    connect(m_socket, &QSslSocket::alertSent, this, &SecureChannel::onAlertSent);
}

bool SecureChannel::checkOptions()
{
    if (m_options.psk.isEmpty()) {
        close(QStringLiteral("no cluster secret configured"));
        return false;
    }
    if (!QSslSocket::supportsSsl()) {
        close(QStringLiteral("TLS is not available (OpenSSL could not be loaded)"));
        return false;
    }
    if (pskCiphers().isEmpty()) {
        close(QStringLiteral("this OpenSSL build offers no ECDHE-PSK cipher suite"));
        return false;
    }
    return true;
}

void SecureChannel::connectToHost(const QString &host, quint16 port)
{
    if (m_mode != Mode::Client || m_state != State::Idle) {
        qCWarning(lcNet) << "SecureChannel::connectToHost: only once, and only on a new client channel";
        return;
    }
    m_host = host;
    m_peerPort = port;
    if (!checkOptions())
        return;
    m_state = State::Connecting;
    m_handshakeTimer->start(m_options.handshakeTimeoutMs);
    m_socket->connectToHost(host, port);
}

bool SecureChannel::isEncrypted() const
{
    return m_state == State::Ready && m_socket && m_socket->isEncrypted();
}

QString SecureChannel::peerAddress() const
{
    if (m_peerHost.isNull()) {
        if (m_host.isEmpty())
            return QStringLiteral("(not connected)");
        return hostPort(m_host, m_peerPort);
    }
    return hostPort(m_peerHost.toString(), m_peerPort);
}

bool SecureChannel::setMaxFrameSize(quint32 bytes)
{
    if (bytes == 0 || m_decoder.bufferedBytes() > 0 || m_counters.bytesReceived > 0)
        return false;
    m_decoder = protocol::FrameDecoder(bytes);
    return true;
}

qint64 SecureChannel::queuedBytes() const
{
    qint64 total = m_outgoingBytes;
    if (m_socket)
        total += m_socket->bytesToWrite() + m_socket->encryptedBytesToWrite();
    return total;
}

bool SecureChannel::socketIdle() const
{
    return m_socket && m_socket->bytesToWrite() == 0 && m_socket->encryptedBytesToWrite() == 0;
}

void SecureChannel::clearOutgoing()
{
    m_outgoing.clear();
    m_outgoingOffset = 0;
    m_outgoingBytes = 0;
}

TcpPathInfo SecureChannel::tcpPathInfo() const
{
    TcpPathInfo path;
#ifdef Q_OS_LINUX
    const qintptr fd = m_socket ? m_socket->socketDescriptor() : -1;
    tcp_info info {};
    socklen_t size = sizeof info;
    if (fd < 0 || ::getsockopt(int(fd), IPPROTO_TCP, TCP_INFO, &info, &size) != 0
        || size < offsetof(tcp_info, tcpi_total_retrans) + sizeof info.tcpi_total_retrans)
        return path;
    path.valid = true;
    path.rttUs = info.tcpi_rtt;
    path.rttVarUs = info.tcpi_rttvar;
    path.rtoUs = info.tcpi_rto;
    path.retransmits = info.tcpi_total_retrans;
#endif
    return path;
}

bool SecureChannel::send(const QCborMap &message)
{
    return enqueue([&message](QByteArray &buffer) { protocol::appendFrame(buffer, message); });
}

bool SecureChannel::sendWith(const std::function<void(QCborStreamWriter &)> &write)
{
    return enqueue([&write](QByteArray &buffer) { protocol::appendFrameWith(buffer, write); });
}

bool SecureChannel::enqueue(const std::function<void(QByteArray &)> &append)
{
    if (m_state == State::Closed)
        return false;
    // Encoded straight into the queue: a big value in the message is copied once here.
    const bool fresh = m_outgoing.empty() || m_outgoing.back().size() >= CoalesceBytes
                       || (m_outgoing.size() == 1 && m_outgoingOffset > 0);
    if (fresh)
        m_outgoing.emplace_back();
    QByteArray &buffer = m_outgoing.back();
    const qsizetype before = buffer.size();
    append(buffer); // one frame, or continued frames past MaxFrameSize
    const qsizetype added = buffer.size() - before;
    const qsizetype frames = (added + qsizetype(protocol::MaxFrameSize) + protocol::FrameHeaderSize - 1)
                             / (qsizetype(protocol::MaxFrameSize) + protocol::FrameHeaderSize);
    const qsizetype cborSize = added - frames * protocol::FrameHeaderSize;
    if (cborSize > protocol::MaxMessageSize) {
        // A caller bug, not a peer problem: the peer would close on it, so refuse it here and keep the channel.
        // Callers bound their batches (protocol::BatchByteBudget) and values (MaxValueSize) so this never happens.
        qCWarning(lcNet) << "not sending a message of" << cborSize << "bytes to" << peerAddress()
                         << "- the protocol limit is" << protocol::MaxMessageSize;
        buffer.truncate(before);
        if (fresh)
            m_outgoing.pop_back();
        return false;
    }
    m_outgoingBytes += added;
    ++m_counters.framesSent;
    if (queuedBytes() > m_options.maxOutgoingBytes) {
        const QString reason
            = QStringLiteral("outgoing buffer of %1 bytes exceeds the limit of %2 bytes — the peer does not read")
                  .arg(queuedBytes())
                  .arg(m_options.maxOutgoingBytes);
        qCWarning(lcNet).noquote() << "closing the connection with" << peerAddress() << ":" << reason;
        clearOutgoing();
        closeChannel(reason, false);
        return false;
    }
    // Adaptive coalescing: write at once when the socket is idle; otherwise the frame waits in
    // m_outgoing and goes out with everything else queued meanwhile, on bytesWritten.
    if (m_state == State::Ready && socketIdle())
        flush();
    return true;
}

void SecureChannel::flush()
{
    if (m_outgoing.empty() || !m_socket || m_state != State::Ready)
        return;
    // One slice per call, each called when the socket drained the one before (onBytesWritten): no timer, and
    // no slice waits on the peer beyond TCP's own flow control.
    qsizetype n = m_outgoing.front().size() - m_outgoingOffset;
    // Small buffers queued behind a small one go in the same write when they fit in the slice; a big one is
    // written from its own storage, never copied into another. (Erasing from a deque's middle invalidates
    // references to all its elements: the front is taken again after it.)
    size_t joined = 1;
    while (n < CoalesceBytes && joined < m_outgoing.size() && m_outgoing[joined].size() < CoalesceBytes
           && n + m_outgoing[joined].size() <= WriteSliceBytes)
        n += m_outgoing[joined++].size();
    if (joined > 1) {
        for (size_t i = 1; i < joined; ++i)
            m_outgoing.front().append(m_outgoing[i]);
        m_outgoing.erase(m_outgoing.begin() + 1, m_outgoing.begin() + qsizetype(joined));
    }
    QByteArray &front = m_outgoing.front();
    n = std::min(n, WriteSliceBytes);
    const qint64 written = m_socket->write(front.constData() + m_outgoingOffset, n);
    if (written != n) {
        const QString reason = QStringLiteral("write to %1 failed: %2").arg(peerAddress(), m_socket->errorString());
        closeChannel(reason, false);
        return;
    }
    m_counters.bytesSent += quint64(written);
    ++m_counters.writes;
    m_outgoingOffset += n;
    m_outgoingBytes -= n;
    if (m_outgoingOffset == front.size()) {
        m_outgoing.pop_front();
        m_outgoingOffset = 0;
    }
}

void SecureChannel::close(const QString &reason)
{
    closeChannel(reason, true);
}

void SecureChannel::closeChannel(const QString &reason, bool flushQueued)
{
    if (m_state == State::Closed)
        return;
    const bool wasReady = m_state == State::Ready;
    m_state = State::Closed;
    m_closeReason = reason;
    m_handshakeTimer->stop();
    releaseSocket(wasReady && flushQueued);
    QMetaObject::invokeMethod(
        this, [this, reason] { emit closed(reason); }, Qt::QueuedConnection);
}

void SecureChannel::releaseSocket(bool flushFirst)
{
    if (!m_socket)
        return;
    QSslSocket *socket = m_socket;
    m_socket = nullptr;
    socket->disconnect(this);
    socket->setParent(nullptr);

    if (flushFirst && socket->state() == QAbstractSocket::ConnectedState) {
        for (const QByteArray &buffer : m_outgoing) {
            socket->write(buffer.constData() + m_outgoingOffset, buffer.size() - m_outgoingOffset);
            m_outgoingOffset = 0;
        }
    }
    clearOutgoing();

    connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
    if (flushFirst && socket->state() == QAbstractSocket::ConnectedState) {
        // The detached socket drains what it holds (and sends close_notify), bounded by LingerMs.
        QTimer::singleShot(LingerMs, socket, [socket] {
            socket->abort();
            socket->deleteLater();
        });
        socket->disconnectFromHost();
        if (socket->state() == QAbstractSocket::UnconnectedState)
            socket->deleteLater();
        return;
    }
    // Never abort synchronously: we may be inside one of the socket's own signals. On a failed
    // handshake Qt emits errorOccurred() first and only then sends the fatal TLS alert (which tells
    // the peer *why*, e.g. bad_record_mac for a wrong secret); aborting here would drop that alert.
    QMetaObject::invokeMethod(
        socket,
        [socket] {
            socket->abort();
            socket->deleteLater();
        },
        Qt::QueuedConnection);
}

void SecureChannel::onConnected()
{
    if (m_state != State::Connecting)
        return;
    m_peerHost = normalized(m_socket->peerAddress());
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_state = State::Handshaking;
    timelineEvent("ctl", peerAddress(), "tcp-connected");
    m_socket->startClientEncryption();
}

void SecureChannel::onEncrypted()
{
    if (m_state != State::Handshaking)
        return;
    const QSslCipher cipher = m_socket->sessionCipher();
    // Defence in depth: only PSK suites are configured, so anything else means a broken TLS stack.
    if (m_socket->sessionProtocol() != QSsl::TlsV1_2 || !cipher.name().contains(QLatin1String("PSK"))) {
        const QString reason = QStringLiteral("TLS session with %1 is not PSK-authenticated (cipher %2) — refused")
                                   .arg(peerAddress(), cipher.name());
        qCWarning(lcNet) << reason;
        closeChannel(reason, false);
        return;
    }
    m_handshakeTimer->stop();
    m_cipher = cipher;
    m_state = State::Ready;
    if (m_mode == Mode::Client)
        timelineEvent("ctl", peerAddress(), "tls-ready");
    qCDebug(lcNet) << "TLS up with" << peerAddress() << "cipher" << cipher.name();

    QPointer<SecureChannel> guard(this);
    emit ready();
    if (!guard || m_state != State::Ready)
        return;
    if (!m_outgoing.empty() && socketIdle())
        flush();
    if (m_socket && m_socket->bytesAvailable() > 0)
        onReadyRead();
}

void SecureChannel::onReadyRead()
{
    if (m_state != State::Ready || !m_socket)
        return;
    // A big frame's payload is read straight into its buffer, sized from its header; the rest through a small one.
    thread_local char chunk[ReadChunkBytes];
    for (;;) {
        qsizetype space = 0;
        char *direct = m_decoder.payloadSpace(&space);
        const bool intoFrame = space >= ReadChunkBytes;
        const qint64 n = intoFrame ? m_socket->read(direct, space) : m_socket->read(chunk, ReadChunkBytes);
        if (n <= 0)
            break;
        m_counters.bytesReceived += quint64(n);
        if (intoFrame)
            m_decoder.commit(qsizetype(n));
        else
            m_decoder.append(chunk, qsizetype(n));
    }

    QPointer<SecureChannel> guard(this);
    for (;;) {
        QCborMap message;
        switch (m_decoder.next(&message)) {
        case protocol::FrameDecoder::Status::Frame:
            ++m_counters.framesReceived;
            emit messageReceived(message);
            if (!guard || m_state != State::Ready)
                return;
            break;
        case protocol::FrameDecoder::Status::NeedMore:
            return;
        case protocol::FrameDecoder::Status::Error: {
            const QString reason = m_decoder.errorString();
            qCWarning(lcNet).noquote() << "closing the connection with" << peerAddress() << ":" << reason;
            // As docs/protocol.md promises: the peer learns why (an "error" frame), then a clean TLS close
            // (close_notify), bounded by the linger time.
            QCborMap error;
            error.insert(QStringLiteral("t"), QStringLiteral("error"));
            error.insert(QStringLiteral("text"), QString(QStringLiteral("bad frame: ") + reason));
            clearOutgoing();
            m_outgoing.emplace_back();
            protocol::appendFrame(m_outgoing.back(), error);
            m_outgoingBytes = m_outgoing.back().size();
            closeChannel(reason, true);
            return;
        }
        }
    }
}

void SecureChannel::onBytesWritten()
{
    if (m_state == State::Ready && !m_outgoing.empty() && socketIdle())
        flush();
}

void SecureChannel::onDisconnected()
{
    if (m_state == State::Closed)
        return;
    onErrorOccurred(QAbstractSocket::RemoteHostClosedError);
}

void SecureChannel::onErrorOccurred(QAbstractSocket::SocketError error)
{
    if (m_state == State::Closed)
        return;
    if (m_state == State::Ready) {
        const QString reason = error == QAbstractSocket::RemoteHostClosedError
                                   ? QStringLiteral("connection closed by the peer")
                                   : QStringLiteral("connection error: %1").arg(m_socket->errorString());
        qCDebug(lcNet) << "connection with" << peerAddress() << "ended:" << reason;
        closeChannel(reason, false);
        return;
    }
    const QString reason = m_mode == Mode::Client ? clientErrorReason(error) : serverErrorReason(error);
    if (m_mode == Mode::Client) {
        qCWarning(lcNet).noquote() << "connection to" << peerAddress() << "failed:" << reason << "("
                                   << m_socket->errorString() << ")";
    }
    closeChannel(reason, false);
}

QString SecureChannel::clientErrorReason(QAbstractSocket::SocketError error) const
{
    const QString where = hostPort(m_host, m_peerPort);
    const QString detail = m_socket->errorString();
    switch (error) {
    case QAbstractSocket::ConnectionRefusedError:
        return QStringLiteral("connection refused — nothing listens on %1").arg(where);
    case QAbstractSocket::HostNotFoundError:
        return QStringLiteral("host not found: %1").arg(m_host);
    case QAbstractSocket::SocketTimeoutError:
        return QStringLiteral("timed out — no connection to %1").arg(where);
    case QAbstractSocket::NetworkError:
        return QStringLiteral("network error reaching %1: %2").arg(where, detail);
    case QAbstractSocket::SslHandshakeFailedError:
        if (m_receivedAlertBadKey || m_sentAlertBadKey || detail.contains(QLatin1String("bad record mac"))
            || detail.contains(QLatin1String("decrypt")))
            return QStringLiteral("TLS handshake failed — the secrets differ");
        return QStringLiteral("TLS handshake failed — the peer is not a Taskfleet agent (or speaks no TLS)");
    case QAbstractSocket::RemoteHostClosedError:
        if (m_receivedAlertBadKey || m_sentAlertBadKey)
            return QStringLiteral("TLS handshake failed — the secrets differ");
        return QStringLiteral("TLS handshake failed — %1 closed the connection (the agent is refusing new connections: "
                              "overloaded, or it refuses this address after repeated failed handshakes; or it is not "
                              "a Taskfleet agent)")
            .arg(where);
    case QAbstractSocket::SslInternalError:
    case QAbstractSocket::SslInvalidUserDataError:
        return QStringLiteral("TLS error: %1").arg(detail);
    default:
        return QStringLiteral("connection to %1 failed: %2").arg(where, detail);
    }
}

QString SecureChannel::serverErrorReason(QAbstractSocket::SocketError error) const
{
    if (m_sentAlertBadKey || m_receivedAlertBadKey)
        return QStringLiteral("TLS handshake failed — the client uses a different secret");
    switch (error) {
    case QAbstractSocket::RemoteHostClosedError:
        return QStringLiteral("the client closed the connection during the TLS handshake");
    case QAbstractSocket::SslHandshakeFailedError:
        return QStringLiteral("TLS handshake failed — not a Taskfleet client (or no TLS): %1")
            .arg(m_socket->errorString());
    default:
        return QStringLiteral("connection error during the TLS handshake: %1").arg(m_socket->errorString());
    }
}

void SecureChannel::onPreSharedKeyRequired(QSslPreSharedKeyAuthenticator *authenticator)
{
    if (m_state != State::Handshaking)
        return;
    if (m_mode == Mode::Client) {
        authenticator->setIdentity(QByteArray(PskIdentity));
        authenticator->setPreSharedKey(m_options.psk);
        return;
    }
    // Server: the peer's ClientHello has arrived (a real TLS-PSK client, not a silent connection).
    m_peerSpoke = true;
    // A key is only given for our identity; without one OpenSSL aborts the handshake.
    if (authenticator->identity() != QByteArray(PskIdentity)) {
        qCDebug(lcNet) << "unknown PSK identity from" << peerAddress();
        return;
    }
    authenticator->setPreSharedKey(m_options.psk);
}

void SecureChannel::onAlertReceived(QSsl::AlertLevel level, QSsl::AlertType type, const QString &description)
{
    if (m_state == State::Handshaking && isBadKeyAlert(type))
        m_receivedAlertBadKey = true;
    m_lastAlert = description;
    qCDebug(lcNet) << "TLS alert from" << peerAddress() << ":" << description << int(level);
}

void SecureChannel::onAlertSent(QSsl::AlertLevel level, QSsl::AlertType type, const QString &description)
{
    if (m_state == State::Handshaking && isBadKeyAlert(type))
        m_sentAlertBadKey = true;
    m_lastAlert = description;
    qCDebug(lcNet) << "TLS alert to" << peerAddress() << ":" << description << int(level);
}

void SecureChannel::onHandshakeTimeout()
{
    if (m_state == State::Closed || m_state == State::Ready)
        return;
    const QString limit = seconds(m_options.handshakeTimeoutMs);
    QString reason;
    if (m_mode == Mode::Server)
        reason = QStringLiteral("TLS handshake timed out after %1 s").arg(limit);
    else if (m_state == State::Connecting)
        reason = QStringLiteral("timed out — no connection to %1 within %2 s").arg(peerAddress(), limit);
    else
        reason
            = QStringLiteral("timed out — %1 did not complete the TLS handshake within %2 s").arg(peerAddress(), limit);
    if (m_mode == Mode::Client)
        qCWarning(lcNet).noquote() << reason;
    closeChannel(reason, false);
}

} // namespace taskfleet::net
