// SPDX-License-Identifier: MIT
// The desktop app's journal: its jobs and their results on disk as they happen, so a crash or a quit
// loses no finished task, and the next start can resume what was left.
#pragma once

#include "sched/journal.h"

#include <QtCore/QLockFile>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <functional>
#include <memory>

namespace taskfleet::gui {

/**
 * One journal file per app session, "app-DATE-TIME-PID-N.tfj" in a folder (taskfleet-run's format:
 * sched::JournalWriter), with a QLockFile beside it while the app lives. A journal whose lock is free
 * belongs to a session that ended (quit or crash): findLeftovers() reads those and returns the
 * jobs they did not finish; the window offers to resume them, and then removes the old files.
 *
 * Writes happen on a thread of the journal's own, in the order they were asked for: a 50 MB result is
 * written (and checksummed) there, not on the window's thread (it stalled the window for 170 ms).
 *
 * The window's jobs are journaled under a key of their own; a resumed job keeps its key and full spec,
 * its earlier results are written again, and its new results are written under the task indices of the
 * full spec, so a journal is complete by itself however often a job is resumed.
 */
class AppJournal
{
public:
    /** Jobs an ended session left unfinished, and the lock that keeps another app from taking them too. */
    struct Leftover {
        QString path;
        QVector<sched::JournaledJob> unfinished;
        QVector<sched::JournaledJob> ended; ///< its history, carried into this session's journal before the file goes
        std::shared_ptr<QLockFile> lock;
    };

    AppJournal();
    ~AppJournal();
    AppJournal(const AppJournal &) = delete;
    AppJournal &operator=(const AppJournal &) = delete;

    /** Starts a new journal file in \a dir (made if missing), locked for this session. */
    [[nodiscard]] bool open(const QString &dir, QString *error);
    bool isOpen() const { return m_lock != nullptr; }
    QString path() const { return m_path; }
    /**
     * Writes what was asked for so far, stops writing and frees the journal for the next start (the app is closing: the controller's last
     * words must not end jobs in the journal).
     */
    void close();

    /**
     * The journals in \a dir of sessions that ended, other than this one's. Journals with unfinished jobs
     * are returned, locked; journals whose jobs all ended stay as history (HistoryDialog); journals with
     * only older copies of jobs a newer journal has are removed; unreadable ones are reported in *warnings
     * and left.
     */
    QVector<Leftover> findLeftovers(const QString &dir, QStringList *warnings) const;
    /** Removes a leftover journal (its jobs were resumed, or the user discarded them) and its lock. */
    static void remove(Leftover &leftover);

    /** Journals a new window job \a jobId (a fresh key) as \a spec. */
    void addJob(int jobId, const sched::JobSpec &spec);
    /**
     * Journals a job to resume under its old \a key: \a spec is the whole job and \a earlier the results it
     * already had, \a startedMs when it was first queued (-1: now). Done before the job is queued, so that the
     * old journal can go at once.
     */
    void recordResumed(const QString &key, const sched::JobSpec &spec, const QVector<sched::TaskRecord> &earlier,
                       qint64 startedMs = -1);
    /**
     * Waits for the writes asked for so far and syncs the journal to disk; true when everything is there
     * (then an old file may go).
     */
    [[nodiscard]] bool sync();
    /** Writes an ended job of a leftover journal into this one (its history, before that file goes). */
    void carryEnded(const sched::JournaledJob &job);
    /** Window job \a jobId runs the tasks \a originalIndex of the resumed job \a key (its results go there). */
    void trackResumed(int jobId, const QString &key, const QVector<int> &originalIndex);
    void addResults(int jobId, const QVector<sched::TaskRecord> &records);
    void endJob(int jobId);

    /**
     * Called once, with a message naming the journal and the reason, when a write to it fails (a full disk).
     * The journal is then incomplete: it is set aside (renamed "….tfj.failed", never offered for a resume)
     * and nothing more is written to it.
     */
    void setFailureHandler(std::function<void(const QString &message)> handler) { m_onFailure = std::move(handler); }
    /** True once a write failed: this session's jobs cannot be resumed from the journal. */
    bool hasFailed() const { return m_failed || m_writeFailed; }

private:
    /** Queues \a write for the writer thread (in order); nothing when the journal is not open. */
    void post(std::function<void(sched::JournalWriter &)> write);
    void writerLoop();
    /** Stops the writer thread once it has written everything queued. */
    void stopWriter();
    /** On the window's thread, after a write failed: sets the journal aside and tells the handler (once). */
    void onWriteFailed();
    struct Entry {
        QString key;
        QVector<int> originalIndex;
    };
    sched::JournalWriter m_writer; ///< used on the writer thread only, once open
    QString m_path;
    std::unique_ptr<QLockFile> m_lock;
    QHash<int, Entry> m_jobs;
    std::function<void(const QString &)> m_onFailure;
    bool m_failed = false;                   ///< told (window's thread)
    std::atomic<bool> m_writeFailed {false}; ///< a write failed (writer thread)
    QString m_writeError;                    ///< its message, set before m_writeFailed
    std::unique_ptr<QObject> m_context;      ///< the window's thread, for the failure's message
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::function<void(sched::JournalWriter &)>> m_queue;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace taskfleet::gui
