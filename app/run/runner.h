// SPDX-License-Identifier: MIT
// taskfleet-run's engine: loads jobs, runs them on the cluster, writes results and statistics.
#pragma once

#include "resultwriter.h"
#include "runoptions.h"
#include "sched/agentlistener.h"
#include "sched/clusterdiscovery.h"
#include "sched/controller.h"
#include "sched/journal.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QTimer>

namespace taskfleet::app {

class Runner : public QObject
{
    Q_OBJECT

public:
    explicit Runner(RunOptions options, QObject *parent = nullptr);

    /** Loads the jobs and starts them. Returns false (with *exitCode set) when it cannot. */
    bool start(int *exitCode);

signals:
    void finished(int exitCode);

private:
    void onResults(int jobId, const QVector<sched::TaskRecord> &records);
    void onJobFinished(int jobId);
    void onProgressTick();
    void finish(int exitCode);
    void onNodeWatchdog();
    void watchRemoteNode(sched::RemoteNode *node);
    bool startDiscovery(int *exitCode);
    bool openJournal(int *exitCode);
    bool loadResume(int *exitCode);
    int submitJob(sched::JobSpec spec, const QString &key, QVector<int> originalIndex, qint64 offset,
                  sched::JobInputs inputs, int writerId);
    void submitMissing(const sched::JournaledJob &job, const QString &label);
    bool writeJournaledResults(int *exitCode);
    void reportWriteFailures();
    void printRejections();
    void removeFinishedDefaultJournal();

    RunOptions m_options;
    sched::Controller *m_controller = nullptr;
    ResultWriter m_writer;
    QTimer m_progressTimer;
    QElapsedTimer m_clock;
    qint64 m_tasksTotal = 0;
    bool m_anyFailed = false;
    bool m_done = false;
    QTimer m_nodeWatchdog;                          ///< with no local workers: exit 3 when no remote node is usable
    QSet<QString> m_reported;                       ///< remote nodes whose refusal was already printed
    sched::ClusterDiscovery *m_discovery = nullptr; ///< with --discover
    sched::AgentListener *m_listener = nullptr;     ///< with --listen

    /**
     * A controller job as this run sees it. A resumed job runs only its missing inputs, as one or more
     * controller jobs (segments) under new indices; all write under the id of the first.
     */
    struct RunJob {
        QString key;                ///< the job's key in the journal
        sched::JobInputs inputs;    ///< every input of the journaled job
        QVector<int> originalIndex; ///< submitted index -> journaled index; empty: index + offset
        qint64 offset = 0;
        int writerId = 0; ///< the job's id for the results writer: its first segment's controller id
    };
    QHash<int, RunJob> m_runJobs;       ///< by controller job id
    QHash<QString, int> m_segmentsLeft; ///< by journal key: controller jobs of it not yet over
    sched::JournalWriter m_journal;
    bool m_journaling = false;
    bool m_journalFailureReported = false;
    bool m_resultsFailureReported = false;
    QVector<sched::JournaledJob> m_resumed; ///< without their results (one bit per task): written again from the file
};

} // namespace taskfleet::app
