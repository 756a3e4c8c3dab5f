// SPDX-License-Identifier: MIT
// Item delegates: a spin box for worker counts, a progress bar for jobs, sparklines for nodes.
#include "delegates.h"

#include "jobsmodel.h"

#include <QtWidgets/QApplication>
#include <QtWidgets/QSpinBox>
#include <QtGui/QPainter>

#include <algorithm>

namespace taskfleet::gui {

WorkerCountDelegate::WorkerCountDelegate(int maximum, QObject *parent)
    : QStyledItemDelegate(parent)
    , m_maximum(maximum)
{
}

QWidget *WorkerCountDelegate::createEditor(QWidget *parent, const QStyleOptionViewItem &, const QModelIndex &) const
{
    auto *spin = new QSpinBox(parent);
    spin->setRange(0, m_maximum);
    spin->setAlignment(Qt::AlignRight);
    spin->setFrame(false);
    // A frameless spin box paints no background of its own: without this the cell's old value showed
    // through, "4" and the "1" being typed drawn over each other.
    spin->setAutoFillBackground(true);
    // Each step (Up, Down, the wheel) is committed at once, so every press counts; typed digits only
    // when the edit ends (Enter, focus out), not at every key (typing 12 would ask for 1 first).
    spin->setKeyboardTracking(false);
    connect(spin, &QSpinBox::valueChanged, this, [this, spin] {
        if (spin->property("tfLoaded").toBool()) // not the model's own value, set as the editor opens
            emit const_cast<WorkerCountDelegate *>(this)->commitData(spin);
    });
    return spin;
}

void WorkerCountDelegate::setEditorData(QWidget *editor, const QModelIndex &index) const
{
    // Only when the editor opens: a refresh of the cell later must not replace what the user is typing.
    auto *spin = qobject_cast<QSpinBox *>(editor);
    if (spin && !spin->property("tfLoaded").toBool()) {
        spin->setValue(index.data(Qt::EditRole).toInt());
        spin->setProperty("tfLoaded", true);
    }
}

void WorkerCountDelegate::setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const
{
    if (auto *spin = qobject_cast<QSpinBox *>(editor)) {
        spin->interpretText();
        if (spin->value() != index.data(Qt::EditRole).toInt())
            model->setData(index, spin->value(), Qt::EditRole);
    }
}

SparklineDelegate::SparklineDelegate(int role, QObject *parent)
    : QStyledItemDelegate(parent)
    , m_role(role)
{
}

QRect SparklineDelegate::sparkRect(const QRect &cell)
{
    return cell.adjusted(2, 3, -2, -3);
}

QColor SparklineDelegate::lineColor()
{
    return QColor(0x64, 0xb5, 0xf6);
}

QSize SparklineDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const QSize text = QStyledItemDelegate::sizeHint(option, index);
    return {std::max(text.width(), MinimumWidth), text.height()};
}

void SparklineDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const QVector<double> values = index.data(m_role).value<QVector<double>>();
    if (values.size() < 2) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    // The cell's background (selection included), then the line, then the text over it.
    QStyleOptionViewItem cell = option;
    initStyleOption(&cell, index);
    const QString text = cell.text;
    cell.text.clear();
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &cell, painter, widget);

    const QRectF area = sparkRect(option.rect);
    const bool selected = option.state & QStyle::State_Selected;
    const QColor line = selected ? option.palette.color(QPalette::HighlightedText) : lineColor();
    QPolygonF points;
    const int n = int(values.size());
    for (int i = 0; i < n; ++i) {
        const double x = area.left() + area.width() * double(i) / double(n - 1);
        const double y = area.bottom() - area.height() * qBound(0.0, values.at(i), 1.0);
        points << QPointF(x, y);
    }
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    QColor fill = line;
    fill.setAlpha(45);
    QPolygonF under = points;
    under << QPointF(area.right(), area.bottom()) << QPointF(area.left(), area.bottom());
    painter->setPen(Qt::NoPen);
    painter->setBrush(fill);
    painter->drawPolygon(under);
    painter->setPen(QPen(line, 1.2));
    painter->setBrush(Qt::NoBrush);
    painter->drawPolyline(points);
    painter->restore();

    const QRect textRect = style->subElementRect(QStyle::SE_ItemViewItemText, &cell, widget);
    style->drawItemText(painter, textRect, int(cell.displayAlignment), cell.palette, cell.state & QStyle::State_Enabled,
                        text, selected ? QPalette::HighlightedText : QPalette::Text);
}

ProgressDelegate::ProgressDelegate(int role, int outcomeRole, QObject *parent)
    : QStyledItemDelegate(parent)
    , m_role(role)
    , m_outcomeRole(outcomeRole)
{
}

QColor ProgressDelegate::barColor(const QVariant &outcome, double fraction)
{
    // Green only for a clean finish: failures are red, a cancelled job grey, a paused one amber.
    switch (outcome.isValid() ? outcome.toInt() : -1) {
    case JobsModel::FinishedOk:
        return QColor(0x66, 0xbb, 0x6a);
    case JobsModel::FinishedWithFailures:
        return QColor(0xe5, 0x73, 0x73);
    case JobsModel::WasCancelled:
        return QColor(0xa0, 0xa4, 0xaa);
    case JobsModel::IsPaused:
        return QColor(0xff, 0xb7, 0x4d);
    case JobsModel::InProgress:
        return QColor(0x42, 0xa5, 0xf5);
    default:
        return fraction >= 1 ? QColor(0x66, 0xbb, 0x6a) : QColor(0x42, 0xa5, 0xf5);
    }
}

void ProgressDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    // Drawn by hand rather than with the style's progress bar, so that it reads the same in a
    // selected row and in every style.
    QStyleOptionViewItem background = option;
    initStyleOption(&background, index);
    background.text.clear();
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &background, painter, widget);

    const double fraction = qBound(0, index.data(m_role).toInt(), 1000) / 1000.0;
    const QRectF bar = QRectF(option.rect).adjusted(3, 4, -3, -4);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(QColor(0xb0, 0xb6, 0xc0));
    painter->setBrush(QColor(0xf4, 0xf5, 0xf7));
    painter->drawRoundedRect(bar, 3, 3);
    if (fraction > 0) {
        QRectF done = bar.adjusted(1, 1, -1, -1);
        done.setWidth(done.width() * fraction);
        painter->setPen(Qt::NoPen);
        painter->setBrush(barColor(index.data(m_outcomeRole), fraction));
        painter->drawRoundedRect(done, 2, 2);
    }
    painter->setPen(QColor(0x20, 0x20, 0x20));
    painter->drawText(bar, Qt::AlignCenter, index.data(Qt::DisplayRole).toString());
    painter->restore();
}

} // namespace taskfleet::gui
