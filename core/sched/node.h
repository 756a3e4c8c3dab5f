// SPDX-License-Identifier: MIT
// The controller's view of a place that runs tasks: the embedded local node or a remote agent.
#pragma once

#include "exec/pluginregistry.h"
#include "exec/workerprotocol.h"
#include "util/hostinfo.h"

#include <QtCore/QObject>

namespace taskfleet::sched {

enum class NodeState {
    Connecting,
    Online,
    Offline,     ///< was reachable, is not now; will be retried
    Refused,     ///< authentication failed (other secret); retried rarely
    Incompatible ///< protocol version mismatch; not retried
};

QString nodeStateName(NodeState state);

/** One task sent to a node. attempt is the controller's id for this try of this task. */
struct NodeTask {
    quint64 attempt = 0;
    QCborValue input;
};

/**
 * A node, as the controller sees it. The controller gives it at most credit() tasks; it answers
 * each with exactly one result in resultsArrived() (matched by attempt id), or lists it in
 * tasksLost() when it can no longer say (connection gone). Implementations live on the
 * controller's thread and never block.
 */
class Node : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    /** Stable identity: "local", or the agent's persistent node id. */
    virtual QString id() const = 0;
    virtual QString name() const = 0;
    /** "local", or host:port. */
    virtual QString address() const = 0;
    virtual bool isLocal() const { return false; }
    virtual NodeState state() const = 0;
    /** Why the node is in its state, for people ("TLS handshake failed — the secrets differ"). */
    virtual QString stateReason() const { return {}; }
    virtual int workerCount() const = 0;
    virtual int busyWorkers() const = 0;
    /** Workers started and ready for their first task (a remote node's are as soon as it is online). */
    virtual int readyWorkers() const { return workerCount(); }
    /** How many more tasks the node takes now (credit-based flow control). */
    virtual int credit() const = 0;
    /** Whether the node can run this plugin (ABI, availability); *why explains a no. */
    [[nodiscard]] virtual bool canRun(const exec::PluginInfo &plugin, QString *why) const = 0;
    /** Runs \a tasks of one job: its plugin, per-task timeout and shared parameters (may be null). */
    virtual void submit(const exec::PluginInfo &plugin, qint64 timeoutMs, const exec::JobParametersPtr &parameters,
                        QVector<NodeTask> tasks)
        = 0;
    virtual void cancel(const QVector<quint64> &attempts) = 0;
    virtual void setWorkerCount(int count) = 0;
    /** Drops the connection (if any) and connects again at once; nodes without one ignore it. */
    virtual void reconnect() { }
    /** The node's machine: load, memory, OS, version, how long its agent has run (unknown fields -1 / empty). */
    virtual util::HostInfo hostInfo() const { return {}; }

signals:
    void resultsArrived(const QVector<taskfleet::exec::WorkResult> &results);
    void creditAvailable();
    void stateChanged();
    void tasksLost(const QVector<quint64> &attempts, const QString &reason);
    void workerCountChanged(int count);
    /** Something a person may want to read in a log panel. */
    void eventLogged(const QString &message);
};

} // namespace taskfleet::sched
