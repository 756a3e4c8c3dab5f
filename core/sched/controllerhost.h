// SPDX-License-Identifier: MIT
// Runs a Controller (and its local node) on a thread of its own, for a window to drive.
#pragma once

#include "controller.h"
#include "net/discoverylistener.h"
#include "snapshot.h"
#include "taskreport.h"

#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QThread>

#include <functional>

namespace taskfleet::sched {

/** How a ControllerHost sets up its controller. */
struct ControllerHostOptions {
    int localWorkers = -1;            ///< workers of the embedded local node; -1: logical CPU count
    QString workerProgram;            ///< empty: TASKFLEET_WORKER, else taskfleet-worker beside the program
    int snapshotIntervalMs = 250;     ///< how often snapshotReady() is emitted
    int resultFlushMs = 100;          ///< how often collected result records are handed on
    int historySeconds = 120;         ///< throughput history carried by each snapshot
    qint64 workerValueCacheBytes = 0; ///< shared values each local worker keeps (0: the pool's default)
};

/**
 * Owns a QThread running a Controller with an embedded LocalNode.
 *
 * Every public method may be called from any thread: it posts the work to the controller's
 * thread (queued) and returns at once. What the controller does comes back through queued
 * signals: a snapshot every snapshotIntervalMs (and right after a command), task records
 * collected per job and handed on every resultFlushMs (never one signal per task), and the
 * controller's log lines. The controller is never touched from outside its thread.
 *
 * The destructor stops the controller (ending its workers), optionally writes the statistics
 * CSV set with setExitStatisticsPath(), and joins the thread.
 */
class ControllerHost : public QObject
{
    Q_OBJECT

public:
    /** Builds a node on the controller's thread; the controller takes ownership. */
    using NodeFactory = std::function<Node *()>;

    explicit ControllerHost(ControllerHostOptions options = {}, QObject *parent = nullptr);
    ~ControllerHost() override;

    /** Starts the thread and creates the controller and the local node there. */
    void start();

    /** Queues a job; jobSubmitted() tells its id. */
    void submit(const JobSpec &spec);
    void pauseJob(int jobId);
    void resumeJob(int jobId);
    void cancelJob(int jobId);
    void setJobPriority(int jobId, int priority);
    /** Controller::removeJob on the controller's thread (only a job that is over goes). */
    void removeJob(int jobId);
    /**
     * Asks for the job's TaskReport; it arrives through taskReportReady(), after every record taken
     * before it (so a task that stopped running is never shown as queued).
     */
    void requestTaskReport(int jobId);
    /** Changes a node's worker count at once (grows now, shrinks by draining). */
    void setNodeWorkerCount(const QString &nodeId, int count);
    /** Adds a node made by \a factory on the controller's thread (remote node types plug in here). */
    void addNode(NodeFactory factory);
    void removeNode(const QString &nodeId);
    /** Drops a remote node's connection and connects again at once (Node::reconnect()). */
    void reconnectNode(const QString &nodeId);
    /** Controller::setNodeDraining on the controller's thread. */
    void setNodeDraining(const QString &nodeId, bool draining);
    /**
     * Starts discovery on the controller's thread (a ClusterDiscovery, replacing any running one):
     * agents announcing with \a secret are added as RemoteNodes; rejected announcements are
     * summarised in discoveryRejectionsChanged() and logged. A port that cannot be bound is logged.
     */
    void enableDiscovery(const net::ListenerConfig &config, const QByteArray &secret);
    /** Stops discovery; the nodes it added stay. */
    void disableDiscovery();
    /**
     * Lets agents dial this controller (taskfleet-agent --connect): an AgentListener on \a address:\a port
     * (0: any free port), replacing any running one, with the PSK of \a secret. agentListenerChanged() tells
     * the port, or why it could not listen.
     */
    void enableAgentListener(const QHostAddress &address, quint16 port, const QByteArray &secret);
    /** Stops accepting agents; the nodes of agents that dialed in stay (offline once their link ends). */
    void disableAgentListener();
    /**
     * Lets Python scripts of this user attach (taskfleet.Server(attach=True)): a ScriptServer at \a path
     * on the controller's thread, running their jobs with \a python. Their jobs come back through
     * jobSubmitted() with JobSpec::origin set. Success or failure is logged (eventLogged()).
     */
    void enableScriptServer(const QString &path, const exec::PluginInfo &python);
    /** Writes the statistics CSV set; statisticsExported() tells the files or the error. */
    void exportStatistics(const QString &path);
    /** Where to write the statistics CSV when the host is destroyed; empty: nowhere. */
    void setExitStatisticsPath(const QString &path);
    /** Asks for a snapshot now (it arrives through snapshotReady()). */
    void requestSnapshot();

    /** The latest snapshot taken (thread-safe copy). */
    ClusterSnapshot lastSnapshot() const;

signals:
    void started();
    void snapshotReady(const taskfleet::sched::ClusterSnapshot &snapshot);
    /** \a spec is the job as submitted (its inputs, for showing them beside results). */
    void jobSubmitted(int jobId, const taskfleet::sched::JobSpec &spec);
    /** Job \a jobId got more tasks (Controller::addTasks: an attached script's loop), from index \a first. */
    void tasksAdded(int jobId, int first, const QVector<QCborValue> &inputs);
    void resultsRecorded(int jobId, const QVector<taskfleet::sched::TaskRecord> &records);
    void jobFinished(int jobId);
    void taskReportReady(const taskfleet::sched::TaskReport &report);
    void eventLogged(const QString &message);
    void statisticsExported(const QStringList &files, const QString &error);
    /** The agent listener now listens on \a port (0: it does not; \a error says why, empty when switched off). */
    void agentListenerChanged(quint16 port, const QString &error);
    /** Discovery's summary of rejected agents ("2 agents at … answer with another secret"); empty: none. */
    void discoveryRejectionsChanged(const QString &summary);

private:
    class Backend;
    /** Runs \a work on the controller's thread once the controller exists. */
    void post(std::function<void(Controller *)> work);
    void storeSnapshot(const ClusterSnapshot &snapshot);

    ControllerHostOptions m_options;
    QThread m_thread;
    Backend *m_backend = nullptr;
    mutable QMutex m_mutex;
    ClusterSnapshot m_lastSnapshot;
    QString m_exitStatsPath;
};

} // namespace taskfleet::sched

Q_DECLARE_METATYPE(taskfleet::sched::JobSpec)
