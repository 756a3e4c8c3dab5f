// SPDX-License-Identifier: MIT
// Item delegates: a spin box for worker counts, a progress bar for jobs, sparklines for nodes.
#pragma once

#include <QtWidgets/QStyledItemDelegate>

namespace taskfleet::gui {

/** Edits an integer cell with a QSpinBox (0..maximum): a step (Up, Down) is committed at once, typed digits when the edit ends. */
class WorkerCountDelegate : public QStyledItemDelegate
{
    Q_OBJECT

public:
    explicit WorkerCountDelegate(int maximum, QObject *parent = nullptr);

    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    void setEditorData(QWidget *editor, const QModelIndex &index) const override;
    void setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const override;

private:
    int m_maximum;
};

/**
 * Draws behind the cell's text a sparkline of the cell's \a role value (a QVector<double> scaled to 0..1,
 * oldest first, as NodesModel::HistoryRole gives): a node's load and memory over the last minutes, as a
 * light line over a lighter area across the cell, so that it costs the table no width. A cell without
 * samples is drawn as usual.
 */
class SparklineDelegate : public QStyledItemDelegate
{
    Q_OBJECT

public:
    static constexpr int MinimumWidth = 36; ///< a cell narrower than this still gets this wide for its line
    /** The line's colour (blue, the first node colour's, lighter). */
    static QColor lineColor();

    explicit SparklineDelegate(int role, QObject *parent = nullptr);
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    /** Where the line of a cell at \a cell goes. */
    static QRect sparkRect(const QRect &cell);

private:
    int m_role;
};

/**
 * Draws the cell's \a role value (0..1000) as a progress bar with the display text on it, coloured by
 * the JobsModel::Outcome in \a outcomeRole (finished clean, with failures, cancelled, paused, running).
 */
class ProgressDelegate : public QStyledItemDelegate
{
    Q_OBJECT

public:
    ProgressDelegate(int role, int outcomeRole, QObject *parent = nullptr);
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    /** The bar's colour for an outcome (invalid: by fraction alone). */
    static QColor barColor(const QVariant &outcome, double fraction);

private:
    int m_role;
    int m_outcomeRole;
};

} // namespace taskfleet::gui
