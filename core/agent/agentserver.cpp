// SPDX-License-Identifier: MIT
// The node agent's service: sessions, shared worker pool, plugin cache, status and heartbeats.
#include "agentserver.h"

#include "agentsettings.h"
#include "controllerdialer.h"

#include "net/eventtimeline.h"
#include "net/keyderivation.h"
#include "net/nodeaddress.h"
#include "protocol/frame.h"
#include "protocol/version.h"
#include "util/hostinfo.h"
#include "util/logging.h"

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonObject>
#include <QtCore/QPluginLoader>
#include <QtCore/QSet>
#include <QtCore/QSysInfo>
#include <QtCore/QThread>
#include <QtCore/QUuid>
#include <QtNetwork/QHostInfo>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace taskfleet::agent {

using namespace taskfleet::protocol;
using net::ChannelOptions;
using net::SecureChannel;
using net::SecureServer;
using net::ServerCounters;
using net::ServerOptions;

namespace {
constexpr int TickMs = 100;

/** What an agent's owner may refuse, read from a plugin's metadata (not its name: a renamed copy is the same). */
struct PluginTraits {
    bool runsPrograms = false; ///< "runsPrograms": true (the command plugin)
    bool runsPython = false;   ///< "interpreter": "python" (the python plugin)
};

// Reads metadata only, without loading the plugin. Asked per run frame: the answer is remembered per path
// (cache files are content-addressed, never rewritten).
PluginTraits pluginTraits(const QString &path)
{
    static thread_local QHash<QString, PluginTraits> known; // per thread: each agent server lives on one
    const auto it = known.constFind(path);
    if (it != known.constEnd())
        return it.value();
    const QJsonObject meta = QPluginLoader(path).metaData().value(QLatin1String("MetaData")).toObject();
    PluginTraits t;
    t.runsPrograms = meta.value(QLatin1String("runsPrograms")).toBool(false);
    t.runsPython = meta.value(QLatin1String("interpreter")).toString() == QLatin1String("python");
    known.insert(path, t);
    return t;
}
constexpr int StatusMinIntervalMs = 250;
/** An otherwise unchanged status still goes this often when the machine's load or memory moved (Nodes table). */
constexpr int MachineStatusIntervalMs = 5000;
/** How often the machine's load and memory are read (/proc/meminfo): not per status. */
constexpr int HostInfoRefreshMs = 2000;
/** Tasks one controller may have queued or running here; credit-based controllers stay far below. */
constexpr qsizetype MaxOutstandingPerSession = qsizetype(1) << 20;

bool sameStatus(const Status &a, const Status &b)
{
    return a.workers == b.workers && a.busy == b.busy && a.queued == b.queued && a.capacity == b.capacity
           && a.tasksDone == b.tasksDone && a.failures == b.failures && a.uploads == b.uploads
           && a.valueCacheFull == b.valueCacheFull;
}
} // namespace

struct AgentServer::Session {
    SecureChannel *channel = nullptr;
    quint32 lane = 0; ///< this controller's lane in the pool: controllers share the workers fairly
    bool helloDone = false;
    QString peer;     ///< host:port
    QString peerName; ///< from hello
    qint64 lastHeardMs = 0;
    qint64 lastSentMs = 0;
    qint64 lastStatusMs = -1000000;
    Status lastStatus;
    bool statusSent = false;
    QSet<quint64> poolIds;
    QVector<TaskResult> outbox;
    int peerMinor = 0; ///< the controller's protocol minor version (from its hello)
    /** Protocol 1.4: job parameters sent on this connection that the node's store still holds, and those evicted. */
    QSet<QByteArray> parameterIds;
    QSet<QByteArray> evictedIds;
    /** Older controllers, which cannot be asked to send a value again: held for the connection's life. */
    QHash<QByteArray, exec::JobParametersPtr> pinned;
    qint64 pinnedBytes = 0;
    /** Uploads refused on this connection, by SHA-256, with the reason: the runs sent right behind one fail with it. */
    QHash<QByteArray, QString> refusedUploads;
};

