// SPDX-License-Identifier: MIT
// The nodes table: one row per node of the latest snapshot, plus a totals row.
#include "nodesmodel.h"

#include "format.h"
#include "stats/statistics.h"

#include <QtGui/QBrush>
#include <QtGui/QColor>
#include <QtGui/QFont>

#include <algorithm>

namespace taskfleet::gui {

void NodesModel::Ring::append(float v)
{
    if (size < HistorySamples) {
        values[size_t((start + size) % HistorySamples)] = v;
        ++size;
    } else {
        values[size_t(start)] = v;
        start = (start + 1) % HistorySamples;
    }
}

QVector<double> NodesModel::Ring::toVector() const
{
    QVector<double> v;
    v.reserve(size);
    for (int i = 0; i < size; ++i)
        v.append(double(values[size_t((start + i) % HistorySamples)]));
    return v;
}

void NodesModel::sample(const sched::ClusterSnapshot &snapshot)
{
    for (const sched::NodeSnapshot &n : snapshot.nodes) {
        if (m_forgotten.contains(n.id))
            continue;
        History &h = m_history[n.id];
        if (h.lastUs >= 0 && snapshot.takenUs - h.lastUs < qint64(SampleSeconds) * 1000000)
            continue;
        if (n.host.load < 0 && n.host.memTotal <= 0)
            continue; // nothing reported yet (an agent still connecting)
        h.lastUs = snapshot.takenUs;
        h.cores = n.host.cores;
        h.load.append(float(std::max(0.0, n.host.load)));
        h.memory.append(
            n.host.memTotal > 0 ? float(double(std::max<qint64>(0, n.host.memUsed)) / double(n.host.memTotal)) : 0.0f);
    }
}

QVector<double> NodesModel::loadHistory(const QString &nodeId) const
{
    const auto it = m_history.constFind(nodeId);
    return it == m_history.constEnd() ? QVector<double>() : it->load.toVector();
}

QVector<double> NodesModel::memoryHistory(const QString &nodeId) const
{
    const auto it = m_history.constFind(nodeId);
    return it == m_history.constEnd() ? QVector<double>() : it->memory.toVector();
}

void NodesModel::setSnapshot(const sched::ClusterSnapshot &snapshot)
{
    sample(snapshot);
    QVector<sched::NodeSnapshot> rows = snapshot.nodes;
    QSet<QString> live;
    for (const sched::NodeSnapshot &n : std::as_const(rows))
        live.insert(n.id);
    const int liveCount = int(rows.size());
    applyPending(rows, liveCount);
    for (const sched::NodeSnapshot &old : std::as_const(m_nodes)) {
        if (live.contains(old.id) || m_forgotten.contains(old.id))
            continue;
        sched::NodeSnapshot gone = old; // its last numbers: its results are all in
        gone.workers = gone.busy = 0;
        gone.tasksPerSecond = 0;
        if (gone.state != sched::NodeState::Offline || !gone.stateReason.startsWith(tr("gone")))
            gone.stateReason = gone.stateReason.isEmpty()
                                   ? tr("gone")
                                   : tr("gone (last: %1: %2)").arg(sched::nodeStateName(gone.state), gone.stateReason);
        gone.state = sched::NodeState::Offline;
        rows.append(gone);
    }
    // Not cleared when a forgotten node shows up live: a snapshot taken before the removal reached the
    // controller may still list it. remember() clears it when the user adds the node again.
    setRows(std::move(rows), liveCount);
}

void NodesModel::applyPending(QVector<sched::NodeSnapshot> &rows, int live)
{
    // A snapshot taken before the controller applied a request still shows the old count: it must not
    // undo the user's edit (it did, every 250 ms, while a job ran). The request shows until a snapshot
    // agrees or it is too old (the controller refused or changed it since).
    for (int i = 0; i < live && !m_pending.isEmpty(); ++i) {
        auto it = m_pending.find(rows.at(i).id);
        if (it == m_pending.end())
            continue;
        if (rows.at(i).workers == it->count || it->since.hasExpired(PendingTimeoutMs))
            m_pending.erase(it);
        else
            rows[i].workers = it->count;
    }
}

void NodesModel::remember(const QString &nodeId)
{
    m_forgotten.remove(nodeId);
}

void NodesModel::forget(const QString &nodeId)
{
    m_forgotten.insert(nodeId);
    m_history.remove(nodeId);
    QVector<sched::NodeSnapshot> rows = m_nodes;
    const int row = rowOf(nodeId);
    int live = m_live;
    if (row >= 0) {
        rows.remove(row);
        if (row < live)
            --live;
    }
    setRows(std::move(rows), live);
}

void NodesModel::setRows(QVector<sched::NodeSnapshot> rows, int live)
{
    bool sameRows = rows.size() == m_nodes.size() && live == m_live;
    for (int i = 0; sameRows && i < m_nodes.size(); ++i)
        sameRows = m_nodes.at(i).id == rows.at(i).id;
    if (!sameRows)
        beginResetModel();
    m_nodes = std::move(rows);
    m_live = live;
    // The totals are the sums of the rows shown, so they always add up; the shares are of that sum.
    m_total = sched::NodeSnapshot();
    for (const sched::NodeSnapshot &n : std::as_const(m_nodes)) {
        m_total.workers += n.workers;
        m_total.busy += n.busy;
        m_total.tasksDone += n.tasksDone;
        m_total.taskTimeSum += n.taskTimeSum;
        m_total.tasksPerSecond += n.tasksPerSecond;
        m_total.failures += n.failures;
        m_total.errors += n.errors;
        m_total.lost += n.lost;
    }
    for (sched::NodeSnapshot &n : m_nodes)
        n.percentOfAll = stats::percentOfAll(n.tasksDone, m_total.tasksDone);
    if (!sameRows)
        endResetModel();
    else if (rowCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1),
                         {Qt::DisplayRole, Qt::ForegroundRole, Qt::ToolTipRole, Qt::DecorationRole, HistoryRole});
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
            return m_total.workers;
        case Busy:
            return QStringLiteral("%1/%2").arg(m_total.busy).arg(m_total.workers);
        case TasksDone:
            return m_total.tasksDone;
        case Percent:
            return m_total.tasksDone ? QStringLiteral("100.0 %") : QString();
        case TimePerTask:
            return m_total.tasksDone ? formatSeconds(m_total.taskTimeSum / double(m_total.tasksDone)) : QString();
        case Rate:
            return formatRate(m_total.tasksPerSecond);
        case Errors:
            return m_total.errors;
        case Failures:
            return m_total.failures;
        case Lost:
            return m_total.lost;
        default:
            return {};
        }
    }
    const sched::NodeSnapshot &n = m_nodes.at(index.row());
    if (role == NodeIdRole)
        return n.id;
    if (role == Qt::TextAlignmentRole && index.column() >= Workers)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    const bool gone = isGone(index.row());
    if (role == Qt::DecorationRole && index.column() == Name) {
        // A node that never said hello is named by its address until it does: it gets no colour of its own yet,
        // or that name would keep one of the palette's first (most distinct) colours from the nodes to come.
        if (!n.local && n.state != sched::NodeState::Online && n.host.version.isEmpty())
            return QColor(0xc8, 0xcc, 0xd2);
        return nodeColor(n.name);
    }
    if (role == Qt::ToolTipRole && index.column() == State)
        return n.stateReason.isEmpty() ? QVariant() : QVariant(n.stateReason);
    if (role == Qt::ToolTipRole && index.column() == Name && !gone)
        return tr("%1\nAddress: %2").arg(machineText(n.host), n.address);
    if (role == Qt::ToolTipRole && index.column() == Workers && !gone)
        return tr("Double-click to change the number of workers on this node");
    if (role == Qt::ToolTipRole && index.column() == Lost)
        return tr("Tasks that were running here when the connection was lost; they ran again elsewhere");
    if (role == Qt::ToolTipRole && index.column() == Errors)
        return tr("Tasks that ended here in an error the plugin reported (\"error\" in the Tasks view)");
    if (role == Qt::ToolTipRole && index.column() == Failures)
        return tr("Attempts that crashed or timed out here (a task is \"failed\" when all its attempts did)");
    if (role == HistoryRole && (index.column() == Load || index.column() == Memory)) {
        const auto h = m_history.constFind(n.id);
        if (h == m_history.constEnd() || gone)
            return {};
        QVector<double> v = index.column() == Load ? h->load.toVector() : h->memory.toVector();
        if (index.column() == Load) {
            double top = std::max(1.0, double(h->cores));
            for (double x : std::as_const(v))
                top = std::max(top, x);
            for (double &x : v)
                x /= top;
        }
        return QVariant::fromValue(v);
    }
    if (role == Qt::ToolTipRole && (index.column() == Load || index.column() == Memory) && !gone) {
        const QVector<double> v = index.column() == Load ? loadHistory(n.id) : memoryHistory(n.id);
        if (v.isEmpty())
            return {};
        const auto [lo, hi] = std::minmax_element(v.cbegin(), v.cend());
        const QString span = formatDuration(double(v.size() - 1) * SampleSeconds);
        return index.column() == Load
                   ? tr("Load average over the last %1: %2 to %3 (%4)")
                         .arg(span, QString::number(*lo, 'f', 2), QString::number(*hi, 'f', 2),
                              countOf(n.host.cores, tr("logical CPU"), tr("logical CPUs")))
                   : tr("Memory in use over the last %1: %2 % to %3 %")
                         .arg(span, QString::number(100 * *lo, 'f', 0), QString::number(100 * *hi, 'f', 0));
    }
    if (role == Qt::ToolTipRole && gone)
        return tr("This node left (%1). Its numbers stay until you remove the row (Nodes ▸ Remove Node).")
            .arg(n.stateReason);
    if (role == Qt::ForegroundRole && gone)
        return QBrush(QColor(0x90, 0x90, 0x90));
    if (role == Qt::ForegroundRole && index.column() == State && n.draining && n.state == sched::NodeState::Online)
        return QBrush(QColor(0xb2, 0x6a, 0x00));
    if (role == Qt::ToolTipRole && index.column() == State && n.draining)
        return tr("Draining: the tasks it runs finish, it takes no new ones (Nodes ▸ Drain to take it back)");
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
        if (n.draining && n.state == sched::NodeState::Online && !gone)
            return tr("draining (%1 busy)").arg(n.busy);
        return n.stateReason.isEmpty() || n.state == sched::NodeState::Online
                   ? state
                   : state + QStringLiteral(": ") + n.stateReason;
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
    case Errors:
        return n.errors;
    case Failures:
        return n.failures;
    case Lost:
        return n.lost;
    case Load:
        return n.host.load >= 0 && !gone ? QString::number(n.host.load, 'f', 2) : QString();
    case Memory:
        return gone ? QString() : util::formatMemory(n.host.memUsed, n.host.memTotal);
    default:
        return {};
    }
}

