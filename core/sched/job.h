// SPDX-License-Identifier: MIT
// A job while it runs: per-task state, the queue of tasks still to run, and counters.
#pragma once

#include "indexqueue.h"
#include "jobspec.h"
#include "taskreport.h"
#include "exec/workerprotocol.h"

#include <QtCore/QHash>
#include <QtCore/QSet>

#include <algorithm>
#include <deque>
#include <vector>

namespace taskfleet::sched {

enum class JobState {
    Queued, ///< nothing ran yet
    Running,
    Paused,   ///< no new tasks start; running ones finish
    Finished, ///< every task ended (values, errors or failures)
    Cancelled,
};

QString jobStateName(JobState state);

enum class TaskState : quint8 {
    Pending,
    Running,
    Done,      ///< final: value or plugin error
    Failed,    ///< final: retries used up, poison, or no node can run it
    Cancelled, ///< final
};

/**
 * Every task's TaskState, half a byte each (a job may have a hundred million tasks: 50 MB, not 100).
 * Indexing gives a value, or something that can be assigned one.
 */
class TaskStates
{
public:
    class Ref
    {
    public:
        operator TaskState() const { return m_states->at(m_index); }
        Ref &operator=(TaskState s)
        {
            m_states->set(m_index, s);
            return *this;
        }

    private:
        friend class TaskStates;
        Ref(TaskStates *states, size_t index)
            : m_states(states)
            , m_index(index)
        {
        }
        TaskStates *m_states;
        size_t m_index;
    };

    size_t size() const { return m_size; }
    TaskState at(size_t i) const { return TaskState((m_nibbles[i / 2] >> (4 * (i % 2))) & 0xf); }
    void set(size_t i, TaskState s)
    {
        quint8 &b = m_nibbles[i / 2];
        const int shift = 4 * int(i % 2);
        b = quint8((b & ~(0xf << shift)) | (quint8(s) << shift));
    }
    TaskState operator[](size_t i) const { return at(i); }
    Ref operator[](size_t i) { return Ref(this, i); }
    /** \a n tasks, all \a s. */
    void assign(size_t n, TaskState s)
    {
        m_nibbles.assign((n + 1) / 2, quint8(quint8(s) | quint8(s) << 4));
        m_size = n;
    }
    /** Grows (or shrinks) to \a n tasks; new ones are \a s. */
    void resize(size_t n, TaskState s)
    {
        const size_t old = m_size;
        m_nibbles.resize((n + 1) / 2, quint8(quint8(s) | quint8(s) << 4));
        m_size = n;
        for (size_t i = old; i < n && i % 2 != 0; ++i) // the odd half of the old last byte
            set(i, s);
    }

private:
    std::vector<quint8> m_nibbles;
    size_t m_size = 0;
};

/**
 * What a task went through, kept only while it matters: from its first start until it ends (and
 * while it waits again after a crash, a timeout or a lost node). A job of 100 million tasks holds
 * one for each task in flight or retried, not 100 million.
 */
struct TaskExtra {
    quint8 attempts = 0;      ///< crash/timeout attempts so far
    quint8 losses = 0;        ///< times a node vanished while running it
    quint8 runningCopies = 0; ///< attempts in flight (2 while speculating)
    quint8 speculated = 0;    ///< 1 once a duplicate was started
};

/**
 * Runtime state of one job. Owned by the Controller; its per-task state is half a byte a task (plus
 * TaskExtra for the few in flight) because a job may have a hundred million tasks. Task outputs are not kept here: they are handed to whoever
 * listens (results file, GUI table, journal) as they arrive.
 */
struct Job {
    int id = 0;
    JobSpec spec;
    exec::JobParametersPtr parameters; ///< from spec.parameters, hashed once at submit
    JobState state = JobState::Queued;
    TaskStates taskState;                   ///< half a byte per task: all a task costs once it ended
    QHash<int, TaskExtra> extras;           ///< tasks started and not ended, or put back: see TaskExtra
    IndexQueue pending;                     ///< task indices waiting to run, front first
    QHash<int, QSet<QString>> failedOn;     ///< node ids where a task crashed or timed out
    QSet<int> cancelWanted;                 ///< running tasks asked to stop if they have not started
    QHash<QString, QString> excludedNodes;  ///< node id -> why it cannot run this job's plugin
    QHash<int, QVector<AttemptNote>> notes; ///< attempts that did not give their task its result (TaskReport)
    int noteCount = 0;                      ///< notes kept (at most Controller::MaxAttemptNotes)
    bool notesTruncated = false;
    qint64 done = 0;   ///< tasks with a value
    qint64 errors = 0; ///< tasks with a plugin error
    qint64 failed = 0; ///< tasks failed for good (crashes, timeouts, poison)
    qint64 cancelled = 0;
    qint64 running = 0;      ///< tasks with at least one attempt in flight
    qint64 endedBefore = 0;  ///< of done + errors + failed: tasks that ended before the job ran (JobSpec::endedBefore)
    qint64 valuesBefore = 0; ///< of done + errors: the same
    double runtimeSumUs = 0; ///< of finished tasks, for the mean used by speculation
    qint64 submittedUs = 0;
    qint64 startedUs = -1;
    qint64 finishedUs = -1;
    qint64 pausedSinceUs = -1; ///< while paused: when; -1 otherwise
    qint64 pausedTotalUs = 0;  ///< time spent paused before pausedSinceUs (not counted in the job's rate)
    int graceMs = 0;           ///< Controller::keepOpen(): how long it waits for more tasks once all ended
    bool waiting = false;      ///< every task ended, and it waits graceMs for more before it finishes
    qint64 ranOutUs = -1;      ///< while waiting: when its last task ended (its end, if none come)
    quint32 graceRound = 0;    ///< which wait a grace timer belongs to (one that ended early is ignored)

    qint64 total() const { return qint64(taskState.size()); }
    /** Task \a index's extras, or zeros (without adding an entry). */
    TaskExtra extraOf(int index) const { return extras.value(index); }
    qint64 ended() const { return done + errors + failed + cancelled; }
    bool isOver() const { return state == JobState::Finished || state == JobState::Cancelled; }
    /** Microseconds the job has been started and not paused, up to \a nowUs (or its end). */
    qint64 activeUs(qint64 nowUs) const
    {
        if (startedUs < 0)
            return 0;
        const qint64 end = finishedUs >= 0 ? finishedUs : nowUs;
        const qint64 paused = pausedTotalUs + (pausedSinceUs >= 0 ? end - pausedSinceUs : 0);
        return std::max<qint64>(0, end - startedUs - paused);
    }
};

} // namespace taskfleet::sched