AgentServer::AgentServer(AgentOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_cache(m_options.stateDir + QStringLiteral("/plugins"))
{
    m_cache.setLimitBytes(m_options.cacheLimitBytes);
    m_parameters.setLimitBytes(m_options.valueCacheLimitBytes);
    m_clock.start();
    connect(&m_tick, &QTimer::timeout, this, &AgentServer::onTick);
}

AgentServer::~AgentServer()
{
    // Sessions are owned by us, channels by the server.
    for (Session *s : std::as_const(m_sessions)) {
        s->channel->disconnect(this);
        delete s;
    }
    m_sessions.clear();
}

QString AgentServer::settingsPath() const
{
    return m_options.stateDir + QStringLiteral("/agent.ini");
}

quint16 AgentServer::port() const
{
    return m_server ? m_server->serverPort() : 0;
}

QHostAddress AgentServer::address() const
{
    return m_server ? m_server->serverAddress() : QHostAddress();
}

bool AgentServer::start()
{
    if (!QDir().mkpath(m_options.stateDir)) {
        m_error = QStringLiteral("cannot create the state directory %1").arg(m_options.stateDir);
        return false;
    }
    AgentSettings settings = AgentSettings::load(settingsPath());
    if (settings.nodeId.isEmpty()) {
        settings.nodeId = QUuid::createUuid().toString(QUuid::WithoutBraces);
        QString error;
        if (!settings.save(settingsPath(), &error))
            qCWarning(lcAgent).noquote() << error << "(the node id will change at the next start)";
    }
    m_nodeId = settings.nodeId;
    int workers = m_options.workers;
    if (!m_options.workersExplicit)
        workers = settings.workers >= 0 ? settings.workers : (workers >= 0 ? workers : QThread::idealThreadCount());

    exec::WorkerPoolOptions poolOptions;
    poolOptions.program = m_options.workerProgram;
    poolOptions.workers = workers;
    poolOptions.restartAfterEachTask = m_options.restartWorkers;
    // A worker never keeps more values than the node's store may (--value-cache), and at most its default.
    if (m_options.valueCacheLimitBytes > 0)
        poolOptions.valueCacheBytes = std::min(poolOptions.valueCacheBytes, m_options.valueCacheLimitBytes);
    m_pool = std::make_unique<exec::WorkerPool>(poolOptions);
    connect(m_pool.get(), &exec::WorkerPool::resultsReady, this, &AgentServer::onPoolResults);
    connect(m_pool.get(), &exec::WorkerPool::workerFailed, this,
            [](const QString &reason) { qCWarning(lcAgent).noquote() << "worker failed:" << reason; });

    ServerOptions serverOptions;
    serverOptions.channel = ChannelOptions::fromSecret(m_options.secret);
    if (!m_options.listen && m_options.connectTo.isEmpty()) {
        m_error
            = QStringLiteral("neither listening nor dialing a controller: give --connect HOST:PORT with --no-listen");
        return false;
    }
    if (m_options.listen) {
        m_server = std::make_unique<SecureServer>(serverOptions);
        connect(m_server.get(), &SecureServer::channelReady, this, &AgentServer::onChannelReady);
        if (!m_server->listen(m_options.address, m_options.port)) {
            m_error = m_server->errorString();
            return false;
        }
    }
    for (const QString &target : std::as_const(m_options.connectTo)) {
        QString host, why;
        quint16 port = 0;
        if (!net::parseNodeAddress(target, &host, &port, &why)) {
            m_error = QStringLiteral("controller address \"%1\": %2").arg(target, why);
            return false;
        }
        auto *dialer = new ControllerDialer(host, port, serverOptions.channel, this);
        connect(dialer, &ControllerDialer::connected, this, [this](SecureChannel *channel) {
            channel->setParent(this); // like an accepted channel: deleted by its session, or with us
            onChannelReady(channel);
        });
        m_dialers.append(dialer);
    }
    for (ControllerDialer *dialer : std::as_const(m_dialers))
        dialer->start();
    if (net::timelineEnabled()) // the controller's name for this agent, so both sides' events line up
        m_timelineName = m_server ? net::formatNodeAddress(m_server->serverAddress().toString(), port()) : m_nodeId;
    m_idleSinceMs = m_clock.elapsed();
    m_host = util::readHostInfo();
    m_hostReadMs = m_clock.elapsed();
    m_tick.start(TickMs);
    return true;
}

void AgentServer::stop(const QString &reason)
{
    if (m_stopping)
        return;
    m_stopping = true;
    qCInfo(lcAgent).noquote() << "stopping:" << reason;
    flushResults();
    if (m_server)
        m_server->close();
    for (ControllerDialer *dialer : std::as_const(m_dialers))
        dialer->stop();
    const QList<Session *> sessions = m_sessions.values();
    for (Session *s : sessions) {
        s->channel->send(encodeBye(reason));
        s->channel->close(QStringLiteral("agent stopping: ") + reason);
    }
    m_tick.stop();
    // Give the bye frames a moment to leave; the channels flush in the background.
    QTimer::singleShot(300, this, &AgentServer::stopped);
}

void AgentServer::onChannelReady(SecureChannel *channel)
{
    if (m_stopping) {
        channel->close(QStringLiteral("agent stopping"));
        return;
    }
    auto *s = new Session;
    s->lane = ++m_nextLane;
    s->channel = channel;
    s->peer = channel->peerAddress();
    s->lastHeardMs = s->lastSentMs = m_clock.elapsed();
    m_sessions.insert(channel, s);
    ++m_counters.sessionsAccepted;
    connect(channel, &SecureChannel::messageReceived, this, [this, s](const QCborMap &m) { onMessage(s, m); });
    connect(channel, &SecureChannel::closed, this, [this, s](const QString &reason) { onChannelClosed(s, reason); });

    Hello hello;
    hello.major = ProtocolMajor;
    hello.minor = ProtocolMinor;
    hello.role = QStringLiteral("agent");
    hello.nodeId = m_nodeId;
    hello.hostName = QHostInfo::localHostName();
    hello.abi = QSysInfo::buildAbi();
    hello.qtVersion = QString::fromLatin1(qVersion());
    hello.cores = QThread::idealThreadCount();
    hello.workers = m_pool->workerCount();
    hello.os = m_host.os;
    hello.version = m_host.version;
    // Under Slurm (srun sets these): the controller shows which allocation and node this agent is.
    hello.slurmJob = qEnvironmentVariable("SLURM_JOB_ID");
    hello.slurmNode = qEnvironmentVariable("SLURMD_NODENAME");
    // What the cache holds, most recently used first: the controller ships or runs a plugin without asking.
    const QFileInfoList cached = QDir(m_cache.dir()).entryInfoList({QStringLiteral("*.so")}, QDir::Files, QDir::Time);
    for (const QFileInfo &f : cached) {
        const QByteArray sha = f.completeBaseName().toLatin1();
        if (f.size() > 0 && isSha256Hex(sha) && hello.plugins.size() < MaxHelloPlugins)
            hello.plugins.append(sha);
    }
    hello.pluginsComplete = cached.size() <= MaxHelloPlugins;
    channel->send(encode(hello));
    mark("tls-ready");
    qCInfo(lcAgent).noquote() << "controller connected from" << s->peer;
}

void AgentServer::protocolError(Session *s, const QString &reason)
{
    qCWarning(lcAgent).noquote() << "closing" << s->peer << "—" << reason;
    ++m_counters.sessionsRefused;
    s->channel->send(encodeError(reason));
    s->channel->close(reason);
}

void AgentServer::onMessage(Session *s, const QCborMap &message)
{
    if (s->channel->state() != SecureChannel::State::Ready)
        return;
    s->lastHeardMs = m_clock.elapsed();
    QString error;
    const MessageType type = messageType(message, &error);
    if (type == MessageType::Unknown)
        return protocolError(s, error);
    if (!s->helloDone && type != MessageType::Hello)
        return protocolError(s, QStringLiteral("expected hello, got %1").arg(messageTypeName(type)));
    switch (type) {
    case MessageType::Hello:
        return handleHello(s, message);
    case MessageType::Run:
        return handleRun(s, message);
    case MessageType::Cancel:
        return handleCancel(s, message);
    case MessageType::SetWorkers:
        return handleSetWorkers(s, message);
    case MessageType::PluginQuery:
        return handlePluginQuery(s, message);
    case MessageType::PluginUpload:
        return handlePluginUpload(s, message);
    case MessageType::Heartbeat: {
        Heartbeat beat;
        if (!decode(message, &beat, &error))
            return protocolError(s, QStringLiteral("bad heartbeat: ") + error);
        if (beat.ping >= 0) // answered at once: the controller times the link's round trip with it
            s->channel->send(encodeHeartbeat(Heartbeat {-1, beat.ping}));
        return;
    }
    case MessageType::Error:
    case MessageType::Bye: {
        ErrorMessage e;
        if (!decode(message, &e, &error))
            e.text = error; // a malformed goodbye is still a goodbye: say what was wrong with it
        qCInfo(lcAgent).noquote() << s->peer << "says:" << e.text;
        s->channel->close(QStringLiteral("controller closed: ") + e.text);
        return;
    }
    default:
        return protocolError(s, QStringLiteral("a controller may not send %1").arg(messageTypeName(type)));
    }
}

void AgentServer::handleHello(Session *s, const QCborMap &message)
{
    if (s->helloDone)
        return protocolError(s, QStringLiteral("second hello"));
    Hello hello;
    QString error;
    if (!decode(message, &hello, &error))
        return protocolError(s, QStringLiteral("bad hello: ") + error);
    const QString why = checkCompatible(hello, QStringLiteral("controller"));
    if (!why.isEmpty())
        return protocolError(s, why);
    s->helloDone = true;
    s->peerName = hello.hostName;
    s->peerMinor = hello.major == ProtocolMajor ? hello.minor : 0;
    mark("hello");
    qCInfo(lcAgent).noquote() << "controller" << hello.hostName << "at" << s->peer << "ready (protocol"
                              << QStringLiteral("%1.%2)").arg(hello.major).arg(hello.minor);
    pushStatus(true);
}

bool AgentServer::resolveParameters(Session *s, const Run &run, exec::JobParametersPtr *out, bool *evicted)
{
    const bool bounded = s->peerMinor >= 4; // older controllers cannot be told to send a value again
    if (!run.hasParameters) {
        *out = bounded ? m_parameters.find(run.parametersSha256) : s->pinned.value(run.parametersSha256);
        if (*out && (!bounded || s->parameterIds.contains(run.parametersSha256)))
            return true;
        if (bounded && s->evictedIds.contains(run.parametersSha256)) {
            *evicted = true;
            return true;
        }
        protocolError(s, QStringLiteral("a run names job parameters %1 never sent on this connection")
                             .arg(QString::fromLatin1(run.parametersSha256.left(12))));
        return false;
    }
    exec::JobParametersPtr value = exec::makeJobParameters(run.parameters);
    if (!value || value->id != run.parametersSha256) {
        protocolError(s, QStringLiteral("job parameters do not match their SHA-256"));
        return false;
    }
    if (!bounded) {
        // Held for the connection's life, bounded like the plugin cache: a connection cannot make the agent hold
        // unlimited values.
        if (!s->pinned.contains(value->id)) {
            if (m_options.cacheLimitBytes > 0 && s->pinnedBytes + value->encodedSize > m_options.cacheLimitBytes) {
                protocolError(
                    s,
                    QStringLiteral("job parameters of this connection exceed %1 bytes").arg(m_options.cacheLimitBytes));
                return false;
            }
            s->pinnedBytes += value->encodedSize;
            s->pinned.insert(value->id, value);
        }
        *out = s->pinned.value(value->id);
        return true;
    }
    // Values in use by queued tasks cannot be evicted, so the store may pass its bound; a controller that keeps
    // sending new values for more queued tasks than several bounds hold is refused, not obeyed.
    const qint64 ceiling = m_parameters.limitBytes() > 0 ? HardParameterFactor * m_parameters.limitBytes() : 0;
    if (ceiling > 0 && !m_parameters.find(value->id) && m_parameters.bytes() + value->encodedSize > ceiling) {
        protocolError(s, QStringLiteral("job parameters held for queued tasks exceed %1 bytes").arg(ceiling));
        return false;
    }
    if (const exec::JobParametersPtr held = m_parameters.find(value->id))
        value = held; // one copy for every connection that sends it
    s->parameterIds.insert(value->id);
    s->evictedIds.remove(value->id);
    announceEvicted(m_parameters.insert(value));
    *out = std::move(value);
    return true;
}

void AgentServer::announceEvicted(const QVector<QByteArray> &ids)
{
    if (!ids.isEmpty()) {
        for (Session *other : std::as_const(m_sessions)) {
            ParametersEvicted notice;
            for (const QByteArray &id : ids)
                if (other->parameterIds.remove(id)) {
                    other->evictedIds.insert(id);
                    notice.ids.append(id);
                }
            if (!notice.ids.isEmpty())
                other->channel->send(encode(notice));
        }
        qCInfo(lcAgent).noquote() << "value cache: evicted" << ids.size() << "job parameters (least recently used),"
                                  << m_parameters.bytes() << "of" << m_parameters.limitBytes() << "bytes held";
    }
    const bool full = m_parameters.full();
    if (full && !m_parametersFullLogged)
        qCWarning(lcAgent).noquote()
            << "value cache full:" << m_parameters.bytes() << "bytes held, limit" << m_parameters.limitBytes()
            << "— every value is in use by queued tasks; the agent keeps working beyond its limit (--value-cache)";
    else if (!full && m_parametersFullLogged)
        qCInfo(lcAgent).noquote() << "value cache back within its limit:" << m_parameters.bytes() << "bytes held";
    m_parametersFullLogged = full;
}

void AgentServer::handleRun(Session *s, const QCborMap &message)
{
    Run run;
    QString error;
    if (!decode(message, &run, &error))
        return protocolError(s, QStringLiteral("bad run: ") + error);
    if (s->poolIds.size() + run.tasks.size() > MaxOutstandingPerSession)
        return protocolError(s, QStringLiteral("more than %1 tasks outstanding — the controller ignores flow control")
                                    .arg(MaxOutstandingPerSession));
    exec::JobParametersPtr parameters;
    if (!run.parametersSha256.isEmpty()) {
        bool evicted = false;
        if (!resolveParameters(s, run, &parameters, &evicted))
            return;
        if (evicted) {
            // Sent before the controller heard of the eviction: back to it as lost, dispatched again with the value.
            const QCborValue why(QStringLiteral("job parameters %1 were evicted from this agent's cache; they are "
                                                "sent again")
                                     .arg(QString::fromLatin1(run.parametersSha256.left(12))));
            for (const TaskItem &t : std::as_const(run.tasks))
                s->outbox.append(TaskResult {t.id, int(exec::Outcome::Lost), why, 0, {}});
            scheduleFlush();
            return;
        }
    }
    m_counters.tasksReceived += run.tasks.size();
    if (net::timelineEnabled())
        mark("run", QByteArray::number(run.tasks.size()) + ' ' + QByteArray::number(m_pool->busyWorkers()));
    QString altered;
    if (!m_cache.contains(run.sha256) || !m_cache.verify(run.sha256, &altered)) {
        const auto refused = s->refusedUploads.constFind(run.sha256);
        const QCborValue why(refused != s->refusedUploads.constEnd()
                                 ? QStringLiteral("the agent refused the plugin: %1").arg(refused.value())
                             : !altered.isEmpty() ? altered
                                                  : QStringLiteral("plugin %1 is not in this agent's cache")
                                                        .arg(QString::fromLatin1(run.sha256.left(12))));
        for (const TaskItem &t : std::as_const(run.tasks))
            s->outbox.append(TaskResult {t.id, int(exec::Outcome::LoadFailed), why, 0, {}});
        m_counters.failures += run.tasks.size();
        scheduleFlush();
        return;
    }
    m_cache.touch(run.sha256); // least recently used plugins are evicted first
    const QString path = m_cache.path(run.sha256);
    const PluginTraits traits = pluginTraits(path);
    if (!m_options.allowPython && traits.runsPython) {
        const QCborValue why(QStringLiteral("this agent does not run Python tasks (it was started with --no-python)"));
        for (const TaskItem &t : std::as_const(run.tasks))
            s->outbox.append(TaskResult {t.id, int(exec::Outcome::LoadFailed), why, 0, {}});
        m_counters.failures += run.tasks.size();
        scheduleFlush();
        return;
    }
    if (!m_options.allowCommand && traits.runsPrograms) {
        const QCborValue why(
            QStringLiteral("this agent does not allow the command plugin (start it with --allow-command)"));
        for (const TaskItem &t : std::as_const(run.tasks))
            s->outbox.append(TaskResult {t.id, int(exec::Outcome::LoadFailed), why, 0, {}});
        m_counters.failures += run.tasks.size();
        qCWarning(lcAgent).noquote() << "refused" << run.tasks.size() << "tasks of a plugin that runs programs from"
                                     << s->peer << "(start with --allow-command to allow)";
        scheduleFlush();
        return;
    }
    QVector<exec::PoolTask> tasks;
    tasks.reserve(run.tasks.size());
    for (TaskItem &t : run.tasks) {
        const quint64 id = ++m_nextPoolId;
        m_poolTasks.insert(id, PoolRef {s, t.id});
        s->poolIds.insert(id);
        tasks.append(exec::PoolTask {id, std::move(t.input), path, run.timeoutMs, parameters, s->lane});
    }
    m_pool->submit(std::move(tasks));
}

void AgentServer::handleCancel(Session *s, const QCborMap &message)
{
    Cancel cancel;
    QString error;
    if (!decode(message, &cancel, &error))
        return protocolError(s, QStringLiteral("bad cancel: ") + error);
    QSet<quint64> wanted(cancel.ids.cbegin(), cancel.ids.cend());
    QVector<quint64> ids;
    for (quint64 poolId : std::as_const(s->poolIds)) {
        const auto it = m_poolTasks.constFind(poolId);
        if (it != m_poolTasks.constEnd() && wanted.contains(it->attempt))
            ids.append(poolId);
    }
    if (!ids.isEmpty())
        m_pool->cancel(ids);
}

void AgentServer::handleSetWorkers(Session *s, const QCborMap &message)
{
    SetWorkers set;
    QString error;
    if (!decode(message, &set, &error))
        return protocolError(s, QStringLiteral("bad set-workers: ") + error);
    qCInfo(lcAgent).noquote() << s->peer << "sets the worker count to" << set.count;
    m_pool->setWorkerCount(set.count);
    saveWorkerCount(set.count);
    pushStatus(true);
}

void AgentServer::saveWorkerCount(int count)
{
    AgentSettings settings = AgentSettings::load(settingsPath());
    settings.workers = count;
    QString error;
    if (!settings.save(settingsPath(), &error))
        qCWarning(lcAgent).noquote() << error << "(the worker count is not remembered)";
}

void AgentServer::handlePluginQuery(Session *s, const QCborMap &message)
{
    PluginQuery q;
    QString error;
    if (!decode(message, &q, &error))
        return protocolError(s, QStringLiteral("bad plugin-query: ") + error);
    mark("plugin-query", QByteArray::number(int(m_cache.contains(q.sha256))));
    s->channel->send(encode(PluginHave {q.sha256, m_cache.contains(q.sha256)}));
}

void AgentServer::handlePluginUpload(Session *s, const QCborMap &message)
{
    PluginUpload up;
    QString error;
    if (!decode(message, &up, &error))
        return protocolError(s, QStringLiteral("bad plugin-upload: ") + error);
    mark("upload-received", QByteArray::number(up.bytes.size()));
    const bool had = m_cache.contains(up.sha256);
    if (!m_cache.store(up.sha256, up.bytes, &error)) {
        ++m_counters.pluginUploadsRejected;
        qCWarning(lcAgent).noquote() << "plugin upload from" << s->peer << "rejected:" << error;
        if (s->refusedUploads.size() < 64) // bounded: a connection cannot grow it without end
            s->refusedUploads.insert(up.sha256, error);
        s->channel->send(encode(PluginRejected {up.sha256, error}));
        return;
    }
    if (!had)
        ++m_counters.pluginUploads;
    qCInfo(lcAgent).noquote() << "plugin" << up.name << up.sha256.left(12) << "from" << s->peer
                              << (had ? "was already cached" : "stored");
    s->channel->send(encode(PluginStored {up.sha256}));
    mark("plugin-stored");
    pushStatus(true);
}

void AgentServer::onChannelClosed(Session *s, const QString &reason)
{
    qCInfo(lcAgent).noquote() << "controller" << s->peer << "gone:" << reason;
    QVector<quint64> cancel;
    for (quint64 id : std::as_const(s->poolIds)) {
        auto it = m_poolTasks.find(id);
        if (it != m_poolTasks.end()) {
            it->session = nullptr;
            cancel.append(id);
        }
    }
    m_counters.bytesReceivedClosed += s->channel->counters().bytesReceived;
    m_sessions.remove(s->channel);
    s->channel->deleteLater();
    const quint32 lane = s->lane;
    delete s;
    if (!cancel.isEmpty() && m_pool)
        m_pool->cancel(cancel);
    if (m_pool)
        m_pool->forgetLane(lane);
    if (m_sessions.isEmpty())
        m_idleSinceMs = m_clock.elapsed();
}

void AgentServer::onPoolResults(const QVector<exec::WorkResult> &results)
{
    for (const exec::WorkResult &r : results) {
        const PoolRef ref = m_poolTasks.take(r.id);
        if (exec::isFinal(r.outcome))
            ++m_counters.tasksDone;
        else if (r.outcome == exec::Outcome::Cancelled)
            ++m_counters.cancelled;
        else
            ++m_counters.failures;
        if (net::timelineEnabled()) // when it ended and how long it ran: the worker's busy time
            mark("task-done", QByteArray::number(r.runtimeUs));
        if (!ref.session)
            continue; // its controller is gone
        ref.session->poolIds.remove(r.id);
        ref.session->outbox.append(TaskResult {ref.attempt, int(r.outcome),
                                               r.outcome == exec::Outcome::Ok ? r.output : QCborValue(r.error),
                                               r.runtimeUs, r.log});
    }
    if (m_parameters.full()) // tasks that held values over the bound have let go of them
        announceEvicted(m_parameters.trim());
    scheduleFlush();
}

void AgentServer::scheduleFlush()
{
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, &AgentServer::flushResults, Qt::QueuedConnection);
}

