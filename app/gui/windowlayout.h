// SPDX-License-Identifier: MIT
// The window's panels in their places: Nodes, Jobs and the Results/Tasks/Log tabs left; picture and chart right.
#pragma once

#include <QtWidgets/QWidget>

class QSplitter;
class QTabWidget;

namespace taskfleet::gui {

class JobActions;
class JobsModel;
class JobsView;
class LogPanel;
class NodeActions;
class NodesModel;
class NodesView;
class PicturePane;
class ResultsModel;
class ResultsPanel;
class TasksModel;
class TasksPanel;
class ThroughputChart;

/**
 * The window's central area: \a bars (the error and welcome bars) on top, then two splitters of panels over the
 * models, with the actions in their context menus. The Nodes pane keeps the height of its rows (totals row
 * included, at most 45 % of the left side) so no scroll bar hides the totals; a task clicked on the task map is
 * shown in the Tasks tab. The splitters and the Results columns are saved and restored with QSettings.
 */
class WindowLayout : public QWidget
{
    Q_OBJECT

public:
    WindowLayout(NodesModel *nodes, JobsModel *jobs, ResultsModel *results, TasksModel *tasks, JobActions *jobActions,
                 NodeActions *nodeActions, bool useSettings, const QList<QWidget *> &bars, QWidget *parent = nullptr);

    void restoreState();
    void saveState() const;
    /** Whether the Tasks tab or the task map shows the selected job's tasks now. */
    bool showsTasks() const;

    NodesView *nodesView = nullptr;
    JobsView *jobsView = nullptr;
    ResultsPanel *resultsPanel = nullptr;
    TasksPanel *tasksPanel = nullptr;
    LogPanel *log = nullptr;
    QTabWidget *tabs = nullptr;
    PicturePane *picture = nullptr;
    ThroughputChart *chart = nullptr;

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void fitNodesPane();

    NodesModel *m_nodes;
    QSplitter *m_main = nullptr;
    QSplitter *m_left = nullptr;
    QSplitter *m_right = nullptr;
};

} // namespace taskfleet::gui
