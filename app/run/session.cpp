// SPDX-License-Identifier: MIT
#include "session.h"

#include "discoverysetup.h"

#include "runner.h" // parseNodeAddress, ExitCode

#include "exec/pluginregistry.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

#include <QtCore/QCborMap>
#include <QtCore/QCoreApplication>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>
#include <QtCore/QUuid>

#include <cerrno>
#include <cstdio>
#include <unistd.h>

namespace taskfleet::app {

namespace {
void printErr(const QString &text)
{
    std::fputs(qPrintable(QStringLiteral("taskfleet-run: ") + text + QLatin1Char('\n')), stderr);
}

/** Blocking: the client's reader thread always drains its end of the pipe. */
void writeAll(const QByteArray &data)
{
    qsizetype offset = 0;
    while (offset < data.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, data.constData() + offset, size_t(data.size() - offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; // the client is gone; stdin's end of file ends the session
        offset += n;
    }
}
} // namespace

Session::Session(RunOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
}

Session::~Session()
{
    // Before the controller (an earlier child): the client session cancels what it still has there.
    delete m_client;
    m_client = nullptr;
}

bool Session::start(int *exitCode)
{
    m_clock.start();
    exec::PluginRegistry registry;
    for (auto it = m_options.pluginPaths.crbegin(); it != m_options.pluginPaths.crend(); ++it)
        registry.addSearchPath(*it);
    QString error;
    const auto python = registry.resolve(QStringLiteral("python"), &error);
    if (!python) {
        printErr(QStringLiteral("--session needs the python plugin: ") + error);
        *exitCode = ExitBadUsage;
        return false;
    }
    if (!m_options.journalFile.isEmpty() && !m_journal.open(m_options.journalFile, &error)) {
        printErr(error);
        *exitCode = ExitBadUsage;
        return false;
    }

    m_controller = new sched::Controller(this);
    m_controller->setSpeculation(m_options.speculation);
    if (m_options.maxValueBytes > 0)
        m_controller->setMaxValueSize(m_options.maxValueBytes);
    exec::WorkerPoolOptions poolOptions;
    poolOptions.workers = m_options.localWorkers >= 0 ? m_options.localWorkers : QThread::idealThreadCount();
    poolOptions.restartAfterEachTask = m_options.restartWorkers;
    poolOptions.preloadPlugins = QStringList {python->path}; // every task of a session is Python
    m_controller->addNode(new sched::LocalNode(poolOptions));
    for (const QString &address : std::as_const(m_options.nodes)) {
        auto *node = makeRemoteNode(address, m_options);
        m_controller->addNode(node);
        watchRemoteNode(node);
        node->start();
    }
    if (m_options.discover && !startDiscovery() && poolOptions.workers == 0 && m_options.nodes.isEmpty()
        && m_options.listen.isEmpty()) {
        *exitCode = ExitNoNode;
        return false;
    }
    if (!m_options.listen.isEmpty()) {
        m_listener = makeAgentListener(m_controller, m_options, this, &error);
        if (!m_listener) {
            printErr(error);
            *exitCode = ExitBadUsage;
            return false;
        }
        connect(m_listener, &sched::AgentListener::nodeAdded, this, &Session::watchRemoteNode);
    }
    m_client = new sched::ClientSession(m_controller, *python, writeAll, this);
    m_client->setJoinFrames(true); // a loop of submits is one job, as in the window
    if (!m_options.journalFile.isEmpty())
        m_client->setJournal(&m_journal);
    connect(m_client, &sched::ClientSession::ended, this, [this](const QString &error) {
        if (!error.isEmpty())
            printErr(error);
        quit(error.isEmpty() ? ExitAllOk : ExitBadUsage);
    });
    connect(&m_nodeWatchdog, &QTimer::timeout, this, &Session::onNodeWatchdog);
    m_nodeWatchdog.start(100);

    m_stdin = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
    connect(m_stdin, &QSocketNotifier::activated, this, &Session::onStdinReadable);

    QCborMap hello;
    hello.insert(QStringLiteral("version"), QStringLiteral(TASKFLEET_VERSION));
    hello.insert(QStringLiteral("pid"), QCoreApplication::applicationPid());
    hello.insert(QStringLiteral("workers"), poolOptions.workers);
    hello.insert(QStringLiteral("max_value"), m_controller->maxValueSize()); // the client refuses bigger at submit
    if (m_listener) // the port agents may dial (the one picked, when --listen asked for 0)
        hello.insert(QStringLiteral("listen"), m_listener->port());
    m_client->sendHello(hello);
    return true;
}

bool Session::startDiscovery()
{
    m_discovery = makeDiscovery(m_controller, m_options, this);
    connect(m_discovery, &sched::ClusterDiscovery::eventLogged, this,
            [](const QString &message) { printErr(message); });
    connect(m_discovery, &sched::ClusterDiscovery::nodeAdded, this, [this](const QString &id) {
        if (auto *node = qobject_cast<sched::RemoteNode *>(m_controller->findNode(id)))
            watchRemoteNode(node);
    });
    QString error;
    if (!m_discovery->start(&error)) {
        printErr(QStringLiteral("discovery: cannot listen on UDP port %1: %2").arg(m_options.discoveryPort).arg(error));
        return false;
    }
    return true;
}

void Session::watchRemoteNode(sched::RemoteNode *node)
{
    connect(node, &sched::Node::stateChanged, this, [this, node] {
        const bool bad = node->state() == sched::NodeState::Refused || node->state() == sched::NodeState::Incompatible;
        if (bad && !m_warned.contains(node->address())) {
            m_warned.insert(node->address());
            // The client shows it (on its stderr, which is ours too): not printed twice.
            m_client->warn(QStringLiteral("%1: %2").arg(node->address(), node->stateReason()));
        } else if (node->state() == sched::NodeState::Online) {
            m_warned.remove(node->address());
        }
    });
}

void Session::onStdinReadable()
{
    char buffer[256 * 1024];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        // The client is gone (or closed its end after "quit"): nothing will read our results.
        quit(ExitAllOk);
        return;
    }
    m_client->receive(buffer, n);
}

void Session::onNodeWatchdog()
{
    // Only when nothing local can run tasks: every remote node definitely failed (wrong secret, other
    // version, nothing listening twice), or none came online in time. pp waits forever there.
    const sched::Node *local = m_controller->localNode();
    QString reason;
    if (!local || local->workerCount() == 0) {
        QStringList lines;
        bool anyRemote = false;
        bool anyAlive = false;
        bool allFailed = true;
        for (sched::Node *n : m_controller->nodes()) {
            auto *node = qobject_cast<sched::RemoteNode *>(n);
            if (!node)
                continue;
            anyRemote = true;
            if (node->state() == sched::NodeState::Online || node->hasBeenOnline()) {
                anyAlive = true;
                break;
            }
            allFailed = allFailed && node->hasDefinitelyFailed();
            lines << QStringLiteral("%1: %2").arg(
                node->address(), node->stateReason().isEmpty()
                                     ? QStringLiteral("no answer within %1 s").arg(m_options.connectTimeoutSeconds)
                                     : node->stateReason());
        }
        const qint64 discoverWaitMs = m_options.discover ? qint64(m_options.discoverWaitSeconds) * 1000 : 0;
        const qint64 elapsed = m_clock.elapsed();
        if (!anyAlive) {
            const qint64 listenWaitMs = m_listener ? qint64(m_options.listenWaitSeconds) * 1000 : 0;
            if (!anyRemote && m_listener && !m_options.discover) {
                if (elapsed >= listenWaitMs)
                    reason = QStringLiteral("no node can run tasks: ncpus is 0 and no agent connected to port %1 "
                                            "within %2 s")
                                 .arg(m_listener->port())
                                 .arg(m_options.listenWaitSeconds);
            } else if (!anyRemote && !m_options.discover) {
                reason
                    = QStringLiteral("no node can run tasks: ncpus is 0 and there are no ppservers (call set_ncpus)");
            } else if (!anyRemote) {
                if (elapsed >= discoverWaitMs)
                    reason = QStringLiteral("no node can run tasks: ncpus is 0 and no agent of this cluster answered "
                                            "discovery within %1 s on UDP port %2")
                                 .arg(m_options.discoverWaitSeconds)
                                 .arg(m_options.discoveryPort);
            } else if (allFailed || elapsed >= qint64(m_options.connectTimeoutSeconds) * 1000 + discoverWaitMs) {
                reason = QStringLiteral("no node can run tasks (ncpus is 0):\n") + lines.join(QLatin1Char('\n'));
            }
            if (!reason.isEmpty() && m_discovery && !m_discovery->rejectionSummary().isEmpty())
                reason += QStringLiteral("\ndiscovery rejected: ") + m_discovery->rejectionSummary();
        }
    }
    m_fatal = reason;
    if (m_fatal.isEmpty() || m_controller->allJobsOver())
        return;
    // Tell the client once per batch of stranded jobs; it fails them at once, and they are cancelled here.
    m_client->fail(m_fatal);
}

void Session::quit(int exitCode)
{
    if (m_done)
        return;
    m_done = true;
    if (m_client)
        m_client->flush();
    if (m_journal.hasFailed()) {
        // Said to the client as it happened; said here too for whoever reads the engine's log, and the exit
        // code says that the journal is incomplete.
        printErr(QStringLiteral("%1; the journal is incomplete").arg(m_journal.errorString()));
        if (exitCode == ExitAllOk)
            exitCode = ExitSomeFailed;
    }
    if (m_stdin)
        m_stdin->setEnabled(false);
    emit finished(exitCode);
}

} // namespace taskfleet::app
