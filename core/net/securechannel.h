// SPDX-License-Identifier: MIT
// One controller <-> agent connection: frames over TLS 1.2 with a pre-shared key (ECDHE-PSK).
#pragma once

#include "protocol/frame.h"

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslSocket>

#include <deque>
#include <functional>

class QTimer;
class QSslPreSharedKeyAuthenticator;

namespace taskfleet::net {

/** PSK identity both sides use; the server refuses any other. */
inline constexpr char PskIdentity[] = "taskfleet";

/** Settings of one SecureChannel. Copyable value; the server hands one copy to every channel. */
struct ChannelOptions {
    /** The TLS pre-shared key: deriveKey(secret, KeyPurpose::TlsPsk). Empty means "no secret": the channel refuses to start. */
    QByteArray psk;
    /** Largest frame this side accepts; a bigger one closes the channel. */
    quint32 maxFrameSize = protocol::MaxFrameSize;
    /** Time from connectToHost() (client) or accept (server) to an established TLS session. */
    int handshakeTimeoutMs = 10000;
    /** Bytes queued for sending (ours + the socket's) above which the channel closes: the peer is not reading. */
    qint64 maxOutgoingBytes = 2 * protocol::MaxMessageSize + qint64(64) * 1024 * 1024;

    /** Options with the PSK derived from the cluster secret (HKDF, TLS-PSK context). */
    static ChannelOptions fromSecret(const QByteArray &secret);
};

/** Counters of one channel (plaintext frame bytes, not TLS records). */
struct ChannelCounters {
    quint64 framesSent = 0;
    quint64 framesReceived = 0;
    quint64 bytesSent = 0;     ///< frame bytes handed to the TLS socket
    quint64 bytesReceived = 0; ///< decrypted bytes read from the TLS socket
    quint64 writes = 0;        ///< socket writes; framesSent / writes is the coalescing factor
};

/** The kernel's view of one connection's TCP path (Linux TCP_INFO). */
struct TcpPathInfo {
    bool valid = false;      ///< false where TCP_INFO is missing, or with no connected socket
    qint64 rttUs = 0;        ///< the kernel's smoothed round trip (it has samples from the handshakes on)
    qint64 rttVarUs = 0;     ///< its mean deviation
    qint64 rtoUs = 0;        ///< the retransmission timeout now: what one lost segment can hold the stream up
    quint32 retransmits = 0; ///< segments retransmitted on this connection so far
};

/**
 * A mutually authenticated, encrypted frame channel (TLS 1.2, ECDHE-PSK suites only, no certificates).
 *
 * Both sides prove knowledge of the pre-shared key in the TLS Finished messages; the key and the
 * secret it is derived from never cross the wire. A client is created with the options and
 * connectToHost(); a server-side channel is created by SecureServer from an accepted socket.
 *
 * Sending: send() encodes the frame straight into the outgoing queue and writes at once when the socket
 * has nothing pending; otherwise the frame waits with the others queued meanwhile, which go out together
 * as soon as the socket drains (adaptive coalescing, no timer). A big frame is handed to the socket in
 * slices of WriteSliceBytes, the next as soon as the previous reached the kernel, so Qt's and OpenSSL's
 * buffers never hold a second copy of all of it.
 * TCP_NODELAY is set. Receiving: every complete frame is delivered with messageReceived(); a
 * broken or oversized frame closes the channel with the decoder's reason.
 *
 * closed() is emitted exactly once, queued (never from inside a call to send()/close()), with a
 * human-readable reason; after it the channel does nothing more and the owner should deleteLater() it.
 * A slot may call close() or deleteLater() on the channel from any of its signals.
 *
 * Threading: lives in, and must only be used from, the thread that owns it (not thread-safe).
 * Ownership: a QObject; owns its QSslSocket. No waitFor*() calls: everything is event-driven.
 */
class SecureChannel : public QObject
{
    Q_OBJECT

public:
    enum class Mode {
        Client,
        Server,
    };
    enum class State {
        Idle,        ///< client created, connectToHost() not called yet
        Connecting,  ///< client: looking up the host / TCP connect
        Handshaking, ///< TLS handshake running
        Ready,       ///< TLS established, frames flow
        Closed,      ///< closed; closeReason() says why
    };

    /** A client channel. Call connectToHost() next. */
    explicit SecureChannel(const ChannelOptions &options, QObject *parent = nullptr);
    /**
     * A server channel over an accepted, connected \a socket (takes ownership, reparents it).
     * The server-side TLS handshake starts at once.
     */
    SecureChannel(QSslSocket *socket, const ChannelOptions &options, QObject *parent = nullptr);
    ~SecureChannel() override;

