// SPDX-License-Identifier: MIT
// One Python client (python/taskfleet) served by a Controller: the session protocol of docs/python.md,
// independent of how the bytes travel (taskfleet-run's pipes, or the desktop app's local socket).
#pragma once

#include "controller.h"
#include "journal.h"

#include "protocol/frame.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QHash>
#include <QtCore/QObject>

#include <functional>
#include <vector>

namespace taskfleet::sched {

/**
 * Turns a client's frames into Controller jobs and the controller's records into "results" frames.
 *
 * Each "submit" frame becomes one job of the python plugin; its parameters (the code) are
 * content-addressed by the engine, so they travel once per node whatever the number of jobs.
 * Results go out as soon as the controller records them (resultsRecorded hands them over in
 * batches already), never one frame per task. Only this session's jobs are answered: several
 * sessions may share one controller (the desktop app serves each attached script with one).
 *
 * Outgoing frames are collected and handed to the writer in one call per event-loop turn (or when
 * they pass a few MiB); a big result goes in pieces, each handed over from where the value lies. The
 * writer must take them all (a pipe writes them blocking, a socket buffers), and the bytes are valid
 * only during the call: a writer that keeps them copies them.
 * Lives on the controller's thread.
 */
class ClientSession : public QObject
{
    Q_OBJECT

public:
    using Writer = std::function<void(const QByteArray &frames)>;
    using Submitter = std::function<int(JobSpec spec)>;
    /** One row of a results frame: [client id, ok, value or error, log or null, node, seconds] (docs/python.md). */
    struct ResultRow {
        QCborValue clientId;
        bool ok = false;
        QCborValue payload;
        QString log;
        QString node;
        double seconds = 0;
    };

    /** \a python is the python plugin every job runs. */
    ClientSession(Controller *controller, exec::PluginInfo python, Writer writer, QObject *parent = nullptr);
    /** Cancels this session's unfinished jobs: nobody is left to read their results. */
    ~ClientSession() override;

    /** How jobs reach the controller (default: Controller::submit); a window uses it to see them. */
    void setSubmitter(Submitter submitter) { m_submit = std::move(submitter); }
    /** Journals every job and its results (taskfleet-run --journal); nullptr: none. Not owned. A write
     *  failure is said to the client once, in a warning frame, as it happens. */
    void setJournal(JournalWriter *journal) { m_journal = journal; }
    /** How long a job of this session waits for more of its loop once its tasks all ended (setJoinFrames()). */
    static constexpr int JoinGraceMs = 2000;
    /**
     * Job names get " — <client name>" and the job's origin is set (a window shared with scripts); frames
     * join jobs as with setJoinFrames(true).
     */
    void setLabelJobs(bool on) { m_labelJobs = m_join = on; }
    /**
     * Submits of the same code join this session's job of that code (Controller::addTasks), so a loop of
     * submits is one job however the client cut it into frames: while the job runs, and for JoinGraceMs after
     * its tasks all ended (Controller::keepOpen: a loop slower than its tasks), unless another job of this
     * session started meanwhile or the session ended. The job finishes once, when that wait is over. With a
     * journal each frame is still a job of its own there (the journal records whole jobs), its results under
     * its own indices.
     */
    void setJoinFrames(bool on) { m_join = on; }

    /** Decodes what the client sent and handles every whole frame. */
    void receive(const char *data, qsizetype size);
    /** Sends a "hello" frame with \a fields (version, pid, workers, ...). */
    void sendHello(const QCborMap &fields);
    /** A "warning" frame: the client prints it. */
    void warn(const QString &text);
    /** An "error" frame (the client fails its waiting tasks with \a reason), then cancels this session's jobs. */
    void fail(const QString &reason);
    /** True while a job of this session is not over (one only waiting for more of its loop has every result). */
    bool hasUnfinishedJobs() const;
    /** Writes out everything collected (results first). */
    void flush();

    /** The client's name, from its "client" frame (script file and pid), if it sent one. */
    QString clientName() const { return m_clientName; }

signals:
    /** The client said "quit", or sent a broken frame (\a error says what). */
    void ended(const QString &error);

private:
    void handle(const QCborMap &message);
    void handleSubmit(const QCborMap &message);
    void handleCancel(const QCborMap &message);
    void handleSetNcpus(const QCborMap &message);
    void replyStats(const QCborValue &rid);
    void replyNodes(const QCborValue &rid);
    void onResults(int jobId, const QVector<TaskRecord> &records);
    void onJobFinished(int jobId);
    void send(const QCborMap &message);
    void scheduleFlush();
    void flushResults();
    /** Encodes \a rows as one results frame: into m_out, or, for one big row, to the writer in pieces. */
    void writeResultRows(const ResultRow *rows, qsizetype count, bool streamed);
    void writeOut();
    /** Says once, in a warning frame, that the journal could not be written (path and reason). */
    void reportJournalFailure();
    /** Keeps \a jobId open for more of its loop and ends the wait of this session's other jobs. */
    void keepOnlyOpen(int jobId);

    Controller *m_controller;
    exec::PluginInfo m_python;
    Writer m_writer;
    Submitter m_submit;
    JournalWriter *m_journal = nullptr;
    bool m_journalFailureReported = false;
    bool m_labelJobs = false;
    bool m_join = false;
    QString m_clientName;
    protocol::FrameDecoder m_decoder;
    QByteArray m_out;                        ///< encoded frames not yet handed to the writer
    std::vector<ResultRow> m_pendingResults; ///< result rows recorded since the last flush
    bool m_flushScheduled = false;
    bool m_ended = false;
    QHash<QString, QCborValue> m_params; ///< client job key -> python plugin parameters
    /** The same, hashed once (shared values make parameters of 100 MB: hashing them per submit frame cost). */
    QHash<QString, exec::JobParametersPtr> m_hashedParams;
    QHash<int, QVector<qint64>> m_clientIds; ///< controller job id -> client task id per index
    /** A frame's tasks in a job: from index \a first, journaled as the job \a key. */
    struct JournalPart {
        int first = 0;
        QString key;
    };
    QHash<int, QVector<JournalPart>> m_journalKeys; ///< controller job id -> its frames' journal keys, by first index
    QHash<QString, int> m_liveJobOfKey; ///< client job key -> its latest controller job (tasks join it while it runs)
};

} // namespace taskfleet::sched
