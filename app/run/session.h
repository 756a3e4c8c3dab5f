// SPDX-License-Identifier: MIT
// taskfleet-run --session: the engine behind the Python client (python/taskfleet, docs/python.md).
// Length-prefixed CBOR frames on stdin (requests) and stdout (results, replies); logs on stderr.
#pragma once

#include "runoptions.h"
#include "sched/clientsession.h"
#include "sched/agentlistener.h"
#include "sched/clusterdiscovery.h"
#include "sched/controller.h"
#include "sched/journal.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QTimer>

class QSocketNotifier;

namespace taskfleet::app {

/**
 * taskfleet-run's side of one client session: sets up the controller, its nodes and discovery from the
 * options, reads the client's frames from stdin and writes the replies to stdout (blocking: the
 * client's reader thread always drains its end of the pipe). The protocol itself is a
 * sched::ClientSession, the same one the desktop app serves attached scripts with.
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
    void watchRemoteNode(sched::RemoteNode *node);
    void onNodeWatchdog();
    bool startDiscovery();
    void quit(int exitCode);

    RunOptions m_options;
    sched::Controller *m_controller = nullptr;
    sched::ClientSession *m_client = nullptr;
    sched::ClusterDiscovery *m_discovery = nullptr;
    sched::AgentListener *m_listener = nullptr; ///< with --listen
    QSocketNotifier *m_stdin = nullptr;
    sched::JournalWriter m_journal;
    bool m_done = false;
    QTimer m_nodeWatchdog; ///< no usable node at all: tell the client instead of hanging
    QElapsedTimer m_clock;
    QSet<QString> m_warned; ///< remote nodes whose refusal was already reported
    QString m_fatal;        ///< the current "no node can run tasks" reason, if any
};

} // namespace taskfleet::app
