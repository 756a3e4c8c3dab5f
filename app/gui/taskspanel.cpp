// SPDX-License-Identifier: MIT
// The Tasks tab: every task of the selected job, filterable by state, with a detail pane.
#include "taskspanel.h"

#include "format.h"
#include "tableview.h"
#include "tasksmodel.h"
#include "timelineview.h"

#include <QtCore/QSortFilterProxyModel>
#include <QtGui/QFontDatabase>
#include <QtWidgets/QButtonGroup>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStackedWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolButton>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

TasksPanel::TasksPanel(TasksModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new TaskStateFilter(this))
    , m_sorter(new QSortFilterProxyModel(this))
    , m_view(makeTable(this))
    , m_timeline(new TimelineView(model, this))
    , m_pages(new QStackedWidget(this))
    , m_tableButton(new QToolButton(this))
    , m_timelineButton(new QToolButton(this))
    , m_filter(new QComboBox(this))
    , m_summary(new QLabel(this))
    , m_detail(new QPlainTextEdit(this))
    , m_pageBar(new QWidget(this))
    , m_previousPage(new QToolButton(m_pageBar))
    , m_nextPage(new QToolButton(m_pageBar))
    , m_pageLabel(new QLabel(m_pageBar))
{
    m_proxy->setSourceModel(model);
    // The sort works on the page shown (at most TaskStateFilter::PageRows rows), never on the whole job.
    m_sorter->setSourceModel(m_proxy);
    m_sorter->setSortRole(TasksModel::SortRole);
    m_view->setModel(m_sorter);
    // Sortable by a click on a header; until then in task order (the page's own, so a big job costs no sort).
    m_view->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    // Interactive widths (ResizeToContents would measure every row of a big job); the note stretches.
    QHeaderView *header = m_view->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(TasksModel::Note, QHeaderView::Stretch);
    header->setStretchLastSection(false);
    m_view->setColumnWidth(TasksModel::Index, 60);
    m_view->setColumnWidth(TasksModel::State, 80);
    m_view->setColumnWidth(TasksModel::Node, 170);
    m_view->setColumnWidth(TasksModel::Attempts, 70);
    m_view->setColumnWidth(TasksModel::Time, 80);

    m_filter->addItem(tr("All tasks"), -1);
    for (int s = 0; s < TasksModel::StateCount; ++s)
        m_filter->addItem(TasksModel::stateName(TasksModel::TaskState(s)), s);
    m_filter->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(m_filter, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_proxy->setState(m_filter->itemData(i).toInt()); });

    m_detail->setReadOnly(true);
    m_detail->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_detail->setPlaceholderText(
        tr("Select a task to see its input, its full error, what it printed and each attempt."));

    // The table or the timeline above the detail.
    m_pages->addWidget(m_view);
    m_pages->addWidget(m_timeline);
    auto *pageButtons = new QButtonGroup(this);
    for (QToolButton *b : {m_tableButton, m_timelineButton}) {
        b->setCheckable(true);
        b->setAutoRaise(true);
        pageButtons->addButton(b);
    }
    m_tableButton->setText(tr("Table"));
    m_tableButton->setToolTip(tr("Every task of the selected job"));
    m_tableButton->setChecked(true);
    m_timelineButton->setText(tr("Timeline"));
    m_timelineButton->setToolTip(tr("Each worker a lane, each task that ran a bar coloured by its job (the "
                                    "selected job's in full); Ctrl+wheel zooms, a click selects the task"));
    connect(m_timelineButton, &QToolButton::toggled, this, [this](bool on) { m_pages->setCurrentIndex(on ? 1 : 0); });
    connect(m_timeline, &TimelineView::barClicked, this, [this](int jobId, int index) {
        if (jobId != m_model->currentJob())
            return;
        if (!selectTask(index)) {
            setStateFilter(-1); // the filter hid it
            selectTask(index);
        }
    });

    // Pages, for a job of more tasks (in the state shown) than a page holds.
    m_previousPage->setArrowType(Qt::LeftArrow);
    m_previousPage->setToolTip(tr("Previous page of tasks"));
    m_nextPage->setArrowType(Qt::RightArrow);
    m_nextPage->setToolTip(tr("Next page of tasks"));
    m_pageLabel->setToolTip(
        tr("The table shows %L1 tasks at a time; a sort sorts the page shown.").arg(TaskStateFilter::PageRows));
    auto *pageLayout = new QHBoxLayout(m_pageBar);
    pageLayout->setContentsMargins(0, 0, 0, 0);
    pageLayout->addWidget(m_previousPage);
    pageLayout->addWidget(m_pageLabel);
    pageLayout->addWidget(m_nextPage);
    pageLayout->addStretch(1);
    connect(m_previousPage, &QToolButton::clicked, this, [this] { m_proxy->setPage(m_proxy->page() - 1); });
    connect(m_nextPage, &QToolButton::clicked, this, [this] { m_proxy->setPage(m_proxy->page() + 1); });
    connect(m_proxy, &TaskStateFilter::pageChanged, this, &TasksPanel::updatePageBar);
    m_pageBar->hide();

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_tableButton);
    bar->addWidget(m_timelineButton);
    bar->addWidget(new QLabel(tr("Show:"), this));
    bar->addWidget(m_filter);
    bar->addWidget(m_summary, 1);
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("tasksSplitter"));
    auto *upper = new QWidget(this);
    auto *upperLayout = new QVBoxLayout(upper);
    upperLayout->setContentsMargins(0, 0, 0, 0);
    upperLayout->setSpacing(2);
    upperLayout->addWidget(m_pages, 1);
    upperLayout->addWidget(m_pageBar);
    splitter->addWidget(upper);
    splitter->addWidget(m_detail);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(splitter, 1);

    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &TasksPanel::updateDetail);
    connect(model, &QAbstractItemModel::modelReset, this, [this] {
        updateCounts();
        updateDetail();
    });
    connect(model, &QAbstractItemModel::rowsInserted, this, &TasksPanel::updateCounts); // TasksModel::growJob()
    connect(model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &topLeft, const QModelIndex &bottomRight) {
                updateCounts();
                const int selected = selectedTask();
                if (selected >= topLeft.row() && selected <= bottomRight.row())
                    updateDetail();
            });
    updateCounts();
}

