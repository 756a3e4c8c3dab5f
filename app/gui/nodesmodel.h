// SPDX-License-Identifier: MIT
// The nodes table: one row per node of the latest snapshot, plus a totals row.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QAbstractTableModel>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QSet>

#include <array>

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
 * is its colour in the chart and the picture. Per node it keeps the machine's load and memory in use
 * over the last HistorySeconds, one sample every SampleSeconds (a ring of HistorySamples: bounded
 * whatever runs), for the sparklines the Load and Memory cells draw (HistoryRole, SparklineDelegate).
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
        Errors,   ///< tasks that ended in a plugin error here (the Tasks view's "error")
        Failures, ///< attempts that crashed or timed out here (the Tasks view's "failed" takes all of them)
        Lost,
        Load,   ///< the machine's 1-minute load average
        Memory, ///< the machine's memory in use / total
        ColumnCount
    };
    /** Role of the node id (QString) on every cell of a node row; empty on the totals row. */
    static constexpr int NodeIdRole = Qt::UserRole + 1;
    /** How long a requested worker count is shown before snapshots that disagree win. */
    static constexpr qint64 PendingTimeoutMs = 5000;
    /**
     * Role of the Load and Memory cells of a node row: the last samples, oldest first, as a QVector<double>
     * scaled to 0..1 (load by the larger of the machine's logical CPUs and the highest sample; memory by the
     * machine's total). Empty when nothing was sampled.
     */
    static constexpr int HistoryRole = Qt::UserRole + 2;
    static constexpr int SampleSeconds = 5;
    static constexpr int HistorySeconds = 300;
    static constexpr int HistorySamples = HistorySeconds / SampleSeconds;

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
    /** A node's load samples (1-minute load average, as reported) and memory in use (fraction), oldest first. */
    QVector<double> loadHistory(const QString &nodeId) const;
    QVector<double> memoryHistory(const QString &nodeId) const;

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

    /** Takes a sample of each live node's load and memory when SampleSeconds have passed since its last one. */
    void sample(const sched::ClusterSnapshot &snapshot);

    /** A fixed ring of the last HistorySamples values. */
    struct Ring {
        std::array<float, HistorySamples> values {};
        int start = 0;
        int size = 0;
        void append(float v);
        QVector<double> toVector() const;
    };
    struct History {
        qint64 lastUs = -1; ///< controller clock of the last sample
        Ring load;
        Ring memory;
        int cores = 0;
    };
    QHash<QString, History> m_history; ///< by node id; only of rows shown (forget() drops it)

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
