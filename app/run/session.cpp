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

/** A results frame larger than this is split: the client decodes one frame at a time. */
constexpr qsizetype ResultsFrameBytes = 4 * 1024 * 1024;
} // namespace

Session::Session(RunOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
}

Session::~Session()
{
    writeOut();
}

sched::Node *Session::localNode() const
{
    for (sched::Node *n : m_controller->nodes())
        if (n->isLocal())
            return n;
    return nullptr;
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
    m_python = *python;

    if (!m_options.journalFile.isEmpty()) {
        if (!m_journal.open(m_options.journalFile, &error)) {
            printErr(error);
            *exitCode = ExitBadUsage;
            return false;
        }
        m_journaling = true;
    }

    m_controller = new sched::Controller(this);
    m_controller->setSpeculation(m_options.speculation);
    exec::WorkerPoolOptions poolOptions;
    poolOptions.workers = m_options.localWorkers >= 0 ? m_options.localWorkers : QThread::idealThreadCount();
    poolOptions.restartAfterEachTask = m_options.restartWorkers;
    m_controller->addNode(new sched::LocalNode(poolOptions));
    for (const QString &address : std::as_const(m_options.nodes)) {
        auto *node = makeRemoteNode(address, m_options);
        m_controller->addNode(node);
        watchRemoteNode(node);
        node->start();
    }
    if (m_options.discover && !startDiscovery() && poolOptions.workers == 0 && m_options.nodes.isEmpty()) {
        *exitCode = ExitNoNode;
        return false;
    }
    connect(m_controller, &sched::Controller::resultsRecorded, this, &Session::onResults);
    connect(m_controller, &sched::Controller::jobFinished, this, &Session::onJobFinished);
    connect(&m_nodeWatchdog, &QTimer::timeout, this, &Session::onNodeWatchdog);
    m_nodeWatchdog.start(100);

    m_stdin = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
    connect(m_stdin, &QSocketNotifier::activated, this, &Session::onStdinReadable);

    QCborMap hello;
    hello.insert(QStringLiteral("t"), QStringLiteral("hello"));
    hello.insert(QStringLiteral("version"), QStringLiteral(TASKFLEET_VERSION));
    hello.insert(QStringLiteral("pid"), QCoreApplication::applicationPid());
    hello.insert(QStringLiteral("workers"), poolOptions.workers);
    send(hello);
    writeOut();
    return true;
}

bool Session::startDiscovery()
{
    m_discovery = makeDiscovery(m_controller, m_options, this);
    connect(m_discovery, &sched::ClusterDiscovery::eventLogged, this, [](const QString &message) { printErr(message); });
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
            warn(QStringLiteral("%1: %2").arg(node->address(), node->stateReason()));
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
    m_decoder.append(buffer, n);
    QCborMap message;
    for (;;) {
        const auto status = m_decoder.next(&message);
        if (status == protocol::FrameDecoder::Status::NeedMore)
            break;
        if (status == protocol::FrameDecoder::Status::Error) {
            fatal(QStringLiteral("broken frame from the client: ") + m_decoder.errorString());
            quit(ExitBadUsage);
            return;
        }
        handle(message);
        if (m_done)
            return;
    }
    writeOut();
}

void Session::handle(const QCborMap &message)
{
    const QString type = message.value(QStringLiteral("t")).toString();
    const QCborValue rid = message.value(QStringLiteral("rid"));
    if (type == QLatin1String("submit"))
        handleSubmit(message);
    else if (type == QLatin1String("set_ncpus"))
        handleSetNcpus(message);
    else if (type == QLatin1String("stats"))
        replyStats(rid);
    else if (type == QLatin1String("nodes"))
        replyNodes(rid);
    else if (type == QLatin1String("quit"))
        quit(ExitAllOk);
    else
        printErr(QStringLiteral("ignoring a frame of unknown type \"%1\"").arg(type));
}

