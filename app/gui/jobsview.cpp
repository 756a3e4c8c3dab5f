// SPDX-License-Identifier: MIT
// The Jobs table: state, a progress bar coloured by outcome, counts, rate, ETA and priority.
#include "jobsview.h"

#include "delegates.h"
#include "jobsmodel.h"
#include "tableview.h"

#include <QtWidgets/QHeaderView>

namespace taskfleet::gui {

JobsView::JobsView(JobsModel *model, const QList<QAction *> &contextActions, QWidget *parent)
    : QTableView(parent)
    , m_model(model)
{
    applyTableLook(this);
    setModel(model);
    setItemDelegateForColumn(JobsModel::Progress,
                             new ProgressDelegate(JobsModel::ProgressRole, JobsModel::OutcomeRole, this));
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    QHeaderView *header = horizontalHeader();
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setSectionResizeMode(JobsModel::Name, QHeaderView::Stretch); // the job's name gets the spare width
    header->setStretchLastSection(false);
    header->setMinimumSectionSize(40);
    setColumnWidth(JobsModel::Progress, 140);
    header->setSectionResizeMode(JobsModel::Progress, QHeaderView::Fixed);
    setContextMenuPolicy(Qt::ActionsContextMenu);
    addActions(contextActions);
}

int JobsView::selectedJob() const
{
    const QModelIndexList rows = selectionModel()->selectedRows();
    if (rows.isEmpty())
        return -1;
    return rows.first().data(JobsModel::JobIdRole).toInt();
}

bool JobsView::selectJob(int jobId)
{
    const int row = m_model->rowOf(jobId);
    if (row < 0)
        return false;
    selectRow(row);
    return true;
}

} // namespace taskfleet::gui
