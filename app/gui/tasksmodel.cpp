// SPDX-License-Identifier: MIT
// Every task of a job, whatever its state: the table behind the Tasks view.
#include "tasksmodel.h"

#include "format.h"

#include <QtCore/QCborStreamWriter>
#include <QtCore/QDateTime>
#include <QtCore/QIODevice>
#include <QtGui/QBrush>

#include <algorithm>

namespace taskfleet::gui {

namespace {
TasksModel::TaskState stateOf(stats::TaskStatus status)
{
    switch (status) {
    case stats::TaskStatus::Ok:
        return TasksModel::Done;
    case stats::TaskStatus::Error:
        return TasksModel::Error;
    case stats::TaskStatus::Failed:
        return TasksModel::Failed;
    case stats::TaskStatus::Cancelled:
        return TasksModel::Cancelled;
    }
    return TasksModel::Failed;
}

QString firstLine(const QString &text)
{
    const qsizetype end = text.indexOf(QLatin1Char('\n'));
    return end < 0 ? text : text.left(end) + QStringLiteral(" …");
}

QString secondsAt(qint64 us)
{
    return QString::number(double(us) / 1e6, 'f', 3) + QStringLiteral(" s");
}

/** Counts what is written to it: a value's encoded size without a copy of it. */
class CountingDevice : public QIODevice
{
public:
    CountingDevice() { open(QIODevice::WriteOnly | QIODevice::Unbuffered); }
    qint64 total = 0;

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *, qint64 size) override
    {
        total += size;
        return size;
    }
};

/** "812 bytes", "1.5 kB", "47.7 MB". */
QString sizeText(qint64 bytes)
{
    if (bytes < 1000)
        return TasksModel::tr("%1 bytes").arg(bytes);
    if (bytes < 1000 * 1000)
        return TasksModel::tr("%1 kB").arg(double(bytes) / 1e3, 0, 'f', 1);
    if (bytes < 1000LL * 1000 * 1000)
        return TasksModel::tr("%1 MB").arg(double(bytes) / 1e6, 0, 'f', 1);
    return TasksModel::tr("%1 GB").arg(double(bytes) / 1e9, 0, 'f', 2);
}
} // namespace

QString TasksModel::stateName(TaskState state)
{
    switch (state) {
    case Queued:
        return tr("queued");
    case Running:
        return tr("running");
    case Done:
        return tr("done");
    case Error:
        return tr("error");
    case Failed:
        return tr("failed");
    case Cancelled:
        return tr("cancelled");
    case StateCount:
        break;
    }
    return {};
}

void TasksModel::Job::resize(qint64 tasks)
{
    const qint64 old = size;
    size = std::clamp<qint64>(tasks, 0, INT_MAX);
    if (old > 0 && old % ChunkTasks != 0 && size > old) {
        // The last chunk grows: if all its tasks were done, the new ones are not.
        Chunk &last = chunks.back();
        if (last.bits.empty() && last.uniform == StoredDone) {
            last.bits.assign(ChunkTasks / 4, 0);
            for (int k = 0; k < int(old % ChunkTasks); ++k)
                last.bits[size_t(k) >> 2] |= quint8(StoredDone << ((k & 3) * 2));
        }
    }
    chunks.resize(size_t((size + ChunkTasks - 1) / ChunkTasks));
    blocks.resize(size_t((size + BlockTasks - 1) / BlockTasks));
}

void TasksModel::Job::setStored(int index, Stored s)
{
    const size_t n = size_t(index) / ChunkTasks;
    Chunk &c = chunks[n];
    const int k = index % ChunkTasks;
    if (c.bits.empty()) {
        if (s == c.uniform)
            return;
        // 0x55: every task of the chunk done.
        c.bits.assign(ChunkTasks / 4, quint8(c.uniform == StoredDone ? 0x55 : 0));
    }
    quint8 &byte = c.bits[size_t(k) >> 2];
    const int shift = (k & 3) * 2;
    const Stored was = Stored((byte >> shift) & 3);
    byte = quint8((byte & ~(3 << shift)) | (int(s) << shift));
    c.done += (s == StoredDone) - (was == StoredDone);
    if (c.done == chunkSize(n)) {
        // All done: the chunk needs no bits (nor failed bits: none of its tasks went wrong).
        std::vector<quint8>().swap(c.bits);
        std::vector<quint8>().swap(c.failed);
        c.uniform = StoredDone;
    }
}

void TasksModel::Job::setFailed(int index, bool failed)
{
    Chunk &c = chunks[size_t(index) / ChunkTasks];
    const int k = index % ChunkTasks;
    if (c.failed.empty()) {
        if (!failed)
            return;
        c.failed.assign(ChunkTasks / 8, 0);
    }
    quint8 &byte = c.failed[size_t(k) >> 3];
    const quint8 bit = quint8(1 << (k & 7));
    byte = failed ? quint8(byte | bit) : quint8(byte & ~bit);
}

TasksModel::TaskState TasksModel::Job::endState(int index) const
{
    switch (stored(index)) {
    case NotEnded:
        return Queued;
    case StoredDone:
        return Done;
    case WentWrong:
        return failedAt(index) ? Failed : Error;
    case StoredCancelled:
        return Cancelled;
    }
    return Queued;
}

