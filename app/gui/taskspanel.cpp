// SPDX-License-Identifier: MIT
// The Tasks tab: every task of the selected job, filterable by state, with a detail pane.
#include "taskspanel.h"

#include "format.h"
#include "tableview.h"
#include "tasksmodel.h"
#include "timelineview.h"

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
    , m_view(makeTable(this))
    , m_timeline(new TimelineView(model, this))
    , m_pages(new QStackedWidget(this))
    , m_tableButton(new QToolButton(this))
    , m_timelineButton(new QToolButton(this))
    , m_filter(new QComboBox(this))
    , m_summary(new QLabel(this))
    , m_detail(new QPlainTextEdit(this))
{
    m_proxy->setSourceModel(model);
    m_view->setModel(m_proxy);
    // Sortable by a click on a header; until then in task order (the model's own, so a big job costs no sort).
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

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_tableButton);
    bar->addWidget(m_timelineButton);
    bar->addWidget(new QLabel(tr("Show:"), this));
    bar->addWidget(m_filter);
    bar->addWidget(m_summary, 1);
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("tasksSplitter"));
    splitter->addWidget(m_pages);
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
    const QModelIndex source = m_model->index(index, 0);
    const QModelIndex row = m_proxy->mapFromSource(source);
    if (!row.isValid())
        return false;
    m_view->selectRow(row.row());
    m_view->scrollTo(row);
    return selectedTask() == index;
}

int TasksPanel::selectedTask() const
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : m_proxy->mapToSource(rows.first()).row();
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
