// SPDX-License-Identifier: MIT
// The nodes table: one row per node of the latest snapshot, plus a totals row.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QAbstractTableModel>

namespace taskfleet::gui {

/**
 * A table over ClusterSnapshot::nodes, in the controller's order (the local node first), and
 * a last row with the totals. The Workers column is editable on node rows: setData() does not
 * change anything itself, it emits workerCountRequested() for whoever drives the controller.
 */
class NodesModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Name, Address, State, Workers, Busy, TasksDone, Percent, TimePerTask, Rate, Failures, ColumnCount };
    /** Role of the node id (QString) on every cell of a node row; empty on the totals row. */
    static constexpr int NodeIdRole = Qt::UserRole + 1;

    using QAbstractTableModel::QAbstractTableModel;

    void setSnapshot(const sched::ClusterSnapshot &snapshot);
    const QVector<sched::NodeSnapshot> &nodes() const { return m_nodes; }
    /** Row of a node, or -1. */
    int rowOf(const QString &nodeId) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role) override;

signals:
    void workerCountRequested(const QString &nodeId, int count);

private:
    QVector<sched::NodeSnapshot> m_nodes;
    sched::ClusterSnapshot m_totals; // only the scalar fields are used
    int m_totalWorkers = 0;
    int m_totalBusy = 0;
    double m_totalTimeSum = 0;
};

} // namespace taskfleet::gui