qint64 TasksModel::Job::runningIn(qint64 first, qint64 last) const
{
    const auto a = std::lower_bound(runningSorted.begin(), runningSorted.end(), first);
    const auto b = std::lower_bound(a, runningSorted.end(), last);
    return b - a;
}

qint64 TasksModel::Job::countIn(int state, qint64 first, qint64 last) const
{
    first = std::max<qint64>(first, 0);
    last = std::min(last, size);
    if (first >= last)
        return 0;
    if (state < 0)
        return last - first;
    if (state == Running)
        return runningIn(first, last);
    qint64 n = 0;
    qint64 i = first;
    while (i < last) {
        if (i % BlockTasks == 0 && i + BlockTasks <= last) {
            const Block &b = blocks[size_t(i / BlockTasks)];
            switch (state) {
            case Queued:
                n += BlockTasks - b.ended[StoredDone] - b.ended[WentWrong] - b.ended[StoredCancelled];
                break;
            case Done:
                n += b.ended[StoredDone];
                break;
            case Error:
                n += b.ended[WentWrong] - b.failed;
                break;
            case Failed:
                n += b.failed;
                break;
            case Cancelled:
                n += b.ended[StoredCancelled];
                break;
            default:
                break;
            }
            i += BlockTasks;
        } else {
            n += endState(int(i)) == state;
            ++i;
        }
    }
    if (state == Queued)
        n -= runningIn(first, last); // counted as not ended above
    return n;
}

void TasksModel::addJob(int jobId, qint64 tasks, const QString &origin, const QVector<int> &originIndices)
{
    const bool shown = jobId == m_current;
    if (shown)
        beginResetModel();
    Job &job = m_jobs[jobId];
    job = Job {};
    job.resize(tasks);
    job.origin = origin;
    job.originIndices = originIndices;
    if (shown)
        endResetModel();
}

void TasksModel::setJobInputs(int jobId, const sched::JobInputs &inputs)
{
    const auto it = m_jobs.find(jobId);
    if (it != m_jobs.end())
        it->inputs = inputs;
}

void TasksModel::growJob(int jobId, qint64 tasks)
{
    const auto it = m_jobs.find(jobId);
    if (it == m_jobs.end() || tasks <= it->size || it->size >= INT_MAX)
        return;
    const bool shown = jobId == m_current;
    const qint64 to = std::min<qint64>(tasks, INT_MAX);
    if (shown)
        beginInsertRows({}, int(it->size), int(to) - 1);
    it->resize(to);
    if (shown)
        endInsertRows();
}

void TasksModel::removeJob(int jobId)
{
    if (jobId == m_current)
        setCurrentJob(-1);
    m_jobs.remove(jobId);
}

void TasksModel::addRecords(int jobId, const QVector<sched::TaskRecord> &records)
{
    const auto it = m_jobs.find(jobId);
    if (it == m_jobs.end() || records.isEmpty())
        return;
    Job &job = *it;
    int first = INT_MAX;
    int last = -1;
    bool runningChanged = false;
    for (const sched::TaskRecord &r : records) {
        if (r.index < 0 || r.index >= job.size)
            continue;
        Block &block = job.blocks[size_t(r.index / BlockTasks)];
        if (const Stored was = job.stored(r.index); was != NotEnded) {
            // Cannot happen (one record per task); keeps the counts true if it did.
            --job.counts[job.endState(r.index)];
            --block.ended[was];
            if (was == WentWrong && job.failedAt(r.index))
                --block.failed;
        }
        const TaskState state = stateOf(r.status);
        const Stored stored = state == Done ? StoredDone : state == Cancelled ? StoredCancelled : WentWrong;
        job.setStored(r.index, stored);
        ++block.ended[stored];
        if (stored == WentWrong) {
            job.setFailed(r.index, state == Failed);
            block.failed += state == Failed;
        }
        ++job.counts[state];
        Detail detail;
        detail.attempts = quint8(std::clamp(r.attempts, 0, 255));
        detail.node = r.nodeName.isEmpty() ? qint16(-1) : nodeIndex(r.nodeName);
        detail.startMs = r.startUs < 0 ? -1 : qint32(std::clamp<qint64>(r.startUs / 1000, 0, INT_MAX));
        detail.runtimeUs = r.runtimeUs;
        if (state == Done) {
            block.node = detail.node;
            // A slot per index modulo the slot count: the latest done task of those indices keeps its details.
            // As many slots as tasks, up to DoneDetailSlots (more when the job grew: the kept ones move).
            if (job.doneSlots.size() < size_t(DoneDetailSlots) && qint64(job.doneSlots.size()) < job.size) {
                size_t slotCount = 1;
                while (slotCount < size_t(DoneDetailSlots) && qint64(slotCount) < job.size)
                    slotCount *= 2;
                std::vector<DoneSlot> grown(slotCount);
                for (const DoneSlot &old : job.doneSlots)
                    if (old.index >= 0)
                        grown[size_t(old.index) & (slotCount - 1)] = old;
                job.doneSlots.swap(grown);
            }
            DoneSlot &slot = job.doneSlots[size_t(r.index) & (job.doneSlots.size() - 1)];
            slot.index = r.index;
            slot.detail = detail;
        } else if (job.problems.size() < MaxProblemDetails && (detail.node >= 0 || detail.attempts > 0)) {
            job.problems.insert(r.index, detail);
        }
        if (r.status != stats::TaskStatus::Ok && !r.error.isEmpty() && job.errors.size() < MaxErrorsPerJob)
            job.errors.insert(r.index, r.error);
        if (!r.log.isEmpty() && job.logs.size() < MaxLogsPerJob)
            job.logs.insert(r.index, r.log);
        runningChanged |= job.running.remove(r.index);
        job.inFlight.remove(r.index);
        first = std::min(first, r.index);
        last = std::max(last, r.index);
    }
    if (runningChanged)
        sortRunning(job);
    if (last >= 0)
        rowsChanged(jobId, first, last);
    emit recordsAdded(jobId, records, controllerNowUs());
}

