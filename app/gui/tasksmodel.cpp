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

void TasksModel::addJob(int jobId, qint64 tasks, const QString &origin, const QVector<int> &originIndices)
{
    const bool shown = jobId == m_current;
    if (shown)
        beginResetModel();
    Job &job = m_jobs[jobId];
    job.rows.assign(size_t(std::max<qint64>(0, tasks)), Row {});
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
    if (it == m_jobs.end() || tasks <= qint64(it->rows.size()))
        return;
    const bool shown = jobId == m_current;
    if (shown)
        beginInsertRows({}, int(it->rows.size()), int(tasks) - 1);
    it->rows.resize(size_t(tasks));
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
    for (const sched::TaskRecord &r : records) {
        if (r.index < 0 || size_t(r.index) >= job.rows.size())
            continue;
        Row &row = job.rows[size_t(r.index)];
        if (row.state != Queued)
            --job.counts[row.state]; // cannot happen (one record per task); keeps the counts true if it did
        row.state = stateOf(r.status);
        ++job.counts[row.state];
        row.attempts = quint8(std::clamp(r.attempts, 0, 255));
        row.node = r.nodeName.isEmpty() ? qint16(-1) : nodeIndex(r.nodeName);
        row.startMs = qint32(std::clamp<qint64>(r.startUs / 1000, 0, INT_MAX));
        row.runtimeUs = r.runtimeUs;
        if (r.status != stats::TaskStatus::Ok && !r.error.isEmpty())
            job.errors.insert(r.index, r.error);
        if (!r.log.isEmpty() && job.logs.size() < MaxLogsPerJob)
            job.logs.insert(r.index, r.log);
        job.running.remove(r.index);
        job.inFlight.remove(r.index);
        first = std::min(first, r.index);
        last = std::max(last, r.index);
    }
    if (last >= 0)
        rowsChanged(jobId, first, last);
    emit recordsAdded(jobId, records, controllerNowUs());
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
        if (a.index < 0 || size_t(a.index) >= job.rows.size() || job.rows[size_t(a.index)].state != Queued)
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
        rowsChanged(report.jobId, std::max(0, first), std::min(last, int(job.rows.size()) - 1));
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

void TasksModel::splitInFlight(Job &job, int *first, int *last) const
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
        return qint64(job.rows.size()) - ended - running;
    }
    return job.counts[state];
}

QVector<int> TasksModel::indicesIn(int jobId, const QVector<TaskState> &states) const
{
    QVector<int> indices;
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.constEnd())
        return indices;
    for (size_t i = 0; i < it->rows.size(); ++i)
        if (states.contains(shownState(*it, int(i))))
            indices.append(int(i));
    return indices;
}

TasksModel::TaskState TasksModel::stateAt(int index) const
{
    const auto it = m_jobs.constFind(m_current);
    if (it == m_jobs.constEnd() || index < 0 || size_t(index) >= it->rows.size())
        return Queued;
    return shownState(*it, index);
}

QString TasksModel::nodeAt(int index) const
{
    const auto it = m_jobs.constFind(m_current);
    if (it == m_jobs.constEnd() || index < 0 || size_t(index) >= it->rows.size())
        return {};
    if (const auto running = it->running.constFind(index); running != it->running.constEnd())
        return running->nodeName;
    return nodeName(it->rows[size_t(index)].node);
}

TasksModel::TaskState TasksModel::shownState(const Job &job, int index) const
{
    const TaskState s = job.rows[size_t(index)].state;
    return s == Queued && job.running.contains(index) ? Running : s;
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
    const auto it = m_jobs.constFind(m_current);
    if (it == m_jobs.constEnd() || taskIndex < 0 || size_t(taskIndex) >= it->rows.size())
        return {};
    const Job &job = *it;
    const Row &row = job.rows[size_t(taskIndex)];
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
    if (!notes.isEmpty() || state == Done || state == Error) {
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
        if (state == Done || state == Error)
            lines << tr("%1. %2, started at %3, ran %4: %5 (the task's result)")
                         .arg(++n)
                         .arg(nodeName(row.node), clockTime(qint64(row.startMs) * 1000),
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
    const auto it = m_jobs.constFind(m_current);
    return it == m_jobs.constEnd() ? 0 : int(it->rows.size());
}

int TasksModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TasksModel::data(const QModelIndex &index, int role) const
{
    const auto it = m_jobs.constFind(m_current);
    if (!index.isValid() || it == m_jobs.constEnd() || size_t(index.row()) >= it->rows.size())
        return {};
    const Job &job = *it;
    const int task = index.row();
    const Row &row = job.rows[size_t(task)];
    const TaskState state = shownState(job, task);
    if (role == StateRole)
        return int(state);
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
            return running ? running->nodeName : nodeName(row.node);
        case Attempts:
            return state == Queued && attempts == 0 ? QVariant() : QVariant(attempts);
        case Time:
            if (state == Queued || state == Cancelled)
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
    : QSortFilterProxyModel(parent)
{
    setSortRole(TasksModel::SortRole);
}

void TaskStateFilter::setState(int state)
{
    if (state == m_state)
        return;
    m_state = state;
    invalidateFilter();
}

bool TaskStateFilter::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (m_state < 0)
        return true;
    return sourceModel()->index(sourceRow, 0, sourceParent).data(TasksModel::StateRole).toInt() == m_state;
}

} // namespace taskfleet::gui
