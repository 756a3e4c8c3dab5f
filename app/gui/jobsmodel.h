// SPDX-License-Identifier: MIT
// The jobs table: one row per job of the latest snapshot.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QAbstractTableModel>

namespace taskfleet::gui {

/** A table over ClusterSnapshot::jobs, in submission order. Progress is 0..1000 (ProgressRole). */
class JobsModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { Id, Name, Plugin, State, Progress, Done, Failed, Total, Rate, Eta, Priority, ColumnCount };
    static constexpr int JobIdRole = Qt::UserRole + 1;
    /** Ended tasks per mille (int), on the Progress column. */
    static constexpr int ProgressRole = Qt::UserRole + 2;

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