void TasksModel::sortRunning(Job &job)
{
    job.runningSorted.clear();
    job.runningSorted.reserve(size_t(job.running.size()));
    for (auto r = job.running.cbegin(); r != job.running.cend(); ++r)
        job.runningSorted.push_back(r.key());
    std::sort(job.runningSorted.begin(), job.runningSorted.end());
}

void TasksModel::setReport(const sched::TaskReport &report)
{
    const auto it = m_jobs.find(report.jobId);
    if (it == m_jobs.end())
        return;
    Job &job = *it;
    int first = INT_MAX;
    int last = -1;
    const auto touch = [&](int index) {
        first = std::min(first, index);
        last = std::max(last, index);
    };
    for (auto r = job.inFlight.cbegin(); r != job.inFlight.cend(); ++r)
        touch(r.key());
    job.inFlight.clear();
    for (const sched::RunningAttempt &a : report.running) {
        // A record taken before the report beats it: the host flushes records first, so this is a task still
        // running; the check keeps an ended task ended whatever the order.
        if (a.index < 0 || a.index >= job.size || job.stored(a.index) != NotEnded)
            continue;
        job.inFlight.insert(a.index, a);
        touch(a.index);
    }
    splitInFlight(job, &first, &last);
    for (auto n = report.notes.cbegin(); n != report.notes.cend(); ++n)
        if (job.notes.value(n.key()).size() != n.value().size())
            touch(n.key());
    job.notes = report.notes;
    job.notesTruncated = report.notesTruncated;
    job.reportUs = report.takenUs;
    if (last >= 0)
        rowsChanged(report.jobId, std::max(0, first), int(std::min<qint64>(last, job.size - 1)));
}

void TasksModel::setNodesBusy(const QHash<QString, int> &busy)
{
    if (busy == m_busy)
        return;
    m_busy = busy;
    for (auto it = m_jobs.begin(); it != m_jobs.end(); ++it) {
        if (it->inFlight.isEmpty())
            continue;
        int first = INT_MAX;
        int last = -1;
        splitInFlight(*it, &first, &last);
        if (last >= 0)
            rowsChanged(it.key(), first, last);
    }
}

void TasksModel::splitInFlight(Job &job, int *first, int *last)
{
    // Per node, the attempts it was sent longest ago are the ones its busy workers run (a node runs what it
    // is sent in order); the rest wait there for a worker.
    QHash<QString, QVector<const sched::RunningAttempt *>> byNode;
    for (auto a = job.inFlight.cbegin(); a != job.inFlight.cend(); ++a)
        byNode[a->nodeName].append(&a.value());
    QHash<int, sched::RunningAttempt> running;
    for (auto n = byNode.begin(); n != byNode.end(); ++n) {
        QVector<const sched::RunningAttempt *> &attempts = n.value();
        std::sort(attempts.begin(), attempts.end(), [](const sched::RunningAttempt *a, const sched::RunningAttempt *b) {
            return a->startUs != b->startUs ? a->startUs < b->startUs : a->index < b->index;
        });
        const auto busy = m_busy.constFind(n.key());
        // A node the snapshots do not know (yet): everything it was sent counts as running, as before.
        const qsizetype runs
            = busy == m_busy.constEnd() ? attempts.size() : std::min<qsizetype>(*busy, attempts.size());
        for (qsizetype i = 0; i < runs; ++i)
            running.insert(attempts.at(i)->index, *attempts.at(i));
    }
    const auto touch = [&](int index) {
        *first = std::min(*first, index);
        *last = std::max(*last, index);
    };
    for (auto r = job.running.cbegin(); r != job.running.cend(); ++r)
        if (!running.contains(r.key()))
            touch(r.key());
    for (auto r = running.cbegin(); r != running.cend(); ++r)
        if (!job.running.contains(r.key()))
            touch(r.key());
    job.running = std::move(running);
    sortRunning(job);
}

QString TasksModel::clockTime(qint64 controllerUs) const
{
    if (m_originMs < 0)
        return secondsAt(controllerUs);
    return QDateTime::fromMSecsSinceEpoch(m_originMs + controllerUs / 1000).toString(QStringLiteral("HH:mm:ss.zzz"));
}

qint64 TasksModel::controllerNowUs() const
{
    return m_originMs < 0 ? -1 : (QDateTime::currentMSecsSinceEpoch() - m_originMs) * 1000;
}

bool TasksModel::isSpeculativeCopy(const sched::AttemptNote &note)
{
    // The controller's words for the copy that lost the race (Controller::cancelOtherCopies, onResults).
    return note.what.startsWith(QLatin1String("a duplicate,"));
}

bool TasksModel::countsAsRetry(const sched::AttemptNote &note)
{
    // What the controller counts against "retries" (Controller::onResults): crashes and timeouts.
    return note.what.startsWith(QLatin1String("crashed:")) || note.what.startsWith(QLatin1String("timed out:"));
}

