// SPDX-License-Identifier: MIT
// The nodes table: one row per node of the latest snapshot, plus a totals row.
#include "nodesmodel.h"

#include "format.h"

#include <QtGui/QBrush>
#include <QtGui/QColor>
#include <QtGui/QFont>

namespace taskfleet::gui {

void NodesModel::setSnapshot(const sched::ClusterSnapshot &snapshot)
{
    bool sameRows = snapshot.nodes.size() == m_nodes.size();
    for (int i = 0; sameRows && i < m_nodes.size(); ++i)
        sameRows = m_nodes.at(i).id == snapshot.nodes.at(i).id;
    if (!sameRows)
        beginResetModel();
    m_nodes = snapshot.nodes;
    m_totals.tasksDone = snapshot.tasksDone;
    m_totals.tasksPerSecond = snapshot.tasksPerSecond;
    m_totalWorkers = m_totalBusy = 0;
    m_totalTimeSum = 0;
    qint64 failures = 0;
    for (const sched::NodeSnapshot &n : std::as_const(m_nodes)) {
        m_totalWorkers += n.workers;
        m_totalBusy += n.busy;
        m_totalTimeSum += n.taskTimeSum;
        failures += n.failures;
    }
    m_totals.failures = failures;
    if (!sameRows)
        endResetModel();
    else if (rowCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1), {Qt::DisplayRole, Qt::ForegroundRole, Qt::ToolTipRole});
}

int NodesModel::rowOf(const QString &nodeId) const
{
    for (int i = 0; i < m_nodes.size(); ++i)
        if (m_nodes.at(i).id == nodeId)
            return i;
    return -1;
}

int NodesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || m_nodes.isEmpty() ? 0 : int(m_nodes.size()) + 1;
}

int NodesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant NodesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const bool totals = index.row() == m_nodes.size();
    if (totals) {
        if (role == Qt::FontRole) {
            QFont f;
            f.setBold(true);
            return f;
        }
        if (role == Qt::TextAlignmentRole && index.column() >= Workers)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        if (role != Qt::DisplayRole)
            return {};
        switch (index.column()) {
        case Name:
            return tr("Total");
        case Workers:
            return m_totalWorkers;
        case Busy:
            return QStringLiteral("%1/%2").arg(m_totalBusy).arg(m_totalWorkers);
        case TasksDone:
            return m_totals.tasksDone;
        case Percent:
            return m_totals.tasksDone ? QStringLiteral("100.0 %") : QString();
        case TimePerTask:
            return m_totals.tasksDone ? formatSeconds(m_totalTimeSum / double(m_totals.tasksDone)) : QString();
        case Rate:
            return formatRate(m_totals.tasksPerSecond);
        case Failures:
            return m_totals.failures;
        default:
            return {};
        }
    }
    const sched::NodeSnapshot &n = m_nodes.at(index.row());
    if (role == NodeIdRole)
        return n.id;
    if (role == Qt::TextAlignmentRole && index.column() >= Workers)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == State)
        return n.stateReason.isEmpty() ? QVariant() : QVariant(n.stateReason);
    if (role == Qt::ToolTipRole && index.column() == Workers)
        return tr("Double-click to change the number of workers on this node");
    if (role == Qt::ForegroundRole && index.column() == State) {
        switch (n.state) {
        case sched::NodeState::Online:
            return QBrush(QColor(0x2e, 0x7d, 0x32));
        case sched::NodeState::Connecting:
            return QBrush(QColor(0xb2, 0x6a, 0x00));
        default:
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
    }
    if (role == Qt::EditRole && index.column() == Workers)
        return n.workers;
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Name:
        return n.name;
    case Address:
        return n.address;
    case State: {
        const QString state = sched::nodeStateName(n.state);
        return n.stateReason.isEmpty() || n.state == sched::NodeState::Online ? state : state + QStringLiteral(": ") + n.stateReason;
    }
    case Workers:
        return n.workers;
    case Busy:
        return QStringLiteral("%1/%2").arg(n.busy).arg(n.workers);
    case TasksDone:
        return n.tasksDone;
    case Percent:
        return QStringLiteral("%1 %").arg(n.percentOfAll, 0, 'f', 1);
    case TimePerTask:
        return n.tasksDone ? formatSeconds(n.timePerTask) : QString();
    case Rate:
        return formatRate(n.tasksPerSecond);
    case Failures:
        return n.failures;
    default:
        return {};
    }
}

QVariant NodesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = {
        QT_TR_NOOP("Node"), QT_TR_NOOP("Address"), QT_TR_NOOP("State"), QT_TR_NOOP("Workers"), QT_TR_NOOP("Busy"),
        QT_TR_NOOP("Tasks done"), QT_TR_NOOP("% of all"), QT_TR_NOOP("Time/task"), QT_TR_NOOP("Tasks/s"), QT_TR_NOOP("Failures"),
    };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

Qt::ItemFlags NodesModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.isValid() && index.column() == Workers && index.row() < m_nodes.size())
        f |= Qt::ItemIsEditable;
    return f;
}

bool NodesModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || !index.isValid() || index.column() != Workers || index.row() >= m_nodes.size())
        return false;
    bool ok = false;
    const int count = value.toInt(&ok);
    if (!ok || count < 0)
        return false;
    sched::NodeSnapshot &n = m_nodes[index.row()];
    n.workers = count; // shown at once; the next snapshot confirms it
    emit dataChanged(index, index);
    emit workerCountRequested(n.id, count);
    return true;
}

} // namespace taskfleet::gui
