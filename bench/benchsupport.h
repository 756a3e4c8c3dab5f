// SPDX-License-Identifier: MIT
// Shared bits of the benchmark programs: run a job on an in-process controller, start loopback agents, time it.
#pragma once

#include "net/securechannel.h"
#include "sched/controller.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

namespace taskfleet::bench {

struct JobTiming {
    double wallSeconds = 0;
    qint64 ok = 0;
    qint64 notOk = 0;
    double taskSeconds = 0; ///< sum of the task runtimes the workers measured
};

/** Processes events until \a pred holds or \a timeoutMs passes; returns pred(). */
template <typename Pred>
bool waitUntil(Pred pred, int timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    while (!pred() && clock.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 10);
    return pred();
}

/** Runs \a spec on \a controller and waits for it to end (at most \a timeoutMs). */
inline JobTiming runJob(sched::Controller &controller, const sched::JobSpec &spec, int timeoutMs = 600000)
{
    JobTiming t;
    QEventLoop loop;
    const auto conn = QObject::connect(&controller, &sched::Controller::jobFinished, &loop, &QEventLoop::quit);
    QTimer guard;
    guard.setSingleShot(true);
    QObject::connect(&guard, &QTimer::timeout, &loop, &QEventLoop::quit);
    QElapsedTimer clock;
    clock.start();
    const int id = controller.submit(spec);
    if (!controller.job(id)->isOver()) {
        guard.start(timeoutMs);
        loop.exec();
    }
    t.wallSeconds = double(clock.nsecsElapsed()) / 1e9;
    QObject::disconnect(conn);
    t.ok = controller.job(id)->done;
    t.notOk = controller.job(id)->total() - t.ok;
    t.taskSeconds = controller.job(id)->runtimeSumUs / 1e6;
    return t;
}

/** Adds a local node of \a localWorkers workers to \a controller and waits until they run. */
inline sched::LocalNode *addLocalNode(sched::Controller &controller, int localWorkers)
{
    exec::WorkerPoolOptions options;
    options.workers = localWorkers;
    auto *local = new sched::LocalNode(options);
    controller.addNode(local);
    // Let the workers start before the clock runs: we measure the job, not process start-up.
    waitUntil([&] { return local->pool().runningWorkers() >= localWorkers; }, 5000);
    return local;
}

/**
 * Runs \a spec on a fresh controller with \a localWorkers local workers and waits for it to finish.
 * If \a warmUp has inputs it runs first, untimed (workers initialised, plugin loaded, task time learned).
 */
inline JobTiming runLocal(const sched::JobSpec &spec, int localWorkers, const sched::JobSpec &warmUp = {})
{
    sched::Controller controller;
    addLocalNode(controller, localWorkers);
    if (!warmUp.inputs.isEmpty())
        runJob(controller, warmUp);
    return runJob(controller, spec);
}

/** An echo job of \a n tasks (inputs 0..n-1). */
inline sched::JobSpec echoJob(const exec::PluginInfo &echo, int n)
{
    sched::JobSpec spec;
    spec.name = QStringLiteral("echo");
    spec.plugin = echo;
    spec.inputs = sched::JobInputs::range(0, 1, n); // as a job file's {"range": [0, n]}
    return spec;
}

/** CPU time (user + system) of this process so far, in seconds. */
inline double processCpuSeconds()
{
    rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/** A field of /proc/self/status in kB (VmHWM, VmRSS), or -1. */
inline qint64 procStatusKb(const char *field)
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray key = QByteArray(field) + ':';
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith(key))
            return line.mid(key.size()).trimmed().split(' ').value(0).toLongLong();
    return -1;
}

/** Value at quantile \a q (0..1) of \a v (sorted here). */
inline double quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
    return v[i];
}

/**
 * Loopback taskfleet-agent child processes sharing one secret and a temporary state directory.
 * Started with start(); ended (terminate, then kill) by the destructor.
 */
class Agents
{
public:
    Agents()
        : m_secret("bench secret " + QByteArray::number(QCoreApplication::applicationPid()))
    {
        QFile f(m_dir.filePath(QStringLiteral("secret")));
        if (f.open(QIODevice::WriteOnly)) {
            f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            f.write(m_secret);
        }
    }
    ~Agents()
    {
        for (auto &p : m_procs)
            p->terminate();
        for (auto &p : m_procs)
            if (!p->waitForFinished(10000)) {
                p->kill();
                p->waitForFinished(5000);
            }
    }
    Agents(const Agents &) = delete;
    Agents &operator=(const Agents &) = delete;