void TasksModel::setCurrentJob(int jobId)
{
    if (jobId == m_current)
        return;
    beginResetModel();
    m_current = jobId;
    endResetModel();
}

qint64 TasksModel::count(int jobId, TaskState state) const
{
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.constEnd())
        return 0;
    const Job &job = *it;
    const qint64 running = job.running.size();
    if (state == Running)
        return running;
    if (state == Queued) {
        qint64 ended = 0;
        for (int s = Done; s < StateCount; ++s)
            ended += job.counts[s];
        return job.size - ended - running;
    }
    return job.counts[state];
}

const TasksModel::Job *TasksModel::currentJobData() const
{
    const auto it = m_jobs.constFind(m_current);
    return it == m_jobs.constEnd() ? nullptr : &*it;
}

QVector<int> TasksModel::indicesIn(int jobId, const QVector<TaskState> &states) const
{
    QVector<int> indices;
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.constEnd())
        return indices;
    const Job &job = *it;
    bool wanted[StateCount] = {};
    for (TaskState s : states)
        if (s < StateCount)
            wanted[s] = true;
    for (qint64 i = 0; i < job.size;) {
        if (i % BlockTasks == 0 && i + BlockTasks <= job.size && !wanted[Queued] && !wanted[Running]) {
            // A block none of whose tasks is in a wanted state is skipped by its counts.
            const Block &b = job.blocks[size_t(i / BlockTasks)];
            const qint64 n = (wanted[Done] ? b.ended[StoredDone] : 0)
                             + (wanted[Error] ? b.ended[WentWrong] - b.failed : 0) + (wanted[Failed] ? b.failed : 0)
                             + (wanted[Cancelled] ? b.ended[StoredCancelled] : 0);
            if (n == 0) {
                i += BlockTasks;
                continue;
            }
        }
        if (wanted[shownState(job, int(i))])
            indices.append(int(i));
        ++i;
    }
    return indices;
}

QVector<int> TasksModel::tasksIn(int state, qint64 skip, int limit) const
{
    QVector<int> tasks;
    const Job *job = currentJobData();
    if (!job || limit <= 0)
        return tasks;
    skip = std::max<qint64>(skip, 0);
    if (state < 0) {
        for (qint64 i = skip; i < job->size && tasks.size() < limit; ++i)
            tasks.append(int(i));
        return tasks;
    }
    if (state == Running) {
        for (size_t i = size_t(std::min<qint64>(skip, qint64(job->runningSorted.size())));
             i < job->runningSorted.size() && tasks.size() < limit; ++i)
            tasks.append(job->runningSorted[i]);
        return tasks;
    }
    qint64 i = 0;
    // Whole blocks before the first wanted task are skipped by their counts.
    while (i + BlockTasks <= job->size) {
        const qint64 n = job->countIn(state, i, i + BlockTasks);
        if (n > skip)
            break;
        skip -= n;
        i += BlockTasks;
    }
    for (; i < job->size && tasks.size() < limit; ++i) {
        if (i % BlockTasks == 0 && i + BlockTasks <= job->size && job->countIn(state, i, i + BlockTasks) == 0) {
            i += BlockTasks - 1;
            continue;
        }
        if (shownState(*job, int(i)) != state)
            continue;
        if (skip > 0)
            --skip;
        else
            tasks.append(int(i));
    }
    return tasks;
}

qint64 TasksModel::rankOf(int state, int index) const
{
    const Job *job = currentJobData();
    return job ? job->countIn(state, 0, index) : 0;
}

qint64 TasksModel::currentCount(int state) const
{
    const Job *job = currentJobData();
    if (!job)
        return 0;
    return state < 0 ? job->size : count(m_current, TaskState(state));
}

namespace {
/** How much a state needs a look, for a cell of several tasks: the highest wins. */
int urgency(TasksModel::TaskState s)
{
    switch (s) {
    case TasksModel::Failed:
        return 5;
    case TasksModel::Error:
        return 4;
    case TasksModel::Running:
        return 3;
    case TasksModel::Queued:
        return 2;
    case TasksModel::Cancelled:
        return 1;
    default:
        return 0;
    }
}
} // namespace