void AgentServer::flushResults()
{
    m_flushScheduled = false;
    const qint64 now = m_clock.elapsed();
    for (Session *s : std::as_const(m_sessions)) {
        if (s->outbox.isEmpty())
            continue;
        QVector<TaskResult> outbox;
        outbox.swap(s->outbox);
        // Frames bounded by bytes as well as count: big outputs travel in results frames of their own.
        Results res;
        qint64 bytes = 0;
        auto sendBatch = [&] {
            if (res.results.isEmpty())
                return;
            if (!s->channel->sendWith([&res](QCborStreamWriter &w) { writeResults(w, res); })) {
                // Never leave the controller waiting: each result of a frame that could not go says so.
                Results failed;
                for (const TaskResult &r : std::as_const(res.results))
                    failed.results.append(TaskResult {r.id,
                                                      int(exec::Outcome::PluginError),
                                                      QCborValue(QStringLiteral("the agent could not send this result "
                                                                                "(larger than the protocol allows)")),
                                                      r.runtimeUs,
                                                      {}});
                s->channel->send(encode(failed));
            }
            res.results.clear();
            bytes = 0;
        };
        for (TaskResult &r : outbox) {
            const qint64 size = protocol::cborSizeBound(r.value) + r.log.size() * 3;
            if (!res.results.isEmpty() && bytes + size > protocol::BatchByteBudget)
                sendBatch();
            bytes += size;
            res.results.append(std::move(r));
        }
        sendBatch();
        if (net::timelineEnabled())
            mark("results", QByteArray::number(outbox.size()));
        s->lastSentMs = now;
    }
    pushStatus(false); // rate-limited; sends at once only when capacity grew a lot
}