void Session::handleSubmit(const QCborMap &message)
{
    const QString key = message.value(QStringLiteral("job")).toString();
    const QCborValue params = message.value(QStringLiteral("params"));
    if (params.isMap())
        m_params.insert(key, params);
    const auto found = m_params.constFind(key);
    const QCborArray tasks = message.value(QStringLiteral("tasks")).toArray();
    if (found == m_params.constEnd()) {
        // A client bug, not the user's: fail these tasks rather than the session.
        for (const QCborValue &t : tasks)
            m_pendingResults.append(QCborArray{t.toArray().at(0), false,
                                               QStringLiteral("taskfleet-run: unknown job key \"%1\"").arg(key),
                                               QCborValue(), QString(), 0.0});
        scheduleFlush();
        return;
    }
    sched::JobSpec spec;
    spec.name = QStringLiteral("python: ") + found->toMap().value(QStringLiteral("function")).toString();
    spec.plugin = m_python;
    spec.parameters = *found;
    QVector<qint64> ids;
    ids.reserve(tasks.size());
    spec.inputs.reserve(tasks.size());
    for (const QCborValue &t : tasks) {
        const QCborArray task = t.toArray();
        ids.append(task.at(0).toInteger());
        spec.inputs.append(task.at(1));
    }
    if (ids.isEmpty())
        return;
    if (m_journaling) {
        const QString journalKey = QUuid::createUuid().toString(QUuid::WithoutBraces);
        m_journal.writeJob(journalKey, spec);
        const int id = m_controller->submit(std::move(spec));
        m_journalKeys.insert(id, journalKey);
        m_clientIds.insert(id, std::move(ids));
    } else {
        const int id = m_controller->submit(std::move(spec));
        m_clientIds.insert(id, std::move(ids));
    }
}

void Session::handleSetNcpus(const QCborMap &message)
{
    const qint64 n = message.value(QStringLiteral("n")).toInteger(-1);
    if (n < 0 || n > 4096) {
        warn(QStringLiteral("set_ncpus wants a number from 0 to 4096, not %1").arg(n));
        return;
    }
    m_options.localWorkers = int(n);
    if (sched::Node *local = localNode())
        local->setWorkerCount(int(n));
}

void Session::replyStats(const QCborValue &rid)
{
    const stats::Statistics &stats = m_controller->statistics();
    QCborArray rows;
    for (int i = 0; i < stats.nodes().size(); ++i) {
        const stats::NodeTotals &n = stats.nodes().at(i);
        const sched::Node *node = m_controller->findNode(n.id);
        QCborMap row;
        row.insert(QStringLiteral("id"), n.id);
        row.insert(QStringLiteral("name"), n.name);
        row.insert(QStringLiteral("address"), node ? node->address() : n.id);
        row.insert(QStringLiteral("tasks"), n.tasksDone);
        row.insert(QStringLiteral("time"), n.taskTimeSum);
        row.insert(QStringLiteral("errors"), n.pluginErrors);
        row.insert(QStringLiteral("failures"), n.failures);
        row.insert(QStringLiteral("lost"), n.lost);
        row.insert(QStringLiteral("rate"), stats.rate(i, 5));
        row.insert(QStringLiteral("workers"), node ? node->workerCount() : 0);
        row.insert(QStringLiteral("busy"), node ? node->busyWorkers() : 0);
        rows.append(row);
    }
    QCborMap reply;
    reply.insert(QStringLiteral("t"), QStringLiteral("stats"));
    reply.insert(QStringLiteral("rid"), rid);
    reply.insert(QStringLiteral("nodes"), rows);
    reply.insert(QStringLiteral("retries"), stats.retries());
    reply.insert(QStringLiteral("elapsed"), double(stats.nowUs()) / 1e6);
    flushResults(); // results recorded before this reply go first
    send(reply);
}

void Session::replyNodes(const QCborValue &rid)
{
    QCborArray rows;
    for (const sched::Node *n : m_controller->nodes()) {
        QCborMap row;
        row.insert(QStringLiteral("id"), n->id());
        row.insert(QStringLiteral("name"), n->name());
        row.insert(QStringLiteral("address"), n->address());
        row.insert(QStringLiteral("local"), n->isLocal());
        row.insert(QStringLiteral("state"), sched::nodeStateName(n->state()));
        row.insert(QStringLiteral("reason"), n->stateReason());
        row.insert(QStringLiteral("workers"), n->workerCount());
        row.insert(QStringLiteral("busy"), n->busyWorkers());
        rows.append(row);
    }
    QCborMap reply;
    reply.insert(QStringLiteral("t"), QStringLiteral("nodes"));
    reply.insert(QStringLiteral("rid"), rid);
    reply.insert(QStringLiteral("nodes"), rows);
    send(reply);
}

