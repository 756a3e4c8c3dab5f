// SPDX-License-Identifier: MIT
// The Results tab: the selected job's task records, with a note on how many are kept, and exports.
#include "resultspanel.h"

#include "format.h"
#include "resultsmodel.h"
#include "tableview.h"

#include <QtWidgets/QFileDialog>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTableView>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

ResultsPanel::ResultsPanel(ResultsModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_note(new QLabel(this))
    , m_view(makeTable(this))
{
    auto *jsonl = new QPushButton(tr("Export JSON Lines…"), this);
    auto *csv = new QPushButton(tr("Export CSV…"), this);
    connect(jsonl, &QPushButton::clicked, this, [this] { exportResults(true); });
    connect(csv, &QPushButton::clicked, this, [this] { exportResults(false); });
    auto *bar = new QHBoxLayout;
    bar->addWidget(m_note, 1);
    bar->addWidget(jsonl);
    bar->addWidget(csv);

    // Sortable by any column (a click on its header); until then in the order the results came. The model sorts
    // itself (ResultsModel::sort()): a proxy would sort all kept rows again through QVariants at every batch.
    m_view->setModel(model);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    QHeaderView *header = m_view->horizontalHeader();
    header->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(ResultsModel::Output, QHeaderView::Stretch);
    header->setStretchLastSection(false);
    m_view->setColumnWidth(ResultsModel::Index, 60);
    m_view->setColumnWidth(ResultsModel::Input, 140);
    m_view->setColumnWidth(ResultsModel::Output, 250);
    m_view->setColumnWidth(ResultsModel::Node, 150);
    m_view->setColumnWidth(ResultsModel::Time, 80);
    m_view->setColumnWidth(ResultsModel::Attempts, 70);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_view);
    connect(model, &ResultsModel::countsChanged, this, &ResultsPanel::updateNote);
    updateNote();
}

void ResultsPanel::updateNote()
{
    const int jobId = m_model->currentJob();
    if (jobId < 0) {
        m_note->setText(tr("Select a job to see its results."));
        return;
    }
    const qint64 kept = m_model->keptRows(jobId);
    const qint64 dropped = m_model->droppedRows(jobId);
    m_note->setText(dropped ? tr("%1 results (the last %2 are kept here; %3 older ones are not shown)")
                                  .arg(kept + dropped)
                                  .arg(m_model->rowLimit())
                                  .arg(dropped)
                            : countOf(kept, tr("result"), tr("results")));
}

void ResultsPanel::exportResults(bool jsonLines)
{
    if (m_model->currentJob() < 0) {
        emit failed(tr("Select a job first: its results are exported."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(
        this, jsonLines ? tr("Export Results as JSON Lines") : tr("Export Results as CSV"),
        jsonLines ? QStringLiteral("results.jsonl") : QStringLiteral("results.csv"));
    if (path.isEmpty())
        return;
    QString error;
    if (jsonLines ? m_model->exportJsonLines(path, &error) : m_model->exportCsv(path, &error))
        emit written(path);
    else
        emit failed(error);
}

} // namespace taskfleet::gui
