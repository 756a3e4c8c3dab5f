// SPDX-License-Identifier: MIT
// Execution statistics: per node and total, live, and exported as CSV.
#pragma once

#include "tasklogspool.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QString>
#include <QtCore/QVector>

#include <array>
#include <functional>
#include <vector>

class QIODevice;

namespace taskfleet::stats {

/** How a task ended for good. Each task is counted once, whatever its attempts. */
enum class TaskStatus : quint8 {
    Ok,        ///< the plugin returned a value
    Error,     ///< the plugin returned an error for this input
    Failed,    ///< crashes/timeouts used up the retries, or it was poison on several nodes
    Cancelled, ///< the job was cancelled before it ran
};

QString taskStatusName(TaskStatus status);

/** A node's share of the tasks done, in percent ("% of all"): 0 while nothing is done. */
inline double percentOfAll(qint64 tasksDone, qint64 totalDone)
{
    return totalDone > 0 ? 100.0 * double(tasksDone) / double(totalDone) : 0.0;
}

/** One line of the per-task log, in the spirit of GNU parallel's --joblog. */
struct TaskLogEntry {
    qint64 seq = 0;
    int jobId = 0;
    int index = 0;
    int node = -1;      ///< index into Statistics::nodes(), -1 when no node finished it
    qint64 startUs = 0; ///< since the statistics began
    qint64 runtimeUs = 0;
    int attempts = 0;
    TaskStatus status = TaskStatus::Ok;
};

/** Per-node counters: pp's print_stats columns plus failures. */
struct NodeTotals {
    QString id;
    QString name;
    qint64 tasksDone = 0;    ///< final results this node produced (values and plugin errors)
    qint64 pluginErrors = 0; ///< of tasksDone, how many were plugin errors
    qint64 failures = 0;     ///< attempts that crashed or timed out here
    qint64 lost = 0;         ///< attempts lost when the node went away
    qint64 duplicates = 0;   ///< results that arrived after another copy had won
    double taskTimeSum = 0;  ///< seconds of task runtime for tasksDone

    double timePerTask() const { return tasksDone ? taskTimeSum / double(tasksDone) : 0.0; }
};

/**
 * Counts everything the controller does, once per task. Kept on the controller's thread;
 * a GUI reads copies (snapshots). Per-second counts are kept for the whole run (a few bytes
 * per node per second); the per-task log of every finished task goes to disk as it happens
 * (TaskLogSpool), so memory does not grow with the tasks run.
 */
class Statistics
{
public:
    /** Microseconds since the statistics began. */
    using Clock = std::function<qint64()>;

    /** Times everything with a monotonic clock started now. */
    Statistics();
    /** Times everything with \a clock and dates the time series from \a startEpochMs (tests drive the clock). */
    Statistics(Clock clock, qint64 startEpochMs);

    /** Index of a node in nodes(), registering it on first sight. */
    int nodeIndex(const QString &id, const QString &name);
    void renameNode(int node, const QString &name);

    void taskFinished(int node, int jobId, int index, qint64 startUs, qint64 runtimeUs, int attempts,
                      TaskStatus status);
    void attemptFailed(int node);
    void attemptLost(int node);
    void duplicateDiscarded(int node);
    void retried() { ++m_retries; }

    /** Microseconds since the statistics began (the controller's creation). */
    qint64 nowUs() const { return m_injectedClock ? m_injectedClock() : m_clock.nsecsElapsed() / 1000; }
    qint64 startedAtMsSinceEpoch() const { return m_startEpochMs; }

    const QVector<NodeTotals> &nodes() const { return m_nodes; }
    qint64 totalDone() const { return m_totalDone; }
    qint64 totalFinished() const { return m_log.size(); }
    qint64 totalFailures() const;
    qint64 retries() const { return m_retries; }
    /** Tasks per second over the last \a windowSeconds up to \a atUs (-1: now), for one node or (node = -1) all. */
    double rate(int node, int windowSeconds = 5, qint64 atUs = -1) const;
    /** The longest window jobRate() can measure. */
    static constexpr int JobRateSeconds = 60;
    /**
     * Tasks of job \a jobId done per second over the last \a windowSeconds (at most JobRateSeconds): the same
     * count (values and plugin errors a node produced) over the same span as rate(), so a job running alone
     * has the rate of the Nodes total, and the rates of jobs running together add up to it.
     */
    double jobRate(int jobId, int windowSeconds = 5, qint64 atUs = -1) const;
    /** Lets go of a job's recent counts (the job was removed). */
    void forgetJob(int jobId) { m_jobRecent.remove(jobId); }
    /** Seconds of the time series so far (the current partial second included). */
    int seconds() const;
    /** Tasks finished by \a node (or -1: all) during second \a second. */
    int doneInSecond(int node, int second) const;
    /** Every entry of the per-task log, in order (read back from disk: for exports and tests, not per result). */
    std::vector<TaskLogEntry> taskLog() const;
    /** True while the per-task log is on disk (false: no temporary file could be made; it is in memory). */
    bool taskLogOnDisk() const { return m_log.onDisk(); }

    /** The pp-style table ("task count | % of all tasks | task time sum | time per task | node"). */
    QString printStats() const;

    bool writeSummaryCsv(QIODevice *out) const;
    bool writeTimeSeriesCsv(QIODevice *out) const;
    bool writeTaskLogCsv(QIODevice *out) const;
    /**
     * Writes \a path (the summary) and, beside it, NAME.timeseries.csv and NAME.tasks.csv,
     * where NAME is \a path without its .csv suffix. Returns the files written.
     */
    [[nodiscard]] QStringList exportCsv(const QString &path, QString *error) const;

private:
    /** A job's tasks done in each of its last JobRateSeconds seconds (a ring: the whole run is not kept per job). */
    struct JobRecent {
        int lastSecond = -1;
        std::array<int, JobRateSeconds> counts {};
        int doneInSecond(int second) const;
        void add(int second);
    };

    void addToSeries(int node, qint64 atUs);
    /** Tasks per second over the last \a windowSeconds up to \a atUs (-1: now), counting \a doneInSecond(second). */
    double windowRate(const std::function<int(int)> &doneInSecond, int windowSeconds, qint64 atUs) const;

    QElapsedTimer m_clock;
    Clock m_injectedClock; ///< when set, used instead of m_clock
    qint64 m_startEpochMs = 0;
    QVector<NodeTotals> m_nodes;
    std::vector<QVector<int>> m_series; // [second][node]
    TaskLogSpool m_log;
    QHash<int, JobRecent> m_jobRecent;
    qint64 m_totalDone = 0;
    qint64 m_retries = 0;
};

} // namespace taskfleet::stats
