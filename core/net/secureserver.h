// SPDX-License-Identifier: MIT
// TCP listener that turns accepted connections into TLS-PSK SecureChannels, with per-address rate limiting.
#pragma once

#include "net/securechannel.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtNetwork/QHostAddress>

namespace taskfleet::net {

/** Settings of a SecureServer. */
struct ServerOptions
{
    /** Given to every accepted channel (PSK, frame limit, handshake timeout, send buffer limit). */
    ChannelOptions channel;
    /** Connections still in the TLS handshake; more are closed at once. */
    int maxPendingHandshakes = 64;
    /** All open connections (handshaking + established); more are closed at once. */
    int maxConnections = 1024;
    /** This many failed handshakes from one address within failureWindowMs block that address (0 disables)... */
    int failureLimit = 5;
    int failureWindowMs = 60000;
    /** ...for this long: its connections are closed right after accept, without any TLS work. */
    int blockMs = 60000;
};

/** Counters of a SecureServer since it was created. */
struct ServerCounters
{
    quint64 accepted = 0;            ///< TCP connections that got a TLS handshake
    quint64 established = 0;         ///< handshakes that succeeded (channelReady emitted)
    quint64 failedHandshakes = 0;    ///< handshakes that failed or timed out
    quint64 rejectedRateLimited = 0; ///< connections closed unread because their address is blocked
    quint64 rejectedBusy = 0;        ///< connections closed because of maxPendingHandshakes / maxConnections
    quint64 blockedAddresses = 0;    ///< times an address was blocked
};

/**
 * Accepts TCP connections and runs the server side of the TLS-PSK handshake on each.
 *
 * Only a connection whose handshake succeeds reaches the user, through channelReady(). A failed
 * handshake (wrong secret, no TLS, silence past the handshake timeout) is logged with the peer
 * address and reason, counted, and counts against the peer address: after failureLimit failures
 * within failureWindowMs the address is blocked for blockMs, and its connections are closed
 * immediately after accept. Pending handshakes and open connections are capped.
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
    int openConnections() const { return int(m_pending.size() + m_established.size()); }
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
    struct FailureRecord
    {
        QList<qint64> times; ///< failure times (ms on m_clock) within the window
        qint64 blockedUntil = -1;
    };

    void onIncomingConnection(qintptr descriptor);
    void onChannelReady(SecureChannel *channel);
    void onChannelClosed(SecureChannel *channel, const QString &reason);
    void recordFailure(const QHostAddress &address);
    void pruneFailures(qint64 now);

    ServerOptions m_options;
    Listener *m_listener;
    QElapsedTimer m_clock;
    QSet<SecureChannel *> m_pending;
    QSet<SecureChannel *> m_established;
    QHash<QHostAddress, FailureRecord> m_failures;
    ServerCounters m_counters;
    QString m_error;
};

} // namespace taskfleet::net
