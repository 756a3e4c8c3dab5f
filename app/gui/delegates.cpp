// SPDX-License-Identifier: MIT
// Item delegates: a spin box for worker counts, a progress bar for jobs.
#include "delegates.h"

#include <QtWidgets/QApplication>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QStyleOptionProgressBar>

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
    return spin;
}

void WorkerCountDelegate::setEditorData(QWidget *editor, const QModelIndex &index) const
{
    if (auto *spin = qobject_cast<QSpinBox *>(editor))
        spin->setValue(index.data(Qt::EditRole).toInt());
}

void WorkerCountDelegate::setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const
{
    if (auto *spin = qobject_cast<QSpinBox *>(editor)) {
        spin->interpretText();
        if (spin->value() != index.data(Qt::EditRole).toInt())
            model->setData(index, spin->value(), Qt::EditRole);
    }
}

ProgressDelegate::ProgressDelegate(int role, QObject *parent)
    : QStyledItemDelegate(parent)
    , m_role(role)
{
}

void ProgressDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QStyleOptionProgressBar bar;
    bar.rect = option.rect.adjusted(2, 3, -2, -3);
    bar.minimum = 0;
    bar.maximum = 1000;
    bar.progress = index.data(m_role).toInt();
    bar.text = index.data(Qt::DisplayRole).toString();
    bar.textVisible = true;
    bar.textAlignment = Qt::AlignCenter;
    bar.state = option.state | QStyle::State_Horizontal;
    bar.palette = option.palette;
    bar.fontMetrics = option.fontMetrics;
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ProgressBar, &bar, painter, widget);
}

} // namespace taskfleet::gui
