// SPDX-License-Identifier: MIT
// The Jobs table: state, a progress bar coloured by outcome, counts, rate, ETA and priority.
#pragma once

#include <QtWidgets/QTableView>

namespace taskfleet::gui {

class JobsModel;

/**
 * A table over JobsModel: the job's name takes the spare width, the progress bar (ProgressDelegate)
 * a fixed 140 pixels, the numbers what they need; \a contextActions on right-click.
 */
class JobsView : public QTableView
{
    Q_OBJECT

public:
    JobsView(JobsModel *model, const QList<QAction *> &contextActions, QWidget *parent = nullptr);
    /** The selected job's id, or -1. */
    int selectedJob() const;
    /** Selects the row of job \a jobId; false when there is none. */
    bool selectJob(int jobId);

private:
    JobsModel *m_model;
};

} // namespace taskfleet::gui
