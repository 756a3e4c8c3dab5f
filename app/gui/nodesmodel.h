// SPDX-License-Identifier: MIT
// The nodes table: one row per node of the latest snapshot, plus a totals row.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QAbstractTableModel>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QSet>

namespace taskfleet::gui {

/**
 * A table over ClusterSnapshot::nodes, in the controller's order (the local node first), then the
 * nodes that left the controller (an agent that died and was dropped by discovery): those keep
 * their row, greyed, with their last numbers and reason, until forget() (the user's Remove Node).
 * The last row holds the totals, computed from the rows above it, so they always add up. The
 * Workers column is editable on live rows: setData() does not change anything itself, it emits
 * workerCountRequested() for whoever drives the controller, and the requested count stays shown
 * ("pending") until a snapshot reports it or PendingTimeoutMs pass, so the periodic snapshots do not
 * undo an edit the controller has not applied yet. A node's colour swatch (Name column)
 * is its colour in the chart and the picture.
 */
class NodesModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        Name,
        Address,
        State,
        Workers,
        Busy,
        TasksDone,
        Percent,
        TimePerTask,
        Rate,
        Failures,
        Lost,
        Load,   ///< the machine's 1-minute load average
        Memory, ///< the machine's memory in use / total
        ColumnCount
    };
    /** Role of the node id (QString) on every cell of a node row; empty on the totals row. */
    static constexpr int NodeIdRole = Qt::UserRole + 1;
    /** How long a requested worker count is shown before snapshots that disagree win. */
    static constexpr qint64 PendingTimeoutMs = 5000;

    using QAbstractTableModel::QAbstractTableModel;

    void setSnapshot(const sched::ClusterSnapshot &snapshot);
    /** The rows above the totals: live nodes, then departed ones. */
    const QVector<sched::NodeSnapshot> &nodes() const { return m_nodes; }
    /** The totals row: sums of the rows above it. */
    const sched::NodeSnapshot &totals() const { return m_total; }
    /** Rows of nodes that left the controller. */
    int goneCount() const { return int(m_nodes.size()) - m_live; }
    /** True for a node that left the controller (its row is kept until forget()). */
    bool isGone(int row) const { return row >= m_live && row < m_nodes.size(); }
    /** Drops the row of \a nodeId now and does not keep it when the node leaves (the user removed it). */
    void forget(const QString &nodeId);
    /** Undoes forget(): the user added \a nodeId again, so its row is kept when it leaves. */
    void remember(const QString &nodeId);
    /** Row of a node, or -1. */
    int rowOf(const QString &nodeId) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role) override;

    /** The machine behind a node, for its tooltip: OS, Taskfleet version, CPUs, how long it has run. */
    static QString machineText(const util::HostInfo &host);

signals:
    void workerCountRequested(const QString &nodeId, int count);

private:
    void setRows(QVector<sched::NodeSnapshot> rows, int live);
    /** Puts the requested counts not yet seen in a snapshot over the snapshot's (drops confirmed or stale ones). */
    void applyPending(QVector<sched::NodeSnapshot> &rows, int live);

    struct Pending {
        int count = 0;
        QElapsedTimer since;
    };
    QHash<QString, Pending> m_pending; ///< worker counts asked for and not yet reported, by node id

    QVector<sched::NodeSnapshot> m_nodes; ///< live rows first (m_live of them), then departed ones
    int m_live = 0;
    QSet<QString> m_forgotten;   ///< removed by the user: not kept when they leave
    sched::NodeSnapshot m_total; ///< the sums of the rows
};

} // namespace taskfleet::gui
