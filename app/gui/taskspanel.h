// SPDX-License-Identifier: MIT
// The Tasks tab: every task of the selected job, filterable by state, with a detail pane.
#pragma once

#include <QtWidgets/QWidget>

class QAction;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;
class QToolButton;

namespace taskfleet::gui {

class TaskStateFilter;
class TasksModel;
class TimelineView;

/**
 * A table over TasksModel through TaskStateFilter (one state or all, a page of at most TaskStateFilter::PageRows
 * tasks at a time, with buttons to turn pages when there are more) and a sort of that page by any column,
 * a state filter whose entries carry their counts, the job's task actions as buttons, and below the
 * table the selected task's detail (TasksModel::detailText()): its input, full error, what it printed, every
 * attempt. Two buttons switch the upper half between the table and the timeline (TimelineView: each worker
 * a lane, each task a bar coloured by job); a click on a bar of the current job selects its task.
 */
class TasksPanel : public QWidget
{
    Q_OBJECT

public:
    explicit TasksPanel(TasksModel *model, QWidget *parent = nullptr);

    /** Buttons beside the filter for these actions (retry failed tasks, rerun). */
    void addButtons(const QList<QAction *> &actions);
    /** Shows only tasks in this state (TasksModel::TaskState), or all (-1). */
    void setStateFilter(int state);
    /** Selects the task with this index (when the filter shows it; turning to its page); true if it is selected. */
    bool selectTask(int index);
    /** The selected task's index, or -1. */
    int selectedTask() const;

    /** Shows the timeline (true) or the table (false) above the detail. */
    void showTimeline(bool on);
    bool isTimelineShown() const;

    QTableView *view() const { return m_view; }
    TimelineView *timeline() const { return m_timeline; }
    QToolButton *timelineButton() const { return m_timelineButton; }
    QComboBox *stateFilter() const { return m_filter; }
    QPlainTextEdit *detail() const { return m_detail; }
    QLabel *summary() const { return m_summary; }
    /** The page model under the table (state filter and pages). */
    TaskStateFilter *pages() const { return m_proxy; }
    /** "Tasks 1–10,000 of 2,500,000", with the page buttons; hidden while one page holds them all. */
    QWidget *pageBar() const { return m_pageBar; }

private:
    /** The filter's entries and the summary line, with the current job's counts. */
    void updateCounts();
    void updateDetail();
    void updatePageBar();

    TasksModel *m_model;
    TaskStateFilter *m_proxy;
    QSortFilterProxyModel *m_sorter;
    QTableView *m_view;
    TimelineView *m_timeline;
    QStackedWidget *m_pages;
    QToolButton *m_tableButton;
    QToolButton *m_timelineButton;
    QComboBox *m_filter;
    QLabel *m_summary;
    QPlainTextEdit *m_detail;
    QWidget *m_pageBar;
    QToolButton *m_previousPage;
    QToolButton *m_nextPage;
    QLabel *m_pageLabel;
};

} // namespace taskfleet::gui
