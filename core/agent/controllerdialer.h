// SPDX-License-Identifier: MIT
// An agent's outbound link to one controller (taskfleet-agent --connect): dial, hand over, redial with backoff.
#pragma once

#include "net/securechannel.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

namespace taskfleet::agent {

/**
 * Keeps one connection from this agent to a controller that listens (taskfleet-run --listen, the window's
 * "agents may connect" port), for agents that cannot be dialed: behind NAT or a firewall, on a Slurm node.
 *
 * The agent is the TCP and TLS client; once the TLS-PSK handshake succeeds the channel is handed out by
 * connected() and is an ordinary session from then on (hello both ways, run, results...). When that channel
 * closes, or a dial fails, the dialer dials again after a delay: 1 s after a session that lasted, else
 * doubling from 1 s up to 30 s; a wrong secret waits 30 s. Each delay has up to 25 % random jitter, so a
 * hundred agents cut off together do not all return in the same millisecond. A controller that turns the
 * agent away at its pre-authentication limits (the busy alert: many agents dialing at once) is up and
 * admits a few at a time, so that retry comes at a random moment 0.5-2.5 s later, the backoff unchanged.
 *
 * Lives on the agent's thread; never blocks. The channel handed out is owned by the receiver.
 */
class ControllerDialer : public QObject
{
    Q_OBJECT

public:
    ControllerDialer(QString host, quint16 port, net::ChannelOptions options, QObject *parent = nullptr);

    /** Dials now (and keeps redialing until stop()). */
    void start();
    /** Stops redialing; a channel already handed out is the receiver's to close. */
    void stop();

    /** "host:port" as given. */
    QString target() const;
    /** Dial attempts so far (the first included). */
    int attempts() const { return m_attempts; }
    /** True while a session over this dialer's channel is open. */
    bool isConnected() const { return !m_live.isNull(); }
    /** Why the last attempt or session ended (empty before). */
    QString lastError() const { return m_lastError; }

signals:
    /** A TLS-PSK session to the controller is up; the receiver takes \a channel over. */
    void connected(taskfleet::net::SecureChannel *channel);

private:
    void dial();
    void onDialClosed(const QString &reason);
    void onSessionClosed(const QString &reason);
    void scheduleRedial(int baseMs, const QString &reason);

    QString m_host;
    quint16 m_port;
    net::ChannelOptions m_options;
    QPointer<net::SecureChannel> m_dialing; ///< in TCP connect or the TLS handshake, owned by us
    QPointer<net::SecureChannel> m_live;    ///< handed out, owned by the session
    QTimer m_redial;
    QElapsedTimer m_sessionClock;
    int m_backoffMs = 1000;
    int m_attempts = 0;
    bool m_busy = false;
    bool m_stopped = true;
    QString m_lastError;
};

} // namespace taskfleet::agent