QString NodesModel::machineText(const util::HostInfo &host)
{
    QStringList parts;
    if (!host.os.isEmpty())
        parts << host.os;
    if (!host.version.isEmpty())
        parts << tr("Taskfleet %1").arg(host.version);
    if (host.cores > 0)
        parts << countOf(host.cores, tr("logical CPU"), tr("logical CPUs"));
    if (host.uptimeSeconds >= 0)
        parts << tr("running for %1").arg(formatDuration(double(host.uptimeSeconds)));
    return parts.join(QStringLiteral("\n"));
}

QVariant NodesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = {
        QT_TR_NOOP("Node"),    QT_TR_NOOP("Address"),    QT_TR_NOOP("State"),    QT_TR_NOOP("Workers"),
        QT_TR_NOOP("Busy"),    QT_TR_NOOP("Tasks done"), QT_TR_NOOP("% of all"), QT_TR_NOOP("Time/task"),
        QT_TR_NOOP("Tasks/s"), QT_TR_NOOP("Errors"),     QT_TR_NOOP("Failures"), QT_TR_NOOP("Lost"),
        QT_TR_NOOP("Load"),    QT_TR_NOOP("Memory"),
    };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

Qt::ItemFlags NodesModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.isValid() && index.column() == Workers && index.row() < m_live)
        f |= Qt::ItemIsEditable;
    return f;
}

bool NodesModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || !index.isValid() || index.column() != Workers || index.row() >= m_live)
        return false;
    bool ok = false;
    const int count = value.toInt(&ok);
    if (!ok || count < 0)
        return false;
    sched::NodeSnapshot &n = m_nodes[index.row()];
    m_total.workers += count - n.workers; // the totals row adds up at once too, not at the next snapshot
    n.workers = count; // shown at once, and kept over snapshots until one confirms it (applyPending())
    Pending &pending = m_pending[n.id];
    pending.count = count;
    pending.since.start();
    emit dataChanged(index, index);
    const QModelIndex total = this->index(int(m_nodes.size()), Workers);
    emit dataChanged(total, total);
    emit workerCountRequested(n.id, count);
    return true;
}

} // namespace taskfleet::gui