TasksModel::TaskState TasksModel::worstState(int first, int count, int *shown) const
{
    *shown = first;
    const Job *job = currentJobData();
    TaskState worst = Done;
    if (!job)
        return Queued;
    const qint64 end = std::min<qint64>(qint64(first) + std::max(count, 0), job->size);
    qint64 i = std::max(first, 0);
    while (i < end && worst != Failed) {
        if (i % BlockTasks == 0 && i + BlockTasks <= end) {
            // A whole block: its counts say which states it holds; only a block that beats the worst so far is read.
            const Block &b = job->blocks[size_t(i / BlockTasks)];
            const qint64 running = job->runningIn(i, i + BlockTasks);
            const qint64 notEnded = BlockTasks - b.ended[StoredDone] - b.ended[WentWrong] - b.ended[StoredCancelled];
            TaskState best = Done;
            if (b.failed > 0)
                best = Failed;
            else if (b.ended[WentWrong] > 0)
                best = Error;
            else if (running > 0)
                best = Running;
            else if (notEnded > 0)
                best = Queued;
            else if (b.ended[StoredCancelled] > 0)
                best = Cancelled;
            if (urgency(best) > urgency(worst) || i == first) {
                for (qint64 k = i; k < i + BlockTasks; ++k)
                    if (shownState(*job, int(k)) == best) {
                        worst = best;
                        *shown = int(k);
                        break;
                    }
            }
            i += BlockTasks;
            continue;
        }
        // Part of a block: a block all of one state (the common case) answers for the part without reading it.
        const qint64 blockEnd = std::min((i / BlockTasks + 1) * BlockTasks, end);
        const Block &b = job->blocks[size_t(i / BlockTasks)];
        const qint64 blockTasks = std::min<qint64>(BlockTasks, job->size - (i / BlockTasks) * BlockTasks);
        if (job->runningIn(i, blockEnd) == 0) {
            TaskState uniform = StateCount;
            if (b.ended[StoredDone] == blockTasks)
                uniform = Done;
            else if (b.ended[StoredDone] + b.ended[WentWrong] + b.ended[StoredCancelled] == 0)
                uniform = Queued;
            else if (b.ended[StoredCancelled] == blockTasks)
                uniform = Cancelled;
            if (uniform != StateCount) {
                if (urgency(uniform) > urgency(worst) || i == first) {
                    worst = uniform;
                    *shown = int(i);
                }
                i = blockEnd;
                continue;
            }
        }
        for (; i < blockEnd; ++i) {
            const TaskState s = shownState(*job, int(i));
            if (urgency(s) > urgency(worst) || i == first) {
                worst = s;
                *shown = int(i);
            }
        }
    }
    return worst;
}

qint64 TasksModel::memoryBytes() const
{
    qint64 bytes = 0;
    for (const Job &job : m_jobs) {
        bytes += qint64(job.chunks.capacity() * sizeof(Chunk));
        for (const Chunk &c : job.chunks)
            bytes += qint64(c.bits.capacity() + c.failed.capacity());
        bytes += qint64(job.blocks.capacity() * sizeof(Block));
        bytes += qint64(job.doneSlots.capacity() * sizeof(DoneSlot));
        // A hash entry: its key and value, and about as much again for the table around it.
        bytes += qint64(job.problems.size()) * 2 * qint64(sizeof(int) + sizeof(Detail));
        bytes += qint64(job.runningSorted.capacity() * sizeof(int));
    }
    return bytes;
}

TasksModel::TaskState TasksModel::stateAt(int index) const
{
    const Job *job = currentJobData();
    if (!job || index < 0 || index >= job->size)
        return Queued;
    return shownState(*job, index);
}

QString TasksModel::nodeAt(int index) const
{
    const Job *job = currentJobData();
    if (!job || index < 0 || index >= job->size)
        return {};
    if (const auto running = job->running.constFind(index); running != job->running.constEnd())
        return running->nodeName;
    if (const Detail *detail = detailOf(*job, index))
        return nodeName(detail->node);
    if (job->stored(index) == StoredDone)
        return nodeName(job->blocks[size_t(index / BlockTasks)].node);
    return {};
}

bool TasksModel::detailsDropped(int index) const
{
    const Job *job = currentJobData();
    return job && index >= 0 && index < job->size && job->stored(index) != NotEnded && !detailOf(*job, index);
}

const TasksModel::Detail *TasksModel::detailOf(const Job &job, int index)
{
    const Stored stored = job.stored(index);
    if (stored == NotEnded)
        return nullptr;
    if (stored == StoredDone) {
        if (job.doneSlots.empty())
            return nullptr;
        const DoneSlot &slot = job.doneSlots[size_t(index) & (job.doneSlots.size() - 1)];
        return slot.index == index ? &slot.detail : nullptr;
    }
    const auto it = job.problems.constFind(index);
    return it == job.problems.constEnd() ? nullptr : &*it;
}

TasksModel::TaskState TasksModel::shownState(const Job &job, int index) const
{
    const TaskState s = job.endState(index);
    return s == Queued && std::binary_search(job.runningSorted.begin(), job.runningSorted.end(), index) ? Running : s;
}

qint16 TasksModel::nodeIndex(const QString &name)
{
    const auto it = m_nodeIndex.constFind(name);
    if (it != m_nodeIndex.constEnd())
        return *it;
    if (m_nodeNames.size() >= 32767)
        return -1; // more node names than a row can refer to: the row shows none
    m_nodeNames.append(name);
    const auto index = qint16(m_nodeNames.size() - 1);
    m_nodeIndex.insert(name, index);
    return index;
}

QString TasksModel::nodeName(qint16 index) const
{
    return index >= 0 && index < m_nodeNames.size() ? m_nodeNames.at(index) : QString();
}

void TasksModel::rowsChanged(int jobId, int first, int last)
{
    if (jobId == m_current && first <= last)
        emit dataChanged(index(first, 0), index(last, ColumnCount - 1));
}

