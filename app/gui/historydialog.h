// SPDX-License-Identifier: MIT
// File ▸ History: the jobs earlier sessions finished, read from their journals, with their results.
#pragma once

#include "sched/journal.h"

#include <QtCore/QDateTime>
#include <QtWidgets/QDialog>

class QLabel;
class QTableWidget;

namespace taskfleet::gui {

/**
 * Lists every job that ended in the app's journals (AppJournal's folder): when, name, plugin, and how
 * its tasks ended, each job once (the newest journal that has it). Export Results… writes the selected
 * job's results from its journal as JSON Lines; Clear History removes the journals of ended sessions
 * whose jobs all ended (never this session's, a live app's, or one with jobs to resume). The journals
 * are read when the dialog opens, results included, and let go when it closes.
 */
class HistoryDialog : public QDialog
{
    Q_OBJECT

public:
    HistoryDialog(const QString &journalDir, const QString &ownJournal, QWidget *parent = nullptr);

    QTableWidget *table() const { return m_table; }
    int jobCount() const { return int(m_entries.size()); }
    /** Writes the results of the job on \a row as JSON Lines ({"index","input","status","output"|"error",...}). */
    [[nodiscard]] bool exportJob(int row, const QString &path, QString *error) const;
    /** Removes the journals of ended sessions whose jobs all ended; returns how many files went. */
    int clearHistory();
    /** Reads the journals again. */
    void reload();

private:
    struct Entry {
        QString file;
        QDateTime when;
        sched::JournaledJob job;
    };
    void onExport();

    QString m_dir;
    QString m_own;
    QVector<Entry> m_entries;
    QTableWidget *m_table;
    QLabel *m_note;
};

} // namespace taskfleet::gui
