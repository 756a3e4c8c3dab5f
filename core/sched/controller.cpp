// SPDX-License-Identifier: MIT
#include "controller.h"

#include "protocol/frame.h"
#include "util/hostinfo.h"
#include "util/logging.h"

#include <QtCore/QMetaMethod>
#include <QtCore/QTimer>

#include <algorithm>

namespace taskfleet::sched {

using exec::Outcome;
using stats::TaskStatus;

QString jobStateName(JobState state)
{
    switch (state) {
    case JobState::Queued:
        return QStringLiteral("queued");
    case JobState::Running:
        return QStringLiteral("running");
    case JobState::Paused:
        return QStringLiteral("paused");
    case JobState::Finished:
        return QStringLiteral("finished");
    case JobState::Cancelled:
        return QStringLiteral("cancelled");
    }
    return QStringLiteral("unknown");
}

Controller::Controller(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<ClusterSnapshot>();
    qRegisterMetaType<TaskRecord>();
    qRegisterMetaType<QVector<TaskRecord>>();
    // Speculation depends on how long tasks have been running, so it needs a clock, not only events.
    m_tick.setInterval(200);
    connect(&m_tick, &QTimer::timeout, this, [this] {
        if (!m_attempts.isEmpty())
            speculate();
    });
    m_tick.start();
}

Controller::~Controller()
{
    // Nodes are children; delete them first so none calls back into a half-destroyed controller.
    const QVector<Node *> nodes = m_nodes;
    m_nodes.clear();
    for (Node *n : nodes) {
        n->disconnect(this);
        delete n;
    }
}

void Controller::addNode(Node *node)
{
    node->setParent(this);
    m_nodes.append(node);
    statIndex(node);
    connect(node, &Node::resultsArrived, this,
            [this, node](const QVector<exec::WorkResult> &results) { onResults(node, results); });
    connect(node, &Node::creditAvailable, this, &Controller::scheduleDispatch);
    connect(node, &Node::stateChanged, this, [this, node] {
        m_stats.renameNode(statIndex(node), node->name());
        // A remote node's name already carries its address ("host (10.0.0.7:45450)"): not twice.
        const QString label = node->name().contains(node->address())
                                  ? node->name()
                                  : QStringLiteral("%1 (%2)").arg(node->name(), node->address());
        emit eventLogged(
            QStringLiteral("%1: %2%3")
                .arg(label, nodeStateName(node->state()),
                     node->stateReason().isEmpty() ? QString() : QStringLiteral(" — ") + node->stateReason()));
        scheduleDispatch();
    });
    connect(node, &Node::tasksLost, this, [this, node](const QVector<quint64> &attempts, const QString &reason) {
        onTasksLost(node, attempts, reason);
    });
    connect(node, &Node::eventLogged, this,
            [this, node](const QString &message) { emit eventLogged(node->name() + QStringLiteral(": ") + message); });
    emit nodeAdded(node->id());
    scheduleDispatch();
}

void Controller::removeNode(const QString &nodeId)
{
    Node *node = findNode(nodeId);
    if (!node)
        return;
    QVector<quint64> mine;
    for (auto it = m_attempts.cbegin(); it != m_attempts.cend(); ++it)
        if (it->node == node)
            mine.append(it.key());
    onTasksLost(node, mine, QStringLiteral("node removed"));
    m_nodes.removeAll(node);
    m_nodeStat.remove(node);
    m_draining.remove(node);
    node->disconnect(this);
    node->deleteLater();
    emit nodeRemoved(nodeId);
    scheduleDispatch();
}

void Controller::setNodeDraining(const QString &nodeId, bool draining)
{
    Node *node = findNode(nodeId);
    if (!node || draining == m_draining.contains(node))
        return;
    if (draining)
        m_draining.insert(node);
    else
        m_draining.remove(node);
    emit node->eventLogged(draining ? QStringLiteral("draining: no new tasks; running ones finish")
                                    : QStringLiteral("no longer draining: takes tasks again"));
    scheduleDispatch();
}

bool Controller::isNodeDraining(const QString &nodeId) const
{
    const Node *node = findNode(nodeId);
    return node && m_draining.contains(node);
}

Node *Controller::findNode(const QString &nodeId) const
{
    for (Node *n : m_nodes)
        if (n->id() == nodeId)
            return n;
    return nullptr;
}

Node *Controller::localNode() const
{
    for (Node *n : m_nodes)
        if (n->isLocal())
            return n;
    return nullptr;
}

int Controller::statIndex(Node *node)
{
    auto it = m_nodeStat.constFind(node);
    if (it != m_nodeStat.constEnd())
        return it.value();
    const int index = m_stats.nodeIndex(node->id(), node->name());
    m_nodeStat.insert(node, index);
    return index;
}

Job *Controller::findJob(int jobId) const
{
    auto it = m_jobs.find(jobId);
    return it == m_jobs.end() ? nullptr : it->second.get();
}

const Job *Controller::job(int jobId) const
{
    return findJob(jobId);
}

QVector<int> Controller::jobIds() const
{
    QVector<int> ids;
    for (const auto &entry : m_jobs)
        ids.append(entry.first);
    return ids;
}

bool Controller::removeJob(int jobId)
{
    const auto it = m_jobs.find(jobId);
    if (it == m_jobs.end() || !it->second->isOver())
        return false;
    m_jobs.erase(it);
    m_stats.forgetJob(jobId);
    emit eventLogged(QStringLiteral("job %1 removed").arg(jobId));
    return true;
}

TaskReport Controller::taskReport(int jobId) const
{
    TaskReport report;
    report.takenUs = m_stats.nowUs();
    const Job *job = findJob(jobId);
    if (!job)
        return report;
    report.jobId = jobId;
    report.jobOver = job->isOver();
    if (job->running > 0) {
        for (const Attempt &a : m_attempts)
            if (a.jobId == jobId)
                report.running.append(RunningAttempt {a.index, a.node->name(), a.startUs});
    }
    report.notes = job->notes;
    report.notesTruncated = job->notesTruncated;
    return report;
}

void Controller::noteAttempt(Job *job, const Attempt &attempt, qint64 runtimeUs, const QString &what)
{
    if (job->noteCount >= MaxAttemptNotes) {
        job->notesTruncated = true;
        return;
    }
    ++job->noteCount;
    job->notes[attempt.index].append(AttemptNote {attempt.node->name(), attempt.startUs, runtimeUs, what});
}

bool Controller::allJobsOver() const
{
    return std::all_of(m_jobs.begin(), m_jobs.end(), [](const auto &e) { return e.second->isOver(); });
}

int Controller::submit(JobSpec spec)
{
    auto job = std::make_unique<Job>();
    job->id = ++m_nextJobId;
    const size_t n = size_t(spec.inputs.size());
    job->spec = std::move(spec);
    job->parameters
        = job->spec.hashedParameters ? job->spec.hashedParameters : exec::makeJobParameters(job->spec.parameters);
    job->taskState.assign(n, TaskState::Pending);
    // An input no link can carry fails alone, now, with its size; so does a line of a lines file that
    // names a key twice; the others run. A range's inputs are integers; a file's lines are read once here,
    // in order, each dropped after its check.
    QVector<QPair<int, QString>> refused;
    const JobInputs &inputs = job->spec.inputs;
    // A resumed job's earlier tasks keep their indices and count as ended; only the others run.
    const QHash<int, int> &before = job->spec.endedBefore;
    const auto ranBefore = [&before, n, raw = job.get()](size_t i) {
        if (before.isEmpty() || i >= n)
            return false;
        const auto found = before.constFind(int(i));
        if (found == before.constEnd())
            return false;
        switch (TaskStatus(*found)) {
        case TaskStatus::Ok:
            ++raw->done;
            ++raw->valuesBefore;
            ++raw->endedBefore;
            break;
        case TaskStatus::Error:
            ++raw->errors;
            ++raw->valuesBefore;
            ++raw->endedBefore;
            break;
        case TaskStatus::Failed:
            ++raw->failed;
            ++raw->endedBefore;
            break;
        case TaskStatus::Cancelled:
            ++raw->cancelled;
            break;
        }
        raw->taskState[i] = TaskStatus(*found) == TaskStatus::Failed      ? TaskState::Failed
                            : TaskStatus(*found) == TaskStatus::Cancelled ? TaskState::Cancelled
                                                                          : TaskState::Done;
        return true;
    };
    for (size_t i = 0; i < n && inputs.isRange(); ++i)
        if (!ranBefore(i))
            job->pending.push_back(int(i));
    for (size_t i = 0; i < n && !inputs.isRange(); ++i) {
        if (ranBefore(i))
            continue;
        if (const QString refusal = refusalOf(inputs, i); !refusal.isEmpty())
            refused.append({int(i), refusal});
        else
            job->pending.push_back(int(i));
    }
    job->submittedUs = m_stats.nowUs();
    Job *raw = job.get();
    m_jobs.emplace(raw->id, std::move(job));
    m_liveJobs.push_back(raw);
    emit jobSubmitted(raw->id);
    if (isLogged()) // a script's one-task jobs come thousands a second: no text nobody reads
        emit eventLogged(QStringLiteral("job %1 \"%2\" queued: %3 tasks of plugin %4")
                             .arg(raw->id)
                             .arg(raw->spec.name)
                             .arg(n)
                             .arg(raw->spec.plugin.name));
    failLater(raw->id, refused);
    checkFinished(raw);
    scheduleDispatch();
    return raw->id;
}

QString Controller::refusalOf(const JobInputs &inputs, size_t i) const
{
    QString refusal;
    const QCborValue input = inputs.at(qsizetype(i), &refusal);
    const bool mayBeBig = input.isString() || input.isByteArray() || input.isArray() || input.isMap() || input.isTag();
    const qint64 size = mayBeBig ? protocol::cborSizeIfOver(input, m_maxValueSize) : 0;
    if (size > m_maxValueSize)
        return QStringLiteral("input %1 is %2 MiB, more than the %3 MiB a task's input may be")
            .arg(i)
            .arg(double(size) / (1024 * 1024), 0, 'f', 1)
            .arg(double(m_maxValueSize) / (1024 * 1024), 0, 'f', m_maxValueSize % (1024 * 1024) ? 1 : 0);
    return refusal;
}

int Controller::addTasks(int jobId, const QVector<QCborValue> &inputs)
{
    Job *job = findJob(jobId);
    if (!job || job->isOver() || job->spec.inputs.isRange())
        return -1;
    const size_t first = job->taskState.size();
    if (inputs.isEmpty())
        return int(first);
    if (job->waiting) {
        job->waiting = false; // its grace timer finds the job busy again and does nothing
        job->ranOutUs = -1;
    }
    for (const QCborValue &v : inputs) // no reserve(): an exact one per call would copy the list every time
        job->spec.inputs.append(v);
    job->taskState.resize(first + size_t(inputs.size()), TaskState::Pending);
    QVector<QPair<int, QString>> refused;
    for (size_t i = first; i < job->taskState.size(); ++i) {
        if (const QString refusal = refusalOf(job->spec.inputs, i); !refusal.isEmpty())
            refused.append({int(i), refusal});
        else
            job->pending.push_back(int(i));
    }
    emit tasksAdded(jobId, int(first), int(inputs.size()));
    failLater(jobId, refused);
    scheduleDispatch();
    return int(first);
}

void Controller::keepOpen(int jobId, int graceMs)
{
    Job *job = findJob(jobId);
    if (!job || job->isOver())
        return;
    job->graceMs = std::max(0, graceMs);
    if (job->graceMs == 0)
        closeJob(jobId);
}

void Controller::closeJob(int jobId)
{
    Job *job = findJob(jobId);
    if (!job || job->isOver())
        return;
    job->graceMs = 0;
    checkFinished(job);
}

bool Controller::isWaitingForTasks(int jobId) const
{
    const Job *j = job(jobId);
    return j && j->waiting && !j->isOver();
}

void Controller::failLater(int jobId, const QVector<QPair<int, QString>> &refused)
{
    if (!refused.isEmpty()) {
        // Recorded from the event loop, like every other result: the caller has the job id by then.
        const int id = jobId;
        QMetaObject::invokeMethod(
            this,
            [this, id, refused] {
                Job *job = findJob(id);
                if (!job || job->isOver())
                    return; // cancelled meanwhile: those tasks were recorded as cancelled
                QHash<int, QVector<TaskRecord>> records;
                for (const auto &[index, reason] : refused) {
                    if (job->taskState[size_t(index)] != TaskState::Pending)
                        continue;
                    finishTask(job, index, TaskStatus::Failed, {}, reason, nullptr, 0, &records);
                }
                flushRecords(records);
                checkFinished(job);
            },
            Qt::QueuedConnection);
    }
}

void Controller::setMaxValueSize(qint64 bytes)
{
    m_maxValueSize = std::clamp<qint64>(bytes, 1, protocol::MaxValueSize);
}

qint64 Controller::defaultMaxValueSize()
{
    static const qint64 value = [] {
        const qint64 memory = util::readHostInfo().memTotal;
        return memory > 0 ? std::clamp<qint64>(memory / 8, 1024 * 1024, protocol::MaxValueSize)
                          : protocol::MaxValueSize;
    }();
    return value;
}

void Controller::pauseJob(int jobId)
{
    Job *job = findJob(jobId);
    if (job && !job->isOver() && job->state != JobState::Paused) {
        job->state = JobState::Paused;
        job->pausedSinceUs = m_stats.nowUs();
    }
}

void Controller::resumeJob(int jobId)
{
    Job *job = findJob(jobId);
    if (job && job->state == JobState::Paused) {
        if (job->pausedSinceUs >= 0)
            job->pausedTotalUs += m_stats.nowUs() - job->pausedSinceUs;
        job->pausedSinceUs = -1;
        job->state = job->startedUs >= 0 ? JobState::Running : JobState::Queued;
        scheduleDispatch();
    }
}

void Controller::setJobPriority(int jobId, int priority)
{
    if (Job *job = findJob(jobId)) {
        job->spec.priority = priority;
        scheduleDispatch();
    }
}

void Controller::cancelJob(int jobId)
{
    Job *job = findJob(jobId);
    if (!job || job->isOver())
        return;
    if (job->waiting) { // nothing left to cancel: it ends as it would have
        closeJob(jobId);
        return;
    }
    QHash<Node *, QVector<quint64>> perNode;
    for (auto it = m_attempts.begin(); it != m_attempts.end();) {
        if (it->jobId == jobId) {
            perNode[it->node].append(it.key());
            it = m_attempts.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = perNode.cbegin(); it != perNode.cend(); ++it)
        it.key()->cancel(it.value());
    QHash<int, QVector<TaskRecord>> records;
    for (size_t i = 0; i < job->taskState.size(); ++i) {
        const TaskState s = job->taskState[i];
        if (s == TaskState::Pending || s == TaskState::Running)
            finishTask(job, int(i), TaskStatus::Cancelled, {}, QStringLiteral("cancelled"), nullptr, 0, &records);
    }
    job->pending.clear();
    job->extras.clear();
    job->state = JobState::Cancelled;
    job->finishedUs = m_stats.nowUs();
    dropLiveJob(job);
    flushRecords(records);
    emit eventLogged(QStringLiteral("job %1 cancelled").arg(jobId));
    emit jobFinished(jobId);
    scheduleDispatch();
}

void Controller::cancelTasks(int jobId, const QVector<int> &indices, bool running)
{
    Job *job = findJob(jobId);
    if (!job || job->isOver() || indices.isEmpty())
        return;
    QSet<int> wanted;
    for (int index : indices)
        if (index >= 0 && index < job->total()
            && (job->taskState[size_t(index)] == TaskState::Pending
                || job->taskState[size_t(index)] == TaskState::Running))
            wanted.insert(index);
    if (wanted.isEmpty())
        return;
    QHash<Node *, QVector<quint64>> perNode;
    for (auto it = m_attempts.begin(); it != m_attempts.end();) {
        if (it->jobId == jobId && wanted.contains(it->index)) {
            perNode[it->node].append(it.key());
            if (!running) {
                // The node answers Cancelled if its worker had not started the task (onResults ends it
                // then), or with the task's result.
                job->cancelWanted.insert(it->index);
                ++it;
                continue;
            }
            it = m_attempts.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = perNode.cbegin(); it != perNode.cend(); ++it)
        it.key()->cancel(it.value());
    if (!running)
        for (int index : std::as_const(job->cancelWanted))
            wanted.remove(index);
    // The queue is a list of runs: take it apart once and put back what stays, in order.
    IndexQueue kept;
    while (!job->pending.empty()) {
        const int index = job->pending.front();
        job->pending.pop_front();
        if (!wanted.contains(index))
            kept.push_back(index);
    }
    job->pending = std::move(kept);
    QHash<int, QVector<TaskRecord>> records;
    for (int index : std::as_const(wanted))
        finishTask(job, index, TaskStatus::Cancelled, {}, QStringLiteral("cancelled"), nullptr, 0, &records);
    flushRecords(records);
    checkFinished(job);
    scheduleDispatch();
}

void Controller::scheduleDispatch()
{
    if (m_dispatchScheduled)
        return;
    m_dispatchScheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_dispatchScheduled = false;
            dispatch();
        },
        Qt::QueuedConnection);
}

bool Controller::nodeMayRun(Job *job, Node *node)
{
    if (job->excludedNodes.contains(node->id()))
        return false;
    QString why;
    if (!node->canRun(job->spec.plugin, &why)) {
        job->excludedNodes.insert(node->id(), why);
        emit eventLogged(QStringLiteral("job %1 will not run on %2: %3").arg(job->id).arg(node->name(), why));
        return false;
    }
    return true;
}

quint64 Controller::startAttempt(Job *job, int index, Node *node, QVector<NodeTask> *batch)
{
    const quint64 attempt = ++m_nextAttempt;
    if (job->taskState[size_t(index)] != TaskState::Running) {
        job->taskState[size_t(index)] = TaskState::Running;
        ++job->running;
    }
    ++job->extras[index].runningCopies;
    m_attempts.insert(attempt, Attempt {job->id, index, node, statIndex(node), m_stats.nowUs()});
    batch->append(NodeTask {attempt, job->spec.inputs.at(index)});
    if (job->state == JobState::Queued) {
        job->state = JobState::Running;
        job->startedUs = m_stats.nowUs();
    }
    return attempt;
}

void Controller::dispatch()
{
    QVector<Job *> runnable;
    for (Job *j : m_liveJobs) {
        if ((j->state == JobState::Queued || j->state == JobState::Running) && !j->pending.empty())
            runnable.append(j);
    }
    // Highest priority first; among equals, the oldest job first.
    std::stable_sort(runnable.begin(), runnable.end(),
                     [](const Job *a, const Job *b) { return a->spec.priority > b->spec.priority; });

    // Fair share between owners (the user's own jobs; each attached script, JobSpec::origin) of the same
    // priority: a freed slot goes first to the owners below their share of the online workers (workers ÷
    // owners with work), at most up to that share; what is left goes in the order above. Without it a
    // script's job waited for every task of an older job of the window (the agent does the same between
    // controllers, WorkerPool::dispatch).
    QHash<QString, qint64> ownerRunning;
    QHash<QString, int> ownerPriority; // the highest priority each owner has work at
    for (const Job *j : m_liveJobs)
        ownerRunning[j->spec.origin] += j->running;
    for (const Job *j : std::as_const(runnable))
        if (!ownerPriority.contains(j->spec.origin))
            ownerPriority.insert(j->spec.origin, j->spec.priority);
    qint64 onlineWorkers = 0;
    for (const Node *n : std::as_const(m_nodes))
        if (n->state() == NodeState::Online && !m_draining.contains(n))
            onlineWorkers += n->workerCount();
    const qint64 share = ownerPriority.size() > 1 ? std::max<qint64>(1, onlineWorkers / ownerPriority.size()) : 0;
    // How many more tasks \a job may start in the first pass (its owner's room below the share), or -1: no limit.
    const auto fairRoom = [&](const Job *job) -> qint64 {
        if (share == 0)
            return -1;
        for (auto it = ownerPriority.cbegin(); it != ownerPriority.cend(); ++it)
            if (it.key() != job->spec.origin && it.value() == job->spec.priority
                && ownerRunning.value(it.key()) < share)
                return std::max<qint64>(0, share - ownerRunning.value(job->spec.origin)); // someone else waits
        return -1;
    };

    if (!runnable.isEmpty() && !m_nodes.isEmpty()) {
        const int count = int(m_nodes.size());
        m_roundRobin = (m_roundRobin + 1) % count;
        for (int k = 0; k < count; ++k) {
            Node *node = m_nodes.at((m_roundRobin + k) % count);
            if (node->state() != NodeState::Online || m_draining.contains(node))
                continue;
            int credit = node->credit();
            for (int pass = share > 0 ? 0 : 1; pass < 2; ++pass) {
                for (Job *job : std::as_const(runnable)) {
                    if (credit <= 0)
                        break;
                    if (job->pending.empty() || !nodeMayRun(job, node))
                        continue;
                    const qint64 room = pass == 0 ? fairRoom(job) : -1;
                    if (room == 0)
                        continue;
                    QVector<NodeTask> batch;
                    int n = int(std::min<size_t>(size_t(credit), job->pending.size()));
                    if (room > 0)
                        n = int(std::min<qint64>(n, room));
                    batch.reserve(n);
                    std::vector<int> deferred; // retries that wait for another node, kept in queue order
                    while (int(batch.size()) < n && !job->pending.empty()) {
                        const int index = job->pending.front();
                        job->pending.pop_front();
                        if (!job->failedOn.isEmpty() && retryElsewhere(job, index, node))
                            deferred.push_back(index);
                        else
                            startAttempt(job, index, node, &batch);
                    }
                    for (auto it = deferred.rbegin(); it != deferred.rend(); ++it)
                        job->pending.push_front(*it);
                    if (batch.isEmpty())
                        continue;
                    credit -= int(batch.size());
                    ownerRunning[job->spec.origin] += batch.size();
                    node->submit(job->spec.plugin, job->spec.timeoutMs, job->parameters, std::move(batch));
                }
            }
        }
        failUnrunnableJobs();
    }
    speculate();
}

bool Controller::retryElsewhere(const Job *job, int index, const Node *node) const
{
    // The retry of a task that crashed or timed out here goes to another node when one could run it (the
    // documented rule). Without this the node that had just freed its credit usually took the retry back at
    // once, so a poison task ended its workers on one node up to the job's retries times before meeting
    // PoisonNodes distinct nodes (10 attempts in tst_controller's poison case, instead of 3).
    const auto failed = job->failedOn.constFind(index);
    if (failed == job->failedOn.constEnd() || !failed->contains(node->id()))
        return false;
    QString why;
    for (const Node *other : m_nodes) {
        if (other != node && other->state() == NodeState::Online && other->workerCount() > 0
            && !m_draining.contains(other) && !failed->contains(other->id())
            && !job->excludedNodes.contains(other->id()) && other->canRun(job->spec.plugin, &why))
            return true;
    }
    return false;
}

void Controller::failUnrunnableJobs()
{
    // A job that no online node can run (plugin fails to load everywhere) ends instead of waiting forever.
    // checkFinished() may drop the job from m_liveJobs: walk a copy.
    const std::vector<Job *> live = m_liveJobs;
    for (Job *job : live) {
        if (job->isOver() || job->pending.empty() || job->excludedNodes.isEmpty())
            continue;
        bool someoneCan = false;
        for (Node *node : std::as_const(m_nodes))
            if (node->state() == NodeState::Online && node->workerCount() > 0
                && !job->excludedNodes.contains(node->id()))
                someoneCan = true;
        if (someoneCan)
            continue;
        QStringList reasons;
        for (auto it = job->excludedNodes.cbegin(); it != job->excludedNodes.cend(); ++it)
            reasons << it.value();
        const QString why = QStringLiteral("no node can run plugin %1: %2")
                                .arg(job->spec.plugin.name, reasons.join(QStringLiteral("; ")));
        QHash<int, QVector<TaskRecord>> records;
        while (!job->pending.empty()) {
            const int index = job->pending.front();
            job->pending.pop_front();
            finishTask(job, index, TaskStatus::Failed, {}, why, nullptr, 0, &records);
        }
        emit eventLogged(QStringLiteral("job %1: %2").arg(job->id).arg(why));
        flushRecords(records);
        checkFinished(job);
    }
}

void Controller::speculate()
{
    if (!m_speculation || m_attempts.isEmpty() || m_nodes.size() < 2)
        return;
    for (const Job *j : m_liveJobs)
        if ((j->state == JobState::Running || j->state == JobState::Queued) && !j->pending.empty())
            return; // real work first
    const qint64 now = m_stats.nowUs();
    for (Node *node : std::as_const(m_nodes)) {
        if (node->state() != NodeState::Online || m_draining.contains(node) || node->credit() <= 0
            || node->busyWorkers() >= node->workerCount())
            continue;
        // The longest-running single copy on another node, of a job that can run here.
        const Attempt *best = nullptr;
        quint64 bestId = 0;
        for (auto it = m_attempts.cbegin(); it != m_attempts.cend(); ++it) {
            const Attempt &a = it.value();
            if (a.node == node)
                continue;
            Job *job = findJob(a.jobId);
            if (!job || job->state != JobState::Running)
                continue;
            const TaskExtra extra = job->extraOf(a.index);
            if (extra.runningCopies != 1 || extra.speculated)
                continue;
            const qint64 finished = job->done + job->errors - job->valuesBefore; // runtimes of this run only
            const double mean = finished ? job->runtimeSumUs / double(finished) : 0.0;
            const qint64 age = now - a.startUs;
            if (finished == 0 || age < m_speculationMinAgeUs || double(age) < 2.0 * mean)
                continue;
            if (!best || a.startUs < best->startUs) {
                best = &a;
                bestId = it.key();
            }
        }
        if (!best)
            continue;
        Job *job = findJob(best->jobId);
        const int index = best->index;
        if (!nodeMayRun(job, node))
            continue;
        job->extras[index].speculated = 1;
        QVector<NodeTask> batch;
        startAttempt(job, index, node, &batch);
        qCDebug(lcSched) << "speculating task" << index << "of job" << job->id << "on" << node->name() << "(attempt"
                         << bestId << "is slow)";
        node->submit(job->spec.plugin, job->spec.timeoutMs, job->parameters, std::move(batch));
    }
}

void Controller::releaseCopy(Job *job, int index)
{
    // No entry: the task ended already (this was a losing or lost copy); nothing to count down.
    const auto it = job->extras.find(index);
    if (it != job->extras.end() && it->runningCopies > 0)
        --it->runningCopies;
}

void Controller::requeue(Job *job, int index)
{
    if (job->taskState[size_t(index)] == TaskState::Running) {
        job->taskState[size_t(index)] = TaskState::Pending;
        --job->running;
    }
    job->pending.push_front(index);
}

void Controller::finishTask(Job *job, int index, TaskStatus status, QCborValue output, QString error,
                            const Attempt *attempt, qint64 runtimeUs, QHash<int, QVector<TaskRecord>> *records)
{
    TaskStates::Ref state = job->taskState[size_t(index)];
    if (state == TaskState::Running)
        --job->running;
    state = status == TaskStatus::Ok || status == TaskStatus::Error ? TaskState::Done
            : status == TaskStatus::Cancelled                       ? TaskState::Cancelled
                                                                    : TaskState::Failed;
    switch (status) {
    case TaskStatus::Ok:
        ++job->done;
        job->runtimeSumUs += double(runtimeUs);
        break;
    case TaskStatus::Error:
        ++job->errors;
        job->runtimeSumUs += double(runtimeUs);
        break;
    case TaskStatus::Failed:
        ++job->failed;
        break;
    case TaskStatus::Cancelled:
        ++job->cancelled;
        break;
    }
    const int attempts
        = job->extraOf(index).attempts + (attempt && (status == TaskStatus::Ok || status == TaskStatus::Error) ? 1 : 0);
    const int nodeStat = attempt ? attempt->nodeStat : -1;
    const qint64 startUs = attempt ? attempt->startUs : m_stats.nowUs();
    m_stats.taskFinished(nodeStat, job->id, index, startUs, runtimeUs, attempts, status);

    TaskRecord r;
    r.index = index;
    r.status = status;
    r.output = std::move(output);
    r.error = std::move(error);
    if (attempt) {
        r.nodeId = attempt->node->id();
        r.nodeName = attempt->node->name();
    }
    r.startUs = startUs;
    r.runtimeUs = runtimeUs;
    r.attempts = attempts;
    (*records)[job->id].append(std::move(r));
    job->failedOn.remove(index);
    job->cancelWanted.remove(index);
    job->extras.remove(index); // an ended task costs its state byte only; late copies find no entry
}

void Controller::cancelOtherCopies(int jobId, int index)
{
    for (auto it = m_attempts.begin(); it != m_attempts.end();) {
        if (it->jobId == jobId && it->index == index) {
            if (Job *job = findJob(jobId))
                noteAttempt(job, it.value(), 0,
                            QStringLiteral("a duplicate, cancelled: another copy ended the task first"));
            it->node->cancel({it.key()});
            m_stats.duplicateDiscarded(it->nodeStat);
            it = m_attempts.erase(it);
        } else {
            ++it;
        }
    }
}

void Controller::onResults(Node *node, const QVector<exec::WorkResult> &results)
{
    QHash<int, QVector<TaskRecord>> records;
    QSet<int> touchedJobs;
    for (const exec::WorkResult &r : results) {
        auto it = m_attempts.find(r.id);
        if (it == m_attempts.end()) {
            // A copy that lost the race, or a task of a cancelled job: already accounted for.
            continue;
        }
        const Attempt attempt = it.value();
        m_attempts.erase(it);
        Job *job = findJob(attempt.jobId);
        if (!job)
            continue;
        const int index = attempt.index;
        releaseCopy(job, index);
        touchedJobs.insert(job->id);
        const TaskState state = job->taskState[size_t(index)];
        if (state != TaskState::Running) {
            m_stats.duplicateDiscarded(attempt.nodeStat);
            noteAttempt(job, attempt, r.runtimeUs,
                        QStringLiteral("a duplicate, discarded: another copy had already ended the task"));
            continue;
        }
        switch (r.outcome) {
        case Outcome::Ok:
        case Outcome::PluginError: {
            const bool ok = r.outcome == Outcome::Ok;
            const bool otherCopies = job->extraOf(index).runningCopies > 0;
            finishTask(job, index, ok ? TaskStatus::Ok : TaskStatus::Error, ok ? r.output : QCborValue(),
                       ok ? QString() : r.error, &attempt, r.runtimeUs, &records);
            records[job->id].last().log = r.log;
            if (otherCopies)
                cancelOtherCopies(job->id, index);
            break;
        }
        case Outcome::Crashed:
        case Outcome::TimedOut: {
            m_stats.attemptFailed(attempt.nodeStat);
            noteAttempt(job, attempt, r.runtimeUs,
                        (r.outcome == Outcome::Crashed ? QStringLiteral("crashed: ") : QStringLiteral("timed out: "))
                            + r.error);
            TaskExtra &extra = job->extras[index]; // the task is running: it has its entry
            extra.attempts = quint8(std::min(255, extra.attempts + 1));
            const int tries = extra.attempts;
            QSet<QString> &nodes = job->failedOn[index];
            nodes.insert(node->id());
            if (extra.runningCopies > 0)
                break; // another copy is still running; let it decide
            if (nodes.size() >= PoisonNodes) {
                finishTask(job, index, TaskStatus::Failed, {},
                           QStringLiteral("poison task: it ended workers on %1 different nodes; last: %2")
                               .arg(nodes.size())
                               .arg(r.error),
                           &attempt, r.runtimeUs, &records);
            } else if (tries > job->spec.retries) {
                finishTask(job, index, TaskStatus::Failed, {},
                           QStringLiteral("failed after %1 attempts; last: %2").arg(tries).arg(r.error), &attempt,
                           r.runtimeUs, &records);
            } else {
                m_stats.retried();
                requeue(job, index);
            }
            break;
        }
        case Outcome::LoadFailed:
            noteAttempt(job, attempt, 0, QStringLiteral("the node could not load the plugin: ") + r.error);
            job->excludedNodes.insert(node->id(), r.error);
            if (job->extraOf(index).runningCopies == 0)
                requeue(job, index);
            break;
        case Outcome::Cancelled:
        case Outcome::Lost:
            if (job->cancelWanted.remove(index)) { // cancelled by cancelTasks() before it started
                finishTask(job, index, TaskStatus::Cancelled, {}, QStringLiteral("cancelled"), nullptr, 0, &records);
                touchedJobs.insert(job->id);
                break;
            }
            noteAttempt(job, attempt, r.runtimeUs,
                        (r.outcome == Outcome::Lost ? QStringLiteral("lost: ") : QStringLiteral("cancelled: "))
                            + r.error);
            if (job->extraOf(index).runningCopies == 0 && !job->isOver())
                requeue(job, index);
            break;
        }
    }
    flushRecords(records);
    for (int jobId : std::as_const(touchedJobs))
        if (Job *job = findJob(jobId))
            checkFinished(job);
    dispatch();
}

void Controller::onTasksLost(Node *node, const QVector<quint64> &attempts, const QString &reason)
{
    QHash<int, QVector<TaskRecord>> records;
    int requeued = 0;
    for (quint64 id : attempts) {
        auto it = m_attempts.find(id);
        if (it == m_attempts.end())
            continue;
        const Attempt attempt = it.value();
        m_attempts.erase(it);
        Job *job = findJob(attempt.jobId);
        if (!job)
            continue;
        releaseCopy(job, attempt.index);
        m_stats.attemptLost(attempt.nodeStat);
        noteAttempt(job, attempt, 0, QStringLiteral("lost with its node: ") + reason);
        if (job->taskState[size_t(attempt.index)] != TaskState::Running
            || job->extraOf(attempt.index).runningCopies > 0)
            continue;
        quint8 &lossCount = job->extras[attempt.index].losses; // running: it has its entry
        lossCount = quint8(std::min(255, lossCount + 1));
        const int losses = lossCount;
        if (losses >= MaxLosses) {
            finishTask(job, attempt.index, TaskStatus::Failed, {},
                       QStringLiteral("lost %1 times with its node; last: %2").arg(losses).arg(reason), &attempt, 0,
                       &records);
        } else {
            requeue(job, attempt.index);
            ++requeued;
        }
    }
    if (requeued)
        emit eventLogged(QStringLiteral("%1: %2 running tasks put back in the queue (%3)")
                             .arg(node->name())
                             .arg(requeued)
                             .arg(reason));
    flushRecords(records);
    const std::vector<Job *> live = m_liveJobs; // checkFinished() drops finished ones
    for (Job *job : live)
        checkFinished(job);
    scheduleDispatch();
}

void Controller::flushRecords(QHash<int, QVector<TaskRecord>> &records)
{
    for (auto it = records.begin(); it != records.end(); ++it)
        emit resultsRecorded(it.key(), it.value());
    records.clear();
}

void Controller::checkFinished(Job *job)
{
    if (job->isOver() || job->ended() != job->total())
        return;
    if (job->graceMs > 0) {
        // Kept open: it waits for more tasks, once per time it ran out, and finishes when none came.
        if (!job->waiting) {
            job->waiting = true;
            job->ranOutUs = m_stats.nowUs();
            const int id = job->id;
            const quint32 round = ++job->graceRound;
            QTimer::singleShot(job->graceMs, this, [this, id, round] {
                Job *j = findJob(id);
                if (j && j->waiting && j->graceRound == round)
                    closeJob(id);
            });
        }
        return;
    }
    job->state = JobState::Finished;
    job->finishedUs = job->waiting ? job->ranOutUs : m_stats.nowUs();
    job->waiting = false;
    dropLiveJob(job);
    if (isLogged())
        emit eventLogged(QStringLiteral("job %1 \"%2\" finished: %3 ok, %4 errors, %5 failed in %6 s")
                             .arg(job->id)
                             .arg(job->spec.name)
                             .arg(job->done)
                             .arg(job->errors)
                             .arg(job->failed)
                             .arg(double(job->finishedUs - job->submittedUs) / 1e6, 0, 'f', 3));
    emit jobFinished(job->id);
}

bool Controller::isLogged() const
{
    static const QMetaMethod signal = QMetaMethod::fromSignal(&Controller::eventLogged);
    return isSignalConnected(signal);
}

void Controller::dropLiveJob(Job *job)
{
    m_liveJobs.erase(std::remove(m_liveJobs.begin(), m_liveJobs.end(), job), m_liveJobs.end());
}

ClusterSnapshot Controller::snapshot(int historySeconds) const
{
    ClusterSnapshot s;
    s.takenUs = m_stats.nowUs();
    const auto &totals = m_stats.nodes();
    const qint64 allDone = m_stats.totalDone();
    for (Node *node : m_nodes) {
        NodeSnapshot n;
        n.id = node->id();
        n.name = node->name();
        n.address = node->address();
        n.local = node->isLocal();
        n.state = node->state();
        n.stateReason = node->stateReason();
        n.workers = node->workerCount();
        n.busy = node->busyWorkers();
        n.host = node->hostInfo();
        n.draining = m_draining.contains(node);
        const int index = m_nodeStat.value(node, -1);
        if (index >= 0) {
            const stats::NodeTotals &t = totals.at(index);
            n.tasksDone = t.tasksDone;
            n.percentOfAll = allDone ? 100.0 * double(t.tasksDone) / double(allDone) : 0.0;
            n.taskTimeSum = t.taskTimeSum;
            n.timePerTask = t.timePerTask();
            n.tasksPerSecond = m_stats.rate(index, 5, s.takenUs);
            n.failures = t.failures;
            n.errors = t.pluginErrors;
            n.lost = t.lost;
        }
        s.nodes.append(n);
    }
    for (const auto &entry : m_jobs) {
        const Job &j = *entry.second;
        JobSnapshot js;
        js.id = j.id;
        js.name = j.spec.name;
        js.plugin = j.spec.plugin.name;
        js.state = j.state;
        js.priority = j.spec.priority;
        js.total = j.total();
        js.done = j.done;
        js.errors = j.errors;
        js.failed = j.failed;
        js.cancelled = j.cancelled;
        js.running = j.running;
        if (j.state == JobState::Running) {
            // The Nodes table's measure over its window (Statistics::jobRate): a job running alone has the
            // rate of the Nodes total at the same moment (an average since the job started never matched it).
            // The ETA goes at the pace the nodes keep now.
            js.tasksPerSecond = m_stats.jobRate(j.id, 5, s.takenUs);
            if (js.tasksPerSecond > 0)
                js.etaSeconds = double(j.total() - j.ended()) / js.tasksPerSecond;
        } else if (j.startedUs >= 0) {
            // Paused or over: its average over the time it could run (paused time does not lower it), that
            // time counted as at least a second, the resolution of the rate above: 6 tasks done within 0.4 ms
            // are 6 tasks/s, not a burst of 15,000 tasks/s no node ever kept.
            const double seconds = std::max(1.0, double(j.activeUs(s.takenUs)) / 1e6);
            const qint64 ended = j.ended() - j.cancelled - j.endedBefore; // what this run did
            js.tasksPerSecond = double(ended) / seconds;
        }
        s.jobs.append(js);
    }
    s.tasksDone = allDone;
    s.tasksPerSecond = m_stats.rate(-1, 5, s.takenUs);
    s.failures = m_stats.totalFailures();
    // Up to the second the clock is in, not the second of the last result: the chart scrolls with time,
    // and a quiet spell shows as zeros. The last entry is that second so far (see currentSecondFraction).
    const int last = int(s.takenUs / 1000000);
    s.currentSecondFraction = double(s.takenUs % 1000000) / 1e6;
    const int first = std::max(0, last - historySeconds + 1);
    QVector<int> total;
    for (int sec = first; sec <= last; ++sec)
        total.append(m_stats.doneInSecond(-1, sec));
    s.throughputHistory.append(total);
    for (Node *node : m_nodes) {
        const int index = m_nodeStat.value(node, -1);
        QVector<int> series;
        for (int sec = first; sec <= last; ++sec)
            series.append(m_stats.doneInSecond(index, sec));
        s.throughputHistory.append(series);
        s.throughputNodeNames.append(node->name());
    }
    return s;
}

} // namespace taskfleet::sched