QString TasksModel::detailText(int taskIndex) const
{
    const Job *current = currentJobData();
    if (!current || taskIndex < 0 || taskIndex >= current->size)
        return {};
    const Job &job = *current;
    const Detail *kept = detailOf(job, taskIndex);
    const Detail row = kept ? *kept : Detail {};
    const bool dropped = !kept && job.stored(taskIndex) != NotEnded;
    const TaskState state = shownState(job, taskIndex);
    QStringList lines;
    lines << tr("Task %1: %2").arg(taskIndex).arg(stateName(state));
    if (!job.origin.isEmpty() && taskIndex < job.originIndices.size())
        lines << job.origin.arg(job.originIndices.at(taskIndex));
    if (state == Running) {
        const sched::RunningAttempt &a = job.running[taskIndex];
        lines << tr("Running on %1 since %2 (for %3).")
                     .arg(a.nodeName, clockTime(a.startUs), formatSeconds(double(job.reportUs - a.startUs) / 1e6));
    } else if (const auto sent = job.inFlight.constFind(taskIndex);
               state == Queued && sent != job.inFlight.constEnd()) {
        lines
            << tr("Sent to %1 at %2; it waits there for a free worker.").arg(sent->nodeName, clockTime(sent->startUs));
    } else if (dropped && state != Cancelled) {
        lines << tr("Its node, attempts and times are no longer kept: a later done task took their place (the window "
                    "keeps them for %L1 tasks at a time, and for the first %L2 that went wrong; the Results tab, the "
                    "journal and the statistics CSV have them).")
                     .arg(DoneDetailSlots)
                     .arg(MaxProblemDetails);
    } else if (state != Queued) {
        if (row.node >= 0)
            lines << tr("Node: %1").arg(nodeName(row.node));
        lines << tr("Attempts: %1").arg(row.attempts);
        if (state == Done || state == Error)
            lines << tr("Run time: %1").arg(formatSeconds(double(row.runtimeUs) / 1e6));
    }
    if (taskIndex < job.inputs.size()) {
        // A preview whose cost does not grow with the value (summarizeValue()); the size of one cut short
        // (a big text says its size itself: "<47.7 MB text> its start…").
        const QCborValue input = job.inputs.at(taskIndex);
        const QString preview = summarizeValue(input, InputPreviewChars);
        if (preview.endsWith(QChar(0x2026)) && !preview.startsWith(QLatin1Char('<'))) {
            CountingDevice counter;
            QCborStreamWriter writer(&counter);
            input.toCbor(writer);
            lines << tr("Input (%1 encoded, cut short): %2").arg(sizeText(counter.total), preview);
        } else {
            lines << tr("Input: %1").arg(preview);
        }
    }
    if (const QString error = job.errors.value(taskIndex); !error.isEmpty())
        lines << QString() << tr("Error:") << error;
    if (const QString log = job.logs.value(taskIndex); !log.isEmpty())
        lines << QString() << tr("What it printed:") << log;
    const QVector<sched::AttemptNote> notes = job.notes.value(taskIndex);
    if (!notes.isEmpty() || ((state == Done || state == Error) && !dropped)) {
        // Numbered as the job's "retries" count them: crashes and timeouts, and the attempt that gave the result.
        // Speculative copies, attempts lost with their node and the like ran too, but are not attempts of the task.
        lines << QString() << tr("Attempts, in order:");
        int n = 0;
        for (const sched::AttemptNote &note : notes) {
            QString line = countsAsRetry(note)
                               ? tr("%1. %2, started at %3").arg(++n).arg(note.nodeName, clockTime(note.startUs))
                           : isSpeculativeCopy(note) ? tr("–  a speculative copy (not a failure) on %1, started at %2")
                                                           .arg(note.nodeName, clockTime(note.startUs))
                                                     : tr("–  not counted as an attempt: on %1, started at %2")
                                                           .arg(note.nodeName, clockTime(note.startUs));
            if (note.runtimeUs > 0)
                line += tr(", ran %1").arg(formatSeconds(double(note.runtimeUs) / 1e6));
            lines << line + QStringLiteral(": ") + note.what;
        }
        if ((state == Done || state == Error) && !dropped)
            lines << tr("%1. %2, %3, ran %4: %5 (the task's result)")
                         .arg(++n)
                         .arg(nodeName(row.node),
                              row.startMs < 0 ? tr("in an earlier session (a resumed job)") // the journal has no time
                                              : tr("started at %1").arg(clockTime(qint64(row.startMs) * 1000)),
                              formatSeconds(double(row.runtimeUs) / 1e6),
                              state == Done ? tr("a value") : tr("an error"));
        if (job.notesTruncated)
            lines << tr("(The job had more attempts go wrong than the window keeps a history of.)");
    }
    return lines.join(QLatin1Char('\n'));
}

int TasksModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    const Job *job = currentJobData();
    return job ? int(job->size) : 0;
}

int TasksModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TasksModel::data(const QModelIndex &index, int role) const
{
    const Job *current = currentJobData();
    if (!index.isValid() || !current || index.row() >= current->size)
        return {};
    const Job &job = *current;
    const int task = index.row();
    const Detail *kept = detailOf(job, task);
    const Detail row = kept ? *kept : Detail {};
    const TaskState state = shownState(job, task);
    const bool dropped = !kept && state != Queued && state != Running;
    if (role == StateRole)
        return int(state);
    if (role == TaskRole)
        return task;
    const sched::RunningAttempt *running = state == Running ? &*job.running.constFind(task) : nullptr;
    const auto sent = job.inFlight.constFind(task);
    const bool waiting = state == Queued && sent != job.inFlight.constEnd();
    const qint64 timeUs = running ? job.reportUs - running->startUs : row.runtimeUs;
    const QVector<sched::AttemptNote> notes = job.notes.value(task);
    // Attempts as "retries" counts them: crashes and timeouts so far, plus the one running now.
    const int attempts = state == Queued || state == Running
                             ? int(std::count_if(notes.cbegin(), notes.cend(), countsAsRetry)) + (running ? 1 : 0)
                             : row.attempts;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Index:
            return task;
        case State:
            return stateName(state);
        case Node:
            if (waiting)
                return tr("%1 (waits for a worker)").arg(sent->nodeName);
            return running ? running->nodeName : nodeName(row.node); // "" when the details are not kept
        case Attempts:
            return (state == Queued && attempts == 0) || dropped ? QVariant() : QVariant(attempts);
        case Time:
            if (state == Queued || state == Cancelled || dropped)
                return QString();
            // A crashed or lost final attempt reports no run time: unknown, not 0.
            return state == Failed && timeUs == 0 ? QStringLiteral("\u2013") : formatSeconds(double(timeUs) / 1e6);
        case Note: {
            if (const QString error = job.errors.value(task); !error.isEmpty())
                return firstLine(error);
            // A speculative copy that lost the race is no failure: it is said apart, never as "went wrong".
            QVector<sched::AttemptNote> wrong;
            for (const sched::AttemptNote &n : notes)
                if (!isSpeculativeCopy(n))
                    wrong.append(n);
            if (!wrong.isEmpty())
                return tr("%1 went wrong; last: %2")
                    .arg(countOf(wrong.size(), tr("attempt"), tr("attempts")), firstLine(wrong.last().what));
            if (!notes.isEmpty())
                return tr("ran a speculative copy too (not a failure)");
            if (dropped && state != Cancelled)
                return tr("node, attempts and time no longer kept");
            return QString();
        }
        }
        break;
    case SortRole:
        switch (index.column()) {
        case Index:
            return task;
        case State:
            return int(state);
        case Attempts:
            return attempts;
        case Time:
            return timeUs;
        default:
            return data(index, Qt::DisplayRole);
        }
    case Qt::ToolTipRole:
        if (index.column() == Note)
            return job.errors.value(task);
        break;
    case Qt::ForegroundRole:
        if (index.column() == State && (state == Failed || state == Error))
            return QBrush(QColor(0xb7, 0x1c, 0x1c));
        if (index.column() == State && (state == Queued || state == Cancelled))
            return QBrush(QColor(0x75, 0x75, 0x75));
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == Index || index.column() == Attempts || index.column() == Time)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        break;
    default:
        break;
    }
    return {};
}

QVariant TasksModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Index:
        return tr("Task");
    case State:
        return tr("State");
    case Node:
        return tr("Node");
    case Attempts:
        return tr("Attempts");
    case Time:
        return tr("Time");
    case Note:
        return tr("Error or history");
    }
    return {};
}

TaskStateFilter::TaskStateFilter(QObject *parent)
    : QAbstractTableModel(parent)
    , m_timer(new QTimer(this))
{
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, &TaskStateFilter::refresh);
}

void TaskStateFilter::setSourceModel(TasksModel *model)
{
    beginResetModel();
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    connect(model, &QAbstractItemModel::modelReset, this, [this] {
        m_page = 0;
        reload();
    });
    connect(model, &QAbstractItemModel::rowsInserted, this, &TaskStateFilter::scheduleRefresh);
    connect(model, &QAbstractItemModel::dataChanged, this, &TaskStateFilter::onSourceChanged);
    m_tasks.clear();
    m_rows = 0;
    endResetModel();
    reload();
}

void TaskStateFilter::setState(int state)
{
    if (state == m_state)
        return;
    m_state = state;
    m_page = 0;
    reload();
}

void TaskStateFilter::setPage(qint64 page)
{
    page = std::clamp<qint64>(page, 0, pageCount() - 1);
    if (page == m_page)
        return;
    m_page = page;
    reload();
}

qint64 TaskStateFilter::matching() const
{
    return m_model ? m_model->currentCount(m_state) : 0;
}

qint64 TaskStateFilter::pageCount() const
{
    return std::max<qint64>(1, (matching() + PageRows - 1) / PageRows);
}

int TaskStateFilter::taskAt(int row) const
{
    if (row < 0 || row >= m_rows)
        return -1;
    return m_state < 0 ? int(m_first + row) : m_tasks.at(row);
}

int TaskStateFilter::rowOf(int index) const
{
    if (m_state < 0)
        return index >= m_first && index < m_first + m_rows ? int(index - m_first) : -1;
    const auto it = std::lower_bound(m_tasks.cbegin(), m_tasks.cend(), index);
    return it != m_tasks.cend() && *it == index ? int(it - m_tasks.cbegin()) : -1;
}

int TaskStateFilter::showTask(int index)
{
    if (!m_model || index < 0 || index >= m_model->rowCount())
        return -1;
    if (const int row = rowOf(index); row >= 0)
        return row;
    if (m_state >= 0) {
        refresh(); // it may have joined the state since the last refresh
        if (const int row = rowOf(index); row >= 0)
            return row;
        if (m_model->stateAt(index) != m_state)
            return -1;
    }
    setPage(m_model->rankOf(m_state, index) / PageRows);
    return rowOf(index);
}

QVector<int> TaskStateFilter::findRows() const
{
    if (!m_model || m_state < 0)
        return {};
    return m_model->tasksIn(m_state, m_page * PageRows, PageRows);
}

