// SPDX-License-Identifier: MIT
// TCP listener that turns accepted connections into TLS-PSK SecureChannels, with per-address rate limiting
// and bounded, evictable pending handshakes.
#pragma once

#include "net/securechannel.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QSet>
#include <QtNetwork/QHostAddress>

#include <functional>

class QSocketNotifier;
class QSslSocket;

namespace taskfleet::net {

/** Settings of a SecureServer. */
struct ServerOptions {
    /** Given to every accepted channel (PSK, frame limit, handshake timeout, send buffer limit). */
    ChannelOptions channel;
    /**
     * Server-side handshake deadline: accepted channels get min(channel.handshakeTimeoutMs, this) (0: the
     * channel's own). A TLS-PSK handshake is two round trips; 3 s leaves room for slow links, and a slow flood
     * needs more than maxPendingHandshakes / 3 s (21 connections a second) to keep the table full.
     */
    int handshakeDeadlineMs = 3000;
    /**
     * Connections still in the TLS handshake. When the table is full, a new connection evicts the one that
     * has been pending longest (a legitimate handshake takes milliseconds, so the oldest is the likeliest
     * to be silent), instead of being refused: a flood cannot keep a legitimate client out.
     */
    int maxPendingHandshakes = 64;
    /** Pending handshakes from one source address; a connection over this is refused (busy alert). */
    int maxPendingPerAddress = 8;
    /**
     * Descriptors this server may hold: handshaking, established, and those it is still closing (evicted,
     * refused and lingering). A new connection over it is refused at once, without any TLS state: a hard cap.
     */
    int maxConnections = 1024;
    /**
     * Connections accepted per event-loop turn. The rest wait in the kernel's queue meanwhile, so that a storm of
     * connections never starves the established sessions, the handshakes under way and the timers.
     */
    int acceptBatch = 16;
    /**
     * Connections accepted that have not sent a byte yet. They are held by their descriptor alone: no TLS state
     * until the client's first bytes (its ClientHello) arrive, so a flood of silent connections costs a descriptor
     * each, for at most handshakeDeadlineMs. When this many wait, the oldest is closed for a newcomer.
     */
    int maxSilent = 512;
    /** Kernel accept queue length asked for (capped by net.core.somaxconn). */
    int listenBacklog = 1024;
    /** This many failed handshakes from one address within failureWindowMs block that address (0 disables)... */
    int failureLimit = 5;
    int failureWindowMs = 60000;
    /** ...for this long: its connections are closed right after accept, without any TLS work. */
    int blockMs = 60000;
};

/** Counters of a SecureServer since it was created. */
struct ServerCounters {
    quint64 accepted = 0;            ///< TCP connections that got a TLS handshake
    quint64 established = 0;         ///< handshakes that succeeded (channelReady emitted)
    quint64 failedHandshakes = 0;    ///< handshakes that failed or timed out
    quint64 rejectedRateLimited = 0; ///< connections closed unread because their address is blocked
    quint64 rejectedBusy = 0; ///< connections refused: maxPendingPerAddress, or maxConnections with nothing to evict
    quint64 evictedHandshakes = 0; ///< pending handshakes closed to make room for a newer connection
    quint64 blockedAddresses = 0;  ///< times an address was blocked
};

/**
 * Accepts TCP connections and runs the server side of the TLS-PSK handshake on each.
 *
 * Only a connection whose handshake succeeds reaches the user, through channelReady(). A failed
 * handshake (wrong secret, no TLS, silence past the handshake timeout) is logged with the peer
 * address and reason, counted, and counts against the peer address: after failureLimit failures
 * within failureWindowMs the address is blocked for blockMs, and its connections are closed
 * immediately after accept.
 *
 * Pre-authentication resources are bounded so that nobody without the secret can hold them: a pending
 * handshake has handshakeDeadlineMs; one address has at most maxPendingPerAddress of them; when all
 * maxPendingHandshakes slots are taken, a new connection evicts the oldest pending one that has not sent its
 * ClientHello yet (a silent connection), else the oldest; the descriptors held, closing ones included, never
 * exceed maxConnections; connections are accepted acceptBatch per event-loop turn, and a refusal costs no TLS
 * state (the peer's address is read from the descriptor). A connection
 * turned away for a limit (refused or evicted) gets the busy alert (see isBusyRefusal()) before it is
 * closed, so a client can tell "the agent is at its limit" from a wrong secret or a blocked address;
 * evictions do not count as failures of the evicted address.
 *
 * Ownership: channels are children of the server. channelReady() hands the channel to the
 * receiver, which should deleteLater() it after its closed() signal (or reparent it); anything left
 * is deleted with the server. Channels that fail their handshake are deleted by the server.
 * Threading: lives in one thread, with all its channels; not thread-safe.
 */
class SecureServer : public QObject
{
    Q_OBJECT

public:
    explicit SecureServer(const ServerOptions &options, QObject *parent = nullptr);
    ~SecureServer() override;

