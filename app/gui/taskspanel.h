// SPDX-License-Identifier: MIT
// The Tasks tab: every task of the selected job, filterable by state, with a detail pane.
#pragma once

#include <QtWidgets/QWidget>

class QAction;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QTableView;

namespace taskfleet::gui {

class TaskStateFilter;
class TasksModel;

/**
 * A table over TasksModel (through TaskStateFilter, so it filters by state and sorts by any column),
 * a state filter whose entries carry their counts, the job's task actions as buttons, and below the
 * table the selected task's detail (TasksModel::detailText()): full error, what it printed, every attempt.
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
    /** Selects the task with this index (when the filter shows it); true if it is selected. */
    bool selectTask(int index);
    /** The selected task's index, or -1. */
    int selectedTask() const;

    QTableView *view() const { return m_view; }
    QComboBox *stateFilter() const { return m_filter; }
    QPlainTextEdit *detail() const { return m_detail; }
    QLabel *summary() const { return m_summary; }

private:
    /** The filter's entries and the summary line, with the current job's counts. */
    void updateCounts();
    void updateDetail();

    TasksModel *m_model;
    TaskStateFilter *m_proxy;
    QTableView *m_view;
    QComboBox *m_filter;
    QLabel *m_summary;
    QPlainTextEdit *m_detail;
};

} // namespace taskfleet::gui
