// SPDX-License-Identifier: MIT
// Every task of a job, whatever its state: the table behind the Tasks view.
#pragma once

#include "sched/controller.h"
#include "sched/taskreport.h"

#include <QtCore/QAbstractTableModel>
#include <QtCore/QSortFilterProxyModel>

#include <vector>

namespace taskfleet::gui {

/**
 * One row per task of the current job, queued ones included (Deadline Monitor's Tasks panel).
 * Ended tasks come from the job's TaskRecords (addRecords()), running ones and the history of
 * attempts that went wrong from the controller's TaskReport (setReport()); a task neither ended nor
 * running is queued. Per task it keeps 16 bytes, plus the texts of errors and of what tasks printed.
 */
class TasksModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Index, State, Node, Attempts, Time, Note, ColumnCount };
    enum TaskState : quint8 { Queued, Running, Done, Error, Failed, Cancelled, StateCount };
    /** TaskState (int) of the row, on every column. */
    static constexpr int StateRole = Qt::UserRole + 1;
    /** The value to sort by (numbers as numbers). */
    static constexpr int SortRole = Qt::UserRole + 2;

    /** What tasks printed is kept for this many tasks per job (the Results tab and the journal have the rest). */
    static constexpr int MaxLogsPerJob = 10000;

    static QString stateName(TaskState state);

    using QAbstractTableModel::QAbstractTableModel;

    /**
     * A job and its task count (at submission). A job that runs tasks of another (a retry, a resumed job)
     * gives, per task, the other job's task index, and a sentence with %1 for it ("A retry of task %1 of job 3.").
     */
    void addJob(int jobId, qint64 tasks, const QString &origin = {}, const QVector<int> &originIndices = {});
    /** The job has \a tasks tasks now (an attached script's loop added some): the new ones are queued. */
    void growJob(int jobId, qint64 tasks);
    /** The job's inputs (shared, not copied), for the task detail's "Input:" line (detailText()). */
    void setJobInputs(int jobId, const sched::JobInputs &inputs);
    void removeJob(int jobId);
    void addRecords(int jobId, const QVector<sched::TaskRecord> &records);
    void setReport(const sched::TaskReport &report);
    /**
     * How many workers each node (by name) has busy now (the latest snapshot). The controller reports every
     * attempt it handed to a node; a node takes more than it has workers (credit), so only as many of a
     * node's attempts as it has busy workers are shown as running, the oldest first: the others are
     * queued on that node.
     */
    void setNodesBusy(const QHash<QString, int> &busy);
    /** When the controller's clock read 0, in ms since the epoch: attempt times are shown as clock times. */
    void setClockOrigin(qint64 msSinceEpoch) { m_originMs = msSinceEpoch; }
    /** setClockOrigin()'s value, or -1. */
    qint64 clockOriginMs() const { return m_originMs; }
    /** A controller time (µs since it started) as a clock time to the millisecond, "14:03:07.118". */
    QString clockTime(qint64 controllerUs) const;
    /** The controller's clock now (µs since it started) as the window reads it, or -1 before setClockOrigin(). */
    qint64 controllerNowUs() const;
    /** The task detail's input line is cut to this many characters (big values show their size first). */
    static constexpr int InputPreviewChars = 240;
    /** Whether an attempt note is about a speculative copy that lost the race (not a failure). */
    static bool isSpeculativeCopy(const sched::AttemptNote &note);
    /** Whether an attempt note counts towards the job's "retries" (a crash or a timeout). */
    static bool countsAsRetry(const sched::AttemptNote &note);
    /** Shows this job's tasks (-1: none). */
    void setCurrentJob(int jobId);
    int currentJob() const { return m_current; }

    /** The current job's task \a index: its state as shown, and the node that ran (or runs) it. */
    TaskState stateAt(int index) const;
    QString nodeAt(int index) const;
    /** How many of the job's tasks are in \a state now. */
    qint64 count(int jobId, TaskState state) const;
    /** The job's task indices in any of \a states, ascending. */
    QVector<int> indicesIn(int jobId, const QVector<TaskState> &states) const;
    /** Everything known about one task of the current job: state, node, full error, printed output, attempts. */
    QString detailText(int index) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

signals:
    /** addRecords() took these records of \a jobId (any job, shown or not), at \a receivedUs of the controller's clock (-1: unknown). */
    void recordsAdded(int jobId, const QVector<sched::TaskRecord> &records, qint64 receivedUs);

private:
    struct Row {
        TaskState state = Queued;
        quint8 attempts = 0;
        qint16 node = -1; ///< into m_nodeNames
        qint32 startMs = 0;
        qint64 runtimeUs = 0;
    };
    struct Job {
        std::vector<Row> rows;
        QHash<int, QString> errors;                 ///< full error texts of tasks that did not give a value
        QHash<int, QString> logs;                   ///< what tasks printed
        QHash<int, sched::RunningAttempt> inFlight; ///< every attempt the controller reported, by task
        QHash<int, sched::RunningAttempt> running;  ///< those a worker runs (at most the node's busy workers)
        QHash<int, QVector<sched::AttemptNote>> notes;
        bool notesTruncated = false;
        qint64 reportUs = 0;
        qint64 counts[StateCount] = {};
        QString origin;
        QVector<int> originIndices;
        sched::JobInputs inputs; ///< shared with the job's spec
    };
    TaskState shownState(const Job &job, int index) const;
    /** Splits job.inFlight into running and queued-on-a-node by the nodes' busy workers; touches changed rows. */
    void splitInFlight(Job &job, int *first, int *last) const;
    qint16 nodeIndex(const QString &name);
    QString nodeName(qint16 index) const;
    /** Tells the view that rows first..last of \a jobId changed (when it is shown). */
    void rowsChanged(int jobId, int first, int last);

    int m_current = -1;
    QHash<int, Job> m_jobs;
    QStringList m_nodeNames;
    QHash<QString, qint16> m_nodeIndex;
    QHash<QString, int> m_busy;
    qint64 m_originMs = -1;
};

/** The Tasks view's filter: one state or all (-1), sorting by SortRole. */
class TaskStateFilter : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit TaskStateFilter(QObject *parent = nullptr);
    void setState(int state);
    int state() const { return m_state; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    int m_state = -1;
};

} // namespace taskfleet::gui
