// SPDX-License-Identifier: MIT
// The Nodes table: every node with its workers (editable), load, tasks and failures.
#include "nodesview.h"

#include "delegates.h"
#include "nodesmodel.h"
#include "tableview.h"

#include <QtCore/QThread>
#include <QtWidgets/QHeaderView>

namespace taskfleet::gui {

NodesView::NodesView(NodesModel *model, const QList<QAction *> &contextActions, QWidget *parent)
    : QTableView(parent)
{
    applyTableLook(this);
    setModel(model);
    setItemDelegateForColumn(NodesModel::Workers,
                             new WorkerCountDelegate(qMax(256, 8 * QThread::idealThreadCount()), this));
    setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed
                    | QAbstractItemView::SelectedClicked);
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    horizontalHeader()->setSectionResizeMode(NodesModel::State, QHeaderView::Stretch);
    horizontalHeader()->setStretchLastSection(false);
    setContextMenuPolicy(Qt::ActionsContextMenu);
    addActions(contextActions);
}

int NodesView::selectedRow() const
{
    const QModelIndexList rows = selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().row();
}

} // namespace taskfleet::gui
