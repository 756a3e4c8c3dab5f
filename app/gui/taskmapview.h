// SPDX-License-Identifier: MIT
// The task map: one cell per task of the selected job, coloured by its state and node.
#pragma once

#include "tasksmodel.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QTimer>
#include <QtWidgets/QWidget>

namespace taskfleet::gui {

/**
 * Paints the current job of a TasksModel as a grid, task 0 top left, row by row: a done task in
 * its node's colour (nodeColor(), as in the chart and the Nodes table), a running one in its node's
 * colour lightened, queued light grey, error orange, failed red (both crossed out in white, so that
 * they never read as a node of that colour), cancelled dark grey. A job with
 * more tasks than the widget has cells shows several tasks per cell, the cell in the colour of the
 * state that most needs a look (failed, error, running, queued, cancelled, done). A click on a cell
 * emits taskClicked() with its first task. Below the grid a legend says what each colour means, with
 * each state's count. The Mandelbrot picture is the special case of this map.
 */
class TaskMapView : public QWidget
{
    Q_OBJECT

public:
    explicit TaskMapView(TasksModel *model, QWidget *parent = nullptr);

    /** Tasks per cell and the grid's columns, as last laid out (for tests). */
    int tasksPerCell() const { return m_perCell; }
    int columns() const { return m_columns; }
    /** Where the cell holding task \a index is drawn (empty when it is not). */
    QRect cellRect(int index) const;
    /** The task at \a pos (widget coordinates), or -1. */
    int taskAt(const QPoint &pos) const;
    /** The colour a cell of these tasks gets (the first \a count from \a first). */
    QColor cellColor(int first, int count) const;
    /**
     * The state a cell of these tasks shows (the one that most needs a look), and in *shown the task it is: read
     * from the model's block counts (TasksModel::worstState()), so a map of any job paints in time bounded by its
     * cells. A done task whose node the model no longer keeps takes the colour of its block's latest done task.
     */
    TasksModel::TaskState cellState(int first, int count, int *shown) const;
    /**
     * The fixed colour of a state's cells: queued, error, failed, cancelled. Done and running cells take their
     * node's colour (nodeColor(), running lightened): invalid for those.
     */
    static QColor stateColor(TasksModel::TaskState state);
    /** The legend's entries as drawn, in order ("done 12", "running 2", …). */
    QStringList legendEntries() const;
    /** Where the legend is drawn (empty when there is no job). */
    QRect legendRect() const;

    /** The map repaints for changes at most this often (a new job at once). */
    static constexpr int MinRepaintMs = 100;

    QSize sizeHint() const override { return {320, 320}; }

signals:
    void taskClicked(int index);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;

private:
    /** Columns, cell size and tasks per cell for \a tasks in the widget's current size, above the legend. */
    void layoutGrid(int tasks);
    /** The legend's entries placed for the widget's width: their text and top-left corners; its height. */
    int layoutLegend(QStringList *texts, QVector<QPoint> *at) const;
    void paintLegend(QPainter &painter);
    QColor colorOf(TasksModel::TaskState state, int shown) const;

    TasksModel *m_model;
    int m_columns = 1;
    int m_cell = 1;
    int m_perCell = 1;
    QTimer m_repaintTimer;
    QElapsedTimer m_sincePaint;
};

} // namespace taskfleet::gui
