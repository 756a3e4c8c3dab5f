// SPDX-License-Identifier: MIT
// The Nodes table: every node with its workers (editable), load, tasks and failures.
#include "nodesview.h"

#include "delegates.h"
#include "nodesmodel.h"
#include "tableview.h"

#include <QtCore/QThread>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QScrollBar>

#include <algorithm>

namespace taskfleet::gui {

NodesView::NodesView(NodesModel *model, const QList<QAction *> &contextActions, QWidget *parent)
    : QTableView(parent)
{
    applyTableLook(this);
    setModel(model);
    setItemDelegateForColumn(NodesModel::Workers,
                             new WorkerCountDelegate(qMax(256, 8 * QThread::idealThreadCount()), this));
    auto *sparklines = new SparklineDelegate(NodesModel::HistoryRole, this);
    setItemDelegateForColumn(NodesModel::Load, sparklines);
    setItemDelegateForColumn(NodesModel::Memory, sparklines);
    setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed
                    | QAbstractItemView::SelectedClicked);
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    horizontalHeader()->setSectionResizeMode(NodesModel::State, QHeaderView::Stretch);
    horizontalHeader()->setStretchLastSection(false);
    setContextMenuPolicy(Qt::ActionsContextMenu);
    addActions(contextActions);
    // Content widths change with the numbers; the check is a few size hints over a few rows.
    connect(model, &QAbstractItemModel::modelReset, this, &NodesView::fitColumns);
    connect(model, &QAbstractItemModel::rowsInserted, this, &NodesView::fitColumns);
    connect(model, &QAbstractItemModel::dataChanged, this, &NodesView::fitColumns);
    // The viewport narrows when the vertical scroll bar appears.
    connect(verticalScrollBar(), &QScrollBar::rangeChanged, this, &NodesView::fitColumns);
}

namespace {
/** The columns that may step aside, the first to go first. */
constexpr int Optional[] = {NodesModel::Address, NodesModel::Percent, NodesModel::TimePerTask,
                            NodesModel::Memory,  NodesModel::Load,    NodesModel::Lost};
constexpr int StateMinimum = 124; ///< pixels the state column (and its reason) keeps at least
static_assert(NodesModel::ColumnCount <= 16, "NodesView::m_headerWidths holds 16 columns");
} // namespace

void NodesView::resizeEvent(QResizeEvent *event)
{
    QTableView::resizeEvent(event);
    fitColumns();
}

void NodesView::fitColumns()
{
    if (!model())
        return;
    // Every width first, the same whether the column is shown or hidden: a hidden section's size hint is
    // 0 (that made columns come back and go again at every snapshot), so a header's width is remembered
    // from when its column was shown (they all are at first).
    const QHeaderView *header = horizontalHeader();
    int widths[NodesModel::ColumnCount] = {};
    int width = StateMinimum;
    for (int c = 0; c < NodesModel::ColumnCount; ++c) {
        if (!isColumnHidden(c))
            m_headerWidths[size_t(c)] = header->sectionSizeHint(c);
        widths[c] = std::max(sizeHintForColumn(c), m_headerWidths[size_t(c)]);
        if (c != NodesModel::State)
            width += widths[c];
    }
    const int available = viewport()->width();
    for (int c : Optional) {
        const bool hide = width > available;
        if (isColumnHidden(c) != hide)
            setColumnHidden(c, hide);
        if (hide)
            width -= widths[c];
    }
}

QList<int> NodesView::columnsSetAside() const
{
    QList<int> hidden;
    for (int c : Optional)
        if (isColumnHidden(c))
            hidden.append(c);
    return hidden;
}

int NodesView::selectedRow() const
{
    const QModelIndexList rows = selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().row();
}

} // namespace taskfleet::gui
