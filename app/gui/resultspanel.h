// SPDX-License-Identifier: MIT
// The Results tab: the selected job's task records, with a note on how many are kept, and exports.
#pragma once

#include <QtWidgets/QWidget>

class QLabel;
class QTableView;

namespace taskfleet::gui {

class ResultsModel;

/**
 * A table over ResultsModel, sortable by any column (Interactive column widths: ResizeToContents would measure every row of a
 * big job; the output stretches), a note saying how many results there are and how many are not kept,
 * and Export JSON Lines… / Export CSV… buttons. An export's outcome goes out as written() or failed().
 */
class ResultsPanel : public QWidget
{
    Q_OBJECT

public:
    explicit ResultsPanel(ResultsModel *model, QWidget *parent = nullptr);

    QTableView *view() const { return m_view; }
    QLabel *note() const { return m_note; }
    /** Asks where, then writes the current job's results; \a jsonLines: JSON Lines, else CSV. */
    void exportResults(bool jsonLines);

signals:
    void written(const QString &path);
    void failed(const QString &message);

private:
    void updateNote();

    ResultsModel *m_model;
    QLabel *m_note;
    QTableView *m_view;
};

} // namespace taskfleet::gui
