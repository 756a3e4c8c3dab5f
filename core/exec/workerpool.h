// SPDX-License-Identifier: MIT
// A pool of worker processes on this machine: the execution engine of every node.
#pragma once

#include "fairqueue.h"
#include "workerprotocol.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QProcessEnvironment>
#include <QtCore/QStringList>
#include <QtCore/QTimer>

#include <deque>
#include <memory>
#include <vector>

namespace taskfleet::exec {

/** One task for the pool. The id is the caller's (the controller's attempt id). */
struct PoolTask {
    quint64 id = 0;
    QCborValue input;
    QString pluginPath;
    qint64 timeoutMs = 0;
    JobParametersPtr parameters; ///< the job's shared parameters (null: none); sent once per worker
    quint32 lane = 0;            ///< who it is for (an agent: the controller's session); lanes share workers fairly
};

struct WorkerPoolOptions {
    QString program; ///< the worker executable; empty: defaultWorkerProgram()
    QStringList arguments;
    int workers = 1;
    bool restartAfterEachTask = false; ///< a fresh process for every task (leaky plugins)
    int stderrTailBytes = 4096;        ///< how much of a worker's stderr is kept for error messages
    int hangGraceMs = 5000;            ///< backstop beyond a task's timeout before the pool kills a silent worker
    /// Plugins each worker loads as it starts, before any task asks: a session that runs only Python
    /// starts its interpreters while the client is still submitting, as pp's Server() does. Dropped
    /// after a worker ends abnormally, so a plugin that crashes as it loads cannot crash every restart.
    QStringList preloadPlugins;
    /// Bytes of job parameters (shared values) each worker keeps for later batches, least recently used first
    /// out; the python plugin keeps the unpickled values within the same bound.
    qint64 valueCacheBytes = ParametersLru::ByteCapacity;
};

/**
 * Runs tasks in N worker processes, one task at a time each.
 *
 * Tasks are queued with submit() and sent to workers in batches whose size adapts to the
 * measured task time (about 2 ms of work per batch, so tiny tasks cost little and long tasks
 * are not hoarded). Results come back in batches through resultsReady(): exactly one
 * WorkResult per submitted task, except for tasks still queued or running when the pool is
 * destroyed. A worker that crashes, calls exit() or times out is replaced; the task it was
 * running is reported Crashed or TimedOut with the reason, and the tasks it had not started
 * are run by other workers without being reported.
 *
 * Lives on one thread (the thread's event loop drives the QProcess objects).
 */
class WorkerPool : public QObject
{
    Q_OBJECT

public:
    explicit WorkerPool(WorkerPoolOptions options, QObject *parent = nullptr);
    ~WorkerPool() override;

    /** TASKFLEET_WORKER from the environment, else taskfleet-worker beside the running program. */
    static QString defaultWorkerProgram();

    /** Grows at once; shrinks by letting the surplus workers finish what they hold, then exit. */
    void setWorkerCount(int count);
    int workerCount() const { return m_target; }
    int runningWorkers() const;
    int busyWorkers() const;
    /// Workers started and ready for tasks (they said hello, after loading WorkerPoolOptions::preloadPlugins).
    int readyWorkers() const;
    int queuedTasks() const { return int(m_queue.size()); }
    int inFlightTasks() const;
    /** How many outstanding (queued + running) tasks of \a lane keep every worker fed without hoarding. */
    int capacity(quint32 lane = 0) const;
    /** Drops what the pool learned about a lane's tasks (its owner is gone). */
    void forgetLane(quint32 lane);

    void submit(QVector<PoolTask> tasks);
    /** Withdraws tasks: queued ones end as Cancelled at once, running ones are told to stop. */
    void cancel(const QVector<quint64> &ids);

    qint64 workersStarted() const { return m_workersStarted; }
    /** How many batches carried their job parameters' value (the rest named them by id only). */
    qint64 parameterValuesSent() const { return m_parameterValuesSent; }
    qint64 workerFailures() const { return m_workerFailures; }

signals:
    void resultsReady(const QVector<taskfleet::exec::WorkResult> &results);
    void workerCountChanged(int count);
    void progressReported(quint64 id, double fraction);
    /** A worker died or could not start; the text is for logs and the GUI. */
    void workerFailed(const QString &reason);

private:
    struct Worker;

    void startWorker();
    void dispatch();
    void scheduleDispatch();
    double averageRuntimeUs(quint32 lane) const;
    int batchSize(quint32 lane) const;
    int depth(quint32 lane) const;
    void sendBatch(Worker *w, std::deque<PoolTask> &queue);
    /** The fair-share picture of this moment: see dispatch(). */
    struct Shares;
    Shares shares() const;
    void onStdout(Worker *w);
    void onStderr(Worker *w);
    void onFinished(Worker *w, int exitCode, bool crashed);
    void onStartFailed(Worker *w, const QString &error);
    void handleFrame(Worker *w, const QCborMap &message, QVector<WorkResult> *out);
    void retire(Worker *w, bool requeue);
    void onHousekeeping();
    void trimToTarget();
    QString stderrTail(const Worker *w) const;

    WorkerPoolOptions m_options;
    int m_target = 0;
    std::vector<std::unique_ptr<Worker>> m_workers;
    FairQueue<PoolTask> m_queue;
    QHash<quint32, double> m_laneAverageUs; // moving average of each lane's task runtime, sizes its batches
    QHash<quint32, qint64> m_laneSeenMs;    // when each lane last submitted a task or had one finish (m_clock)
    bool m_dispatchPending = false;
    QTimer m_housekeeping;
    QElapsedTimer m_clock;
    QProcessEnvironment m_workerEnvironment;
    int m_consecutiveStartFailures = 0;
    qint64 m_nextStartAllowedMs = 0;
    qint64 m_workersStarted = 0;
    qint64 m_parameterValuesSent = 0;
    qint64 m_workerFailures = 0;
    int m_serial = 0;
    char m_readBuffer[64 * 1024];
};

} // namespace taskfleet::exec
