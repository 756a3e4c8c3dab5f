// SPDX-License-Identifier: MIT
// The jobs table: one row per job of the latest snapshot.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QAbstractTableModel>

namespace taskfleet::gui {

/**
 * A table over ClusterSnapshot::jobs, in submission order. Progress is 0..1000 (ProgressRole) of the
 * tasks that ran to an end (cancelled ones do not count as progress); OutcomeRole tells the bar's
 * colour: a job that finished clean, finished with failures, was cancelled or is paused reads differently.
 */
class JobsModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    /**
     * Errors and Failed are the Tasks view's "error" (the plugin returned an error) and "failed" (crashed or
     * timed out after its retries) counts, as the exports' statuses name them: never summed into one.
     */
    enum Column {
        Id,
        Name,
        Plugin,
        State,
        Progress,
        Done,
        Errors,
        Failed,
        Cancelled,
        Total,
        Rate,
        Eta,
        Priority,
        ColumnCount
    };
    enum Outcome { InProgress, FinishedOk, FinishedWithFailures, WasCancelled, IsPaused };
    static constexpr int JobIdRole = Qt::UserRole + 1;
    /** Ended tasks per mille (int), on the Progress column. */
    static constexpr int ProgressRole = Qt::UserRole + 2;
    /** Outcome (int), on the Progress column. */
    static constexpr int OutcomeRole = Qt::UserRole + 3;

    /**
     * The state as shown: "finished", "finished: 2 errors, 1 failed", "cancelled (N not run)", "paused", and
     * "waiting for more tasks" for a running job whose tasks all ended (a script's loop, Controller::keepOpen).
     */
    static QString stateText(const sched::JobSnapshot &job);
    static Outcome outcome(const sched::JobSnapshot &job);

    using QAbstractTableModel::QAbstractTableModel;

    void setSnapshot(const sched::ClusterSnapshot &snapshot);
    const QVector<sched::JobSnapshot> &jobs() const { return m_jobs; }
    /** The job with this id, or nullptr. */
    const sched::JobSnapshot *job(int jobId) const;
    int rowOf(int jobId) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QVector<sched::JobSnapshot> m_jobs;
};

} // namespace taskfleet::gui