    /**
     * Listens on \a address (only that one: no wildcard unless asked); \a port 0 picks a free port.
     * Fails (see errorString()) without a PSK or if the address cannot be bound.
     */
    bool listen(const QHostAddress &address, quint16 port = 0);
    /** Stops accepting; open channels stay open. */
    void close();
    bool isListening() const;
    quint16 serverPort() const;
    QHostAddress serverAddress() const;
    QString errorString() const;

    ServerCounters counters() const { return m_counters; }
    int pendingHandshakes() const { return int(m_pending.size()); }
    /** Pending handshakes from \a address. */
    int pendingFrom(const QHostAddress &address) const;
    int openConnections() const { return int(m_pending.size() + m_established.size()); }
    /** Connections accepted that have sent nothing yet (no TLS state; see ServerOptions::maxSilent). */
    int silentConnections() const { return int(m_silent.size()); }
    /**
     * Descriptors held now: openConnections(), the silent ones, and the connections being closed (evicted,
     * lingering refusals).
     */
    int heldDescriptors() const
    {
        return openConnections() + int(m_silent.size()) + int(m_evicted.size()) + m_lingering;
    }
    /** True while connections from \a address are refused because of failed handshakes. */
    bool isBlocked(const QHostAddress &address) const;

signals:
    /** A client completed the TLS-PSK handshake. The receiver takes over the channel. */
    void channelReady(taskfleet::net::SecureChannel *channel);
    /** A handshake failed (also logged); \a peer is "host:port". */
    void handshakeFailed(const QString &peer, const QString &reason);
    /** \a address failed too often and is refused for blockMs. */
    void addressBlocked(const QHostAddress &address);

private:
    class Listener;
    struct FailureRecord {
        QList<qint64> times; ///< failure times (ms on m_clock) within the window
        qint64 blockedUntil = -1;
    };
    struct Pending {
        QHostAddress address;
        qint64 sinceMs = 0;          ///< accept time on m_clock
        QPointer<QSslSocket> socket; ///< owned by the channel
    };

    struct Silent {
        QHostAddress address;
        qint64 sinceMs = 0;
        QSocketNotifier *notifier = nullptr;
    };
    void acceptBatch();
    void onIncomingConnection(qintptr descriptor);
    void onSilentReadable(qintptr descriptor);
    void startHandshake(qintptr descriptor, const QHostAddress &address);
    void closeSilent(qintptr descriptor, bool failure, const QString &why);
    void sweepSilent();
    void refuseBusy(qintptr descriptor, const QHostAddress &address, const QString &why);
    void evictOldestPending(const QHostAddress &newcomer);
    void onChannelReady(SecureChannel *channel);
    void onChannelClosed(SecureChannel *channel, const QString &reason);
    void recordFailure(const QHostAddress &address);
    void pruneFailures(qint64 now);

    ServerOptions m_options;
    Listener *m_listener;
    QSocketNotifier *m_acceptNotifier = nullptr; ///< our own accept loop, in batches (Unix)
    QElapsedTimer m_clock;
    QHash<SecureChannel *, Pending> m_pending;
    QHash<qintptr, Silent> m_silent;
    QHash<QHostAddress, int> m_silentFrom; ///< silent connections per address
    QTimer *m_silentSweep = nullptr;
    QSet<SecureChannel *> m_evicted; ///< closed by us for room; their closed() is not a failure
    QSet<SecureChannel *> m_established;
    int m_lingering = 0; ///< refused sockets waiting for the peer to read the busy alert
    qint64 m_lastRefusalLogMs = -1;
    QHash<QHostAddress, FailureRecord> m_failures;
    ServerCounters m_counters;
    QString m_error;
};

/**
 * The TLS alert a SecureServer sends in the clear to a connection it turns away at its limits:
 * fatal internal_error ("an internal error unrelated to the peer", RFC 5246 7.2.2), 7 bytes, sent before
 * any handshake message of ours. The peer's TLS stack reports it as a received alert; a wrong secret shows
 * as bad_record_mac / decrypt_error instead, and a blocked address as a bare close.
 */
bool isBusyRefusal(QSsl::AlertLevel level, QSsl::AlertType type);

/**
 * Client side: calls \a onRefused (in \a context's thread) if the client \a channel, created but not yet
 * connected, receives the busy alert during its handshake. For RemoteNode's message.
 */
void watchForBusyRefusal(SecureChannel *channel, QObject *context, std::function<void()> onRefused);

/** What a controller reports when \a hostPort turned it away at its limits. */
QString busyRefusalReason(const QString &hostPort);

} // namespace taskfleet::net