void Session::onResults(int jobId, const QVector<sched::TaskRecord> &records)
{
    const auto it = m_clientIds.constFind(jobId);
    if (it == m_clientIds.constEnd())
        return;
    if (m_journaling)
        m_journal.writeResults(m_journalKeys.value(jobId), records);
    for (const sched::TaskRecord &r : records) {
        const bool ok = r.status == stats::TaskStatus::Ok;
        QCborValue payload = ok ? r.output : QCborValue(r.error.isEmpty() ? stats::taskStatusName(r.status) : r.error);
        m_pendingResults.append(QCborArray{it->at(r.index), ok, std::move(payload),
                                           r.log.isEmpty() ? QCborValue() : QCborValue(r.log), r.nodeName,
                                           double(r.runtimeUs) / 1e6});
    }
    // The controller hands results over in batches already: out at once, no extra event-loop turn.
    flushResults();
    writeOut();
}

void Session::onJobFinished(int jobId)
{
    // After this turn's results are out: the client ids are needed until then.
    QMetaObject::invokeMethod(this, [this, jobId] {
        flushResults();
        m_clientIds.remove(jobId);
        if (m_journaling)
            m_journal.writeEnd(m_journalKeys.take(jobId));
        writeOut();
    }, Qt::QueuedConnection);
}

void Session::scheduleFlush()
{
    // No timer: everything recorded during this event-loop turn goes out in one frame right after it.
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, [this] {
        flushResults();
        writeOut();
    }, Qt::QueuedConnection);
}

void Session::flushResults()
{
    m_flushScheduled = false;
    if (m_pendingResults.isEmpty())
        return;
    QCborMap frame;
    frame.insert(QStringLiteral("t"), QStringLiteral("results"));
    frame.insert(QStringLiteral("r"), m_pendingResults);
    m_pendingResults = QCborArray();
    send(frame);
}

void Session::send(const QCborMap &message)
{
    protocol::appendFrame(m_out, message);
    if (m_out.size() >= ResultsFrameBytes)
        writeOut();
}

void Session::writeOut()
{
    // Blocking writes: the client's reader thread always drains its end of the pipe.
    qsizetype offset = 0;
    while (offset < m_out.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, m_out.constData() + offset, size_t(m_out.size() - offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            m_out.clear(); // the client is gone; stdin's end of file ends the session
            return;
        }
        offset += n;
    }
    m_out.clear();
}

void Session::warn(const QString &text)
{
    // The client shows it (on its stderr, which is ours too): not printed twice.
    QCborMap m;
    m.insert(QStringLiteral("t"), QStringLiteral("warning"));
    m.insert(QStringLiteral("text"), text);
    send(m);
    writeOut();
}

void Session::fatal(const QString &reason)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), QStringLiteral("error"));
    m.insert(QStringLiteral("text"), reason);
    flushResults();
    send(m);
    writeOut();
}

void Session::onNodeWatchdog()
{
    // Only when nothing local can run tasks: every remote node definitely failed (wrong secret, other
    // version, nothing listening twice), or none came online in time. pp waits forever there.
    const sched::Node *local = localNode();
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
            const bool failed = node->state() == sched::NodeState::Refused
                             || node->state() == sched::NodeState::Incompatible
                             || (node->state() == sched::NodeState::Offline && node->failedAttempts() >= 2);
            allFailed = allFailed && failed;
            lines << QStringLiteral("%1: %2").arg(node->address(),
                                                   node->stateReason().isEmpty()
                                                       ? QStringLiteral("no answer within %1 s").arg(m_options.connectTimeoutSeconds)
                                                       : node->stateReason());
        }
        const qint64 discoverWaitMs = m_options.discover ? qint64(m_options.discoverWaitSeconds) * 1000 : 0;
        const qint64 elapsed = m_clock.elapsed();
        if (!anyAlive) {
            if (!anyRemote && !m_options.discover) {
                reason = QStringLiteral("no node can run tasks: ncpus is 0 and there are no ppservers (call set_ncpus)");
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
    // Tell the client once per batch of stranded jobs; it fails them at once. Then cancel them here.
    fatal(m_fatal);
    for (int id : m_controller->jobIds()) {
        const sched::Job *job = m_controller->job(id);
        if (job && !job->isOver())
            m_controller->cancelJob(id);
    }
}

void Session::quit(int exitCode)
{
    if (m_done)
        return;
    m_done = true;
    flushResults();
    writeOut();
    if (m_stdin)
        m_stdin->setEnabled(false);
    emit finished(exitCode);
}

} // namespace taskfleet::app
