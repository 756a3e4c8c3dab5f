// SPDX-License-Identifier: MIT
// Every task of a job, whatever its state: the table behind the Tasks view.
#pragma once

#include "sched/controller.h"
#include "sched/taskreport.h"

#include <QtCore/QAbstractTableModel>
#include <QtCore/QTimer>

#include <vector>

namespace taskfleet::gui {

/**
 * One row per task of the current job, queued ones included (Deadline Monitor's Tasks panel).
 * Ended tasks come from the job's TaskRecords (addRecords()), running ones and the history of
 * attempts that went wrong from the controller's TaskReport (setReport()); a task neither ended nor
 * running is queued.
 *
 * Bounded like the engine, whatever the job's size: per task it keeps 2 bits (not ended, done, went
 * wrong, cancelled), plus 1 bit where a task near it went wrong (error or failed), in chunks of ChunkTasks
 * tasks made when the first of them ends and dropped when all of them are done (so a job not started and
 * a job all done cost no bits); per block of BlockTasks tasks the count of each ended state and the node of
 * its latest done task. The node, the
 * attempts and the times of a task (its "details") are kept for the latest done tasks (DoneDetailSlots slots,
 * a task in the slot of its index modulo their count, so any DoneDetailSlots consecutive tasks keep theirs) and
 * for the first MaxProblemDetails that did not give a value; error texts and what tasks printed for the
 * first MaxErrorsPerJob and MaxLogsPerJob tasks. Rows are computed when asked for, so a view must not ask
 * for all of a big job's rows: the Tasks view shows them through TaskStateFilter, a page at a time.
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
    /** The row's task index (int), on every column. */
    static constexpr int TaskRole = Qt::UserRole + 3;

    /** What tasks printed is kept for this many tasks per job (the Results tab and the journal have the rest). */
    static constexpr int MaxLogsPerJob = 10000;
    /** Error texts are kept for this many tasks per job (the Results tab and the journal have the rest). */
    static constexpr int MaxErrorsPerJob = 10000;
    /**
     * A done task's node, attempts and times are kept in one of this many slots (its index modulo this), until a
     * later done task takes the slot. A job of fewer tasks has as many slots as it has tasks (rounded up to a power
     * of 2).
     */
    static constexpr int DoneDetailSlots = 131072;
    /** Those of an error, failed or cancelled task for this many of the job's first such tasks. */
    static constexpr int MaxProblemDetails = 10000;
    /** Tasks per block: a block keeps its count of each ended state and the node of its latest done task. */
    static constexpr int BlockTasks = 256;
    /** Tasks per chunk of state bits (see Chunk). */
    static constexpr int ChunkTasks = 65536;

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
    /**
     * The node that runs the task, or ran it: exact while its details are kept, else (a done task) the node of
     * the latest done task of its block; "" when unknown.
     */
    QString nodeAt(int index) const;
    /** Whether the current job's task \a index ended and its node, attempts and times are no longer kept. */
    bool detailsDropped(int index) const;
    /** How many of the job's tasks are in \a state now. */
    qint64 count(int jobId, TaskState state) const;
    /** The job's task indices in any of \a states, ascending. */
    QVector<int> indicesIn(int jobId, const QVector<TaskState> &states) const;
    /**
     * The current job's tasks in \a state (-1: any), ascending: at most \a limit of them, after the first \a skip.
     * Whole blocks without such tasks are skipped by their counts: the cost is the blocks plus what is returned.
     */
    QVector<int> tasksIn(int state, qint64 skip, int limit) const;
    /** How many of the current job's tasks before task \a index are in \a state (-1: any). */
    qint64 rankOf(int state, int index) const;
    /** How many of the current job's tasks are in \a state (-1: all of them). */
    qint64 currentCount(int state) const;
    /**
     * Of the current job's tasks first .. first + count - 1, the state that most needs a look (failed, error,
     * running, queued, cancelled, done: the task map's order), and in *shown the first task in that state.
     * Whole blocks are read from their counts, so a cell of millions of tasks costs its blocks.
     */
    TaskState worstState(int first, int count, int *shown) const;
    /** Bytes this model holds for its jobs' tasks (the per-task arrays, block summaries and kept details). */
    qint64 memoryBytes() const;
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
    /** What a task's 2 bits say. */
    enum Stored : quint8 { NotEnded, StoredDone, WentWrong, StoredCancelled };
    /** A task's node, attempts and times: kept for some tasks only (see the class). */
    struct Detail {
        quint8 attempts = 0;
        qint16 node = -1; ///< into m_nodeNames
        qint32 startMs = 0;
        qint64 runtimeUs = 0;
    };
    struct DoneSlot {
        int index = -1; ///< the task whose details these are
        Detail detail;
    };
    struct Block {
        quint16 ended[4] = {}; ///< by Stored (NotEnded unused)
        quint16 failed = 0;    ///< of the WentWrong ones, how many failed (the rest are errors)
        qint16 node = -1;      ///< the node of its latest done task
    };
    /**
     * ChunkTasks tasks' 2 bits (and failed bits), made when the first of them ends and dropped again when all of
     * them are done: a chunk without its array has all its tasks in one state (not ended, or done).
     */
    struct Chunk {
        std::vector<quint8> bits;   ///< 2 bits a task (Stored), 4 tasks a byte; empty: all uniform
        std::vector<quint8> failed; ///< 1 bit a task, made when one of them first went wrong
        int done = 0;               ///< its tasks stored done
        Stored uniform = NotEnded;  ///< every task's state while bits is empty
    };
    struct Job {
        qint64 size = 0;
        std::vector<Chunk> chunks;
        std::vector<Block> blocks;
        std::vector<DoneSlot> doneSlots;            ///< made at the first done task (see DoneDetailSlots)
        QHash<int, Detail> problems;                ///< the first MaxProblemDetails that did not give a value
        QHash<int, QString> errors;                 ///< full error texts of tasks that did not give a value
        QHash<int, QString> logs;                   ///< what tasks printed
        QHash<int, sched::RunningAttempt> inFlight; ///< every attempt the controller reported, by task
        QHash<int, sched::RunningAttempt> running;  ///< those a worker runs (at most the node's busy workers)
        std::vector<int> runningSorted;             ///< running's tasks, ascending
        QHash<int, QVector<sched::AttemptNote>> notes;
        bool notesTruncated = false;
        qint64 reportUs = 0;
        qint64 counts[StateCount] = {};
        QString origin;
        QVector<int> originIndices;
        sched::JobInputs inputs; ///< shared with the job's spec
        void resize(qint64 tasks);
        /** Tasks in chunk \a c. */
        int chunkSize(size_t c) const { return int(std::min<qint64>(ChunkTasks, size - qint64(c) * ChunkTasks)); }
        Stored stored(int index) const
        {
            const Chunk &c = chunks[size_t(index) / ChunkTasks];
            const int k = index % ChunkTasks;
            return c.bits.empty() ? c.uniform : Stored((c.bits[size_t(k) >> 2] >> ((k & 3) * 2)) & 3);
        }
        void setStored(int index, Stored s);
        bool failedAt(int index) const
        {
            const Chunk &c = chunks[size_t(index) / ChunkTasks];
            const int k = index % ChunkTasks;
            return !c.failed.empty() && (c.failed[size_t(k) >> 3] >> (k & 7) & 1);
        }
        void setFailed(int index, bool failed);
        /** The task's state, Queued for one not ended (running or not). */
        TaskState endState(int index) const;
        /** Running tasks in first .. last - 1. */
        qint64 runningIn(qint64 first, qint64 last) const;
        /** How many tasks of first .. last - 1 (whole blocks) are in \a state (-1: any). */
        qint64 countIn(int state, qint64 first, qint64 last) const;
    };
    TaskState shownState(const Job &job, int index) const;
    const Job *currentJobData() const;
    /** The task's details, or null when they are not kept (or it did not end). */
    static const Detail *detailOf(const Job &job, int index);
    /** Splits job.inFlight into running and queued-on-a-node by the nodes' busy workers; touches changed rows. */
    void splitInFlight(Job &job, int *first, int *last);
    static void sortRunning(Job &job);
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

/**
 * The Tasks view's rows: one page of the current job's tasks in one state (or all, -1), in task order, at most
 * PageRows of them, so that a view never holds (nor a sort ever touches) more than a page whatever the job's
 * size. Each row is a TasksModel row (the same columns and roles). Rows follow the model: with all states shown
 * a page is a fixed range of tasks; with one state the page is found again (refresh()) when tasks change state,
 * at most every RefreshMs, rows that left the state removed and those that joined inserted (a selection stays
 * on its task).
 */
class TaskStateFilter : public QAbstractTableModel
{
    Q_OBJECT

public:
    static constexpr int PageRows = 10000;
    static constexpr int RefreshMs = 200;

