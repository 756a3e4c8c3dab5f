// SPDX-License-Identifier: MIT
// The window's panels in their places: Nodes, Jobs and the Results/Tasks/Log tabs left; picture and chart right.
#include "windowlayout.h"

#include "jobactions.h"
#include "jobsview.h"
#include "logpanel.h"
#include "nodeactions.h"
#include "nodesmodel.h"
#include "nodesview.h"
#include "picturepane.h"
#include "resultspanel.h"
#include "taskmapview.h"
#include "taskspanel.h"
#include "throughputchart.h"

#include <QtCore/QSettings>
#include <QtCore/QTimer>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

namespace taskfleet::gui {

namespace {
QGroupBox *group(const QString &title, QWidget *content, QWidget *parent)
{
    auto *box = new QGroupBox(title, parent);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(content);
    return box;
}
} // namespace

WindowLayout::WindowLayout(NodesModel *nodes, JobsModel *jobs, ResultsModel *results, TasksModel *tasks,
                           JobActions *jobActions, NodeActions *nodeActions, bool useSettings,
                           const QList<QWidget *> &bars, QWidget *parent)
    : QWidget(parent)
    , m_nodes(nodes)
{
    nodesView = new NodesView(nodes, {nodeActions->reconnect, nodeActions->drain, nodeActions->remove}, this);
    jobsView = new JobsView(jobs,
                            {jobActions->pause, jobActions->resume, jobActions->cancel, jobActions->retry,
                             jobActions->rerun, jobActions->remove},
                            this);
    resultsPanel = new ResultsPanel(results, this);
    log = new LogPanel(this);
    tasksPanel = new TasksPanel(tasks, this);
    tasksPanel->addButtons({jobActions->retry, jobActions->rerun});
    tabs = new QTabWidget(this);
    tabs->addTab(resultsPanel, tr("Results"));
    tabs->addTab(tasksPanel, tr("Tasks"));
    tabs->addTab(log, tr("Log"));
    chart = new ThroughputChart(this);

    m_left = new QSplitter(Qt::Vertical, this);
    m_left->addWidget(group(tr("Nodes"), nodesView, m_left));
    m_left->addWidget(group(tr("Jobs"), jobsView, m_left));
    m_left->addWidget(tabs);
    m_left->setStretchFactor(0, 2);
    m_left->setStretchFactor(1, 3);
    m_left->setStretchFactor(2, 4);
    m_right = new QSplitter(Qt::Vertical, this);
    // The picture for a job that draws one; for any other job a map of its tasks.
    picture = new PicturePane(tasks, useSettings, m_right);
    connect(picture->taskMap(), &TaskMapView::taskClicked, this, [this](int task) {
        tabs->setCurrentWidget(tasksPanel);
        tasksPanel->setStateFilter(-1);
        tasksPanel->selectTask(task);
    });
    m_right->addWidget(picture);
    m_right->addWidget(group(tr("Throughput"), chart, m_right));
    m_right->setStretchFactor(0, 3);
    m_right->setStretchFactor(1, 2); // the chart keeps a plot of a usable height on a 700 px screen
    m_main = new QSplitter(Qt::Horizontal, this);
    m_main->addWidget(m_left);
    m_main->addWidget(m_right);
    m_main->setStretchFactor(0, 3);
    m_main->setStretchFactor(1, 2);
    m_main->setSizes({840, 440});
    m_left->setSizes({205, 145, 430});
    m_right->setSizes({500, 280});
    // The Nodes pane as tall as its rows (totals row included), so no scroll bar hides the totals.
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(nodes, signal, this, [this] { QTimer::singleShot(0, this, &WindowLayout::fitNodesPane); });
    connect(nodes, &QAbstractItemModel::modelReset, this,
            [this] { QTimer::singleShot(0, this, &WindowLayout::fitNodesPane); });

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    for (QWidget *bar : bars)
        layout->addWidget(bar);
    layout->addWidget(m_main, 1);
}

bool WindowLayout::showsTasks() const
{
    return tabs->currentWidget() == tasksPanel || picture->currentPage() == picture->taskMap();
}

void WindowLayout::restoreState()
{
    QSettings s;
    m_main->restoreState(s.value(QStringLiteral("window/mainSplitter")).toByteArray());
    m_left->restoreState(s.value(QStringLiteral("window/leftSplitter")).toByteArray());
    m_right->restoreState(s.value(QStringLiteral("window/rightSplitter")).toByteArray());
    resultsPanel->view()->horizontalHeader()->restoreState(
        s.value(QStringLiteral("window/resultsColumns")).toByteArray());
}

void WindowLayout::saveState() const
{
    QSettings s;
    s.setValue(QStringLiteral("window/mainSplitter"), m_main->saveState());
    s.setValue(QStringLiteral("window/leftSplitter"), m_left->saveState());
    s.setValue(QStringLiteral("window/rightSplitter"), m_right->saveState());
    s.setValue(QStringLiteral("window/resultsColumns"), resultsPanel->view()->horizontalHeader()->saveState());
}

void WindowLayout::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    QTimer::singleShot(0, this, &WindowLayout::fitNodesPane);
}

void WindowLayout::fitNodesPane()
{
    QWidget *pane = m_left->widget(0);
    QList<int> sizes = m_left->sizes();
    if (sizes.size() != 3 || sizes.at(0) <= 0 || !isVisible())
        return;
    const int rows = m_nodes->rowCount();
    QHeaderView *header = nodesView->horizontalHeader();
    int table = std::max(header->height(), header->sizeHint().height()) + 2 * nodesView->frameWidth();
    for (int r = 0; r < rows; ++r)
        table += nodesView->rowHeight(r);
    const int all = sizes.at(0) + sizes.at(1) + sizes.at(2);
    const int want = std::min(pane->height() - nodesView->height() + table + 2, all * 45 / 100);
    const int delta = want - sizes.at(0);
    if (delta == 0)
        return;
    sizes[0] = want;
    if (delta < 0) {
        sizes[1] -= delta; // room given back goes to the jobs
    } else {
        const int fromTabs = std::min(delta, std::max(0, sizes.at(2) - tabs->minimumSizeHint().height()));
        sizes[2] -= fromTabs;
        sizes[1] -= delta - fromTabs;
    }
    m_left->setSizes(sizes);
}

} // namespace taskfleet::gui
