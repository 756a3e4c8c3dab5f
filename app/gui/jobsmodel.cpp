// SPDX-License-Identifier: MIT
// The jobs table: one row per job of the latest snapshot.
#include "jobsmodel.h"

#include "format.h"

namespace taskfleet::gui {

void JobsModel::setSnapshot(const sched::ClusterSnapshot &snapshot)
{
    const QVector<sched::JobSnapshot> &jobs = snapshot.jobs;
    bool prefix = jobs.size() >= m_jobs.size();
    for (int i = 0; prefix && i < m_jobs.size(); ++i)
        prefix = m_jobs.at(i).id == jobs.at(i).id;
    if (!prefix) {
        beginResetModel();
        m_jobs = jobs;
        endResetModel();
        return;
    }
    const int old = int(m_jobs.size());
    for (int i = 0; i < old; ++i)
        m_jobs[i] = jobs.at(i);
    if (old > 0)
        emit dataChanged(index(0, 0), index(old - 1, ColumnCount - 1));
    if (jobs.size() > old) {
        beginInsertRows({}, old, int(jobs.size()) - 1);
        for (int i = old; i < jobs.size(); ++i)
            m_jobs.append(jobs.at(i));
        endInsertRows();
    }
}

JobsModel::Outcome JobsModel::outcome(const sched::JobSnapshot &j)
{
    switch (j.state) {
    case sched::JobState::Finished:
        return j.errors + j.failed > 0 ? FinishedWithFailures : FinishedOk;
    case sched::JobState::Cancelled:
        return WasCancelled;
    case sched::JobState::Paused:
        return IsPaused;
    default:
        return InProgress;
    }
}

QString JobsModel::stateText(const sched::JobSnapshot &j)
{
    const qint64 bad = j.errors + j.failed;
    switch (outcome(j)) {
    case FinishedWithFailures: {
        // The Tasks view's words: an "error" is a task whose plugin said so, "failed" one that crashed or timed out.
        QStringList parts;
        if (j.errors > 0)
            parts << countOf(j.errors, tr("error"), tr("errors"));
        if (j.failed > 0)
            parts << tr("%1 failed").arg(j.failed);
        return (bad == j.total ? tr("no results: %1") : tr("finished: %1")).arg(parts.join(QStringLiteral(", ")));
    }
    case WasCancelled:
        return tr("cancelled (%1 not run)").arg(j.cancelled);
    case InProgress:
        // Every task ended and still running: a script's job waiting a moment for more of its loop.
        if (j.total > 0 && j.done + j.errors + j.failed + j.cancelled == j.total)
            return tr("waiting for more tasks");
        return sched::jobStateName(j.state);
    default:
        return sched::jobStateName(j.state);
    }
}

const sched::JobSnapshot *JobsModel::job(int jobId) const
{
    const int row = rowOf(jobId);
    return row < 0 ? nullptr : &m_jobs.at(row);
}

int JobsModel::rowOf(int jobId) const
{
    for (int i = 0; i < m_jobs.size(); ++i)
        if (m_jobs.at(i).id == jobId)
            return i;
    return -1;
}

int JobsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_jobs.size());
}

int JobsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant JobsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_jobs.size())
        return {};
    const sched::JobSnapshot &j = m_jobs.at(index.row());
    const qint64 ran = j.done + j.errors + j.failed; // cancelled tasks did not run: not progress
    if (role == JobIdRole)
        return j.id;
    if (role == ProgressRole)
        return j.total ? int(1000 * ran / j.total) : 1000;
    if (role == OutcomeRole)
        return int(outcome(j));
    if (role == Qt::TextAlignmentRole && index.column() != Name && index.column() != Plugin && index.column() != State)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == Errors)
        return tr("%1: the plugin returned an error (the Tasks view's \"error\")")
            .arg(countOf(j.errors, tr("task"), tr("tasks")));
    if (role == Qt::ToolTipRole && index.column() == Failed)
        return tr("%1: crashed or timed out on every attempt (the Tasks view's \"failed\")")
            .arg(countOf(j.failed, tr("task"), tr("tasks")));
    if (role == Qt::ToolTipRole && index.column() == Eta && j.state == sched::JobState::Paused)
        return tr("Paused: no estimate until it runs again");
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Id:
        return j.id;
    case Name:
        return j.name;
    case Plugin:
        return j.plugin;
    case State:
        return stateText(j);
    case Progress:
        return QStringLiteral("%1 %").arg(j.total ? 100.0 * double(ran) / double(j.total) : 100.0, 0, 'f', 1);
    case Done:
        return j.done;
    case Errors:
        return j.errors;
    case Failed:
        return j.failed;
    case Cancelled:
        return j.cancelled;
    case Total:
        return j.total;
    case Rate:
        return formatRate(j.tasksPerSecond);
    case Eta:
        return j.state == sched::JobState::Paused ? QStringLiteral("\u2013") : formatDuration(j.etaSeconds);
    case Priority:
        return j.priority;
    default:
        return {};
    }
}

QVariant JobsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = {
        QT_TR_NOOP("#"),         QT_TR_NOOP("Job"),   QT_TR_NOOP("Plugin"),  QT_TR_NOOP("State"),
        QT_TR_NOOP("Progress"),  QT_TR_NOOP("Done"),  QT_TR_NOOP("Errors"),  QT_TR_NOOP("Failed"),
        QT_TR_NOOP("Cancelled"), QT_TR_NOOP("Total"), QT_TR_NOOP("Tasks/s"), QT_TR_NOOP("ETA"),
        QT_TR_NOOP("Priority"),
    };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

} // namespace taskfleet::gui