    explicit TaskStateFilter(QObject *parent = nullptr);
    void setSourceModel(TasksModel *model);
    TasksModel *sourceModel() const { return m_model; }

    void setState(int state);
    int state() const { return m_state; }
    /** Shows page \a page (0-based; clamped to the pages there are). */
    void setPage(qint64 page);
    qint64 page() const { return m_page; }
    /** Pages of the current job's tasks in the state shown (at least 1). */
    qint64 pageCount() const;
    /** Tasks in the state shown, over all pages. */
    qint64 matching() const;
    /** The task on row \a row, or -1. */
    int taskAt(int row) const;
    /** The row of task \a index on this page, or -1. */
    int rowOf(int index) const;
    /** Turns to the page holding task \a index (when it is in the state shown); its row, or -1. */
    int showTask(int index);
    /** Finds the page's tasks again now (it happens by itself, at most every RefreshMs, when tasks change state). */
    void refresh();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

signals:
    /** The page, the page count or the tasks matching changed. */
    void pageChanged();

private:
    /** The page's tasks as they are now (one state; empty for all states, whose rows are a range). */
    QVector<int> findRows() const;
    void reload();
    void scheduleRefresh();
    void onSourceChanged(const QModelIndex &topLeft, const QModelIndex &bottomRight);

    TasksModel *m_model = nullptr;
    int m_state = -1;
    qint64 m_page = 0;
    qint64 m_first = 0;   ///< all states: the page's first task
    int m_rows = 0;       ///< rows shown
    QVector<int> m_tasks; ///< one state: the tasks shown, ascending
    QTimer *m_timer = nullptr;
    qint64 m_lastRefreshMs = 0;
};

} // namespace taskfleet::gui
