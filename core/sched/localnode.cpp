// SPDX-License-Identifier: MIT
#include "localnode.h"

#include <QtCore/QFileInfo>
#include <QtNetwork/QHostInfo>

namespace taskfleet::sched {

QString nodeStateName(NodeState state)
{
    switch (state) {
    case NodeState::Connecting:
        return QStringLiteral("connecting");
    case NodeState::Online:
        return QStringLiteral("online");
    case NodeState::Offline:
        return QStringLiteral("offline");
    case NodeState::Refused:
        return QStringLiteral("refused");
    case NodeState::Incompatible:
        return QStringLiteral("incompatible");
    }
    return QStringLiteral("unknown");
}

LocalNode::LocalNode(exec::WorkerPoolOptions options, QObject *parent)
    : Node(parent)
    , m_pool(std::move(options))
    , m_name(QHostInfo::localHostName() + QStringLiteral(" (local)"))
{
    connect(&m_pool, &exec::WorkerPool::resultsReady, this, [this](const QVector<exec::WorkResult> &results) {
        emit resultsArrived(results);
        emit creditAvailable();
    });
    connect(&m_pool, &exec::WorkerPool::workerCountChanged, this, [this](int count) {
        emit workerCountChanged(count);
        emit creditAvailable();
    });
    connect(&m_pool, &exec::WorkerPool::workerFailed, this, &Node::eventLogged);
    m_age.start();
}

util::HostInfo LocalNode::hostInfo() const
{
    // Snapshots come several times a second; /proc need not be read that often.
    if (m_hostReadMs < 0 || m_age.elapsed() - m_hostReadMs >= 2000) {
        m_host = util::readHostInfo();
        m_hostReadMs = m_age.elapsed();
    }
    util::HostInfo h = m_host;
    h.uptimeSeconds = m_age.elapsed() / 1000;
    return h;
}

QString LocalNode::name() const
{
    return m_name;
}

int LocalNode::credit() const
{
    return std::max(0, m_pool.capacity() - m_pool.queuedTasks() - m_pool.inFlightTasks());
}

bool LocalNode::canRun(const exec::PluginInfo &plugin, QString *why) const
{
    // Asked at every dispatch (each task of a one-task round trip): a stat() a second per plugin is enough
    // to notice a plugin removed while jobs run.
    const qint64 now = m_age.elapsed();
    const auto seen = m_pluginSeenMs.constFind(plugin.path);
    if (seen != m_pluginSeenMs.constEnd() && now - seen.value() < 1000)
        return true;
    if (!QFileInfo::exists(plugin.path)) {
        m_pluginSeenMs.remove(plugin.path);
        *why = QStringLiteral("plugin file %1 is gone").arg(plugin.path);
        return false;
    }
    m_pluginSeenMs.insert(plugin.path, now);
    return true;
}

void LocalNode::submit(const exec::PluginInfo &plugin, qint64 timeoutMs, const exec::JobParametersPtr &parameters,
                       QVector<NodeTask> tasks)
{
    QVector<exec::PoolTask> poolTasks;
    poolTasks.reserve(tasks.size());
    for (NodeTask &t : tasks)
        poolTasks.append(exec::PoolTask {t.attempt, std::move(t.input), plugin.path, timeoutMs, parameters, 0});
    m_pool.submit(std::move(poolTasks));
}

} // namespace taskfleet::sched
