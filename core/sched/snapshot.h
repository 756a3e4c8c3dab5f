// SPDX-License-Identifier: MIT
// Plain copies of the controller's state, made a few times a second for a window to show.
#pragma once

#include "job.h"
#include "node.h"

#include <QtCore/QMetaType>
#include <QtCore/QVector>

namespace taskfleet::sched {

struct NodeSnapshot {
    QString id;
    QString name;
    QString address;
    bool local = false;
    NodeState state = NodeState::Offline;
    QString stateReason;
    int workers = 0;
    int busy = 0;
    qint64 tasksDone = 0;
    double percentOfAll = 0;
    double taskTimeSum = 0;
    double timePerTask = 0;
    double tasksPerSecond = 0;
    qint64 failures = 0; ///< attempts that crashed or timed out here
    qint64 errors = 0;   ///< of tasksDone, how many ended in a plugin error (the CSV's plugin_errors)
    qint64 lost = 0;
    util::HostInfo host;   ///< the node's machine (load, memory, OS, version, uptime)
    bool draining = false; ///< takes no new tasks (Controller::setNodeDraining)
};

struct JobSnapshot {
    int id = 0;
    QString name;
    QString plugin;
    JobState state = JobState::Queued;
    int priority = 0;
    qint64 total = 0;
    qint64 done = 0;
    qint64 errors = 0;
    qint64 failed = 0;
    qint64 cancelled = 0;
    qint64 running = 0;
    /** Running: over the last seconds, as NodeSnapshot's (Statistics::jobRate); paused or over: average over its run. */
    double tasksPerSecond = 0;
    double etaSeconds = -1; ///< -1 when unknown
};

struct ClusterSnapshot {
    qint64 takenUs = 0;
    QVector<NodeSnapshot> nodes;
    QVector<JobSnapshot> jobs;
    qint64 tasksDone = 0;
    double tasksPerSecond = 0;
    qint64 failures = 0;
    /**
     * Tasks finished per second for the last seconds up to now, oldest first: [0] total, [1 + i] node i.
     * The last entry is the current second, which is currentSecondFraction over.
     */
    QVector<QVector<int>> throughputHistory;
    QStringList throughputNodeNames;
    double currentSecondFraction = 0;
};

} // namespace taskfleet::sched

Q_DECLARE_METATYPE(taskfleet::sched::ClusterSnapshot)
