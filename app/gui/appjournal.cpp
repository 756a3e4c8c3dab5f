// SPDX-License-Identifier: MIT
// The desktop app's journal: its jobs and their results on disk as they happen.
#include "appjournal.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QSet>
#include <QtCore/QUuid>

#include <algorithm>

namespace taskfleet::gui {

namespace {
QString lockPath(const QString &journal)
{
    return journal + QStringLiteral(".lock");
}
} // namespace

bool AppJournal::open(const QString &dir, QString *error)
{
    if (!QDir().mkpath(dir)) {
        *error = QStringLiteral("cannot make the journal folder %1").arg(dir);
        return false;
    }
    // Time, process and a count: two windows of one process (tests) never share a file.
    static int opened = 0;
    const QString path
        = QDir(dir).filePath(QStringLiteral("app-%1-%2-%3.tfj")
                                 .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")))
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(++opened, 4, 10, QLatin1Char('0'))); // sorts in order
    if (QFile::exists(path)) {
        *error = QStringLiteral("the journal %1 exists already").arg(path);
        return false;
    }
    auto lock = std::make_unique<QLockFile>(lockPath(path));
    lock->setStaleLockTime(0); // stale only when its process is gone, never by age
    if (!lock->tryLock(0)) {
        *error = QStringLiteral("cannot lock the journal %1").arg(path);
        return false;
    }
    if (!m_writer.open(path, error))
        return false;
    m_lock = std::move(lock);
    return true;
}

void AppJournal::close()
{
    // Nothing more is written, and the journal is free for the next start to resume.
    m_jobs.clear();
    m_lock.reset();
}

QVector<AppJournal::Leftover> AppJournal::findLeftovers(const QString &dir, QStringList *warnings) const
{
    QVector<Leftover> found;
    // Newest first: a job resumed before carries its key into a newer journal, which holds all the older one
    // has and more; should the app have died before the older file went, its copy of the job is skipped.
    const QFileInfoList files
        = QDir(dir).entryInfoList({QStringLiteral("app-*.tfj")}, QDir::Files, QDir::Name | QDir::Reversed);
    QSet<QString> seenKeys;
    for (const QFileInfo &file : files) {
        const QString path = file.absoluteFilePath();
        if (path == QFileInfo(m_writer.path()).absoluteFilePath())
            continue;
        auto lock = std::make_shared<QLockFile>(lockPath(path));
        lock->setStaleLockTime(0);
        if (!lock->tryLock(0))
            continue; // a live app's journal (QLockFile takes over the lock of a process that is gone)
        QString error, warning;
        const auto jobs = sched::JournalReader::read(path, &error, &warning);
        if (!jobs) {
            warnings->append(error);
            continue;
        }
        if (!warning.isEmpty())
            warnings->append(warning);
        Leftover leftover {path, {}, {}, lock};
        for (const sched::JournaledJob &job : *jobs) {
            const bool seen = seenKeys.contains(job.key);
            seenKeys.insert(job.key);
            if (seen)
                continue; // a newer journal has this job
            if (job.ended || job.results.size() >= job.spec.inputs.size())
                leftover.ended.append(job); // every task has its result: ended, whether or not its end was written
            else if (job.results.size() < job.spec.inputs.size())
                leftover.unfinished.append(job);
        }
        if (!leftover.unfinished.isEmpty())
            found.append(std::move(leftover));
        else if (leftover.ended.isEmpty())
            remove(leftover); // only copies of jobs a newer journal has: nothing of its own
        // else: the history of a session that ended (HistoryDialog), kept until cleared
    }
    return found;
}

void AppJournal::remove(Leftover &leftover)
{
    QFile::remove(leftover.path);
    if (leftover.lock)
        leftover.lock->unlock(); // removes the lock file
    leftover.lock.reset();
}

void AppJournal::addJob(int jobId, const sched::JobSpec &spec)
{
    if (!isOpen())
        return;
    const QString key = QUuid::createUuid().toString(QUuid::WithoutBraces);
    m_writer.writeJob(key, spec);
    m_jobs.insert(jobId, Entry {key, {}});
    checkWrites();
}

bool AppJournal::sync()
{
    const bool synced = isOpen() && m_writer.sync();
    checkWrites();
    return synced && !m_failed;
}

void AppJournal::checkWrites()
{
    if (m_failed || !isOpen() || !m_writer.hasFailed())
        return;
    m_failed = true;
    m_jobs.clear(); // nothing more is written
    // Incomplete from here on: a resume from it would run finished tasks again or miss that jobs ended. Set
    // aside under a name the next start does not look at (a rename needs no free space); removed if it cannot be.
    const QString path = m_writer.path();
    const QString aside = path + QStringLiteral(".failed");
    QFile::remove(aside);
    QString what;
    if (QFile::rename(path, aside))
        what = QCoreApplication::translate("AppJournal", "It was set aside as %1 and will not be offered for a resume.")
                   .arg(aside);
    else if (QFile::remove(path))
        what = QCoreApplication::translate("AppJournal", "It was removed: it will not be offered for a resume.");
    else
        what = QCoreApplication::translate("AppJournal", "It could be neither set aside nor removed: do not resume "
                                                         "from it.");
    if (m_onFailure)
        m_onFailure(QCoreApplication::translate("AppJournal",
                                                "%1. This session's jobs are no longer journaled and cannot be "
                                                "resumed if the app ends before they do. %2")
                        .arg(m_writer.errorString(), what));
}

void AppJournal::carryEnded(const sched::JournaledJob &job)
{
    if (!isOpen())
        return;
    m_writer.writeJob(job.key, job.spec);
    QVector<sched::TaskRecord> results;
    results.reserve(job.results.size());
    for (const sched::TaskRecord &r : job.results)
        results.append(r);
    std::sort(results.begin(), results.end(),
              [](const sched::TaskRecord &a, const sched::TaskRecord &b) { return a.index < b.index; });
    if (!results.isEmpty())
        m_writer.writeResults(job.key, results);
    m_writer.writeEnd(job.key);
    checkWrites();
}

void AppJournal::recordResumed(const QString &key, const sched::JobSpec &spec,
                               const QVector<sched::TaskRecord> &earlier)
{
    if (!isOpen())
        return;
    m_writer.writeJob(key, spec);
    if (!earlier.isEmpty())
        m_writer.writeResults(key, earlier);
    checkWrites();
}

void AppJournal::trackResumed(int jobId, const QString &key, const QVector<int> &originalIndex)
{
    if (isOpen())
        m_jobs.insert(jobId, Entry {key, originalIndex});
}

void AppJournal::addResults(int jobId, const QVector<sched::TaskRecord> &records)
{
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.constEnd())
        return;
    if (it->originalIndex.isEmpty()) {
        m_writer.writeResults(it->key, records);
        checkWrites();
        return;
    }
    QVector<sched::TaskRecord> translated = records;
    for (sched::TaskRecord &r : translated) {
        if (r.index < 0 || r.index >= it->originalIndex.size()) {
            qWarning("journal: task %d of a resumed job is out of range; not journaled", r.index);
            r.index = -1; // JournalReader skips it
            continue;
        }
        r.index = it->originalIndex.at(r.index);
    }
    m_writer.writeResults(it->key, translated);
    checkWrites();
}

void AppJournal::endJob(int jobId)
{
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.constEnd())
        return;
    m_writer.writeEnd(it->key);
    m_jobs.erase(it);
    checkWrites();
}

} // namespace taskfleet::gui
