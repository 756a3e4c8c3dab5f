// SPDX-License-Identifier: MIT
// A node agent as the controller sees it: sched::Node over a TLS-PSK SecureChannel.
#pragma once

#include "net/securechannel.h"
#include "node.h"
#include "protocol/messages.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QSet>
#include <QtCore/QTimer>

namespace taskfleet::sched {

/** Settings of one RemoteNode. */
struct RemoteNodeOptions {
    QString host;
    quint16 port = 0;
    net::ChannelOptions channel; ///< PSK etc. (ChannelOptions::fromSecret)
    int heartbeatTimeoutMs
        = 5000; ///< nothing from the agent this long (it sends a heartbeat every 1 s when idle): the link is dead
    int maxBackoffMs = 30000; ///< reconnect delays grow 1, 2, 4 ... up to this
    /** Credit covers the link's round trip (see credit()); off only to measure the old rule (bench_distance). */
    bool delayCredit = true;
    /**
     * The agent dials us (AgentListener; taskfleet-agent --connect): the node never dials, it adopts each
     * connection the agent makes; \a host is the agent's address, \a agentId its node id (from its hello).
     */
    bool inbound = false;
    QString agentId;
};

/**
 * A remote node agent behind one SecureChannel. Behaves like LocalNode towards the controller.
 *
 * Lifecycle: Connecting -> (TLS-PSK handshake, hello both ways) -> Online. On a lost connection, a
 * "bye" from the agent or missed heartbeats, every in-flight attempt is reported in tasksLost() and
 * the node goes Offline, then reconnects with backoff 1, 2, 4 ... 30 s, so a restarted agent rejoins.
 * A wrong secret makes it Refused ("TLS handshake failed — the secrets differ"; retried every 30 s);
 * an agent of another protocol major version makes it Incompatible (not retried).
 *
 * Flow control: credit() = the agent's advertised capacity (status) + what the node finishes while a
 * result and the next task cross the link (its bandwidth-delay product, at least a small allowance) -
 * tasks in flight. The round trip is timed by heartbeat pings, one right after hello and then one every half second (RFC
 * 6298's smoothed estimate; until the first pong the kernel's RTT of the handshakes stands in); the rate is the
 * agent's workers over the mean task runtime (before the first result a task is taken to last one round trip).
 * Once the kernel has retransmitted on the link, the delay covered is at least the round trip plus its RTO. Every submit() sends one run frame. A plugin the agent's hello listed as cached
 * runs at once; one its hello says it lacks is uploaded at once, the runs right behind it on the same stream
 * (no wait for plugin-stored); only for an agent that lists nothing (before protocol 1.3, or a cache of more
 * than MaxHelloPlugins) does a plugin-query go first and the batch wait for its answer. A plugin is uploaded at
 * most once per agent cache. Results arrive in batches. Lives on the controller's thread; never blocks
 * (plugin files are read when uploaded).
 */
class RemoteNode : public Node
{
    Q_OBJECT

public:
    explicit RemoteNode(RemoteNodeOptions options, QObject *parent = nullptr);
    ~RemoteNode() override;

    /** Starts connecting (call once, after the node was connected to the controller); nothing for an inbound node. */
    void start();
    /**
     * Inbound nodes: takes over \a channel, a TLS session the agent opened to our AgentListener, whose
     * first frame \a agentHello the listener already read. A link still open is dropped first (the agent
     * redialed before we noticed the old one die); its tasks are reported lost as usual.
     */
    void adopt(net::SecureChannel *channel, const QCborMap &agentHello);

    /**
     * address(), stable for the node's lifetime: "host:port" for a dialed node; "dialed in from HOST, AGENTID8"
     * for an inbound one (its address and the first 8 characters of its node id: a redial from another port
     * is the same node, two agents on one host are two).
     */
    QString id() const override;
    /** True for a node whose agent dialed us (taskfleet-agent --connect). */
    bool isInbound() const { return m_options.inbound; }
    /** Inbound nodes: the agent's node id they were created for (empty for dialed nodes). */
    QString inboundAgentId() const { return m_options.agentId; }
    /** The agent's Slurm job id and node name from its hello; empty when it does not run under Slurm. */
    QString slurmJob() const { return m_peer.slurmJob; }
    QString slurmNode() const { return m_peer.slurmNode; }
    QString name() const override;
    QString address() const override;
    NodeState state() const override { return m_state; }
    QString stateReason() const override { return m_reason; }
    int workerCount() const override { return m_workers; }
    int busyWorkers() const override { return m_busy; }
    int credit() const override;
    [[nodiscard]] bool canRun(const exec::PluginInfo &plugin, QString *why) const override;
    void submit(const exec::PluginInfo &plugin, qint64 timeoutMs, const exec::JobParametersPtr &parameters,
                QVector<NodeTask> tasks) override;
    void cancel(const QVector<quint64> &attempts) override;
    void setWorkerCount(int count) override;
    /** Drops the link (in-flight tasks reported lost) and connects again now, backoff reset; also leaves Incompatible/Refused. */
    void reconnect() override;