    /** Starts \a count agents of \a workers workers each; returns false unless all listen within 30 s. */
    bool start(int count, int workers)
    {
        for (int i = 0; i < count; ++i) {
            auto p = std::make_unique<QProcess>();
            p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            if (!env.contains(QStringLiteral("QT_LOGGING_RULES")))
                env.insert(QStringLiteral("QT_LOGGING_RULES"),
                           QStringLiteral("tf.*.info=false")); // warnings still show
            p->setProcessEnvironment(env);
            p->start(QCoreApplication::applicationDirPath() + QStringLiteral("/taskfleet-agent"),
                     {QStringLiteral("-p"), QStringLiteral("0"), QStringLiteral("-i"), QStringLiteral("127.0.0.1"),
                      QStringLiteral("-w"), QString::number(workers), QStringLiteral("--state-dir"),
                      m_dir.filePath(QStringLiteral("state%1").arg(m_procs.size())), QStringLiteral("--secret-file"),
                      m_dir.filePath(QStringLiteral("secret"))});
            m_procs.push_back(std::move(p));
            m_ports.push_back(0);
        }
        static const QRegularExpression re(QStringLiteral("listening on \\S+:(\\d+),"));
        QElapsedTimer clock;
        clock.start();
        auto missing = [this] { return std::count(m_ports.begin(), m_ports.end(), quint16(0)); };
        while (missing() > 0 && clock.elapsed() < 30000) {
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
            for (size_t i = 0; i < m_procs.size(); ++i) {
                if (m_ports[i] != 0)
                    continue;
                if (m_procs[i]->state() == QProcess::NotRunning)
                    return false;
                while (m_procs[i]->canReadLine()) {
                    const auto m = re.match(QString::fromUtf8(m_procs[i]->readLine()));
                    if (m.hasMatch())
                        m_ports[i] = quint16(m.captured(1).toUInt());
                }
            }
        }
        return missing() == 0;
    }

    /** Adds one RemoteNode per agent to \a controller and waits until all are online with workers. */
    bool connect(sched::Controller &controller, int timeoutMs = 30000)
    {
        return connectTo(controller, m_ports, timeoutMs, true);
    }

    /**
     * The same for RemoteNodes on other ports of 127.0.0.1 that lead to these agents (for example
     * through an impaired link), with or without the round-trip credit.
     */
    bool connectTo(sched::Controller &controller, const std::vector<quint16> &ports, int timeoutMs, bool delayCredit)
    {
        std::vector<sched::RemoteNode *> nodes;
        for (quint16 port : ports)
            nodes.push_back(addNode(controller, port, delayCredit));
        return waitUntil(
            [&] {
                return std::all_of(nodes.begin(), nodes.end(), [](const sched::RemoteNode *n) {
                    return n->state() == sched::NodeState::Online && n->credit() > 0;
                });
            },
            timeoutMs);
    }

    /** Adds a RemoteNode for 127.0.0.1:\a port (default: agent 0's) to \a controller and starts it; no waiting. */
    sched::RemoteNode *addNode(sched::Controller &controller, quint16 port = 0, bool delayCredit = true)
    {
        sched::RemoteNodeOptions o;
        o.host = QStringLiteral("127.0.0.1");
        o.port = port != 0 ? port : m_ports.at(0);
        o.channel = net::ChannelOptions::fromSecret(m_secret);
        o.delayCredit = delayCredit;
        auto *node = new sched::RemoteNode(o);
        controller.addNode(node);
        node->start();
        return node;
    }

    /** The process id of agent \a i. */
    qint64 pid(size_t i) const { return m_procs.at(i)->processId(); }
    /** The TCP port agent \a i listens on. */
    quint16 port(size_t i) const { return m_ports.at(i); }

    /** The TCP ports the agents listen on (127.0.0.1). */
    const std::vector<quint16> &ports() const { return m_ports; }
    /** "127.0.0.1:PORT" of agent \a i, for programs such as taskfleet-run. */
    QString address(size_t i) const { return QStringLiteral("127.0.0.1:%1").arg(m_ports.at(i)); }
    /** The 0600 file holding the agents' secret. */
    QString secretFile() const { return m_dir.filePath(QStringLiteral("secret")); }

private:
    QTemporaryDir m_dir;
    QByteArray m_secret;
    std::vector<std::unique_ptr<QProcess>> m_procs;
    std::vector<quint16> m_ports;
};

/** The echo plugin, or exits with a message. */
inline exec::PluginInfo echoPlugin(exec::PluginRegistry &registry)
{
    QString error;
    const auto echo = registry.resolve(QStringLiteral("echo"), &error);
    if (!echo) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        std::exit(2);
    }
    return *echo;
}

} // namespace taskfleet::bench
