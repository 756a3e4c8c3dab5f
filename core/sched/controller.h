// SPDX-License-Identifier: MIT
// The scheduler: owns the job queue, hands tasks to nodes, retries, speculates, counts.
#pragma once

#include "job.h"
#include "node.h"
#include "snapshot.h"
#include "stats/statistics.h"

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QTimer>

#include <map>
#include <memory>

namespace taskfleet::sched {

/** How one task ended for good, as handed to result writers and views. */
struct TaskRecord {
    int index = 0;
    stats::TaskStatus status = stats::TaskStatus::Ok;
    QCborValue output; ///< for Ok
    QString error;     ///< for every other status
    QString nodeId;
    QString nodeName;
    /** startUs of a record from an earlier session (a resumed job's journaled results): the journal has no attempt times. */
    static constexpr qint64 EarlierSession = -1;
    qint64 startUs = 0; ///< when its final attempt was sent, since the controller started; or EarlierSession
    qint64 runtimeUs = 0;
    int attempts = 0; ///< attempts made, the final one included
    QString log;      ///< what the task printed (for example a Python function's print()), if anything
};

/**
 * Pp's Server, rebuilt: jobs in, results out, nodes in between.
 *
 * Tasks go to whichever online node has credit (faster nodes return credit sooner and so get
 * more). Every task ends exactly once: one TaskRecord per task index, delivered in batches by
 * resultsRecorded(). A task whose worker crashes or times out is retried up to the job's
 * retries, on a node where it has not failed when an online node that could run it is left
 * (it waits for that node's credit); a task that ended workers on PoisonNodes distinct nodes
 * fails at once, so with enough nodes a poison task takes exactly PoisonNodes attempts. Tasks
 * lost with a node go back to the front of the queue. Near the end of a job, idle nodes run
 * duplicates of the longest-running tasks; the first result wins and the other copy is
 * cancelled.
 *
 * Lives on one thread (the GUI runs it in a thread of its own); never blocks.
 */
class Controller : public QObject
{
    Q_OBJECT

public:
    /** A task that ended workers on this many distinct nodes fails ("poison"). */
    static constexpr int PoisonNodes = 3;
    /** A task lost with its node this many times fails. */
    static constexpr int MaxLosses = 5;
    /** Attempts that went wrong whose history a job keeps for TaskReport (the first ones). */
    static constexpr int MaxAttemptNotes = 10000;

    explicit Controller(QObject *parent = nullptr);
    ~Controller() override;

    /** Takes ownership of \a node. */
    void addNode(Node *node);
    /** Puts the node's running tasks back in the queue and deletes it. */
    void removeNode(const QString &nodeId);
    QVector<Node *> nodes() const { return m_nodes; }
    Node *findNode(const QString &nodeId) const;
    /** The embedded local node, if the controller has one. */
    Node *localNode() const;
    /**
     * Drains a node (\a draining true): it gets no new tasks, speculative copies included, while the
     * tasks it runs finish; false takes it back. Unlike removing it, nothing is requeued.
     */
    void setNodeDraining(const QString &nodeId, bool draining);
    bool isNodeDraining(const QString &nodeId) const;

    /** Queues a job; returns its id. A job with no inputs finishes at once. */
    int submit(JobSpec spec);
    /**
     * Adds tasks to a job that is not over (an attached script's loop of submits: one job however the client
     * cut its frames). They take the indices after the job's last; tasksAdded() tells them. Returns the first,
     * or -1 (nothing changes) for an unknown job, one that is over, or one of a range.
     */
    int addTasks(int jobId, const QVector<QCborValue> &inputs);
    /**
     * Keeps a job open for \a graceMs after its tasks all ended (an attached script's loop slower than its
     * tasks): it waits, still running, and addTasks() may add to it, until that long passed without more
     * tasks, or closeJob(). Only then does it finish, once (jobFinished()), its end the time its last task
     * ended. 0: it finishes as soon as its tasks all ended (the default).
     */
    void keepOpen(int jobId, int graceMs);
    /** No more grace for a job kept open: it finishes now if its tasks all ended (else when they have). */
    void closeJob(int jobId);
    /** Whether the job's tasks all ended and it waits for more (keepOpen()). */
    bool isWaitingForTasks(int jobId) const;
    void pauseJob(int jobId);
    void resumeJob(int jobId);
    void cancelJob(int jobId);
    /**
     * Cancels some tasks of a job (a client's Future.cancel(), Executor.shutdown(cancel_futures=True)):
     * queued ones never start. A task handed to a node already: with \a running, its result is dropped
     * (its worker may still finish it); without, it is cancelled only if its worker has not started it,
     * and otherwise ends as it would have. Each task ends once; tasks already over are left as they are.
     */
    void cancelTasks(int jobId, const QVector<int> &indices, bool running = true);
    void setJobPriority(int jobId, int priority);
    const Job *job(int jobId) const;
    /**
     * Forgets a job that is over (finished or cancelled): it leaves the snapshots and frees its inputs.
     * False (and nothing changes) for an unknown job or one still running.
     */
    bool removeJob(int jobId);
    /** The job's attempts in flight and its history of attempts that went wrong (jobId -1 if unknown). */
    TaskReport taskReport(int jobId) const;
    QVector<int> jobIds() const;
    bool allJobsOver() const;

