// SPDX-License-Identifier: MIT
// The desktop app's journal: its jobs and their results on disk as they happen.
#include "appjournal.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QSet>
#include <QtCore/QUuid>

#include <future>

#include <algorithm>

namespace taskfleet::gui {

namespace {
QString lockPath(const QString &journal)
{
    return journal + QStringLiteral(".lock");
}
} // namespace

AppJournal::AppJournal()
    : m_context(std::make_unique<QObject>())
{
}

AppJournal::~AppJournal()
{
    stopWriter();
}

void AppJournal::post(std::function<void(sched::JournalWriter &)> write)
{
    if (!isOpen() || m_failed)
        return;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_queue.push_back(std::move(write));
    }
    m_wake.notify_one();
}

void AppJournal::writerLoop()
{
    for (;;) {
        std::function<void(sched::JournalWriter &)> write;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty())
                return; // stopping, and everything asked for is written
            write = std::move(m_queue.front());
            m_queue.pop_front();
        }
        write(m_writer);
        if (m_writer.hasFailed() && !m_writeFailed) {
            m_writeError = m_writer.errorString();
            m_writeFailed = true;
            QMetaObject::invokeMethod(
                m_context.get(), [this] { onWriteFailed(); }, Qt::QueuedConnection);
        }
    }
}

void AppJournal::stopWriter()
{
    if (!m_thread.joinable())
        return;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    m_thread.join();
}

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
    m_path = path;
    m_lock = std::move(lock);
    m_thread = std::thread([this] { writerLoop(); });
    return true;
}

void AppJournal::close()
{
    // What was asked for is written; nothing more is, and the journal is free for the next start to resume.
    m_jobs.clear();
    stopWriter();
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
        if (path == QFileInfo(m_path).absoluteFilePath())
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
    post([key, spec](sched::JournalWriter &w) { w.writeJob(key, spec); });
    m_jobs.insert(jobId, Entry {key, {}});
}

bool AppJournal::sync()
{
    if (!isOpen() || m_failed)
        return false;
    // Waits for the writes before it: a leftover journal may only go once what was copied from it is on disk.
    std::promise<bool> synced;
    std::future<bool> result = synced.get_future();
    post([&synced](sched::JournalWriter &w) { synced.set_value(w.sync()); });
    return result.get() && !m_writeFailed;
}

void AppJournal::onWriteFailed()
{
    if (m_failed || !isOpen())
        return;
    m_failed = true;
    m_jobs.clear(); // nothing more is written
    // Incomplete from here on: a resume from it would run finished tasks again or miss that jobs ended. Set
    // aside under a name the next start does not look at (a rename needs no free space); removed if it cannot be.
    const QString aside = m_path + QStringLiteral(".failed");
    QFile::remove(aside);
    QString what;
    if (QFile::rename(m_path, aside))
        what = QCoreApplication::translate("AppJournal", "It was set aside as %1 and will not be offered for a resume.")
                   .arg(aside);
    else if (QFile::remove(m_path))
        what = QCoreApplication::translate("AppJournal", "It was removed: it will not be offered for a resume.");
    else
        what = QCoreApplication::translate("AppJournal",
                                           "It could be neither set aside nor removed: do not resume from it.");
    if (m_onFailure)
        m_onFailure(QCoreApplication::translate("AppJournal",
                                                "%1. This session's jobs are no longer journaled and cannot be "
                                                "resumed if the app ends before they do. %2")
                        .arg(m_writeError, what));
}

void AppJournal::carryEnded(const sched::JournaledJob &job)
{
    if (!isOpen())
        return;
    QVector<sched::TaskRecord> results;
    results.reserve(job.results.size());
    for (const sched::TaskRecord &r : job.results)
        results.append(r);
    std::sort(results.begin(), results.end(),
              [](const sched::TaskRecord &a, const sched::TaskRecord &b) { return a.index < b.index; });
    // With the times it ran, not the time it was carried (History shows when each job ran).
    post([key = job.key, spec = job.spec, results, started = job.startedMs,
          ended = job.endedMs](sched::JournalWriter &w) {
        w.writeJob(key, spec, started);
        if (!results.isEmpty())
            w.writeResults(key, results);
        w.writeEnd(key, ended);
    });
}

void AppJournal::recordResumed(const QString &key, const sched::JobSpec &spec,
                               const QVector<sched::TaskRecord> &earlier, qint64 startedMs)
{
    if (!isOpen())
        return;
    post([key, spec, earlier, startedMs](sched::JournalWriter &w) {
        w.writeJob(key, spec, startedMs);
        if (!earlier.isEmpty())
            w.writeResults(key, earlier);
    });
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
        post([key = it->key, records](sched::JournalWriter &w) { w.writeResults(key, records); });
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
    post([key = it->key, translated](sched::JournalWriter &w) { w.writeResults(key, translated); });
}

void AppJournal::endJob(int jobId)
{
    const auto it = m_jobs.constFind(jobId);
    if (it == m_jobs.constEnd())
        return;
    post([key = it->key](sched::JournalWriter &w) { w.writeEnd(key); });
    m_jobs.erase(it);
}

} // namespace taskfleet::gui
