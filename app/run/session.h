// SPDX-License-Identifier: MIT
// taskfleet-run --session: the engine behind the Python client (python/taskfleet, docs/python.md).
// Length-prefixed CBOR frames on stdin (requests) and stdout (results, replies); logs on stderr.
#pragma once

#include "runoptions.h"
#include "sched/clusterdiscovery.h"
#include "sched/controller.h"
#include "sched/journal.h"

#include "protocol/frame.h"

#include <QtCore/QCborArray>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QTimer>

class QSocketNotifier;

namespace taskfleet::app {

/**
 * One client session. Each "submit" frame becomes one Controller job of the python plugin; its
 * parameters (the code) are content-addressed by the engine, so they travel once per node whatever
 * the number of jobs. Results are written back as soon as the controller records them: one
 * "results" frame per batch the controller hands over (resultsRecorded), no timer.
 */
class Session : public QObject
{
    Q_OBJECT

public:
    explicit Session(RunOptions options, QObject *parent = nullptr);
    ~Session() override;

    /** Sets up nodes and starts reading stdin. Returns false (with *exitCode set) when it cannot. */
    bool start(int *exitCode);

signals:
    void finished(int exitCode);

private:
    void onStdinReadable();
    void handle(const QCborMap &message);
    void handleSubmit(const QCborMap &message);
    void handleSetNcpus(const QCborMap &message);
    void replyStats(const QCborValue &rid);
    void replyNodes(const QCborValue &rid);
    void onResults(int jobId, const QVector<sched::TaskRecord> &records);
    void onJobFinished(int jobId);
    void watchRemoteNode(sched::RemoteNode *node);
    void onNodeWatchdog();
    bool startDiscovery();
    void send(const QCborMap &message);
    void scheduleFlush();
    void flushResults();
    void writeOut();
    void fatal(const QString &text);
    void warn(const QString &text);
    void quit(int exitCode);
    sched::Node *localNode() const;

    RunOptions m_options;
    sched::Controller *m_controller = nullptr;
    sched::ClusterDiscovery *m_discovery = nullptr;
    exec::PluginInfo m_python;
    QSocketNotifier *m_stdin = nullptr;
    protocol::FrameDecoder m_decoder;
    QByteArray m_out;               ///< encoded frames not yet written to stdout
    QCborArray m_pendingResults;    ///< result rows recorded since the last flush
    bool m_flushScheduled = false;
    bool m_done = false;
    QHash<QString, QCborValue> m_params;            ///< client job key -> python plugin parameters
    QHash<int, QVector<qint64>> m_clientIds;        ///< controller job id -> client task id per index
    QHash<int, QString> m_journalKeys;              ///< controller job id -> journal key (with --journal)
    sched::JournalWriter m_journal;
    bool m_journaling = false;
    QTimer m_nodeWatchdog;          ///< no usable node at all: tell the client instead of hanging
    QElapsedTimer m_clock;
    QSet<QString> m_warned;         ///< remote nodes whose refusal was already reported
    QString m_fatal;                ///< the current "no node can run tasks" reason, if any
};

} // namespace taskfleet::app
