// SPDX-License-Identifier: MIT
// Tasks per second over the last two minutes, total and per node, drawn with QPainter.
#pragma once

#include "sched/snapshot.h"

#include <QtWidgets/QWidget>

namespace taskfleet::gui {

/**
 * A line chart of ClusterSnapshot::throughputHistory: the total thick, one thin line per node. A node that
 * leaves the controller (discovery dropped a dead agent) keeps its line, and its legend entry, until its
 * last task scrolls out of the window, so the lines always add up to the total. A node with no task in
 * the window that is not online (one that never connected) has neither.
 */
class ThroughputChart : public QWidget
{
    Q_OBJECT

public:
    explicit ThroughputChart(QWidget *parent = nullptr);
    void setSnapshot(const sched::ClusterSnapshot &snapshot);
    QSize sizeHint() const override { return {480, 200}; }
    QSize minimumSizeHint() const override { return {240, 120}; }

    /** The legend's entries, in order: "total", then each node shown. */
    QStringList legend() const;
    /** The tasks per second of the series \a name ("total" or a node's name), oldest first (empty: none). */
    QVector<int> series(const QString &name) const;
    /** Where the lines are drawn (for a look at its size). */
    QRect plotRect() const;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    struct NodeSeries {
        QString id;
        QString name;
        QVector<int> values; ///< ends at the snapshot's current second
        bool online = false;
        bool present = false; ///< in the latest snapshot
    };
    bool shown(const NodeSeries &s) const;
    QString legendText(const QString &name, bool shorten) const;
    /** The legend's layout for the width: each shown series' place, and the lines it takes. */
    int layoutLegend(QVector<QPoint> *at, bool *cut) const;
    QVector<int> m_total;
    QVector<NodeSeries> m_nodes; ///< in the order first seen
    qint64 m_second = -1;        ///< the latest snapshot's current second
    double m_fraction = 0;       ///< how far the clock is into the last entry's second
    int m_seconds = 120;
};

} // namespace taskfleet::gui