void TasksPanel::addButtons(const QList<QAction *> &actions)
{
    auto *bar = qobject_cast<QHBoxLayout *>(static_cast<QVBoxLayout *>(layout())->itemAt(0)->layout());
    for (QAction *action : actions) {
        auto *button = new QToolButton(this);
        button->setDefaultAction(action);
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        bar->addWidget(button);
    }
}

void TasksPanel::showTimeline(bool on)
{
    (on ? m_timelineButton : m_tableButton)->setChecked(true);
}

bool TasksPanel::isTimelineShown() const
{
    return m_pages->currentWidget() == m_timeline;
}

void TasksPanel::setStateFilter(int state)
{
    const int i = m_filter->findData(state);
    if (i >= 0)
        m_filter->setCurrentIndex(i);
}

bool TasksPanel::selectTask(int index)
{
    const int pageRow = m_proxy->showTask(index);
    if (pageRow < 0)
        return false;
    const QModelIndex row = m_sorter->mapFromSource(m_proxy->index(pageRow, 0));
    if (!row.isValid())
        return false;
    m_view->selectRow(row.row());
    m_view->scrollTo(row);
    return selectedTask() == index;
}

int TasksPanel::selectedTask() const
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().data(TasksModel::TaskRole).toInt();
}

void TasksPanel::updatePageBar()
{
    const qint64 pages = m_proxy->pageCount();
    m_pageBar->setVisible(pages > 1);
    if (pages <= 1)
        return;
    const qint64 first = m_proxy->page() * TaskStateFilter::PageRows;
    m_pageLabel->setText(tr("Tasks %L1–%L2 of %L3 (page %L4 of %L5)")
                             .arg(first + 1)
                             .arg(first + m_proxy->rowCount())
                             .arg(m_proxy->matching())
                             .arg(m_proxy->page() + 1)
                             .arg(pages));
    m_previousPage->setEnabled(m_proxy->page() > 0);
    m_nextPage->setEnabled(m_proxy->page() + 1 < pages);
}

void TasksPanel::updateCounts()
{
    const int job = m_model->currentJob();
    qint64 all = 0;
    QStringList parts;
    for (int s = 0; s < TasksModel::StateCount; ++s) {
        const qint64 n = m_model->count(job, TasksModel::TaskState(s));
        all += n;
        m_filter->setItemText(s + 1, tr("%1 (%2)").arg(TasksModel::stateName(TasksModel::TaskState(s))).arg(n));
        if (n > 0)
            parts << tr("%1 %2").arg(n).arg(TasksModel::stateName(TasksModel::TaskState(s)));
    }
    m_filter->setItemText(0, tr("All tasks (%1)").arg(all));
    m_summary->setText(job < 0 ? tr("Select a job to see its tasks.") : parts.join(QStringLiteral(" · ")));
}

void TasksPanel::updateDetail()
{
    const int task = selectedTask();
    m_detail->setPlainText(task < 0 ? QString() : m_model->detailText(task));
}

} // namespace taskfleet::gui
