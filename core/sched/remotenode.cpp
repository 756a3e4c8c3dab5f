// SPDX-License-Identifier: MIT
// RemoteNode: hello, credit, plugin shipping, heartbeats, failover and reconnect for one agent.
#include "remotenode.h"

#include "net/eventtimeline.h"
#include "net/nodeaddress.h"

#include "net/secureserver.h"
#include "protocol/frame.h"
#include "protocol/version.h"
#include "util/logging.h"

#include <QtCore/QFile>
#include <QtCore/QSysInfo>
#include <QtCore/QThread>
#include <QtCore/QUuid>
#include <QtNetwork/QHostInfo>

#include <algorithm>
#include <cmath>

namespace taskfleet::sched {

using namespace taskfleet::protocol;
using exec::Outcome;
using exec::WorkResult;

namespace {
constexpr int TickMs = 500;
/**
 * How often the round trip is measured: a heartbeat carrying a ping, answered at once, every tick.
 * Often enough that a ping delayed by a lost segment raises the estimate's deviation (and so the
 * credit) within a short job; two small frames a second per agent.
 */
constexpr qint64 PingIntervalUs = 400000; // below the 500 ms tick: one ping per tick
/** The delay credit stays within this many times the agent's capacity: no node hoards a job's tail. */
constexpr int MaxDelayCreditPerCapacity = 8;
constexpr int MaxDelayCredit = 16384;
/**
 * Below this a task's runtime says little about the node's pace: a worker's cost per task is then the
 * pipe, framing and batching, which the agent's capacity (whole batches per worker) already covers.
 * Without the floor, 2 µs echo tasks and a 1 ms loopback round trip asked for 500 tasks per worker.
 */
constexpr double MinPaceUs = 1000;
/** Plugins go compressed to agents this far away (and speaking protocol 1.3); nearer, compressing costs more than it saves. */
constexpr double CompressUploadsFromRttUs = 1000;

/** One id per controller process, sent in hello. */
QString controllerId()
{
    static const QString id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    return id;
}
} // namespace

RemoteNode::RemoteNode(RemoteNodeOptions options, QObject *parent)
    : Node(parent)
    , m_options(std::move(options))
{
    m_clock.start();
    m_reconnect.setSingleShot(true);
    connect(&m_reconnect, &QTimer::timeout, this, &RemoteNode::connectNow);
    connect(&m_tick, &QTimer::timeout, this, &RemoteNode::onTick);
}

RemoteNode::~RemoteNode()
{
    if (m_channel) {
        m_channel->disconnect(this);
        if (m_channel->isReady())
            m_channel->send(encodeBye(QStringLiteral("controller closing")));
        m_channel->close(QStringLiteral("controller closing"));
        m_channel->setParent(nullptr);
        m_channel->deleteLater(); // lets the bye leave while the event loop still runs
        m_channel = nullptr;
    }
}

QString RemoteNode::id() const
{
    return address();
}

QString RemoteNode::address() const
{
    // An inbound agent's port is an ephemeral one of its current link: its address and node id say who it is
    // (two agents on one host, or on one Slurm node, differ in the id).
    if (m_options.inbound)
        return QStringLiteral("dialed in from %1, %2").arg(m_options.host, m_options.agentId.left(8));
    return net::formatNodeAddress(m_options.host, m_options.port);
}

QString RemoteNode::name() const
{
    if (m_peer.hostName.isEmpty())
        return address();
    if (!m_peer.slurmJob.isEmpty())
        return QStringLiteral("%1 (%2; Slurm job %3)").arg(m_peer.hostName, address(), m_peer.slurmJob);
    return QStringLiteral("%1 (%2)").arg(m_peer.hostName, address());
}

void RemoteNode::start()
{
    if (m_options.inbound) {
        if (!m_channel)
            setState(NodeState::Connecting, QStringLiteral("waiting for the agent to connect"));
        return;
    }
    if (!m_channel && !m_reconnect.isActive())
        connectNow();
}

void RemoteNode::adopt(net::SecureChannel *channel, const QCborMap &agentHello)
{
    if (net::SecureChannel *old = m_channel) {
        const QString reason = QStringLiteral("the agent connected again");
        onClosed(reason);
        old->close(reason);
    }
    if (m_state == NodeState::Incompatible)
        setState(NodeState::Connecting, QString()); // a new link, maybe from an upgraded agent: judge it anew
    m_helloReceived = false;
    m_onlineThisAttempt = false;
    m_agentError.clear();
    m_agentBusy = false;
    m_channel = channel;
    channel->setParent(this);
    connect(channel, &net::SecureChannel::messageReceived, this, &RemoteNode::onMessage);
    connect(channel, &net::SecureChannel::closed, this, &RemoteNode::onClosed);
    m_lastHeardMs = m_lastSentMs = m_clock.elapsed();
    onReady();
    onMessage(agentHello);
}

void RemoteNode::reconnect()
{
    if (net::SecureChannel *old = m_channel) {
        const QString reason = QStringLiteral("reconnect requested");
        onClosed(reason); // reports in-flight tasks lost and forgets the channel (deleted later)
        old->close(reason);
    }
    m_reconnect.stop();
    m_backoffMs = 1000;
    if (m_options.inbound) { // the agent dials again on its own (its ControllerDialer)
        setState(NodeState::Connecting, QStringLiteral("waiting for the agent to connect again"));
        return;
    }
    setState(NodeState::Connecting, QString());
    connectNow();
}

void RemoteNode::connectNow()
{
    if (m_state == NodeState::Incompatible || m_options.inbound)
        return;
    m_helloReceived = false;
    m_onlineThisAttempt = false;
    m_agentError.clear();
    m_agentBusy = false;
    m_channel = new net::SecureChannel(m_options.channel, this);
    net::watchForBusyRefusal(m_channel, this, [this] { m_agentBusy = true; });
    connect(m_channel, &net::SecureChannel::ready, this, &RemoteNode::onReady);
    connect(m_channel, &net::SecureChannel::messageReceived, this, &RemoteNode::onMessage);
    connect(m_channel, &net::SecureChannel::closed, this, &RemoteNode::onClosed);
    m_lastHeardMs = m_lastSentMs = m_clock.elapsed();
    mark("connect");
    m_channel->connectToHost(m_options.host, m_options.port);
}

void RemoteNode::mark(const char *event, const QByteArray &detail) const
{
    if (net::timelineEnabled())
        net::timelineEvent("ctl", address(), event, detail);
}

bool RemoteNode::send(const QCborMap &message)
{
    if (!m_channel || !m_channel->send(message))
        return false;
    m_lastSentMs = m_clock.elapsed();
    return true;
}

void RemoteNode::setState(NodeState state, const QString &reason)
{
    if (state == m_state && reason == m_reason)
        return;
    m_state = state;
    m_reason = reason;
    emit stateChanged();
}

void RemoteNode::onReady()
{
    Hello hello;
    hello.major = ProtocolMajor;
    hello.minor = ProtocolMinor;
    hello.role = QStringLiteral("controller");
    hello.nodeId = controllerId();
    hello.hostName = QHostInfo::localHostName();
    hello.abi = QSysInfo::buildAbi();
    hello.qtVersion = QString::fromLatin1(qVersion());
    hello.cores = QThread::idealThreadCount();
    hello.workers = 0;
    // A fresh link: its round trip is measured anew (the first ping goes right after the agent's hello;
    // the hellos themselves cross, so their timing says nothing).
    m_srttUs = m_rttVarUs = 0;
    m_srttProvisional = false;
    m_kernelRtoUs = 0;
    m_lossSeen = false;
    m_pingWaiting = -1;
    send(encode(hello));
    m_lastHeardMs = m_clock.elapsed();
    m_tick.start(TickMs);
}

void RemoteNode::onMessage(const QCborMap &message)
{
    m_lastHeardMs = m_clock.elapsed();
    QString error;
    const MessageType type = messageType(message, &error);
    if (type == MessageType::Unknown)
        return dropConnection(QStringLiteral("protocol error from the agent: ") + error);
    if (!m_helloReceived && type != MessageType::Hello && type != MessageType::Error && type != MessageType::Bye)
        return dropConnection(
            QStringLiteral("protocol error: the agent sent %1 before hello").arg(messageTypeName(type)));
    switch (type) {
    case MessageType::Hello:
        return handleHello(message);
    case MessageType::Results:
        return handleResults(message);
    case MessageType::Status:
        return handleStatus(message);
    case MessageType::PluginHave:
        return handlePluginHave(message);
    case MessageType::PluginStored:
        return handlePluginStored(message);
    case MessageType::PluginRejected:
        return handlePluginRejected(message);
    case MessageType::ParametersEvicted: {
        // The agent's bounded store let these go: the next run that names one carries its value again.
        ParametersEvicted evicted;
        if (!decode(message, &evicted, &error))
            return dropConnection(QStringLiteral("bad parameters-evicted: ") + error);
        for (const QByteArray &id : std::as_const(evicted.ids))
            m_parametersSent.remove(id);
        mark("parameters-evicted", QByteArray::number(evicted.ids.size()));
        return;
    }
    case MessageType::Heartbeat: {
        Heartbeat beat;
        if (!decode(message, &beat, &error))
            return dropConnection(QStringLiteral("bad heartbeat from the agent: ") + error);
        if (beat.pong >= 0 && beat.pong == m_pingWaiting) {
            m_pingWaiting = -1;
            const int before = credit();
            addRoundTripSample(m_clock.nsecsElapsed() / 1000 - m_pingSentUs);
            readTcpPath();
            if (net::timelineEnabled())
                mark("pong", QByteArray::number(m_clock.nsecsElapsed() / 1000 - m_pingSentUs));
            if (credit() > before)
                emit creditAvailable();
        }
        return;
    }
    case MessageType::Error: {
        ErrorMessage e;
        if (!decode(message, &e, &error))
            e.text = error;
        m_agentError = e.text;
        if (!m_onlineThisAttempt) {
            // Only hello problems (version, role) are refused before a session starts.
            setState(NodeState::Incompatible, QStringLiteral("the agent refused: ") + e.text);
        }
        return dropConnection(QStringLiteral("the agent reported an error: ") + e.text);
    }
    case MessageType::Bye: {
        ErrorMessage e;
        if (!decode(message, &e, &error))
            e.text = error;
        return dropConnection(QStringLiteral("the agent is stopping (%1)").arg(e.text));
    }
    default:
        return dropConnection(QStringLiteral("protocol error: an agent may not send %1").arg(messageTypeName(type)));
    }
}

void RemoteNode::handleHello(const QCborMap &message)
{
    Hello hello;
    QString error;
    if (m_helloReceived)
        return dropConnection(QStringLiteral("protocol error: second hello"));
    if (!decode(message, &hello, &error))
        return dropConnection(QStringLiteral("bad hello from the agent: ") + error);
    const QString why = checkCompatible(hello, QStringLiteral("agent"));
    if (!why.isEmpty()) {
        setState(NodeState::Incompatible, why);
        send(encodeError(why));
        return dropConnection(why);
    }
    m_helloReceived = true;
    m_peer = hello;
    // The kernel timed the TCP and TLS handshakes already: the first credit covers the round trip at once,
    // not only after the first pong (which comes back a round trip after the first run left).
    const net::TcpPathInfo path = m_channel->tcpPathInfo();
    if (path.valid && path.rttUs > 0 && m_srttUs <= 0) {
        addRoundTripSample(path.rttUs);
        // Only until the first pong: the kernel times the path to the next TCP end, which a relay or tunnel
        // makes nearer than the agent; the pong is end to end and replaces it.
        m_srttProvisional = true;
    }
    m_kernelRtoUs = path.valid ? path.rtoUs : 0;
    m_lossSeen = path.valid && path.retransmits > 0;
    mark("hello", QByteArray::number(hello.workers));
    if (hello.minor >= 1) // ping/pong came with protocol 1.1; older agents get plain heartbeats
        ping();
    m_onlineThisAttempt = m_everOnline = true;
    m_backoffMs = 1000;
    m_plugins.clear();
    m_parametersSent.clear();
    m_agentPlugins = QSet<QByteArray>(hello.plugins.cbegin(), hello.plugins.cend());
    m_agentPluginsComplete = hello.pluginsComplete;
    m_workers = hello.workers;
    m_busy = 0;
    m_capacity = hello.workers;
    qCInfo(lcSched).noquote() << "agent" << name() << "online:" << hello.workers << "workers, ABI" << hello.abi;
    if (m_pendingWorkerCount >= 0) {
        send(encode(SetWorkers {m_pendingWorkerCount}));
        m_pendingWorkerCount = -1;
    }
    setState(NodeState::Online, QString());
    emit workerCountChanged(m_workers);
    emit creditAvailable();
}

int RemoteNode::credit() const
{
    if (m_state != NodeState::Online || m_capacity <= 0)
        return 0;
    const int allowance = std::max(1, m_capacity / 4);
    return std::max(0, m_capacity + std::max(allowance, delayCredit()) - int(m_inFlight.size()));
}

util::HostInfo RemoteNode::hostInfo() const
{
    util::HostInfo h;
    if (!m_helloReceived)
        return h;
    h.cores = m_peer.cores;
    h.os = m_peer.os;
    h.version = m_peer.version;
    h.load = m_status.load;
    h.memUsed = m_status.memUsed;
    h.memTotal = m_status.memTotal;
    h.uptimeSeconds = m_status.uptimeSeconds;
    return h;
}

int RemoteNode::delayCredit() const
{
    // Tasks the node finishes while a result travels back and the next task travels out (the link's
    // bandwidth-delay product). Without them queued at the agent, each worker idles a round trip after
    // every task: at 100 ms and 50 ms tasks, two thirds of the time. The delay is the smoothed round
    // trip plus four deviations (TCP's retransmission timeout), so jitter and a retransmitted segment
    // do not drain the queue either.
    //
    // Before the first result the tasks' runtime is unknown: it is taken to be one round trip, so the first
    // dispatch keeps the workers busy until the first results can have come back and new tasks arrived
    // (a shorter task raises the credit with its result, a longer one lowers it; at most three round trips'
    // worth per worker is sent on that guess).
    //
    // Once the kernel has retransmitted on this link, one lost segment can hold every result behind it for a
    // retransmission timeout (head-of-line blocking): the queue then covers the kernel's RTO on top of the
    // round trip, so the workers do not idle through the stall.
    if (!m_options.delayCredit || m_srttUs <= 0 || m_workers <= 0)
        return 0;
    double delayUs = m_srttUs + 4 * m_rttVarUs;
    if (m_lossSeen && m_kernelRtoUs > 0)
        delayUs = std::max(delayUs, m_srttUs + double(m_kernelRtoUs));
    const double paceUs = m_meanRuntimeUs > 0 ? m_meanRuntimeUs : m_srttUs;
    const double tasks = std::ceil(delayUs / std::max(MinPaceUs, paceUs) * m_workers);
    const int bound = std::min(MaxDelayCredit, MaxDelayCreditPerCapacity * std::max(m_capacity, m_workers));
    return int(std::min(tasks, double(bound)));
}

void RemoteNode::addRoundTripSample(qint64 us)
{
    const double r = double(std::max<qint64>(1, us));
    if (m_srttUs <= 0 || m_srttProvisional) {
        m_srttProvisional = false;
        m_srttUs = r;
        m_rttVarUs = r / 2;
    } else { // RFC 6298, 2.3
        m_rttVarUs = 0.75 * m_rttVarUs + 0.25 * std::abs(m_srttUs - r);
        m_srttUs = 0.875 * m_srttUs + 0.125 * r;
    }
}

void RemoteNode::readTcpPath()
{
    if (!m_channel)
        return;
    const net::TcpPathInfo path = m_channel->tcpPathInfo();
    if (!path.valid)
        return;
    m_kernelRtoUs = path.rtoUs;
    m_lossSeen = m_lossSeen || path.retransmits > 0;
}

void RemoteNode::ping()
{
    const qint64 n = ++m_pingSeq;
    if (send(encodeHeartbeat(Heartbeat {n, -1}))) {
        m_pingWaiting = n;
        m_pingSentUs = m_clock.nsecsElapsed() / 1000;
    }
}

bool RemoteNode::canRun(const exec::PluginInfo &plugin, QString *why) const
{
    if (!m_peer.abi.isEmpty() && m_peer.abi != QSysInfo::buildAbi()) {
        *why = QStringLiteral("%1 has ABI %2; the plugin is built for %3")
                   .arg(address(), m_peer.abi, QSysInfo::buildAbi());
        return false;
    }
    const auto it = m_plugins.constFind(plugin.sha256);
    if (it != m_plugins.constEnd() && it->stage == PluginEntry::Stage::Rejected) {
        *why = it->reason;
        return false;
    }
    if (!isSha256Hex(plugin.sha256)) {
        *why = QStringLiteral("plugin %1 has no SHA-256").arg(plugin.name);
        return false;
    }
    return true;
}

void RemoteNode::submit(const exec::PluginInfo &plugin, qint64 timeoutMs, const exec::JobParametersPtr &parameters,
                        QVector<NodeTask> tasks)
{
    if (tasks.isEmpty())
        return;
    for (const NodeTask &t : std::as_const(tasks))
        m_inFlight.insert(t.attempt);
    if (m_state != NodeState::Online || !m_channel) {
        QVector<quint64> ids;
        for (const NodeTask &t : std::as_const(tasks)) {
            m_inFlight.remove(t.attempt);
            ids.append(t.attempt);
        }
        const QString reason = QStringLiteral("%1 is not online").arg(address());
        QMetaObject::invokeMethod(
            this, [this, ids, reason] { emit tasksLost(ids, reason); }, Qt::QueuedConnection);
        return;
    }
    auto it = m_plugins.find(plugin.sha256);
    if (it == m_plugins.end()) {
        PluginEntry entry;
        entry.info = plugin;
        entry.waiting.append(PendingRun {timeoutMs, parameters, std::move(tasks)});
        it = m_plugins.insert(plugin.sha256, std::move(entry));
        if (m_agentPlugins.contains(plugin.sha256)) {
            // The agent's hello listed it (protocol 1.3): run at once, no plugin-query round trip.
            mark("plugin-listed", plugin.name.toUtf8());
            it->stage = PluginEntry::Stage::Ready;
            const QVector<PendingRun> waiting = std::exchange(it->waiting, {});
            for (const PendingRun &run : waiting)
                sendRun(plugin.sha256, run);
        } else if (m_agentPluginsComplete) {
            upload(*it); // the hello listed the whole cache without it: ship it now
        } else {
            send(encode(PluginQuery {plugin.sha256}));
            mark("plugin-query", plugin.name.toUtf8());
        }
        return;
    }
    switch (it->stage) {
    case PluginEntry::Stage::Ready:
    case PluginEntry::Stage::Uploading: // the upload is ahead of this run on the same stream
        sendRun(plugin.sha256, PendingRun {timeoutMs, parameters, std::move(tasks)});
        return;
    case PluginEntry::Stage::Querying:
        it->waiting.append(PendingRun {timeoutMs, parameters, std::move(tasks)});
        return;
    case PluginEntry::Stage::Rejected: {
        it->waiting.append(PendingRun {timeoutMs, parameters, std::move(tasks)});
        failWaiting(*it, Outcome::LoadFailed, it->reason);
        return;
    }
    }
}

void RemoteNode::sendRun(const QByteArray &sha, const PendingRun &pending)
{
    // Run frames are bounded by bytes as well as count: big inputs go in frames of their own.
    Run run;
    qint64 bytes = 0;
    auto flush = [&] {
        if (run.tasks.isEmpty())
            return;
        run.sha256 = sha;
        run.timeoutMs = pending.timeoutMs;
        run.parametersSha256.clear();
        run.hasParameters = false;
        if (pending.parameters) {
            // The value goes with the job's first run on this connection; the agent keeps it for the
            // connection's life, so later runs name it by its SHA-256 only.
            run.parametersSha256 = pending.parameters->id;
            if (!m_parametersSent.contains(pending.parameters->id)) {
                run.parameters = pending.parameters->value;
                run.hasParameters = true;
            }
        }
        if (send(encode(run))) {
            if (net::timelineEnabled())
                mark("run", QByteArray::number(run.tasks.size()) + ' ' + QByteArray::number(m_inFlight.size()));
            if (run.hasParameters)
                m_parametersSent.insert(pending.parameters->id);
        } else if (m_channel && m_state == NodeState::Online) {
            // Refused before it left (bigger than the protocol allows): these tasks end here, with the
            // reason, instead of waiting for results that will never come.
            QVector<WorkResult> failed;
            for (const TaskItem &t : std::as_const(run.tasks))
                if (m_inFlight.remove(t.id))
                    failed.append(WorkResult {t.id,
                                              Outcome::PluginError,
                                              {},
                                              QStringLiteral("the tasks could not be sent to %1: the message is larger "
                                                             "than the protocol allows")
                                                  .arg(address()),
                                              0,
                                              {}});
            emitLater(std::move(failed));
        }
        run.tasks.clear();
        bytes = 0;
    };
    for (const NodeTask &t : pending.tasks) {
        const qint64 size = protocol::cborSizeBound(t.input);
        if (!run.tasks.isEmpty() && bytes + size > protocol::BatchByteBudget)
            flush();
        bytes += size;
        run.tasks.append(TaskItem {t.attempt, t.input});
    }
    flush();
}

void RemoteNode::emitLater(QVector<WorkResult> results)
{
    if (results.isEmpty())
        return;
    // Never call back into the controller from inside its own submit()/cancel().
    QMetaObject::invokeMethod(
        this,
        [this, results] {
            emit resultsArrived(results);
            emit creditAvailable();
        },
        Qt::QueuedConnection);
}

void RemoteNode::failWaiting(PluginEntry &entry, Outcome outcome, const QString &reason)
{
    QVector<WorkResult> results;
    for (const PendingRun &run : std::as_const(entry.waiting))
        for (const NodeTask &t : run.tasks)
            if (m_inFlight.remove(t.attempt))
                results.append(WorkResult {t.attempt, outcome, {}, reason, 0, {}});
    entry.waiting.clear();
    emitLater(std::move(results));
}

void RemoteNode::upload(PluginEntry &entry)
{
    QFile file(entry.info.path);
    QString why;
    if (file.size() > MaxPluginSize)
        why = QStringLiteral("plugin %1 is %2 bytes, more than the upload limit of %3")
                  .arg(entry.info.path)
                  .arg(file.size())
                  .arg(MaxPluginSize);
    else if (!file.open(QIODevice::ReadOnly))
        why = QStringLiteral("cannot read plugin %1: %2").arg(entry.info.path, file.errorString());
    if (!why.isEmpty()) {
        entry.stage = PluginEntry::Stage::Rejected;
        entry.reason = why;
        failWaiting(entry, Outcome::LoadFailed, why);
        return;
    }
    entry.stage = PluginEntry::Stage::Uploading;
    ++m_uploads;
    qCInfo(lcSched).noquote() << "uploading plugin" << entry.info.name << "to" << address();
    PluginUpload up {entry.info.sha256, entry.info.name, file.readAll(), false, {}};
    if (m_peer.minor >= 3 && m_srttUs >= CompressUploadsFromRttUs) {
        // A distant agent: fewer bytes are fewer round trips of slow start (900 KB of a debug build's plugin
        // take 6-7 round trips, its 370 KB compressed 5). Compressed once per plugin for all agents.
        thread_local QHash<QByteArray, QByteArray> compressed;
        auto z = compressed.find(up.sha256);
        if (z == compressed.end()) {
            if (compressed.size() >= 4)
                compressed.clear();
            z = compressed.insert(up.sha256, compressPlugin(up.bytes));
        }
        up.compressed = true;
        up.zlibBytes = z.value();
        up.bytes.clear();
    }
    send(encode(up));
    mark("upload-sent", QByteArray::number(up.compressed ? up.zlibBytes.size() : file.size()));
    emit eventLogged(QStringLiteral("uploading plugin %1 (%2 bytes)").arg(entry.info.name).arg(file.size()));
    // The runs follow the upload at once, not after plugin-stored: one stream keeps them in order, so the
    // agent has stored the plugin when it reads them (a refused upload fails them there, with its reason).
    const QVector<PendingRun> waiting = std::exchange(entry.waiting, {});
    for (const PendingRun &run : waiting)
        sendRun(entry.info.sha256, run);
}

void RemoteNode::handlePluginHave(const QCborMap &message)
{
    PluginHave have;
    QString error;
    if (!decode(message, &have, &error))
        return dropConnection(QStringLiteral("bad plugin-have: ") + error);
    auto it = m_plugins.find(have.sha256);
    mark("plugin-have", QByteArray::number(int(have.have)));
    if (it == m_plugins.end() || it->stage != PluginEntry::Stage::Querying)
        return;
    if (!have.have)
        return upload(*it);
    it->stage = PluginEntry::Stage::Ready;
    const QVector<PendingRun> waiting = std::exchange(it->waiting, {});
    for (const PendingRun &run : waiting)
        sendRun(have.sha256, run);
}

void RemoteNode::handlePluginStored(const QCborMap &message)
{
    PluginStored stored;
    QString error;
    if (!decode(message, &stored, &error))
        return dropConnection(QStringLiteral("bad plugin-stored: ") + error);
    mark("plugin-stored");
    auto it = m_plugins.find(stored.sha256);
    if (it == m_plugins.end())
        return;
    it->stage = PluginEntry::Stage::Ready;
    const QVector<PendingRun> waiting = std::exchange(it->waiting, {});
    for (const PendingRun &run : waiting)
        sendRun(stored.sha256, run);
}

void RemoteNode::handlePluginRejected(const QCborMap &message)
{
    PluginRejected rejected;
    QString error;
    if (!decode(message, &rejected, &error))
        return dropConnection(QStringLiteral("bad plugin-rejected: ") + error);
    auto it = m_plugins.find(rejected.sha256);
    if (it == m_plugins.end())
        return;
    it->stage = PluginEntry::Stage::Rejected;
    it->reason = QStringLiteral("%1 refused the plugin: %2").arg(address(), rejected.reason);
    emit eventLogged(it->reason);
    failWaiting(*it, Outcome::LoadFailed, it->reason);
}

void RemoteNode::handleResults(const QCborMap &message)
{
    Results res;
    QString error;
    if (!decode(message, &res, &error))
        return dropConnection(QStringLiteral("bad results from the agent: ") + error);
    QVector<WorkResult> out;
    out.reserve(res.results.size());
    for (TaskResult &r : res.results) {
        if (!m_inFlight.remove(r.id))
            continue; // not ours (any more): e.g. already reported lost
        WorkResult w;
        w.id = r.id;
        w.outcome = Outcome(r.outcome);
        if (w.outcome == Outcome::Ok)
            w.output = std::move(r.value);
        else
            w.error = r.value.toString();
        w.runtimeUs = r.runtimeUs;
        w.log = std::move(r.log);
        if (w.outcome == Outcome::Ok || w.outcome == Outcome::PluginError) // it ran: its time is the node's pace
            m_meanRuntimeUs
                = m_meanRuntimeUs <= 0 ? double(w.runtimeUs) : 0.875 * m_meanRuntimeUs + 0.125 * double(w.runtimeUs);
        out.append(std::move(w));
    }
    if (net::timelineEnabled())
        mark("results", QByteArray::number(out.size()) + ' ' + QByteArray::number(m_inFlight.size()));
    if (!out.isEmpty()) {
        emit resultsArrived(out);
        emit creditAvailable();
    }
}

void RemoteNode::handleStatus(const QCborMap &message)
{
    Status st;
    QString error;
    if (!decode(message, &st, &error))
        return dropConnection(QStringLiteral("bad status from the agent: ") + error);
    const int oldCredit = credit();
    const bool workersChanged = st.workers != m_workers;
    if (st.valueCacheFull && !m_status.valueCacheFull)
        emit eventLogged(QStringLiteral("%1: its value cache is full (%2 MiB held, limit %3 MiB): every value is in "
                                        "use by queued tasks; it keeps working beyond its limit (--value-cache)")
                             .arg(name())
                             .arg(st.valueCacheBytes >> 20)
                             .arg(st.valueCacheLimit >> 20));
    m_status = st;
    m_workers = st.workers;
    m_busy = st.busy;
    m_capacity = st.capacity;
    if (net::timelineEnabled())
        mark("status", QByteArray::number(st.capacity) + ' ' + QByteArray::number(st.busy));
    if (workersChanged)
        emit workerCountChanged(m_workers);
    emit statusReceived();
    if (credit() > oldCredit || workersChanged)
        emit creditAvailable();
}

void RemoteNode::cancel(const QVector<quint64> &attempts)
{
    QSet<quint64> wanted(attempts.cbegin(), attempts.cend());
    QVector<WorkResult> local;
    for (PluginEntry &entry : m_plugins) {
        for (PendingRun &run : entry.waiting) {
            for (qsizetype i = run.tasks.size() - 1; i >= 0; --i) {
                const quint64 id = run.tasks.at(i).attempt;
                if (wanted.contains(id)) {
                    wanted.remove(id);
                    m_inFlight.remove(id);
                    local.append(WorkResult {id, Outcome::Cancelled, {}, QStringLiteral("cancelled"), 0, {}});
                    run.tasks.remove(i);
                }
            }
        }
    }
    emitLater(std::move(local));
    Cancel c;
    for (quint64 id : std::as_const(wanted))
        if (m_inFlight.contains(id))
            c.ids.append(id);
    if (!c.ids.isEmpty())
        send(encode(c));
}

void RemoteNode::setWorkerCount(int count)
{
    if (m_state == NodeState::Online && m_channel)
        send(encode(SetWorkers {count}));
    else
        m_pendingWorkerCount = count;
}

void RemoteNode::dropConnection(const QString &reason)
{
    if (!m_channel)
        return;
    qCInfo(lcSched).noquote() << address() << "—" << reason;
    m_channel->close(reason); // closed() follows, queued, and does the rest
}

void RemoteNode::onClosed(const QString &channelReason)
{
    if (!m_channel)
        return;
    m_tick.stop();
    m_channel->disconnect(this);
    m_channel->deleteLater();
    m_channel = nullptr;
    QString reason = channelReason;
    if (!m_agentError.isEmpty() && !reason.contains(m_agentError))
        reason = QStringLiteral("the agent reported: ") + m_agentError;
    else if (m_agentBusy && !m_onlineThisAttempt)
        reason = net::busyRefusalReason(address()); // the channel only knows "not a Taskfleet agent"

    // Everything this agent held is lost: the controller puts it back in the queue.
    QVector<quint64> lost(m_inFlight.cbegin(), m_inFlight.cend());
    m_inFlight.clear();
    m_plugins.clear();
    m_parametersSent.clear();
    m_busy = 0;
    if (!m_onlineThisAttempt)
        ++m_failedAttempts;
    m_lastFailureDefinite = !m_onlineThisAttempt && !m_agentBusy
                            && (channelReason.contains(QLatin1String("nothing listens"))
                                || channelReason.startsWith(QLatin1String("host not found")));

    int delay = m_backoffMs;
    if (m_options.inbound) {
        // Nothing to dial: the agent's dialer comes back (within 1-30 s), and adopt() takes the new link.
        if (m_state != NodeState::Incompatible)
            setState(NodeState::Offline, reason + QStringLiteral(" — waiting for the agent to connect again"));
        delay = -1;
    } else if (m_state == NodeState::Incompatible) {
        delay = -1; // never retried
    } else if (channelReason.contains(QStringLiteral("secrets differ"))) {
        setState(NodeState::Refused, channelReason);
        delay = m_options.maxBackoffMs;
    } else {
        setState(NodeState::Offline, reason);
        m_backoffMs = std::min(m_backoffMs * 2, m_options.maxBackoffMs);
    }
    if (!lost.isEmpty())
        emit tasksLost(lost, reason);
    if (delay >= 0) {
        qCInfo(lcSched).noquote() << address() << m_reason << "— retrying in" << delay / 1000.0 << "s";
        m_reconnect.start(delay);
    }
}

void RemoteNode::onTick()
{
    if (!m_channel || !m_channel->isReady())
        return;
    const qint64 now = m_clock.elapsed();
    // Any bytes count as a sign of life, so a big message still arriving over a slow link is not taken for
    // a dead one; a silent link is noticed after a few of the agent's 1 s heartbeats.
    const quint64 received = m_channel->counters().bytesReceived;
    if (received != m_bytesHeard) {
        m_bytesHeard = received;
        m_lastHeardMs = now;
    }
    if (now - m_lastHeardMs > m_options.heartbeatTimeoutMs) {
        dropConnection(QStringLiteral("no heartbeat from the agent for %1 s")
                           .arg(double(m_options.heartbeatTimeoutMs) / 1000.0, 0, 'g', 3));
        return;
    }
    // A ping doubles as the heartbeat; one at a time, to agents that speak protocol 1.1 or later.
    if (m_helloReceived && m_peer.minor >= 1 && m_pingWaiting < 0
        && m_clock.nsecsElapsed() / 1000 - m_pingSentUs >= PingIntervalUs) {
        ping();
        return;
    }
    const qint64 interval = std::clamp<qint64>(m_options.heartbeatTimeoutMs / 3, 200, 1000);
    if (now - m_lastSentMs >= interval)
        send(encodeHeartbeat());
}

} // namespace taskfleet::sched