void AgentServer::mark(const char *event, const QByteArray &detail) const
{
    if (!m_timelineName.isEmpty())
        net::timelineEvent("agent", m_timelineName, event, detail);
}

Status AgentServer::currentStatus() const
{
    Status st;
    st.workers = m_pool->workerCount();
    st.busy = m_pool->busyWorkers();
    st.queued = m_pool->queuedTasks();
    st.capacity = m_pool->capacity();
    st.tasksDone = m_counters.tasksDone;
    st.failures = m_counters.failures;
    st.load = m_host.load;
    st.uploads = m_counters.pluginUploads;
    st.memUsed = m_host.memUsed;
    st.memTotal = m_host.memTotal;
    st.uptimeSeconds = m_clock.elapsed() / 1000;
    st.valueCacheBytes = m_parameters.bytes();
    st.valueCacheLimit = m_parameters.limitBytes();
    st.valueCacheFull = m_parameters.full();
    return st;
}

void AgentServer::pushStatus(bool force)
{
    if (m_sessions.isEmpty() || !m_pool)
        return;
    const Status shared = currentStatus();
    const qint64 now = m_clock.elapsed();
    for (Session *s : std::as_const(m_sessions)) {
        if (!s->helloDone)
            continue;
        // Capacity is per controller: it follows the length of that controller's own tasks.
        Status st = shared;
        st.capacity = m_pool->capacity(s->lane);
        const bool changed = !s->statusSent || !sameStatus(st, s->lastStatus);
        // Capacity that doubled (the pool learned that tasks are short) is credit the controller
        // can use now: not held back by the rate limit. Happens a few times per pool, not per task.
        const bool grew = s->statusSent && st.capacity >= 2 * std::max(1, s->lastStatus.capacity);
        // The machine's load and memory are news too, but slow news: every few seconds at most.
        const bool machineMoved
            = s->statusSent && now - s->lastStatusMs >= MachineStatusIntervalMs
              && (std::abs(st.load - s->lastStatus.load) >= 0.05 || st.memUsed != s->lastStatus.memUsed);
        if (!force && !machineMoved && (!changed || (now - s->lastStatusMs < StatusMinIntervalMs && !grew)))
            continue;
        s->channel->send(encode(st));
        s->lastStatus = st;
        s->statusSent = true;
        s->lastStatusMs = s->lastSentMs = now;
    }
}