    /** Client mode only: TCP connect, then the TLS handshake. Emits ready() or closed(). */
    void connectToHost(const QString &host, quint16 port);

    /** Queues one frame. Returns false (and drops it) if the channel is closed or closing. */
    bool send(const QCborMap &message);
    /**
     * The same for a message \a write encodes (exactly one CBOR map) straight into the queue: for messages with
     * big values, which a QCborMap would copy into itself first (protocol::appendFrameWith).
     */
    bool sendWith(const std::function<void(QCborStreamWriter &)> &write);

    /**
     * Closes the channel with \a reason (emits closed(reason) unless already closed). Frames already
     * queued are still flushed in the background for a few seconds; nothing is received any more.
     */
    void close(const QString &reason);

    /** Sets the largest accepted frame. Only before any data arrived (e.g. in a channelReady slot); false otherwise. */
    bool setMaxFrameSize(quint32 bytes);
    quint32 maxFrameSize() const { return m_decoder.maxFrameSize(); }

    Mode mode() const { return m_mode; }
    State state() const { return m_state; }
    bool isReady() const { return m_state == State::Ready; }
    bool isEncrypted() const;
    /**
     * "host:port" ("[v6]:port" for IPv6); for a client the address as requested until connected,
     * "(not connected)" before connectToHost().
     */
    QString peerAddress() const;
    QHostAddress peerHostAddress() const { return m_peerHost; }
    quint16 peerPort() const { return m_peerPort; }
    /** The negotiated cipher (null before ready()). */
    QSslCipher sessionCipher() const { return m_cipher; }
    /** Why the channel closed (empty while open). */
    QString closeReason() const { return m_closeReason; }
    ChannelCounters counters() const { return m_counters; }
    /** The kernel's round trip, its deviation, RTO and retransmissions for this connection (one getsockopt). */
    TcpPathInfo tcpPathInfo() const;
    /**
     * Server mode: the peer's TLS-PSK ClientHello arrived (it asked for a key). A connection that stays silent is
     * the first one a full SecureServer evicts: a real client mid-handshake is not given up for it.
     */
    bool peerSpoke() const { return m_peerSpoke; }

signals:
    /** The TLS session is up and both sides proved the secret. */
    void ready();
    void messageReceived(const QCborMap &message);
    /** Emitted once, queued. */
    void closed(const QString &reason);

private slots:
    void onConnected();
    void onEncrypted();
    void onReadyRead();
    void onBytesWritten();
    void onDisconnected();
    void onErrorOccurred(QAbstractSocket::SocketError error);
    void onPreSharedKeyRequired(QSslPreSharedKeyAuthenticator *authenticator);
    void onAlertReceived(QSsl::AlertLevel level, QSsl::AlertType type, const QString &description);
    void onAlertSent(QSsl::AlertLevel level, QSsl::AlertType type, const QString &description);
    void onHandshakeTimeout();

private:
    /** send() and sendWith(): \a append adds the frame(s) to the queue's last buffer; limits checked after. */
    bool enqueue(const std::function<void(QByteArray &)> &append);
    void setUpSocket();
    bool checkOptions();
    void flush();
    bool socketIdle() const;
    void clearOutgoing();
    void closeChannel(const QString &reason, bool flushQueued);
    qint64 queuedBytes() const;
    QString clientErrorReason(QAbstractSocket::SocketError error) const;
    QString serverErrorReason(QAbstractSocket::SocketError error) const;
    void releaseSocket(bool flushFirst);

    Mode m_mode;
    State m_state = State::Idle;
    ChannelOptions m_options;
    QSslSocket *m_socket = nullptr;
    QTimer *m_handshakeTimer = nullptr;
    protocol::FrameDecoder m_decoder;
    /// Frames not yet handed to the socket: small ones coalesced into buffers of up to CoalesceBytes, a big one
    /// in its own buffer, handed over in slices from m_outgoingOffset on (never front-erased).
    std::deque<QByteArray> m_outgoing;
    qsizetype m_outgoingOffset = 0;
    qint64 m_outgoingBytes = 0;
    ChannelCounters m_counters;
    QString m_host; ///< as passed to connectToHost(), for messages
    QHostAddress m_peerHost;
    quint16 m_peerPort = 0;
    QSslCipher m_cipher;
    QString m_closeReason;
    bool m_peerSpoke = false;
    bool m_receivedAlertBadKey = false; ///< peer sent bad_record_mac / decrypt_error: its PSK differs
    bool m_sentAlertBadKey = false;     ///< we sent it: the peer's PSK differs
    QString m_lastAlert;                ///< last alert received/sent, for messages
};

} // namespace taskfleet::net
