// SPDX-License-Identifier: MIT
// The node agent's service: accepts controllers over TLS-PSK and runs their tasks in one shared worker pool.
#pragma once

#include "agent/parameterstore.h"
#include "exec/plugincache.h"
#include "exec/workerpool.h"
#include "net/secureserver.h"
#include "protocol/messages.h"
#include "util/hostinfo.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QStringList>
#include <QtCore/QTimer>
#include <QtNetwork/QHostAddress>

#include <memory>

namespace taskfleet::agent {

/** Everything the agent service needs; filled by taskfleet-agent's main() from its options. */
struct AgentOptions {
    QString stateDir; ///< agent.ini, plugins/ (and the generated secret)
    QHostAddress address = QHostAddress::Any;
    quint16 port = 45450;
    bool listen = true;           ///< false (--no-listen): only the controllers in connectTo, dialed by the agent
    QStringList connectTo;        ///< controllers to dial ("HOST:PORT", --connect), redialed when the link drops
    int workers = -1;             ///< -1: the saved count, else logical CPUs
    bool workersExplicit = false; ///< true: \a workers wins over the saved count
    bool restartWorkers = false;
    int socketTimeoutSeconds = 30; ///< a controller silent this long is dropped
    int idleExitSeconds = 0;       ///< 0: never; else emit idleExpired() after this long without controllers
    QString workerProgram;         ///< empty: exec::WorkerPool::defaultWorkerProgram()
    QByteArray secret;             ///< the cluster secret (the PSK is derived from it)
    bool allowCommand = false;     ///< run plugins whose metadata says "runsPrograms" (--allow-command)
    bool allowPython = true;       ///< run plugins whose metadata says "interpreter": "python" (off: --no-python)
    qint64 cacheLimitBytes
        = qint64(1) << 30; ///< plugin cache cap, least recently used evicted (0 = none; --cache-limit)
    /** Bound of the job parameters (shared values) held for all controllers (0 = none; --value-cache). */
    qint64 valueCacheLimitBytes = ParameterStore::DefaultLimitBytes;
};

/** Counters shown by SIGUSR1 and in status frames. */
struct AgentCounters {
    qint64 sessionsAccepted = 0;
    qint64 sessionsRefused = 0; ///< hello refused (version, role) or protocol errors
    qint64 tasksReceived = 0;
    qint64 tasksDone = 0; ///< final results (values and plugin errors)
    qint64 failures = 0;  ///< crashes, timeouts, load failures
    qint64 cancelled = 0;
    qint64 pluginUploads = 0; ///< uploads verified and stored
    qint64 pluginUploadsRejected = 0;
    quint64 bytesReceivedClosed = 0; ///< bytes controllers sent on connections that have closed
};

/**
 * The agent: a net::SecureServer accepting controllers, one session per connection, one WorkerPool shared by
 * all sessions, and a PluginCache.
 *
 * Per session: both sides send hello first (version/role checked; a mismatch is refused with an error
 * frame that the controller shows); then run/cancel/set-workers/plugin-* from the controller, and
 * results (coalesced per event-loop turn, never one frame per task), status (at most every 250 ms, and
 * only when something changed or as a keep-alive) and heartbeats from the agent. Tasks are tagged with
 * their session in the pool, so results route back; when a session ends, its tasks are cancelled. A
 * malformed frame closes that session with the reason (logged); other sessions are unaffected.
 *
 * set-workers is applied at once (grow now, shrink by draining) and saved in <stateDir>/agent.ini.
 * Lives on one thread; never blocks.
 */
class ControllerDialer;

class AgentServer : public QObject
{
    Q_OBJECT

public:
    explicit AgentServer(AgentOptions options, QObject *parent = nullptr);
    ~AgentServer() override;

    /** Opens the pool, listens (unless told not to) and dials the controllers of connectTo. False with errorString() on failure. */
    bool start();
    /** Tells every controller "bye" with \a reason, closes the sessions and stops listening; emits stopped() soon after. */
    void stop(const QString &reason);

