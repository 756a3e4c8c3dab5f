// SPDX-License-Identifier: MIT
// Runs a Controller (and its local node) on a thread of its own, for a window to drive.
#include "controllerhost.h"

#include "agentlistener.h"
#include "clusterdiscovery.h"
#include "localnode.h"
#include "remotenode.h"
#include "scriptserver.h"

#include <QtCore/QMutexLocker>
#include <QtCore/QTimer>

namespace taskfleet::sched {

/** Lives on the host's thread; owns the controller there. */
class ControllerHost::Backend : public QObject
{
public:
    Backend(ControllerHost *host, ControllerHostOptions options)
        : m_host(host)
        , m_options(std::move(options))
    {
    }

    void init()
    {
        m_controller = new Controller(this);
        exec::WorkerPoolOptions pool;
        pool.program = m_options.workerProgram;
        pool.workers = m_options.localWorkers >= 0 ? m_options.localWorkers : QThread::idealThreadCount();
        if (m_options.workerValueCacheBytes > 0)
            pool.valueCacheBytes = m_options.workerValueCacheBytes;
        m_controller->addNode(new LocalNode(pool));

        connect(m_controller, &Controller::resultsRecorded, this, &Backend::onResults);
        connect(m_controller, &Controller::jobFinished, this, &Backend::onJobFinished);
        connect(m_controller, &Controller::tasksAdded, this, [this](int jobId, int first, int count) {
            // Before any of their records (those wait for the next flush): the window knows the tasks first.
            const Job *job = m_controller->job(jobId);
            if (!job)
                return;
            QVector<QCborValue> inputs;
            inputs.reserve(count);
            for (int i = first; i < first + count; ++i)
                inputs.append(job->spec.inputs.at(i));
            emit m_host->tasksAdded(jobId, first, inputs);
        });
        connect(m_controller, &Controller::eventLogged, m_host, &ControllerHost::eventLogged);

        m_snapshotTimer = new QTimer(this);
        connect(m_snapshotTimer, &QTimer::timeout, this, &Backend::emitSnapshot);
        m_snapshotTimer->start(m_options.snapshotIntervalMs);
        m_flushTimer = new QTimer(this);
        connect(m_flushTimer, &QTimer::timeout, this, &Backend::flush);
        m_flushTimer->start(m_options.resultFlushMs);
        emitSnapshot();
        emit m_host->started();
    }

    void shutdown(const QString &exitStatsPath)
    {
        if (m_controller) {
            flush();
            if (!exitStatsPath.isEmpty()) {
                QString error;
                const QStringList files = m_controller->statistics().exportCsv(exitStatsPath, &error);
                if (files.isEmpty())
                    qWarning("taskfleet: could not write statistics: %s", qPrintable(error));
            }
            stopDiscovery();
            stopAgentListener();
            delete m_scripts; // before the controller: its sessions cancel their jobs there
            m_scripts = nullptr;
            delete m_snapshotTimer;
            delete m_flushTimer;
            m_snapshotTimer = m_flushTimer = nullptr;
            delete m_controller;
            m_controller = nullptr;
        }
        QThread::currentThread()->quit();
    }

    Controller *controller() const { return m_controller; }

    void startDiscovery(const net::ListenerConfig &config, const QByteArray &secret)
    {
        stopDiscovery();
        if (!m_controller)
            return;
        m_discovery = new ClusterDiscovery(m_controller, secret, this);
        m_discovery->setListenerConfig(config);
        // Its log lines reach the window through Controller::eventLogged (ClusterDiscovery forwards them): not
        // connected here as well, or every discovery line shows twice.
        connect(m_discovery, &ClusterDiscovery::rejectionsChanged, m_host, &ControllerHost::discoveryRejectionsChanged);
        QString error;
        if (!m_discovery->start(&error)) { // on success the discovery logs what it listens on itself
            emit m_host->eventLogged(QStringLiteral("discovery off: %1").arg(error));
            stopDiscovery();
        }
    }

    void startScriptServer(const QString &path, const exec::PluginInfo &python)
    {
        if (!m_controller)
            return;
        delete m_scripts;
        m_scripts = new ScriptServer(m_controller, python, this);
        m_scripts->setSubmitter([this](JobSpec spec) {
            // Through the same signal as the window's own jobs, so the window shows them alike.
            const int id = m_controller->submit(spec);
            emit m_host->jobSubmitted(id, spec);
            return id;
        });
        connect(m_scripts, &ScriptServer::eventLogged, m_host, &ControllerHost::eventLogged);
        QString error;
        if (m_scripts->listen(path, &error)) {
            emit m_host->eventLogged(QStringLiteral("scripts can attach at %1").arg(path));
        } else {
            // Also on stderr: whoever started the window from a terminal sees why their scripts cannot attach.
            qWarning("taskfleet: scripts cannot attach: %s", qPrintable(error));
            emit m_host->eventLogged(QStringLiteral("scripts cannot attach: %1").arg(error));
            delete m_scripts;
            m_scripts = nullptr;
        }
    }