    void setSpeculation(bool on) { m_speculation = on; }
    /**
     * The largest task input this controller takes (bytes, at most protocol::MaxValueSize): a bigger one
     * fails alone at submit, naming its size and this limit. Default: defaultMaxValueSize().
     */
    void setMaxValueSize(qint64 bytes);
    qint64 maxValueSize() const { return m_maxValueSize; }
    /** An eighth of this machine's memory, at most protocol::MaxValueSize (a value is held several times
     *  on its way: encoded, in a pipe, decoded). */
    static qint64 defaultMaxValueSize();
    /** Minimum age before a running task may get a duplicate (also at least 2x the job's mean). */
    void setSpeculationMinAgeMs(qint64 ms) { m_speculationMinAgeUs = ms * 1000; }

    const stats::Statistics &statistics() const { return m_stats; }
    /** A copy of everything a window shows, with \a historySeconds of throughput history. */
    ClusterSnapshot snapshot(int historySeconds = 120) const;

signals:
    void jobSubmitted(int jobId);
    /** addTasks() gave job \a jobId \a count more tasks, from index \a first. */
    void tasksAdded(int jobId, int first, int count);
    void resultsRecorded(int jobId, const QVector<taskfleet::sched::TaskRecord> &records);
    void jobFinished(int jobId);
    void nodeAdded(const QString &nodeId);
    void nodeRemoved(const QString &nodeId);
    void eventLogged(const QString &message);

private:
    /** Whether anyone listens to eventLogged (per-job lines are only formatted then). */
    bool isLogged() const;
    struct Attempt {
        int jobId = 0;
        int index = 0;
        Node *node = nullptr;
        int nodeStat = -1;
        qint64 startUs = 0;
    };

    /** Why task \a i of \a inputs cannot run (too big to send, a bad line), or "" when it can. */
    QString refusalOf(const JobInputs &inputs, size_t i) const;
    /** Fails the \a refused tasks of job \a jobId from the event loop (the caller knows the job's id by then). */
    void failLater(int jobId, const QVector<QPair<int, QString>> &refused);
    void scheduleDispatch();
    void dispatch();
    void speculate();
    bool nodeMayRun(Job *job, Node *node);
    /** True when \a index failed on \a node and another online node that has not failed it could run it. */
    bool retryElsewhere(const Job *job, int index, const Node *node) const;
    void failUnrunnableJobs();
    quint64 startAttempt(Job *job, int index, Node *node, QVector<NodeTask> *batch);
    void onResults(Node *node, const QVector<exec::WorkResult> &results);
    void onTasksLost(Node *node, const QVector<quint64> &attempts, const QString &reason);
    void releaseCopy(Job *job, int index);
    void requeue(Job *job, int index);
    void finishTask(Job *job, int index, stats::TaskStatus status, QCborValue output, QString error,
                    const Attempt *attempt, qint64 runtimeUs, QHash<int, QVector<TaskRecord>> *records);
    void cancelOtherCopies(int jobId, int index);
    /** Keeps \a what in the task's attempt history (TaskReport), up to MaxAttemptNotes per job. */
    void noteAttempt(Job *job, const Attempt &attempt, qint64 runtimeUs, const QString &what);
    void flushRecords(QHash<int, QVector<TaskRecord>> &records);
    void checkFinished(Job *job);
    void dropLiveJob(Job *job);
    int statIndex(Node *node);
    Job *findJob(int jobId) const;

    QVector<Node *> m_nodes;
    QHash<Node *, int> m_nodeStat;
    std::map<int, std::unique_ptr<Job>> m_jobs;
    std::vector<Job *> m_liveJobs; ///< jobs not over, oldest first: what dispatch looks at (m_jobs keeps them all)
    QHash<quint64, Attempt> m_attempts;
    stats::Statistics m_stats;
    QSet<const Node *> m_draining; ///< nodes that take no new tasks (setNodeDraining)
    quint64 m_nextAttempt = 0;
    int m_nextJobId = 0;
    int m_roundRobin = 0;
    bool m_dispatchScheduled = false;
    bool m_speculation = true;
    qint64 m_maxValueSize = defaultMaxValueSize();
    qint64 m_speculationMinAgeUs = 500000;
    QTimer m_tick;
};

} // namespace taskfleet::sched

Q_DECLARE_METATYPE(taskfleet::sched::TaskRecord)