void TaskStateFilter::reload()
{
    m_timer->stop();
    m_lastRefreshMs = QDateTime::currentMSecsSinceEpoch();
    beginResetModel();
    m_page = std::clamp<qint64>(m_page, 0, pageCount() - 1);
    m_first = m_page * PageRows;
    if (m_state < 0) {
        m_tasks.clear();
        m_rows = int(std::clamp<qint64>(matching() - m_first, 0, PageRows));
    } else {
        m_tasks = findRows();
        m_rows = int(m_tasks.size());
    }
    endResetModel();
    emit pageChanged();
}

void TaskStateFilter::scheduleRefresh()
{
    if (m_timer->isActive())
        return;
    // At most every RefreshMs, and at once when the last refresh is older than that.
    const qint64 since = QDateTime::currentMSecsSinceEpoch() - m_lastRefreshMs;
    m_timer->start(int(std::clamp<qint64>(RefreshMs - since, 0, RefreshMs)));
}

void TaskStateFilter::onSourceChanged(const QModelIndex &topLeft, const QModelIndex &bottomRight)
{
    if (m_state < 0) {
        const qint64 first = std::max<qint64>(topLeft.row(), m_first);
        const qint64 last = std::min<qint64>(bottomRight.row(), m_first + m_rows - 1);
        if (first <= last)
            emit dataChanged(index(int(first - m_first), 0), index(int(last - m_first), TasksModel::ColumnCount - 1));
        return;
    }
    // Rows that are shown may have changed in place; which tasks are in the state is found again soon.
    if (m_rows > 0) {
        const auto a = std::lower_bound(m_tasks.cbegin(), m_tasks.cend(), topLeft.row());
        const auto b = std::upper_bound(a, m_tasks.cend(), bottomRight.row());
        if (a != b)
            emit dataChanged(index(int(a - m_tasks.cbegin()), 0),
                             index(int(b - m_tasks.cbegin()) - 1, TasksModel::ColumnCount - 1));
    }
    scheduleRefresh();
}

void TaskStateFilter::refresh()
{
    m_timer->stop();
    m_lastRefreshMs = QDateTime::currentMSecsSinceEpoch();
    if (m_state < 0) {
        // A range of tasks: only its length can change (a job that grew).
        const int rows = int(std::clamp<qint64>(matching() - m_first, 0, PageRows));
        if (rows > m_rows) {
            beginInsertRows({}, m_rows, rows - 1);
            m_rows = rows;
            endInsertRows();
        } else if (rows < m_rows) {
            beginRemoveRows({}, rows, m_rows - 1);
            m_rows = rows;
            endRemoveRows();
        }
        emit pageChanged();
        return;
    }
    if (m_page > 0 && m_page >= pageCount()) {
        reload(); // the page is gone: the last one is shown
        return;
    }
    const QVector<int> want = findRows();
    if (want == m_tasks) {
        emit pageChanged();
        return;
    }
    // Both lists ascend: rows that left are removed and rows that joined inserted, run by run, so that a
    // selection stays on its task; many runs at once reset the page instead.
    struct Run {
        int at;
        int count;
    };
    QVector<Run> removed;
    QVector<Run> inserted; // at: where in the new list
    {
        qsizetype i = 0, j = 0;
        while (i < m_tasks.size() || j < want.size()) {
            if (j >= want.size() || (i < m_tasks.size() && m_tasks.at(i) < want.at(j))) {
                if (!removed.isEmpty() && removed.last().at + removed.last().count == int(i))
                    ++removed.last().count;
                else
                    removed.append({int(i), 1});
                ++i;
            } else if (i >= m_tasks.size() || want.at(j) < m_tasks.at(i)) {
                if (!inserted.isEmpty() && inserted.last().at + inserted.last().count == int(j))
                    ++inserted.last().count;
                else
                    inserted.append({int(j), 1});
                ++j;
            } else {
                ++i;
                ++j;
            }
        }
    }
    if (removed.size() + inserted.size() > 64) {
        beginResetModel();
        m_tasks = want;
        m_rows = int(want.size());
        endResetModel();
        emit pageChanged();
        return;
    }
    for (qsizetype k = removed.size() - 1; k >= 0; --k) {
        const Run &r = removed.at(k);
        beginRemoveRows({}, r.at, r.at + r.count - 1);
        m_tasks.remove(r.at, r.count);
        m_rows = int(m_tasks.size());
        endRemoveRows();
    }
    for (const Run &r : std::as_const(inserted)) {
        beginInsertRows({}, r.at, r.at + r.count - 1);
        m_tasks.insert(r.at, r.count, 0);
        std::copy(want.cbegin() + r.at, want.cbegin() + r.at + r.count, m_tasks.begin() + r.at);
        m_rows = int(m_tasks.size());
        endInsertRows();
    }
    emit pageChanged();
}

int TaskStateFilter::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int TaskStateFilter::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : TasksModel::ColumnCount;
}

QVariant TaskStateFilter::data(const QModelIndex &index, int role) const
{
    const int task = index.isValid() ? taskAt(index.row()) : -1;
    if (task < 0 || !m_model)
        return {};
    return m_model->data(m_model->index(task, index.column()), role);
}

QVariant TaskStateFilter::headerData(int section, Qt::Orientation orientation, int role) const
{
    return m_model && orientation == Qt::Horizontal ? m_model->headerData(section, orientation, role) : QVariant();
}

} // namespace taskfleet::gui
