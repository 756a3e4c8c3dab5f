// SPDX-License-Identifier: MIT
// The controller's side of reverse connections: agents that dial in become (or rejoin) RemoteNodes.
#pragma once

#include "net/secureserver.h"
#include "remotenode.h"

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtNetwork/QHostAddress>

#include <memory>

namespace taskfleet::sched {

class Controller;

/** Settings of an AgentListener. */
struct AgentListenerOptions {
    /**
     * The TLS listener's pre-authentication limits: the very same net::SecureServer (and defaults) as an
     * agent's own listener, so a flood costs a controller no more than it costs an agent.
     */
    net::ServerOptions server;
    /** Given to every node an agent creates by dialing in (heartbeat timeout, credit...). */
    RemoteNodeOptions node;
    /** An authenticated agent must send its hello within this; else the link is closed. */
    int helloTimeoutMs = 10000;
};

/**
 * Accepts agents that dial the controller (taskfleet-agent --connect): for NAT, firewalls and Slurm nodes,
 * where the controller cannot dial them.
 *
 * A connection must pass the TLS-PSK handshake (net::SecureServer: wrong secrets, floods and silent
 * connections are dealt with there, as on an agent) and then send the agent's hello. The hello's node id
 * says which agent it is: the first link of an agent adds an inbound RemoteNode to the controller, a later
 * one (after a cut link, an agent restart...) is handed to that same node, so its statistics, colour and
 * worker setting carry on. Tasks on a link that broke were already reported lost by the node and run again
 * elsewhere, exactly once, as for dialed agents.
 *
 * Lives on the controller's thread; never blocks.
 */
class AgentListener : public QObject
{
    Q_OBJECT

public:
    AgentListener(Controller *controller, AgentListenerOptions options, QObject *parent = nullptr);
    ~AgentListener() override;

    /** Listens on \a address:\a port (0: any free port). False with errorString() on failure (no secret, port taken). */
    bool listen(const QHostAddress &address, quint16 port);
    void close();
    quint16 port() const;
    QHostAddress address() const;
    QString errorString() const { return m_error; }
    net::ServerCounters counters() const;
    /** Agents that dialed in and said hello (each counted once per connection). */
    int agentsAccepted() const { return m_accepted; }

signals:
    /** An agent dialed in for the first time: \a node is new in the controller. */
    void nodeAdded(taskfleet::sched::RemoteNode *node);
    /** An authenticated connection was dropped before it became a node (bad or missing hello). */
    void agentRefused(const QString &peer, const QString &reason);

private:
    void onChannelReady(net::SecureChannel *channel);
    void onFirstMessage(net::SecureChannel *channel, const QCborMap &message);
    void refuse(net::SecureChannel *channel, const QString &reason);
    RemoteNode *findInbound(const QString &agentId) const;

    Controller *m_controller;
    AgentListenerOptions m_options;
    std::unique_ptr<net::SecureServer> m_server;
    QString m_error;
    int m_accepted = 0;
};

} // namespace taskfleet::sched