    QString errorString() const { return m_error; }
    quint16 port() const;
    QHostAddress address() const;
    int workerCount() const { return m_pool ? m_pool->workerCount() : 0; }
    /** Workers running a task now (announced by discovery). */
    int busyWorkers() const { return m_pool ? m_pool->busyWorkers() : 0; }
    QString nodeId() const { return m_nodeId; }
    AgentCounters counters() const { return m_counters; }
    int sessionCount() const { return int(m_sessions.size()); }
    /** Controllers this agent dials (--connect), connected or not. */
    QList<ControllerDialer *> dialers() const { return m_dialers; }
    /** Multi-line statistics for SIGUSR1. */
    QString statisticsText() const;
    /** The path of <stateDir>/agent.ini. */
    QString settingsPath() const;

signals:
    /** After stop(): frames were flushed; the process may exit. */
    void stopped();
    /** No controller was connected for idleExitSeconds. */
    void idleExpired();

private:
    struct Session;
    quint32 m_nextLane = 0;
    struct PoolRef {
        Session *session = nullptr; ///< nullptr once the session ended
        quint64 attempt = 0;
    };

    void onChannelReady(net::SecureChannel *channel);
    void onMessage(Session *s, const QCborMap &message);
    void onChannelClosed(Session *s, const QString &reason);
    void onPoolResults(const QVector<exec::WorkResult> &results);
    void onTick();
    void handleHello(Session *s, const QCborMap &message);
    void handleRun(Session *s, const QCborMap &message);
    /**
     * The run's job parameters: its value (verified, stored once for the node) or the one the store holds. *evicted:
     * the run names a value evicted since it was sent here (its tasks go back as lost). False: protocol error sent.
     */
    bool resolveParameters(Session *s, const protocol::Run &run, exec::JobParametersPtr *out, bool *evicted);
    /** Tells the controllers that sent them that \a ids were evicted; logs the store's state when it changes. */
    void announceEvicted(const QVector<QByteArray> &ids);
    void handleCancel(Session *s, const QCborMap &message);
    void handleSetWorkers(Session *s, const QCborMap &message);
    void handlePluginQuery(Session *s, const QCborMap &message);
    void handlePluginUpload(Session *s, const QCborMap &message);
    void protocolError(Session *s, const QString &reason);
    void scheduleFlush();
    void flushResults();
    protocol::Status currentStatus() const;
    void pushStatus(bool force);
    void saveWorkerCount(int count);
    /** A timeline event of this agent (net::timelineEvent; nothing unless TASKFLEET_TIMELINE is set). */
    void mark(const char *event, const QByteArray &detail = {}) const;

    AgentOptions m_options;
    std::unique_ptr<net::SecureServer> m_server;
    QList<ControllerDialer *> m_dialers;
    std::unique_ptr<exec::WorkerPool> m_pool;
    exec::PluginCache m_cache;
    ParameterStore m_parameters;
    bool m_parametersFullLogged = false;
    /** The store may pass its bound by values queued tasks hold, up to this many bounds. */
    static constexpr int HardParameterFactor = 4;
    QHash<net::SecureChannel *, Session *> m_sessions;
    QHash<quint64, PoolRef> m_poolTasks; ///< pool id -> session and the controller's attempt id
    quint64 m_nextPoolId = 0;
    bool m_flushScheduled = false;
    bool m_stopping = false;
    QTimer m_tick;
    QElapsedTimer m_clock;
    util::HostInfo m_host; ///< this machine, read every HostInfoRefreshMs
    qint64 m_hostReadMs = 0;
    qint64 m_idleSinceMs = 0;
    AgentCounters m_counters;
    QString m_nodeId;
    QString m_timelineName; ///< empty unless the timeline is on
    QString m_error;
};

} // namespace taskfleet::agent
