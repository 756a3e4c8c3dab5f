// SPDX-License-Identifier: MIT
// The embedded local node: worker processes on this computer, always present.
#pragma once

#include "exec/workerpool.h"
#include "node.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>

namespace taskfleet::sched {

/** A Node backed by a WorkerPool in this process. Worker count 0 is allowed (remote-only). */
class LocalNode : public Node
{
    Q_OBJECT

public:
    explicit LocalNode(exec::WorkerPoolOptions options, QObject *parent = nullptr);

    QString id() const override { return QStringLiteral("local"); }
    QString name() const override;
    QString address() const override { return QStringLiteral("local"); }
    bool isLocal() const override { return true; }
    NodeState state() const override { return NodeState::Online; }
    int workerCount() const override { return m_pool.workerCount(); }
    int busyWorkers() const override { return m_pool.busyWorkers(); }
    int readyWorkers() const override { return m_pool.readyWorkers(); }
    int credit() const override;
    [[nodiscard]] bool canRun(const exec::PluginInfo &plugin, QString *why) const override;
    void submit(const exec::PluginInfo &plugin, qint64 timeoutMs, const exec::JobParametersPtr &parameters,
                QVector<NodeTask> tasks) override;
    void cancel(const QVector<quint64> &attempts) override { m_pool.cancel(attempts); }
    void setWorkerCount(int count) override { m_pool.setWorkerCount(count); }

    /** This machine (read at most every 2 s); uptime is how long this node has existed. */
    util::HostInfo hostInfo() const override;

    exec::WorkerPool &pool() { return m_pool; }

private:
    exec::WorkerPool m_pool;
    QElapsedTimer m_age;
    mutable util::HostInfo m_host;
    mutable qint64 m_hostReadMs = -1;
    /** Plugin files seen to exist, and when (m_age): looked at again after a second, not per dispatch. */
    mutable QHash<QString, qint64> m_pluginSeenMs;
    QString m_name; // asked for once per finished task: computed once
};

} // namespace taskfleet::sched
