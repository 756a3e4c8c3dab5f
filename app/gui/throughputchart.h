// SPDX-License-Identifier: MIT
// Tasks per second over the last two minutes, total and per node, drawn with QPainter.
#pragma once

#include "sched/snapshot.h"

#include <QtWidgets/QWidget>

namespace taskfleet::gui {

/** A line chart of ClusterSnapshot::throughputHistory: the total thick, one thin line per node. */
class ThroughputChart : public QWidget
{
    Q_OBJECT

public:
    explicit ThroughputChart(QWidget *parent = nullptr);
    void setSnapshot(const sched::ClusterSnapshot &snapshot);
    QSize sizeHint() const override { return {480, 200}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QVector<QVector<int>> m_series;
    QStringList m_names;
    double m_fraction = 0; ///< how far the clock is into the last entry's second
    int m_seconds = 120;
};

} // namespace taskfleet::gui
