// SPDX-License-Identifier: MIT
// Turns discovered node agents into RemoteNodes of a Controller, and reports rejected beacons.
#pragma once

#include "net/discoverylistener.h"
#include "remotenode.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QSet>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

namespace taskfleet::sched {

class Controller;

/**
 * Wires a net::DiscoveryListener to a Controller.
 *
 * For every node agent announced with the cluster secret it adds one RemoteNode (host = sender
 * address of the announcement, port = TCP port in it) to the controller and starts it:
 * - a node id seen again at another address or TCP port: if its RemoteNode is not Online it is
 *   replaced at once (the old one is removed from the controller, its tasks go back to the queue);
 *   if it is Online, nothing changes until a TLS session at the new endpoint authenticates as the
 *   same node id (make before break): then that verified RemoteNode replaces the old one. A
 *   beacon re-sent from elsewhere (an authentic one an attacker captured or minted with a replayed
 *   probe) thus costs one failed connection attempt, not the live session. After a failed check
 *   that endpoint is not tried again for verifyRetryMs; an endpoint verified once is an alias of
 *   the node (multi-homed agents) and never moves an Online node back;
 * - a node that stopped announcing is removed when it is not Online (its tasks were already
 *   rescheduled when the link dropped); an Online node stays, TLS heartbeats decide;
 * - a known node announcing while its link is down is connected again at once (no backoff), so a
 *   restarted agent rejoins within one announcement;
 * - a node that the controller already has from elsewhere (a manual --node HOST:PORT, matched by
 *   address and port or, once connected, by the agent's node id) is not added twice; a discovered
 *   node that turns out to be a manual one later is removed again.
 *
 * Rejected beacons (other secret, clock off, other version) are summarised by the listener;
 * rejectionsChanged() is emitted when the summary text changes (checked every
 * summaryIntervalMs) and eventLogged() carries it, and everything else worth a log line, as
 * text; eventLogged() is forwarded to Controller::eventLogged(). Lives on the controller's
 * thread; never blocks.
 */
class ClusterDiscovery : public QObject
{
    Q_OBJECT

public:
    /** \a controller must outlive this object; \a secret is the cluster secret (beacon key and PSK). */
    ClusterDiscovery(Controller *controller, const QByteArray &secret, QObject *parent = nullptr);
    ~ClusterDiscovery() override;

    /** Where to listen and probe; takes effect at start(). */
    void setListenerConfig(const net::ListenerConfig &config) { m_listenerConfig = config; }
    net::ListenerConfig listenerConfig() const { return m_listenerConfig; }
    /** Template for the RemoteNodes created (host and port are filled in); the channel's PSK comes from the secret. */
    void setNodeOptions(const RemoteNodeOptions &options);
    /** After a failed make-before-break check, the same endpoint is not tried again for this long (default 30 s). */
    void setVerifyRetryMs(int ms) { m_verifyRetryMs = ms; }
    /** How often the rejection summary is checked for changes (default 1000 ms). */
    void setSummaryIntervalMs(int ms) { m_summaryTimer.setInterval(ms); }

    /** Binds the discovery sockets and probes. False (with \a error) if the port cannot be bound. */
    [[nodiscard]] bool start(QString *error = nullptr);
    void stop();
    bool isRunning() const;

    /** Sends a probe now (agents of this cluster answer at once). */
    void probe();

    /** The listener's summary, e.g. "2 agents at 10.0.0.7, 10.0.0.9 answer with another secret"; empty if none. */
    QString rejectionSummary() const;
    /** Controller node ids ("host:port") of the nodes this object added and still owns in the controller. */
    QStringList discoveredNodeIds() const;
    /** Node agents accepted by discovery so far (including those skipped as manual duplicates). */
    int agentsSeen() const { return int(m_agents.size()); }
    net::DiscoveryListener *listener() const { return m_listener; }

signals:
    /** A RemoteNode was added to the controller for a discovered agent. */
    void nodeAdded(const QString &controllerNodeId, const taskfleet::net::DiscoveredNode &node);
    /** A discovered RemoteNode was removed from the controller (expired while not online, moved, duplicate). */
    void nodeRemoved(const QString &controllerNodeId);
    /** The rejection summary changed (may become empty when old rejections age out). */
    void rejectionsChanged(const QString &summary);
    /** A line for a log panel or stderr. */
    void eventLogged(const QString &message);

private:
    struct Agent {
        net::DiscoveredNode last;
        QPointer<RemoteNode> node;      ///< nullptr when not (or no longer) added by us
        bool manual = false;            ///< the controller has it from elsewhere
        QPointer<RemoteNode> candidate; ///< make-before-break check of a new endpoint (not in the controller)
        net::DiscoveredNode candidateSeen;
        QHash<QString, qint64> failedEndpoints; ///< endpoint -> when its check failed (monotonic ms)
        QSet<QString> aliases;                  ///< endpoints verified as this node
    };

    void onNodeSeen(const net::DiscoveredNode &node);
    void onNodeExpired(const QUuid &nodeId);
    void onSummaryTick();
    void addRemote(Agent &agent);
    void removeRemote(Agent &agent, const QString &why);
    void startCandidate(Agent &agent, const net::DiscoveredNode &seen, const QString &label);
    void onCandidateStateChanged(const QUuid &nodeId);
    void dropCandidate(Agent &agent);
    /** A node of the controller not made by us that is this agent (by endpoint or agent node id). */
    Node *foreignTwin(const net::DiscoveredNode &node) const;

    Controller *m_controller;
    QByteArray m_secret;
    net::DiscoveryListener *m_listener;
    net::ListenerConfig m_listenerConfig;
    RemoteNodeOptions m_nodeOptions;
    QHash<QUuid, Agent> m_agents;
    QTimer m_summaryTimer;
    QString m_lastSummary;
    int m_verifyRetryMs = 30000;
    QElapsedTimer m_monotonic;
};

/** "address:port" of a discovered node as RemoteNode::address() writes it (IPv4-mapped shown as IPv4). */
QString discoveredEndpoint(const net::DiscoveredNode &node);

} // namespace taskfleet::sched