void AgentServer::onTick()
{
    const qint64 now = m_clock.elapsed();
    if (now - m_hostReadMs >= HostInfoRefreshMs) {
        m_host = util::readHostInfo();
        m_hostReadMs = now;
    }
    if (m_parameters.full()) // workers may hold a value a little after its last result
        announceEvicted(m_parameters.trim());
    pushStatus(false);
    const qint64 timeoutMs = qint64(std::max(1, m_options.socketTimeoutSeconds)) * 1000;
    // Heartbeats every second when idle, so a controller notices a silent link within a few seconds.
    const qint64 heartbeatMs = std::clamp<qint64>(timeoutMs / 3, 200, 1000);
    const QList<Session *> sessions = m_sessions.values();
    for (Session *s : sessions) {
        if (now - s->lastHeardMs > timeoutMs) {
            qCWarning(lcAgent).noquote() << "controller" << s->peer << "silent for" << m_options.socketTimeoutSeconds
                                         << "s — dropping it";
            s->channel->close(QStringLiteral("no heartbeat for %1 s").arg(m_options.socketTimeoutSeconds));
            continue;
        }
        if (now - s->lastSentMs >= heartbeatMs) {
            s->channel->send(encodeHeartbeat());
            s->lastSentMs = now;
        }
    }
    if (m_options.idleExitSeconds > 0 && m_sessions.isEmpty() && !m_stopping
        && now - m_idleSinceMs >= qint64(m_options.idleExitSeconds) * 1000) {
        m_idleSinceMs = now; // once per idle period
        emit idleExpired();
    }
}