    void startAgentListener(const QHostAddress &address, quint16 port, const QByteArray &secret)
    {
        stopAgentListener();
        if (!m_controller)
            return;
        AgentListenerOptions options;
        options.server.channel = net::ChannelOptions::fromSecret(secret);
        options.node.channel = options.server.channel;
        m_listener = new AgentListener(m_controller, options, this);
        if (!m_listener->listen(address, port)) {
            emit m_host->eventLogged(QStringLiteral("agents cannot connect to this computer: port %1: %2")
                                         .arg(port)
                                         .arg(m_listener->errorString()));
            emit m_host->agentListenerChanged(0, m_listener->errorString());
            stopAgentListener();
            return;
        }
        emit m_host->eventLogged(
            QStringLiteral("agents may connect to this computer on port %1 (taskfleet-agent --connect "
                           "THIS-HOST:%1)")
                .arg(m_listener->port()));
        emit m_host->agentListenerChanged(m_listener->port(), QString());
    }

    void stopAgentListener()
    {
        delete m_listener; // the nodes it added stay (they wait for their agent to dial again)
        m_listener = nullptr;
    }

    void stopDiscovery()
    {
        delete m_discovery; // before the controller: it must outlive the discovery
        m_discovery = nullptr;
    }

    void emitSnapshot()
    {
        if (!m_controller)
            return;
        const ClusterSnapshot s = m_controller->snapshot(m_options.historySeconds);
        m_host->storeSnapshot(s);
        emit m_host->snapshotReady(s);
    }

    /** Hands on the records collected since the last flush, one signal per job. */
    void flush()
    {
        if (m_pending.empty())
            return;
        // Take the batch first: a receiver on this thread may not re-enter and see it twice.
        std::vector<std::pair<int, QVector<TaskRecord>>> batch;
        batch.swap(m_pending);
        for (auto &entry : batch)
            emit m_host->resultsRecorded(entry.first, entry.second);
    }

private:
    void onResults(int jobId, const QVector<TaskRecord> &records)
    {
        for (auto &entry : m_pending) {
            if (entry.first == jobId) {
                entry.second += records;
                return;
            }
        }
        m_pending.emplace_back(jobId, records);
    }

    void onJobFinished(int jobId)
    {
        flush(); // a job's records come before its end
        emit m_host->jobFinished(jobId);
        emitSnapshot();
    }

