// SPDX-License-Identifier: MIT
// The task map: one cell per task of the selected job, coloured by its state and node.
#include "taskmapview.h"

#include "format.h"
#include "tasksmodel.h"

#include <QtGui/QMouseEvent>
#include <QtGui/QPainter>

#include <algorithm>
#include <iterator>

namespace taskfleet::gui {

namespace {
constexpr int MaxCell = 28;
constexpr int MinCell = 3;
constexpr int Swatch = 12;      ///< a legend entry's colour square
constexpr int LegendMargin = 4; ///< between the grid and the legend, and around the legend

/** The legend's states, in order: the grid's most common colours first. */
constexpr TasksModel::TaskState LegendOrder[] = {TasksModel::Done,  TasksModel::Running, TasksModel::Queued,
                                                 TasksModel::Error, TasksModel::Failed,  TasksModel::Cancelled};

} // namespace

TaskMapView::TaskMapView(TasksModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
{
    setMinimumSize(120, 120);
    setToolTip(tr("One cell per task: done in its node's colour, running lighter, queued grey, "
                  "error orange, failed red (both crossed out). Click a cell to see the task."));
    // Changes repaint at most every MinRepaintMs (a job's records come many times a second); a new job at once.
    m_repaintTimer.setSingleShot(true);
    connect(&m_repaintTimer, &QTimer::timeout, this, qOverload<>(&QWidget::update));
    m_sincePaint.start();
    const auto changed = [this] {
        if (m_repaintTimer.isActive())
            return;
        const qint64 since = m_sincePaint.elapsed();
        if (since >= MinRepaintMs)
            update();
        else
            m_repaintTimer.start(int(MinRepaintMs - since));
    };
    connect(model, &QAbstractItemModel::dataChanged, this, changed);
    connect(model, &QAbstractItemModel::modelReset, this, qOverload<>(&QWidget::update));
    connect(model, &QAbstractItemModel::rowsInserted, this, changed); // TasksModel::growJob()
}

QColor TaskMapView::stateColor(TasksModel::TaskState state)
{
    switch (state) {
    case TasksModel::Failed:
        return QColor(0xd3, 0x2f, 0x2f);
    case TasksModel::Error:
        return QColor(0xf5, 0x7c, 0x00);
    case TasksModel::Queued:
        return QColor(0xe0, 0xe0, 0xe0);
    case TasksModel::Cancelled:
        return QColor(0x61, 0x61, 0x61);
    default:
        return {};
    }
}

QStringList TaskMapView::legendEntries() const
{
    QStringList texts;
    if (m_model->rowCount() == 0)
        return texts;
    const int job = m_model->currentJob();
    for (TasksModel::TaskState s : LegendOrder) {
        QString text = TasksModel::stateName(s);
        if (s == TasksModel::Done)
            text = tr("done (its node's colour)");
        else if (s == TasksModel::Running)
            text = tr("running (lighter)");
        texts << tr("%1: %2").arg(text).arg(m_model->count(job, s));
    }
    return texts;
}

int TaskMapView::layoutLegend(QStringList *texts, QVector<QPoint> *at) const
{
    *texts = legendEntries();
    at->clear();
    if (texts->isEmpty())
        return 0;
    const QFontMetrics fm = fontMetrics();
    const int line = std::max(Swatch, fm.height()) + 2;
    int x = LegendMargin;
    int lines = 1;
    for (const QString &text : std::as_const(*texts)) {
        const int w = Swatch + 4 + fm.horizontalAdvance(text) + 12;
        if (x + w > width() - LegendMargin && x > LegendMargin) {
            ++lines;
            x = LegendMargin;
        }
        at->append(QPoint(x, (lines - 1) * line));
        x += w;
    }
    const int h = lines * line + 2 * LegendMargin;
    for (QPoint &p : *at)
        p.ry() += height() - h + LegendMargin;
    return h;
}

QRect TaskMapView::legendRect() const
{
    QStringList texts;
    QVector<QPoint> at;
    const int h = layoutLegend(&texts, &at);
    return h == 0 ? QRect() : QRect(0, height() - h, width(), h);
}

void TaskMapView::paintLegend(QPainter &painter)
{
    QStringList texts;
    QVector<QPoint> at;
    layoutLegend(&texts, &at);
    const QFontMetrics fm = fontMetrics();
    // Done and running have no colour of their own: their swatch shows the first node colours, split.
    const QVector<QColor> colors = nodePalette();
    const QColor nodes[] = {colors.value(0), colors.value(1), colors.value(2)};
    for (int i = 0; i < texts.size() && i < int(std::size(LegendOrder)); ++i) {
        const TasksModel::TaskState s = LegendOrder[i];
        const QRect swatch(at.at(i).x(), at.at(i).y() + (fm.height() - Swatch) / 2 + 1, Swatch, Swatch);
        if (s == TasksModel::Done || s == TasksModel::Running) {
            for (int k = 0; k < 3; ++k) {
                const QColor c = s == TasksModel::Running ? nodes[k].lighter(160) : nodes[k];
                painter.fillRect(swatch.left() + k * Swatch / 3, swatch.top(),
                                 k == 2 ? Swatch - 2 * (Swatch / 3) : Swatch / 3, Swatch, c);
            }
        } else {
            painter.fillRect(swatch, stateColor(s));
        }
        if (s == TasksModel::Error || s == TasksModel::Failed) {
            painter.setPen(QPen(Qt::white, 1.5));
            painter.drawLine(swatch.topLeft() + QPoint(1, 1), swatch.bottomRight() - QPoint(1, 1));
            painter.drawLine(swatch.bottomLeft() + QPoint(1, -1), swatch.topRight() + QPoint(-1, 1));
        }
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(swatch.right() + 5, at.at(i).y() + fm.ascent() + 1, texts.at(i));
    }
}

void TaskMapView::layoutGrid(int tasks)
{
    const int w = std::max(1, width());
    const int h = std::max(1, height() - legendRect().height());
    m_perCell = 1;
    for (int cell = MaxCell; cell >= MinCell; --cell) {
        const int columns = std::max(1, w / cell);
        const int rows = (tasks + columns - 1) / columns;
        if (qint64(rows) * cell <= h) {
            m_cell = cell;
            m_columns = columns;
            return;
        }
    }
    // More tasks than cells of the smallest size: several tasks per cell.
    m_cell = MinCell;
    m_columns = std::max(1, w / MinCell);
    const qint64 cells = qint64(m_columns) * std::max(1, h / MinCell);
    m_perCell = int((tasks + cells - 1) / cells);
}

TasksModel::TaskState TaskMapView::cellState(int first, int count, int *shown) const
{
    return m_model->worstState(first, count, shown);
}

QColor TaskMapView::colorOf(TasksModel::TaskState state, int shown) const
{
    switch (state) {
    case TasksModel::Running:
        return nodeColor(m_model->nodeAt(shown)).lighter(160);
    case TasksModel::Done:
        return nodeColor(m_model->nodeAt(shown));
    default:
        return stateColor(state);
    }
}

QColor TaskMapView::cellColor(int first, int count) const
{
    int shown = first;
    const TasksModel::TaskState state = cellState(first, count, &shown);
    return colorOf(state, shown);
}

void TaskMapView::paintEvent(QPaintEvent *)
{
    m_sincePaint.restart();
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());
    const int tasks = m_model->rowCount();
    if (tasks == 0) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("Select a job to see a map of its tasks."));
        return;
    }
    layoutGrid(tasks);
    const int gridHeight = height() - legendRect().height();
    const int gap = m_cell >= 6 ? 1 : 0;
    for (int first = 0, cell = 0; first < tasks; first += m_perCell, ++cell) {
        const int x = (cell % m_columns) * m_cell;
        const int y = (cell / m_columns) * m_cell;
        if (y + m_cell > gridHeight && y > 0)
            break;
        const int count = std::min(m_perCell, tasks - first);
        int shown = first;
        const TasksModel::TaskState state = cellState(first, count, &shown);
        painter.fillRect(x, y, m_cell - gap, m_cell - gap, colorOf(state, shown));
        // A cross on errors and failures, so that they never read as a node whose colour is orange or red.
        if (m_cell >= 6 && (state == TasksModel::Error || state == TasksModel::Failed)) {
            painter.setPen(QPen(Qt::white, 1.5));
            painter.drawLine(x + 1, y + 1, x + m_cell - gap - 2, y + m_cell - gap - 2);
            painter.drawLine(x + 1, y + m_cell - gap - 2, x + m_cell - gap - 2, y + 1);
        }
    }
    paintLegend(painter);
}

QRect TaskMapView::cellRect(int index) const
{
    if (index < 0 || index >= m_model->rowCount())
        return {};
    const int cell = index / m_perCell;
    return {(cell % m_columns) * m_cell, (cell / m_columns) * m_cell, m_cell, m_cell};
}

int TaskMapView::taskAt(const QPoint &pos) const
{
    if (pos.x() < 0 || pos.y() < 0 || pos.x() >= m_columns * m_cell || pos.y() >= height() - legendRect().height())
        return -1;
    const qint64 cell = qint64(pos.y() / m_cell) * m_columns + pos.x() / m_cell;
    const qint64 task = cell * m_perCell;
    return task < m_model->rowCount() ? int(task) : -1;
}

void TaskMapView::mousePressEvent(QMouseEvent *event)
{
    if (const int task = taskAt(event->position().toPoint()); task >= 0)
        emit taskClicked(task);
}

} // namespace taskfleet::gui