    /** The agent's persistent node id (from its hello; empty before). */
    QString agentNodeId() const { return m_peer.nodeId; }
    QString agentAbi() const { return m_peer.abi; }
    /** Plugin files this node uploaded (each upload counted once). */
    int uploads() const { return m_uploads; }
    /** The agent's machine from its hello and latest status (unknown before; fields an older agent lacks stay unknown). */
    util::HostInfo hostInfo() const override;
    /** The last status the agent pushed. */
    protocol::Status lastStatus() const { return m_status; }
    /** Connection attempts that ended without reaching Online. */
    int failedAttempts() const { return m_failedAttempts; }
    /**
     * The last attempt failed in a way that trying again soon will not change: nothing listens there, or the host
     * name is unknown. An overloaded agent (refusing or closing new connections) is not such a failure.
     */
    bool lastFailureDefinite() const { return m_lastFailureDefinite; }
    /**
     * The one rule by which taskfleet-run (jobs and sessions) stops waiting for this node before its connect
     * timeout: a wrong secret, another protocol version, or two attempts that failed definitely (nothing listens,
     * unknown host). An overloaded agent is waited for.
     */
    bool hasDefinitelyFailed() const
    {
        return m_state == NodeState::Refused || m_state == NodeState::Incompatible
               || (m_state == NodeState::Offline && m_failedAttempts >= 2 && m_lastFailureDefinite);
    }
    /** True while a reconnect is pending (the backoff timer runs); never for an Incompatible node. */
    bool reconnectScheduled() const { return m_reconnect.isActive(); }
    bool hasBeenOnline() const { return m_everOnline; }
    int inFlight() const { return int(m_inFlight.size()); }
    /** Smoothed round trip to the agent in microseconds (heartbeat pings); 0 before the first pong. */
    qint64 roundTripUs() const { return qint64(m_srttUs); }
    /** Tasks of credit given beyond the agent's capacity to cover the round trip (see credit()). */
    int delayCredit() const;

signals:
    /** The agent pushed a status frame. */
    void statusReceived();

private:
    struct PendingRun {
        qint64 timeoutMs = 0;
        exec::JobParametersPtr parameters;
        QVector<NodeTask> tasks;
    };
    struct PluginEntry {
        enum class Stage { Querying, Uploading, Ready, Rejected } stage = Stage::Querying;
        exec::PluginInfo info;
        QVector<PendingRun> waiting;
        QString reason;
    };

    void connectNow();
    void onReady();
    void onMessage(const QCborMap &message);
    void onClosed(const QString &reason);
    void onTick();
    void handleHello(const QCborMap &message);
    void handleResults(const QCborMap &message);
    void handleStatus(const QCborMap &message);
    void handlePluginHave(const QCborMap &message);
    void handlePluginStored(const QCborMap &message);
    void handlePluginRejected(const QCborMap &message);
    void sendRun(const QByteArray &sha, const PendingRun &run);
    void upload(PluginEntry &entry);
    void failWaiting(PluginEntry &entry, exec::Outcome outcome, const QString &reason);
    void emitLater(QVector<exec::WorkResult> results);
    bool send(const QCborMap &message);
    void setState(NodeState state, const QString &reason);
    void dropConnection(const QString &reason);
    void addRoundTripSample(qint64 us);
    /** Reads the kernel's RTO and whether it retransmitted on this link (TCP_INFO; for the delay credit). */
    void readTcpPath();
    /** A timeline event of this node (net::timelineEvent; nothing unless TASKFLEET_TIMELINE is set). */
    void mark(const char *event, const QByteArray &detail = {}) const;
    void ping();

    RemoteNodeOptions m_options;
    net::SecureChannel *m_channel = nullptr;
    NodeState m_state = NodeState::Connecting;
    QString m_reason;
    protocol::Hello m_peer;
    bool m_helloReceived = false;
    bool m_everOnline = false;
    bool m_onlineThisAttempt = false;
    QString m_agentError;     ///< text of an error frame from the agent
    bool m_agentBusy = false; ///< this attempt was turned away at the agent's pending-handshake limit
    protocol::Status m_status;
    quint64 m_bytesHeard = 0;          ///< the channel's received bytes when last checked
    QSet<QByteArray> m_parametersSent; ///< job parameters the agent holds for this connection
    int m_workers = 0;
    int m_busy = 0;
    int m_capacity = 0;
    int m_pendingWorkerCount = -1;
    QSet<quint64> m_inFlight;
    QHash<QByteArray, PluginEntry> m_plugins;
    QSet<QByteArray> m_agentPlugins;     ///< plugins the agent's hello listed as cached (protocol 1.3)
    bool m_agentPluginsComplete = false; ///< ... and that list is its whole cache
    int m_uploads = 0;
    int m_failedAttempts = 0;
    bool m_lastFailureDefinite = false;
    int m_backoffMs = 1000;
    QTimer m_reconnect;
    QTimer m_tick;
    QElapsedTimer m_clock;
    qint64 m_lastHeardMs = 0;
    qint64 m_lastSentMs = 0;
    // Round trip (RFC 6298 estimator) and task runtime, for the delay part of the credit.
    double m_srttUs = 0;
    double m_rttVarUs = 0;
    double m_meanRuntimeUs = 0;
    bool m_srttProvisional = false; ///< m_srttUs is the kernel's (handshakes) until the first pong replaces it
    qint64 m_kernelRtoUs = 0;       ///< the kernel's retransmission timeout for this link (0: unknown)
    bool m_lossSeen = false;        ///< the kernel retransmitted on this link: the credit covers its RTO too
    qint64 m_pingSeq = 0;
    qint64 m_pingWaiting = -1; ///< ping number awaiting its pong, -1 for none
    qint64 m_pingSentUs = 0;
};

} // namespace taskfleet::sched
