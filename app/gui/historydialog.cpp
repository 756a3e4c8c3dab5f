// SPDX-License-Identifier: MIT
// File ▸ History: the jobs earlier sessions finished, read from their journals, with their results.
#include "historydialog.h"

#include "resultsmodel.h"

#include "format.h"
#include "tableview.h"

#include <QtCore/QDir>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QLockFile>
#include <QtCore/QSaveFile>
#include <QtCore/QSet>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTableWidget>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

namespace taskfleet::gui {

namespace {
enum Column { When, Name, Plugin, Tasks, Done, Errors, Failed, Cancelled, Id, ColumnCount };

QTableWidgetItem *number(qint64 value)
{
    auto *item = new QTableWidgetItem;
    item->setData(Qt::DisplayRole, value);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}
} // namespace

HistoryDialog::HistoryDialog(const QString &journalDir, const QString &ownJournal, QWidget *parent)
    : QDialog(parent)
    , m_dir(journalDir)
    , m_own(QFileInfo(ownJournal).absoluteFilePath())
    , m_table(new QTableWidget(this))
    , m_note(new QLabel(this))
{
    setWindowTitle(tr("History"));
    resize(820, 420);
    m_table->setColumnCount(ColumnCount);
    m_table->setHorizontalHeaderLabels({tr("Ran"), tr("Job"), tr("Plugin"), tr("Tasks"), tr("Done"), tr("Errors"),
                                        tr("Failed"), tr("Cancelled"), tr("ID")});
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->setAlternatingRowColors(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(Name, QHeaderView::Stretch);

    auto *exportButton = new QPushButton(tr("Export Results…"), this);
    auto *clear = new QPushButton(tr("Clear History"), this);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(exportButton, QDialogButtonBox::ActionRole);
    buttons->addButton(clear, QDialogButtonBox::DestructiveRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(exportButton, &QPushButton::clicked, this, &HistoryDialog::onExport);
    connect(clear, &QPushButton::clicked, this, [this] {
        const int files = clearHistory();
        m_note->setText(tr("Removed %1.").arg(countOf(files, tr("journal"), tr("journals"))));
    });

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_note);
    layout->addWidget(buttons);
    reload();
}

void HistoryDialog::reload()
{
    m_entries.clear();
    // Newest first, each job once: a resumed job's newest journal has all of it.
    const QFileInfoList files
        = QDir(m_dir).entryInfoList({QStringLiteral("app-*.tfj")}, QDir::Files, QDir::Name | QDir::Reversed);
    QSet<QString> seen;
    QStringList problems;
    for (const QFileInfo &file : files) {
        QString error;
        const auto jobs = sched::JournalReader::read(file.absoluteFilePath(), &error);
        if (!jobs) {
            problems << error;
            continue;
        }
        for (const sched::JournaledJob &job : *jobs) {
            if (seen.contains(job.key))
                continue;
            seen.insert(job.key);
            if (job.ended || job.results.size() >= job.spec.inputs.size()) // every task has its result
                m_entries.append(Entry {
                    file.absoluteFilePath(),
                    job.startedMs >= 0 ? QDateTime::fromMSecsSinceEpoch(job.startedMs) : file.lastModified(), job});
        }
    }
    m_table->setSortingEnabled(false);
    m_table->setRowCount(int(m_entries.size()));
    for (int row = 0; row < m_entries.size(); ++row) {
        const sched::JournaledJob &job = m_entries.at(row).job;
        qint64 counts[4] = {}; // Ok, Error, Failed, Cancelled
        for (const sched::TaskRecord &r : job.results)
            ++counts[std::clamp(int(r.status), 0, 3)];
        // When this job ran (journals from before job times were kept: when the journal was written).
        const QString format = QStringLiteral("yyyy-MM-dd HH:mm:ss");
        auto *when = new QTableWidgetItem(m_entries.at(row).when.toString(format));
        when->setData(Qt::UserRole, row);
        QString ran = job.startedMs < 0 ? tr("Journal written %1 (it has no job times)").arg(when->text())
                                        : tr("Queued %1").arg(when->text());
        if (job.startedMs >= 0 && job.endedMs >= job.startedMs)
            ran += tr(", ended %1 (%2)")
                       .arg(QDateTime::fromMSecsSinceEpoch(job.endedMs).toString(format),
                            formatSeconds(double(job.endedMs - job.startedMs) / 1000));
        when->setToolTip(ran + QLatin1Char('\n') + m_entries.at(row).file);
        m_table->setItem(row, When, when);
        // Jobs of one name are told apart by their journal key (the ID column) and where they came from.
        auto *name = new QTableWidgetItem(job.spec.name);
        name->setToolTip(tr("Journal key %1%2")
                             .arg(job.key, job.spec.sourceFile.isEmpty()
                                               ? QString()
                                               : tr("\nFrom %1").arg(QDir::toNativeSeparators(job.spec.sourceFile))));
        m_table->setItem(row, Name, name);
        auto *id = new QTableWidgetItem(job.key.left(8));
        id->setToolTip(job.key);
        m_table->setItem(row, Id, id);
        m_table->setItem(row, Plugin, new QTableWidgetItem(job.spec.plugin.name));
        m_table->setItem(row, Tasks, number(job.spec.inputs.size()));
        m_table->setItem(row, Done, number(counts[0]));
        m_table->setItem(row, Errors, number(counts[1]));
        m_table->setItem(row, Failed, number(counts[2]));
        m_table->setItem(row, Cancelled, number(counts[3]));
    }
    m_note->setText(problems.isEmpty() ? tr("%1 in %2").arg(countOf(m_entries.size(), tr("job"), tr("jobs")), m_dir)
                                       : problems.join(QLatin1Char('\n')));
}

bool HistoryDialog::exportJob(int row, const QString &path, QString *error) const
{
    if (row < 0 || row >= m_entries.size()) {
        *error = tr("no such job");
        return false;
    }
    const sched::JournaledJob &job = m_entries.at(row).job;
    QVector<int> indices = job.results.keys().toVector();
    std::sort(indices.begin(), indices.end());
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = tr("%1: %2").arg(path, file.errorString());
        return false;
    }
    for (int index : std::as_const(indices)) {
        QByteArray line; // the record of taskfleet-run -o, as the results panel's export writes it
        ResultsModel::appendResultLine(line, job.spec.inputs.value(index), job.results[index]);
        file.write(line);
    }
    return commitSaveFile(file, error);
}

void HistoryDialog::onExport()
{
    const QList<QTableWidgetItem *> selected = m_table->selectedItems();
    if (selected.isEmpty()) {
        m_note->setText(tr("Select a job first."));
        return;
    }
    const int row = m_table->item(selected.first()->row(), When)->data(Qt::UserRole).toInt();
    const QString path
        = QFileDialog::getSaveFileName(this, tr("Export Results as JSON Lines"), QStringLiteral("results.jsonl"));
    if (path.isEmpty())
        return;
    QString error;
    m_note->setText(exportJob(row, path, &error) ? tr("Results written: %1").arg(QDir::toNativeSeparators(path))
                                                 : error);
}

int HistoryDialog::clearHistory()
{
    int removed = 0;
    const QFileInfoList files = QDir(m_dir).entryInfoList({QStringLiteral("app-*.tfj")}, QDir::Files);
    for (const QFileInfo &file : files) {
        const QString path = file.absoluteFilePath();
        if (path == m_own)
            continue;
        QLockFile lock(path + QStringLiteral(".lock"));
        lock.setStaleLockTime(0);
        if (!lock.tryLock(0))
            continue; // a live app's
        QString error;
        const auto jobs = sched::JournalReader::read(path, &error);
        const bool unfinished = jobs && std::any_of(jobs->cbegin(), jobs->cend(), [](const sched::JournaledJob &j) {
                                    return !j.ended && j.results.size() < j.spec.inputs.size();
                                });
        if (jobs && !unfinished && QFile::remove(path))
            ++removed;
    }
    reload();
    return removed;
}

} // namespace taskfleet::gui