QString AgentServer::statisticsText() const
{
    QString t;
    t += QStringLiteral("taskfleet-agent statistics (node %1)\n").arg(m_nodeId);
    if (m_server)
        t += QStringLiteral("  listening on       %1:%2\n").arg(address().toString()).arg(port());
    for (const ControllerDialer *d : m_dialers)
        t += QStringLiteral("  dialing            %1: %2, %3 attempts%4\n")
                 .arg(d->target(), d->isConnected() ? QStringLiteral("connected") : QStringLiteral("not connected"))
                 .arg(d->attempts())
                 .arg(d->lastError().isEmpty() ? QString() : QStringLiteral(", last: ") + d->lastError());
    if (m_pool)
        t += QStringLiteral("  workers            %1 (%2 busy, %3 queued tasks, %4 started, %5 worker failures)\n")
                 .arg(m_pool->workerCount())
                 .arg(m_pool->busyWorkers())
                 .arg(m_pool->queuedTasks())
                 .arg(m_pool->workersStarted())
                 .arg(m_pool->workerFailures());
    t += QStringLiteral("  controllers        %1 connected, %2 accepted, %3 refused\n")
             .arg(m_sessions.size())
             .arg(m_counters.sessionsAccepted)
             .arg(m_counters.sessionsRefused);
    if (m_server) {
        const ServerCounters c = m_server->counters();
        t += QStringLiteral("  TLS handshakes     %1 ok, %2 failed, %3 rate-limited, %4 over the connection caps, "
                            "%5 evicted pending\n")
                 .arg(c.established)
                 .arg(c.failedHandshakes)
                 .arg(c.rejectedRateLimited)
                 .arg(c.rejectedBusy)
                 .arg(c.evictedHandshakes);
    }
    quint64 received = m_counters.bytesReceivedClosed;
    for (auto it = m_sessions.cbegin(); it != m_sessions.cend(); ++it)
        received += it.key()->counters().bytesReceived;
    // Read by tests and benches that check what crossed the link (shared values travel once per node).
    t += QStringLiteral("  bytes received     %1 from controllers\n").arg(received);
    t += QStringLiteral("  tasks              %1 received, %2 done, %3 failed, %4 cancelled\n")
             .arg(m_counters.tasksReceived)
             .arg(m_counters.tasksDone)
             .arg(m_counters.failures)
             .arg(m_counters.cancelled);
    t += QStringLiteral("  plugin uploads     %1 stored, %2 rejected (cache %3)\n")
             .arg(m_counters.pluginUploads)
             .arg(m_counters.pluginUploadsRejected)
             .arg(m_cache.dir());
    t += QStringLiteral("  plugin cache       %1 bytes, limit %2 bytes, %3 evicted, %4 found altered and removed\n")
             .arg(m_cache.sizeBytes())
             .arg(m_cache.limitBytes())
             .arg(m_cache.evicted())
             .arg(m_cache.corrupted());
    t += QStringLiteral("  value cache        %1 bytes in %2 values, limit %3 bytes, %4 evicted%5\n")
             .arg(m_parameters.bytes())
             .arg(m_parameters.count())
             .arg(m_parameters.limitBytes())
             .arg(m_parameters.evicted())
             .arg(m_parameters.full() ? QStringLiteral(", FULL: every value is in use by queued tasks") : QString());
    return t;
}

} // namespace taskfleet::agent
