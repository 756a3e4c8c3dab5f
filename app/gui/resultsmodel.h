// SPDX-License-Identifier: MIT
// Results of every job, kept in the window, and the table of one job's results.
#pragma once

#include "sched/controller.h"

#include <QtCore/QAbstractTableModel>

#include <deque>

namespace taskfleet::gui {

/**
 * Keeps the task records of every job (the last rowLimit() per job; older ones are dropped
 * and counted) with the job's inputs, and shows one job's records as a table. Records arrive
 * in batches through addRecords(); inputs through setJobInputs() when the job is submitted.
 */
class ResultsModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Index, Input, Output, Node, Time, Attempts, ColumnCount };
    /** The value the Results view sorts by (numbers as numbers). */
    static constexpr int SortRole = Qt::UserRole + 1;

    explicit ResultsModel(QObject *parent = nullptr, int rowLimit = 100000);

    void setJobInputs(int jobId, const sched::JobInputs &inputs);
    void addRecords(int jobId, const QVector<sched::TaskRecord> &records);
    /** Forgets a job's records and inputs (a job removed from the window). */
    void removeJob(int jobId);
    /** Shows this job's records (-1: none). */
    void setCurrentJob(int jobId);
    int currentJob() const { return m_current; }
    int rowLimit() const { return m_rowLimit; }
    /** Records of a job dropped because of the row limit. */
    qint64 droppedRows(int jobId) const;
    /** Records kept for a job. */
    qint64 keptRows(int jobId) const;

    /**
     * Writes the current job's kept records as JSON Lines, each line exactly as taskfleet-run -o writes it
     * (appendResultLine()).
     */
    bool exportJsonLines(const QString &path, QString *error) const;
    /**
     * Appends one record's line as taskfleet-run -o writes it: index, input, output (or error and status),
     * node, seconds, attempts, stdout when the task printed any; built with util::appendJson, so NaN and
     * integers above 2^53 come out as taskfleet-run writes them.
     */
    static void appendResultLine(QByteArray &out, const QCborValue &input, const sched::TaskRecord &r);
    /** Writes the current job's kept records as CSV (index,status,input,output,error,node,runtime_s,attempts). */
    bool exportCsv(const QString &path, QString *error) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    /**
     * Sorts the rows shown (a click on the view's header; -1: the order the results came), by typed keys: numbers
     * as numbers, the other columns by the text shown, each row's text made once. The order holds as records
     * arrive: new ones are sorted among themselves and merged in, and a job past its row limit loses its oldest
     * from the order, so a batch costs the batch and one pass over the kept rows, never a sort of them all.
     */
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    int sortColumn() const { return m_sortColumn; }

signals:
    /** The current job's kept/dropped counts changed. */
    void countsChanged();

private:
    struct JobResults {
        sched::JobInputs inputs;
        std::deque<sched::TaskRecord> records;
        qint64 dropped = 0;
    };
    QCborValue inputOf(const JobResults &job, int index) const;
    /** The text a row shows in a column that sorts by text (Input, Output, Node). */
    QString sortText(const JobResults &job, const sched::TaskRecord &r) const;
    /** Whether the record numbered \a a (job.dropped + its place) goes before \a b in the sort. */
    bool sortsBefore(const JobResults &job, qint64 a, qint64 b) const;
    /** The current job's kept records in sort order, from nothing. */
    void rebuildOrder();
    /** Adds the current job's records numbered \a from and up, past the \a dropped first: a merge. */
    void mergeIntoOrder(qint64 dropped, qint64 from);

    int m_rowLimit;
    int m_current = -1;
    QHash<int, JobResults> m_jobs;
    int m_sortColumn = -1;
    Qt::SortOrder m_sortOrder = Qt::AscendingOrder;
    std::vector<qint64> m_order; ///< sorted: the current job's records by number (dropped + place)
    std::deque<QString> m_texts; ///< sorted by text: each kept record's text, by place
};

} // namespace taskfleet::gui