    ControllerHost *m_host;
    ControllerHostOptions m_options;
    Controller *m_controller = nullptr;
    ClusterDiscovery *m_discovery = nullptr;
    AgentListener *m_listener = nullptr;
    ScriptServer *m_scripts = nullptr;
    QTimer *m_snapshotTimer = nullptr;
    QTimer *m_flushTimer = nullptr;
    std::vector<std::pair<int, QVector<TaskRecord>>> m_pending; // in arrival order of jobs
};

ControllerHost::ControllerHost(ControllerHostOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    qRegisterMetaType<ClusterSnapshot>();
    qRegisterMetaType<TaskRecord>();
    qRegisterMetaType<QVector<TaskRecord>>();
    qRegisterMetaType<JobSpec>();
    qRegisterMetaType<TaskReport>();
    m_thread.setObjectName(QStringLiteral("taskfleet-controller"));
    m_backend = new Backend(this, m_options);
    m_backend->moveToThread(&m_thread);
}

ControllerHost::~ControllerHost()
{
    if (m_thread.isRunning()) {
        QString path;
        {
            QMutexLocker lock(&m_mutex);
            path = m_exitStatsPath;
        }
        Backend *backend = m_backend;
        QMetaObject::invokeMethod(
            m_backend, [backend, path] { backend->shutdown(path); }, Qt::QueuedConnection);
        m_thread.wait(); // joins: the backend ends the controller (and its workers), then quits
    }
    delete m_backend;
}

void ControllerHost::start()
{
    if (m_thread.isRunning())
        return;
    m_thread.start();
    Backend *backend = m_backend;
    QMetaObject::invokeMethod(
        m_backend, [backend] { backend->init(); }, Qt::QueuedConnection);
}

void ControllerHost::post(std::function<void(Controller *)> work)
{
    Backend *backend = m_backend;
    QMetaObject::invokeMethod(
        m_backend,
        [backend, work = std::move(work)] {
            if (Controller *c = backend->controller()) {
                work(c);
                backend->emitSnapshot();
            }
        },
        Qt::QueuedConnection);
}

void ControllerHost::submit(const JobSpec &spec)
{
    post([this, spec](Controller *c) {
        const int id = c->submit(spec);
        emit jobSubmitted(id, spec);
    });
}

void ControllerHost::removeJob(int jobId)
{
    post([jobId](Controller *c) { c->removeJob(jobId); });
}

void ControllerHost::requestTaskReport(int jobId)
{
    Backend *backend = m_backend;
    post([this, backend, jobId](Controller *c) {
        backend->flush();
        emit taskReportReady(c->taskReport(jobId));
    });
}

void ControllerHost::pauseJob(int jobId)
{
    post([jobId](Controller *c) { c->pauseJob(jobId); });
}

void ControllerHost::resumeJob(int jobId)
{
    post([jobId](Controller *c) { c->resumeJob(jobId); });
}

void ControllerHost::cancelJob(int jobId)
{
    post([jobId](Controller *c) { c->cancelJob(jobId); });
}

void ControllerHost::setJobPriority(int jobId, int priority)
{
    post([jobId, priority](Controller *c) { c->setJobPriority(jobId, priority); });
}

void ControllerHost::setNodeWorkerCount(const QString &nodeId, int count)
{
    post([this, nodeId, count](Controller *c) {
        if (Node *node = c->findNode(nodeId)) {
            node->setWorkerCount(qMax(0, count));
            const int n = qMax(0, count);
            emit eventLogged(QStringLiteral("%1: %2 %3")
                                 .arg(node->name())
                                 .arg(n)
                                 .arg(n == 1 ? QStringLiteral("worker") : QStringLiteral("workers")));
        }
    });
}

void ControllerHost::addNode(NodeFactory factory)
{
    post([this, factory = std::move(factory)](Controller *c) {
        Node *node = factory();
        if (!node)
            return;
        if (c->findNode(node->id())) {
            emit eventLogged(QStringLiteral("%1 is already in the nodes table").arg(node->address()));
            delete node;
            return;
        }
        c->addNode(node);
        if (auto *remote = qobject_cast<RemoteNode *>(node))
            remote->start(); // after addNode: the controller hears its first state change
    });
}

void ControllerHost::reconnectNode(const QString &nodeId)
{
    post([this, nodeId](Controller *c) {
        if (Node *node = c->findNode(nodeId); node && !node->isLocal()) {
            emit eventLogged(QStringLiteral("%1: reconnecting").arg(node->address()));
            node->reconnect();
        }
    });
}

void ControllerHost::setNodeDraining(const QString &nodeId, bool draining)
{
    post([nodeId, draining](Controller *c) { c->setNodeDraining(nodeId, draining); });
}

void ControllerHost::enableDiscovery(const net::ListenerConfig &config, const QByteArray &secret)
{
    Backend *backend = m_backend;
    post([backend, config, secret](Controller *) { backend->startDiscovery(config, secret); });
}

void ControllerHost::disableDiscovery()
{
    Backend *backend = m_backend;
    post([backend](Controller *) { backend->stopDiscovery(); });
}

void ControllerHost::enableAgentListener(const QHostAddress &address, quint16 port, const QByteArray &secret)
{
    Backend *backend = m_backend;
    post([backend, address, port, secret](Controller *) { backend->startAgentListener(address, port, secret); });
}

void ControllerHost::disableAgentListener()
{
    Backend *backend = m_backend;
    post([this, backend](Controller *) {
        backend->stopAgentListener();
        emit agentListenerChanged(0, QString());
    });
}

void ControllerHost::enableScriptServer(const QString &path, const exec::PluginInfo &python)
{
    Backend *backend = m_backend;
    post([backend, path, python](Controller *) { backend->startScriptServer(path, python); });
}

void ControllerHost::removeNode(const QString &nodeId)
{
    post([nodeId](Controller *c) {
        if (Node *node = c->findNode(nodeId); node && !node->isLocal())
            c->removeNode(nodeId);
    });
}

void ControllerHost::exportStatistics(const QString &path)
{
    post([this, path](Controller *c) {
        QString error;
        const QStringList files = c->statistics().exportCsv(path, &error);
        emit statisticsExported(files, error);
    });
}

void ControllerHost::setExitStatisticsPath(const QString &path)
{
    QMutexLocker lock(&m_mutex);
    m_exitStatsPath = path;
}

void ControllerHost::requestSnapshot()
{
    post([](Controller *) {});
}

ClusterSnapshot ControllerHost::lastSnapshot() const
{
    QMutexLocker lock(&m_mutex);
    return m_lastSnapshot;
}

void ControllerHost::storeSnapshot(const ClusterSnapshot &snapshot)
{
    QMutexLocker lock(&m_mutex);
    m_lastSnapshot = snapshot;
}

} // namespace taskfleet::sched
