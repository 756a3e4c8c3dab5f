// SPDX-License-Identifier: MIT
// Real taskfleet-agent processes on 127.0.0.1: remote execution, secrets, garbage, failover, plugin cache, worker count.
#include "agentprocess.h"
#include "loopbacknodes.h"
#include "testsupport.h"

#include "exec/pluginregistry.h"
#include "net/securechannel.h"
#include "net/secureserver.h"
#include "protocol/messages.h"
#include "protocol/version.h"
#include "sched/controller.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QElapsedTimer>
#include <QtCore/QSysInfo>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>

#include <functional>
#include <memory>

#include <csignal>
#include <sys/types.h>

using namespace taskfleet;
using test::AgentProcess;

namespace {
const QByteArray RightSecret("agent test secret: the right one, long enough");
const QByteArray WrongSecret("agent test secret: some other cluster's one");

/** The hello a controller of this build sends, for tests that speak the protocol themselves. */
protocol::Hello controllerHello(const QString &name)
{
    protocol::Hello h;
    h.major = protocol::ProtocolMajor;
    h.minor = protocol::ProtocolMinor;
    h.role = QStringLiteral("controller");
    h.nodeId = name;
    h.hostName = name;
    h.abi = QSysInfo::buildAbi();
    h.qtVersion = QStringLiteral("6");
    return h;
}

/** Collects every record of one controller, for exactly-once checks. */
struct Recorder {
    QHash<int, QVector<sched::TaskRecord>> byJob;
};
} // namespace

class TestAgent : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void jobSplitOverLocalAndTwoAgents();
    void wrongSecretIsRefusedAndAgentKeepsServing();
    void garbageAndPlainTcpAreDropped();
    void runnerExitsThreeWhenNoNodeIsUsable();
    void runnerRejectsNodeWithoutPort();
    void pluginIsUploadedOnce();
    void killedAgentTasksAreRescheduled();
    void workerCountChangedAtRuntimeAndKept();
    void versionMismatchIsIncompatible();
    void heartbeatsAreSeparateFromTaskTime();
    void silentLinkNoticedWithinSeconds();
    void twoControllersShareAnAgentFairly();
    void longTasksOfOneControllerDoNotStarveAnother();
    void otherAbiGetsNoTasks();
    void terminatedAgentSaysByeAndJobGoesOn();
    void signalsPidFileAndIdleExit();
    void badUploadIsRejectedAndSilentControllerDropped();
    void disconnectedControllerTasksAreCancelled();
    void agentRefusesBadHelloAndMalformedFrames();
    void evictedParametersAreAnnouncedAndLateRunsComeBackLost();

private:
    QString newStateDir();
    QString secretFile(const QByteArray &secret);
    sched::RemoteNode *addRemote(sched::Controller *c, const AgentProcess &agent, const QByteArray &secret);
    static bool waitOnline(const QVector<sched::RemoteNode *> &nodes, int timeoutMs = 15000);
    sched::JobSpec job(const QString &plugin, const QVector<QCborValue> &inputs);
    static QVector<QCborValue> range(int n, int value = -1);
    /** Submits and waits (bounded) for the job to end; fills *records. */
    bool runJob(sched::Controller *c, sched::JobSpec spec, QVector<sched::TaskRecord> *records, int timeoutMs = 60000);

    QTemporaryDir m_dir;
    int m_serial = 0;
    exec::PluginInfo m_echo;
    exec::PluginInfo m_sleep;
};

void TestAgent::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFileInfo::exists(test::program(QStringLiteral("taskfleet-agent"))), "build taskfleet-agent first");
    QString error;
    auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY2(echo, qPrintable(error));
    m_echo = *echo;
    auto sleep = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("sleep")), &error);
    QVERIFY2(sleep, qPrintable(error));
    m_sleep = *sleep;
    qputenv("TASKFLEET_WORKER", test::program(QStringLiteral("taskfleet-worker")).toLocal8Bit());
}

QString TestAgent::newStateDir()
{
    const QString path = m_dir.filePath(QStringLiteral("state%1").arg(++m_serial));
    QDir().mkpath(path);
    return path;
}

QString TestAgent::secretFile(const QByteArray &secret)
{
    const QString path = m_dir.filePath(QStringLiteral("secret%1").arg(++m_serial));
    test::writeSecretFile(path, secret);
    return path;
}

sched::RemoteNode *TestAgent::addRemote(sched::Controller *c, const AgentProcess &agent, const QByteArray &secret)
{
    sched::RemoteNodeOptions o = test::loopbackNodeOptions(agent.port(), secret);
    o.channel.handshakeTimeoutMs = 5000;
    o.maxBackoffMs = 2000;
    return test::startRemoteNode(*c, o);
}

bool TestAgent::waitOnline(const QVector<sched::RemoteNode *> &nodes, int timeoutMs)
{
    return QTest::qWaitFor(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [](auto *n) { return n->state() == sched::NodeState::Online; });
        },
        timeoutMs);
}

sched::JobSpec TestAgent::job(const QString &plugin, const QVector<QCborValue> &inputs)
{
    sched::JobSpec spec;
    spec.name = plugin;
    spec.plugin = plugin == QLatin1String("sleep") ? m_sleep : m_echo;
    spec.inputs = inputs;
    spec.retries = 2;
    return spec;
}

QVector<QCborValue> TestAgent::range(int n, int value)
{
    QVector<QCborValue> v;
    for (int i = 0; i < n; ++i)
        v.append(QCborValue(value < 0 ? i : value));
    return v;
}

namespace {
/** Submits a job and collects its records and its end, for tests that act while it runs. */
class JobWatch : public QObject
{
public:
    JobWatch(sched::Controller *c, sched::JobSpec spec)
    {
        connect(c, &sched::Controller::resultsRecorded, this, [this](int jobId, const QVector<sched::TaskRecord> &r) {
            if (jobId == id)
                records += r;
        });
        connect(c, &sched::Controller::jobFinished, this, [this](int jobId) { finished = finished || jobId == id; });
        id = c->submit(std::move(spec));
    }
    int id = -1;
    bool finished = false;
    QVector<sched::TaskRecord> records;
};
} // namespace

bool TestAgent::runJob(sched::Controller *c, sched::JobSpec spec, QVector<sched::TaskRecord> *records, int timeoutMs)
{
    JobWatch watch(c, std::move(spec));
    const bool ok = QTest::qWaitFor([&] { return watch.finished; }, timeoutMs);
    *records += watch.records;
    return ok;
}

/** Every index 0..n-1 exactly once, every one Ok with output == expected(index). */
static bool exactlyOnce(const QVector<sched::TaskRecord> &records, int n,
                        const std::function<QCborValue(int)> &expected, QString *why)
{
    QVector<int> seen(n, 0);
    for (const sched::TaskRecord &r : records) {
        if (r.index < 0 || r.index >= n) {
            *why = QStringLiteral("index %1 out of range").arg(r.index);
            return false;
        }
        if (++seen[r.index] > 1) {
            *why = QStringLiteral("index %1 recorded twice").arg(r.index);
            return false;
        }
        if (r.status != stats::TaskStatus::Ok || r.output != expected(r.index)) {
            *why = QStringLiteral("index %1: status %2, output %3, error %4")
                       .arg(r.index)
                       .arg(int(r.status))
                       .arg(r.output.toDiagnosticNotation(), r.error);
            return false;
        }
    }
    for (int i = 0; i < n; ++i)
        if (seen[i] != 1) {
            *why = QStringLiteral("index %1 has no record").arg(i);
            return false;
        }
    return true;
}

// (a) local node + two agents: correct results and every node did some of the work.
void TestAgent::jobSplitOverLocalAndTwoAgents()
{
    const QString secret = secretFile(RightSecret);
    AgentProcess a1, a2;
    QVERIFY2(a1.start(newStateDir(), secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(a1.error()));
    QVERIFY2(a2.start(newStateDir(), secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(a2.error()));

    sched::Controller c;
    test::addLocalNode(c, 2);
    auto *r1 = addRemote(&c, a1, RightSecret);
    auto *r2 = addRemote(&c, a2, RightSecret);
    QVERIFY(waitOnline({r1, r2}));

    // 20 ms sleeps: long enough that every node gets a share, each returns its input.
    const int n = 120;
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&c, job(QStringLiteral("sleep"), range(n, 20)), &records));
    QString why;
    QVERIFY2(exactlyOnce(
                 records, n, [](int) { return QCborValue(20); }, &why),
             qPrintable(why));

    const auto &nodes = c.statistics().nodes();
    QCOMPARE(nodes.size(), 3);
    for (const auto &node : nodes)
        QVERIFY2(node.tasksDone > 0, qPrintable(QStringLiteral("%1 did no work").arg(node.name)));
    const QString table = c.statistics().printStats();
    QVERIFY2(table.contains(a1.address()) && table.contains(a2.address()), qPrintable(table));

    // And echo values come back intact through the wire.
    records.clear();
    QVERIFY(runJob(&c, job(QStringLiteral("echo"), range(2000)), &records));
    QVERIFY2(exactlyOnce(
                 records, 2000, [](int i) { return QCborValue(i); }, &why),
             qPrintable(why));
}

// (b) wrong secret: refused with the reason, no task runs there; the agent keeps serving the right secret.
void TestAgent::wrongSecretIsRefusedAndAgentKeepsServing()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("2")}),
             qPrintable(agent.error()));

    sched::Controller wrong;
    test::addLocalNode(wrong);
    auto *bad = addRemote(&wrong, agent, WrongSecret);
    const int id = wrong.submit(job(QStringLiteral("echo"), range(10)));
    QVERIFY(QTest::qWaitFor([&] { return bad->state() == sched::NodeState::Refused; }, 10000));
    QVERIFY2(bad->stateReason().contains(QStringLiteral("the secrets differ")), qPrintable(bad->stateReason()));
    QCOMPARE(bad->inFlight(), 0);
    QCOMPARE(wrong.job(id)->done, 0);
    QVERIFY(!bad->hasBeenOnline());
    wrong.cancelJob(id);

    sched::Controller right;
    test::addLocalNode(right);
    auto *good = addRemote(&right, agent, RightSecret);
    QVERIFY(waitOnline({good}));
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&right, job(QStringLiteral("echo"), range(200)), &records));
    QString why;
    QVERIFY2(exactlyOnce(
                 records, 200, [](int i) { return QCborValue(i); }, &why),
             qPrintable(why));
    QVERIFY(agent.isRunning());
}

// (c) plain TCP garbage and a non-TLS client: dropped; the agent stays alive and serves.
void TestAgent::garbageAndPlainTcpAreDropped()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    const QList<QByteArray> payloads {QByteArray(4096, '\xff'), QByteArray("GET / HTTP/1.0\r\nHost: x\r\n\r\n"),
                                      QByteArray("\x00\x00\x00\x05hello", 9)};
    for (const QByteArray &payload : payloads) {
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, agent.port());
        QVERIFY(s.waitForConnected(5000));
        s.write(payload);
        s.flush();
        QVERIFY(QTest::qWaitFor([&] { return s.state() == QAbstractSocket::UnconnectedState; }, 15000));
    }
    QVERIFY(agent.isRunning());

    sched::Controller c;
    test::addLocalNode(c);
    auto *node = addRemote(&c, agent, RightSecret);
    QVERIFY(waitOnline({node}));
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&c, job(QStringLiteral("echo"), range(100)), &records));
    QCOMPARE(records.size(), 100);
}

// (g) taskfleet-run, remote only, nobody accepts: exit 3 within seconds, one reason per node.
void TestAgent::runnerExitsThreeWhenNoNodeIsUsable()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    const quint16 closedPort = test::unusedPort();
    QVERIFY(closedPort != 0);
    QProcess run;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("TASKFLEET_SECRET"));
    run.setProcessEnvironment(env);
    QElapsedTimer clock;
    clock.start();
    run.start(test::program(QStringLiteral("taskfleet-run")),
              {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), agent.address(),
               QStringLiteral("--node"), QStringLiteral("127.0.0.1:%1").arg(closedPort),
               QStringLiteral("--secret-file"), secretFile(WrongSecret),
               test::sourceDir() + QStringLiteral("/resources/jobs/echo-range.json")});
    QVERIFY(run.waitForFinished(20000));
    const qint64 elapsed = clock.elapsed();
    const QString err = QString::fromUtf8(run.readAllStandardError());
    QCOMPARE(run.exitCode(), 3);
    QVERIFY2(elapsed < 11000, qPrintable(QStringLiteral("took %1 ms").arg(elapsed)));
    QVERIFY2(err.contains(agent.address() + QStringLiteral(": TLS handshake failed — the secrets differ")),
             qPrintable(err));
    QVERIFY2(err.contains(QStringLiteral("127.0.0.1:%1: connection refused").arg(closedPort)), qPrintable(err));
    QVERIFY(agent.isRunning());
}

void TestAgent::runnerRejectsNodeWithoutPort()
{
    QProcess run;
    run.start(test::program(QStringLiteral("taskfleet-run")),
              {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), QStringLiteral("127.0.0.1"),
               QStringLiteral("--secret-file"), secretFile(RightSecret),
               test::sourceDir() + QStringLiteral("/resources/jobs/echo-range.json")});
    QVERIFY(run.waitForFinished(10000));
    QCOMPARE(run.exitCode(), 2);
    const QString err = QString::fromUtf8(run.readAllStandardError());
    QVERIFY2(err.contains(QStringLiteral("--node 127.0.0.1: the port is missing")), qPrintable(err));
}

// (e) the plugin is uploaded once; the next job (and the next controller) uploads nothing.
void TestAgent::pluginIsUploadedOnce()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("2")}),
             qPrintable(agent.error()));
    exec::WorkerPoolOptions none;
    none.workers = 0;
    {
        sched::Controller c;
        c.addNode(new sched::LocalNode(none));
        auto *node = addRemote(&c, agent, RightSecret);
        QVERIFY(waitOnline({node}));
        QVector<sched::TaskRecord> records;
        QVERIFY(runJob(&c, job(QStringLiteral("echo"), range(100)), &records));
        QCOMPARE(records.size(), 100);
        QCOMPARE(node->uploads(), 1);
        records.clear();
        QVERIFY(runJob(&c, job(QStringLiteral("echo"), range(100)), &records));
        QCOMPARE(records.size(), 100);
        QCOMPARE(node->uploads(), 1);
        QVERIFY(QTest::qWaitFor([&] { return node->lastStatus().uploads == 1; }, 5000));
    }
    // A new controller: the agent has it in its cache, so nothing is uploaded.
    sched::Controller c2;
    c2.addNode(new sched::LocalNode(none));
    auto *node2 = addRemote(&c2, agent, RightSecret);
    QVERIFY(waitOnline({node2}));
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&c2, job(QStringLiteral("echo"), range(100)), &records));
    QString why;
    QVERIFY2(exactlyOnce(
                 records, 100, [](int i) { return QCborValue(i); }, &why),
             qPrintable(why));
    QCOMPARE(node2->uploads(), 0);
    QVERIFY(QTest::qWaitFor([&] { return node2->lastStatus().workers == 2; }, 5000));
    QCOMPARE(node2->lastStatus().uploads, 1);
}

// (d) kill -9 one of two agents while sleep tasks run: the job completes, every index exactly once.
void TestAgent::killedAgentTasksAreRescheduled()
{
    const QString secret = secretFile(RightSecret);
    AgentProcess a1, a2;
    QVERIFY2(a1.start(newStateDir(), secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(a1.error()));
    QVERIFY2(a2.start(newStateDir(), secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(a2.error()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *r1 = addRemote(&c, a1, RightSecret);
    auto *r2 = addRemote(&c, a2, RightSecret);
    QVERIFY(waitOnline({r1, r2}));

    const int n = 40;
    JobWatch watch(&c, job(QStringLiteral("sleep"), range(n, 100)));
    const QVector<sched::TaskRecord> &records = watch.records;
    const bool &finished = watch.finished;
    QVERIFY(QTest::qWaitFor([&] { return records.size() >= 6 && r1->inFlight() > 0; }, 20000));
    a1.kill9();
    QVERIFY(QTest::qWaitFor([&] { return finished; }, 60000));
    QString why;
    QVERIFY2(exactlyOnce(
                 records, n, [](int) { return QCborValue(100); }, &why),
             qPrintable(why));
    QVERIFY(r1->state() != sched::NodeState::Online);
    QVERIFY(a2.isRunning());
}

// (f) worker count set through the controller while tasks run: no task lost, reported, kept after a restart.
void TestAgent::workerCountChangedAtRuntimeAndKept()
{
    const QString stateDir = newStateDir();
    const QString secret = secretFile(RightSecret);
    quint16 port = 0;
    {
        AgentProcess agent;
        QVERIFY2(agent.start(stateDir, secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(agent.error()));
        port = agent.port();
        sched::Controller c;
        test::addLocalNode(c);
        auto *node = addRemote(&c, agent, RightSecret);
        QVERIFY(waitOnline({node}));
        QCOMPARE(node->workerCount(), 2);

        const int n = 30;
        JobWatch watch(&c, job(QStringLiteral("sleep"), range(n, 80)));
        const QVector<sched::TaskRecord> &records = watch.records;
        const bool &finished = watch.finished;
        QVERIFY(QTest::qWaitFor([&] { return !records.isEmpty(); }, 20000));
        node->setWorkerCount(4);
        QVERIFY(QTest::qWaitFor([&] { return node->workerCount() == 4; }, 10000));
        QVERIFY(QTest::qWaitFor([&] { return finished; }, 60000));
        QString why;
        QVERIFY2(exactlyOnce(
                     records, n, [](int) { return QCborValue(80); }, &why),
                 qPrintable(why));

        // Shrink while idle, then grow back: the agent reports each count.
        node->setWorkerCount(1);
        QVERIFY(QTest::qWaitFor([&] { return node->workerCount() == 1; }, 10000));
        node->setWorkerCount(3);
        QVERIFY(QTest::qWaitFor([&] { return node->workerCount() == 3; }, 10000));
        QVERIFY(agent.terminate());
    }
    // Restarted with the same state dir and no -w: the saved count wins over the default.
    AgentProcess again;
    QVERIFY2(again.start(stateDir, secret, {}, port), qPrintable(again.error()));
    QVERIFY2(again.startupLine().contains(QStringLiteral(", 3 workers,")), qPrintable(again.startupLine()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *node = addRemote(&c, again, RightSecret);
    QVERIFY(waitOnline({node}));
    QCOMPARE(node->workerCount(), 3);
    // An explicit -w wins over the saved count.
    QVERIFY(again.terminate());
    AgentProcess explicitCount;
    QVERIFY2(explicitCount.start(stateDir, secret, {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(explicitCount.error()));
    QVERIFY2(explicitCount.startupLine().contains(QStringLiteral(", 1 workers,")),
             qPrintable(explicitCount.startupLine()));
}

// An agent of another protocol major version: Incompatible, with the reason, and never retried.
void TestAgent::versionMismatchIsIncompatible()
{
    net::ServerOptions so;
    so.channel = net::ChannelOptions::fromSecret(RightSecret);
    net::SecureServer server(so);
    QVector<QCborMap> received;
    int connections = 0;
    connect(&server, &net::SecureServer::channelReady, this, [&](net::SecureChannel *ch) {
        ++connections;
        connect(ch, &net::SecureChannel::messageReceived, this, [&](const QCborMap &m) { received.append(m); });
        protocol::Hello h;
        h.major = protocol::ProtocolMajor + 98;
        h.minor = 0;
        h.role = QStringLiteral("agent");
        h.hostName = QStringLiteral("future-box");
        ch->send(protocol::encode(h));
    });
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));

    sched::Controller c;
    sched::RemoteNodeOptions o = test::loopbackNodeOptions(server.serverPort(), RightSecret);
    o.maxBackoffMs = 200;
    auto *node = test::startRemoteNode(c, o);
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Incompatible; }, 10000));
    QVERIFY2(node->stateReason().contains(QStringLiteral("protocol version %1").arg(protocol::ProtocolMajor + 98)),
             qPrintable(node->stateReason()));
    // Once the closed link is handled (the failed attempt counted), no reconnect is scheduled: an event,
    // not a wait longer than the backoff.
    QVERIFY(QTest::qWaitFor([&] { return node->failedAttempts() >= 1; }, 10000));
    QVERIFY(!node->reconnectScheduled());
    QCOMPARE(connections, 1);
    QCOMPARE(node->state(), sched::NodeState::Incompatible);
}

// The agent refuses a controller of another version and closes a session that sends a malformed frame.
void TestAgent::agentRefusesBadHelloAndMalformedFrames()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    auto session = [&](const QVector<QCborMap> &send, QVector<QCborMap> *got, QString *closeReason) {
        net::SecureChannel ch(net::ChannelOptions::fromSecret(RightSecret));
        bool closed = false;
        connect(&ch, &net::SecureChannel::ready, this, [&] {
            for (const QCborMap &m : send)
                ch.send(m);
        });
        connect(&ch, &net::SecureChannel::messageReceived, this, [&](const QCborMap &m) { got->append(m); });
        connect(&ch, &net::SecureChannel::closed, this, [&](const QString &r) {
            closed = true;
            *closeReason = r;
        });
        ch.connectToHost(QStringLiteral("127.0.0.1"), agent.port());
        return QTest::qWaitFor([&] { return closed; }, 10000);
    };
    auto errorText = [](const QVector<QCborMap> &got) {
        for (const QCborMap &m : got)
            if (m.value(QStringLiteral("t")).toString() == QLatin1String("error"))
                return m.value(QStringLiteral("text")).toString();
        return QString();
    };
    protocol::Hello h;
    h.major = protocol::ProtocolMajor + 1;
    h.role = QStringLiteral("controller");
    QVector<QCborMap> got;
    QString reason;
    QVERIFY(session({protocol::encode(h)}, &got, &reason));
    QVERIFY2(errorText(got).contains(QStringLiteral("protocol version")), qPrintable(errorText(got)));

    h.major = protocol::ProtocolMajor;
    h.nodeId = QStringLiteral("test");
    h.hostName = QStringLiteral("test");
    h.abi = QStringLiteral("x");
    h.qtVersion = QStringLiteral("6");
    QCborMap badRun;
    badRun.insert(QStringLiteral("t"), QStringLiteral("run"));
    badRun.insert(QStringLiteral("sha"), QStringLiteral("not-a-hash"));
    badRun.insert(QStringLiteral("timeout"), 0);
    badRun.insert(QStringLiteral("tasks"), QCborArray());
    got.clear();
    QVERIFY(session({protocol::encode(h), badRun}, &got, &reason));
    QVERIFY2(errorText(got).contains(QStringLiteral("SHA-256")), qPrintable(errorText(got)));

    QCborMap unknown;
    unknown.insert(QStringLiteral("t"), QStringLiteral("exec-shell"));
    got.clear();
    QVERIFY(session({protocol::encode(h), unknown}, &got, &reason));
    QVERIFY2(errorText(got).contains(QStringLiteral("unknown message type")), qPrintable(errorText(got)));

    // Job parameters whose value does not match the SHA-256 they are sent under, and a run naming
    // parameters never sent on the connection, are refused before any task is queued.
    const QString someSha = QString::fromLatin1(QByteArray(64, 'a'));
    QCborMap forged;
    forged.insert(QStringLiteral("t"), QStringLiteral("run"));
    forged.insert(QStringLiteral("sha"), someSha);
    forged.insert(QStringLiteral("timeout"), 0);
    forged.insert(QStringLiteral("tasks"), QCborArray {1, 2});
    forged.insert(QStringLiteral("ps"), QString::fromLatin1(exec::makeJobParameters(QStringLiteral("honest"))->id));
    forged.insert(QStringLiteral("pv"), QStringLiteral("swapped"));
    got.clear();
    QVERIFY(session({protocol::encode(h), forged}, &got, &reason));
    QVERIFY2(errorText(got).contains(QStringLiteral("do not match their SHA-256")), qPrintable(errorText(got)));
    forged.remove(QStringLiteral("pv"));
    got.clear();
    QVERIFY(session({protocol::encode(h), forged}, &got, &reason));
    QVERIFY2(errorText(got).contains(QStringLiteral("never sent on this connection")), qPrintable(errorText(got)));

    // Still alive and serving.
    QVERIFY(agent.isRunning());
    sched::Controller c;
    test::addLocalNode(c);
    auto *node = addRemote(&c, agent, RightSecret);
    QVERIFY(waitOnline({node}));
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&c, job(QStringLiteral("echo"), range(50)), &records));
    QCOMPARE(records.size(), 50);
}

// The agent's store of job parameters is bounded (--value-cache): a value evicted to make room for another is
// announced to the controller that sent it, a run that still names it without its value gets its tasks back as
// Lost (to be dispatched again, with the value), and the value is taken again when it comes back.
void TestAgent::evictedParametersAreAnnouncedAndLateRunsComeBackLost()
{
    AgentProcess agent;
    QVERIFY2(
        agent.start(newStateDir(), secretFile(RightSecret),
                    {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("--value-cache"), QStringLiteral("1")}),
        qPrintable(agent.error()));
    net::SecureChannel ch(net::ChannelOptions::fromSecret(RightSecret));
    QVector<QCborMap> got;
    QString closedBecause;
    connect(&ch, &net::SecureChannel::messageReceived, this, [&](const QCborMap &m) { got.append(m); });
    connect(&ch, &net::SecureChannel::closed, this, [&](const QString &r) { closedBecause = r; });
    ch.connectToHost(QStringLiteral("127.0.0.1"), agent.port());
    QVERIFY(QTest::qWaitFor([&] { return ch.isReady() || !closedBecause.isEmpty(); }, 10000));
    QVERIFY2(ch.isReady(), qPrintable(closedBecause));
    ch.send(protocol::encode(controllerHello(QStringLiteral("test"))));
    // Two values of 0.6 MiB against a bound of 1 MiB: the second one evicts the first.
    const exec::JobParametersPtr x = exec::makeJobParameters(QByteArray(600 * 1024, 'x'));
    const exec::JobParametersPtr y = exec::makeJobParameters(QByteArray(600 * 1024, 'y'));
    auto run = [&](quint64 task, const exec::JobParametersPtr &p, bool withValue) {
        protocol::Run r;
        r.sha256 = QByteArray(64, 'a'); // no such plugin: tasks that get past their parameters fail to load
        r.tasks = {protocol::TaskItem {task, QCborValue(int(task))}};
        r.parametersSha256 = p->id;
        r.parameters = withValue ? p->value : QCborValue();
        r.hasParameters = withValue;
        ch.send(protocol::encode(r));
    };
    auto outcomeOf = [&](quint64 task, QString *text) {
        for (const QCborMap &m : std::as_const(got)) {
            protocol::Results res;
            QString error;
            if (m.value(QStringLiteral("t")).toString() != QLatin1String("results")
                || !protocol::decode(m, &res, &error))
                continue;
            for (const protocol::TaskResult &t : std::as_const(res.results))
                if (t.id == task) {
                    *text = t.value.toString();
                    return t.outcome;
                }
        }
        return -1;
    };
    run(1, x, true);
    run(2, y, true);
    run(3, x, false); // on its way before the controller could hear of the eviction
    QString text;
    QVERIFY2(QTest::qWaitFor([&] { return outcomeOf(3, &text) >= 0 || !closedBecause.isEmpty(); }, 10000),
             "no result for the late run");
    QVERIFY2(closedBecause.isEmpty(), qPrintable(closedBecause));
    QCOMPARE(outcomeOf(3, &text), int(exec::Outcome::Lost));
    QVERIFY2(text.contains(QStringLiteral("evicted")), qPrintable(text));
    QCOMPARE(outcomeOf(1, &text), int(exec::Outcome::LoadFailed)); // got past its parameters
    bool announced = false;
    for (const QCborMap &m : std::as_const(got)) {
        protocol::ParametersEvicted e;
        QString error;
        if (m.value(QStringLiteral("t")).toString() == QLatin1String("parameters-evicted")) {
            QVERIFY2(protocol::decode(m, &e, &error), qPrintable(error));
            QCOMPARE(e.ids, QVector<QByteArray> {x->id});
            announced = true;
        }
    }
    QVERIFY2(announced, "the eviction was not announced");
    // Sent again with its value, it is taken again; named without it afterwards, it is still known.
    run(4, x, true);
    run(5, x, false);
    QVERIFY(QTest::qWaitFor([&] { return outcomeOf(5, &text) >= 0 || !closedBecause.isEmpty(); }, 10000));
    QVERIFY2(closedBecause.isEmpty(), qPrintable(closedBecause));
    QCOMPARE(outcomeOf(4, &text), int(exec::Outcome::LoadFailed));
    QCOMPARE(outcomeOf(5, &text), int(exec::Outcome::LoadFailed));
    // A value never sent on this connection is still a protocol error, not "lost".
    run(6, exec::makeJobParameters(QStringLiteral("never sent")), false);
    QVERIFY(QTest::qWaitFor([&] { return !closedBecause.isEmpty(); }, 10000));
    bool refused = false;
    for (const QCborMap &m : std::as_const(got))
        refused = refused
                  || (m.value(QStringLiteral("t")).toString() == QLatin1String("error")
                      && m.value(QStringLiteral("text")).toString().contains(QStringLiteral("never sent")));
    QVERIFY(refused);
}

// An agent with another ABI is online but gets no task of a plugin built for ours.
void TestAgent::otherAbiGetsNoTasks()
{
    net::ServerOptions so;
    so.channel = net::ChannelOptions::fromSecret(RightSecret);
    net::SecureServer server(so);
    QVector<QString> received;
    connect(&server, &net::SecureServer::channelReady, this, [&](net::SecureChannel *ch) {
        connect(ch, &net::SecureChannel::messageReceived, this,
                [&](const QCborMap &m) { received.append(m.value(QStringLiteral("t")).toString()); });
        protocol::Hello h;
        h.major = protocol::ProtocolMajor;
        h.minor = protocol::ProtocolMinor;
        h.role = QStringLiteral("agent");
        h.nodeId = QStringLiteral("fake");
        h.hostName = QStringLiteral("sparc-box");
        h.abi = QStringLiteral("sparc-big_endian-ilp32");
        h.qtVersion = QStringLiteral("6.4.2");
        h.cores = 4;
        h.workers = 4;
        ch->send(protocol::encode(h));
        protocol::Status st;
        st.workers = 4;
        st.capacity = 4;
        ch->send(protocol::encode(st));
    });
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));

    sched::Controller c;
    test::addLocalNode(c, 1);
    auto *node = test::startRemoteNode(c, test::loopbackNodeOptions(server.serverPort(), RightSecret));
    QVERIFY(waitOnline({node}));
    QString why;
    QVERIFY(!node->canRun(m_echo, &why));
    QVERIFY2(why.contains(QStringLiteral("sparc-big_endian-ilp32")), qPrintable(why));
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&c, job(QStringLiteral("echo"), range(100)), &records));
    QVERIFY2(exactlyOnce(
                 records, 100, [](int i) { return QCborValue(i); }, &why),
             qPrintable(why));
    QVERIFY2(!received.contains(QStringLiteral("run")) && !received.contains(QStringLiteral("plugin-query")),
             qPrintable(received.join(QLatin1Char(','))));
}

// A task longer than the liveness timeout completes (heartbeats keep the link); a frozen agent is dropped.
void TestAgent::heartbeatsAreSeparateFromTaskTime()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret),
                         {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("-k"), QStringLiteral("2")}),
             qPrintable(agent.error()));
    sched::Controller c;
    test::addLocalNode(c);
    sched::RemoteNodeOptions o = test::loopbackNodeOptions(agent.port(), RightSecret);
    o.heartbeatTimeoutMs = 2000;
    auto *node = test::startRemoteNode(c, o);
    QVERIFY(waitOnline({node}));
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&c, job(QStringLiteral("sleep"), range(1, 4500)), &records, 20000));
    QCOMPARE(records.size(), 1);
    QCOMPARE(records.first().status, stats::TaskStatus::Ok);
    QCOMPARE(records.first().attempts, 1);
    QCOMPARE(node->state(), sched::NodeState::Online);

    // Freeze the agent (SIGSTOP, our own child): the controller drops it after the heartbeat timeout.
    ::kill(pid_t(agent.pid()), SIGSTOP);
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Offline; }, 10000));
    QVERIFY2(node->stateReason().contains(QStringLiteral("heartbeat")), qPrintable(node->stateReason()));
    ::kill(pid_t(agent.pid()), SIGCONT);
    // ...and rejoins once it answers again.
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Online; }, 15000));
}

// With default options a silent link (the agent frozen: no FIN, no RST, like a cut cable) is noticed within
// a few of the agent's 1 s heartbeats, not after the 30 s socket timeout.
void TestAgent::silentLinkNoticedWithinSeconds()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *node = addRemote(&c, agent, RightSecret);
    QVERIFY(waitOnline({node}));
    QTest::qWait(2500); // idle long enough that only heartbeats keep the link
    QCOMPARE(node->state(), sched::NodeState::Online);
    ::kill(pid_t(agent.pid()), SIGSTOP);
    QElapsedTimer clock;
    clock.start();
    const bool dropped = QTest::qWaitFor([&] { return node->state() == sched::NodeState::Offline; }, 20000);
    const qint64 ms = clock.elapsed();
    ::kill(pid_t(agent.pid()), SIGCONT);
    QVERIFY(dropped);
    qInfo("silent link noticed after %lld ms", ms);
    QVERIFY2(ms <= sched::RemoteNodeOptions().heartbeatTimeoutMs + 1500 * test::timeScale(),
             qPrintable(QString::number(ms)));
    QVERIFY2(ms >= 3000, "dropped before several heartbeats were missed");
}

// Two controllers on one agent: while A's long sleeps keep both workers busy, B's 20,000 tiny
// tasks must not queue behind them. Measured against B's solo time on the same agent.
void TestAgent::twoControllersShareAnAgentFairly()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("2")}),
             qPrintable(agent.error()));
    auto controller = [&](sched::Controller &c) {
        test::addLocalNode(c);
        return addRemote(&c, agent, RightSecret);
    };
    sched::Controller a, b;
    auto *na = controller(a);
    auto *nb = controller(b);
    QVERIFY(waitOnline({na, nb}));
    // Warm up the workers (plugin loaded), then B alone.
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&b, job(QStringLiteral("echo"), range(2000)), &records));
    auto timeB = [&](qint64 *ms) {
        QEventLoop loop;
        int id = -1;
        connect(&b, &sched::Controller::jobFinished, &loop, [&](int j) {
            if (j == id)
                loop.quit();
        });
        QTimer::singleShot(60000, &loop, &QEventLoop::quit);
        QElapsedTimer clock;
        clock.start();
        id = b.submit(job(QStringLiteral("echo"), range(20000)));
        loop.exec();
        *ms = clock.elapsed();
        return b.job(id) && b.job(id)->isOver() && b.job(id)->done == 20000;
    };
    qint64 solo = 0, shared = 0;
    QVERIFY(timeB(&solo));
    JobWatch longJob(&a, job(QStringLiteral("sleep"), range(120, 100)));          // 6 s of sleeps on 2 workers
    QVERIFY(QTest::qWaitFor([&] { return longJob.records.size() >= 2; }, 20000)); // A holds the workers
    QVERIFY(timeB(&shared));
    qInfo("B's 20,000 tiny tasks: %lld ms alone, %lld ms beside A's 100 ms tasks", solo, shared);
    QVERIFY2(!longJob.finished, "A's job ended before B's: the test measured nothing");
    // Before lanes B waited behind A's whole job (6 s of sleeps). Now B's own time, a little slower for sharing the
    // workers, plus at most a few of A's 100 ms tasks (wall time, not scaled): against B's solo time.
    QVERIFY2(shared < 3 * solo + 1000, qPrintable(QStringLiteral("%1 ms beside A, %2 ms alone").arg(shared).arg(solo)));
    a.cancelJob(longJob.id);
    QVERIFY(QTest::qWaitFor([&] { return longJob.finished; }, 20000));
    QCOMPARE(longJob.records.size(), 120); // every task ended once: done or cancelled
}

// A keeps both workers of an agent busy with 4 s sleeps (two per worker); B's 20,000 tiny tasks
// start while A's first two run. B may wait for one of A's tasks, not for A's whole job (16 s of sleeps on
// 2 workers): once a worker frees, B keeps one (its fair share of two) even in the moments its queue at
// the agent is empty, instead of A's next long task taking it.
void TestAgent::longTasksOfOneControllerDoNotStarveAnother()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("2")}),
             qPrintable(agent.error()));
    auto controller = [&](sched::Controller &c) {
        test::addLocalNode(c);
        return addRemote(&c, agent, RightSecret);
    };
    sched::Controller a, b;
    auto *na = controller(a);
    auto *nb = controller(b);
    QVERIFY(waitOnline({na, nb}));
    QVector<sched::TaskRecord> warm;
    QVERIFY(runJob(&b, job(QStringLiteral("echo"), range(200)), &warm)); // the echo plugin is loaded
    QTest::qWait(1500); // B has been quiet past the pool's grace: A may take both workers

    constexpr int LongMs = 4000;
    JobWatch longJob(&a, job(QStringLiteral("sleep"), range(4, LongMs))); // 2 per worker
    QVERIFY(QTest::qWaitFor([&] { return na->inFlight() >= 2; }, 20000));
    QTest::qWait(200); // both of A's first sleeps have started
    QElapsedTimer clock;
    clock.start();
    JobWatch tiny(&b, job(QStringLiteral("echo"), range(20000)));
    QVERIFY(QTest::qWaitFor([&] { return tiny.finished; }, 60000));
    const qint64 ms = clock.elapsed();
    qInfo("B's 20,000 tiny tasks beside A's %d ms sleeps: %lld ms; A had %d of 4 done", LongMs, ms,
          int(longJob.records.size()));
    QCOMPARE(tiny.records.size(), 20000);
    QVERIFY2(!longJob.finished, "A's job ended before B's: the test measured nothing");
    QVERIFY2(ms > LongMs / 2, "B did not have to wait for A: both workers were not A's, the test measured nothing");
    // Before: B waited for A's first two sleeps and then, its few queued tasks done, for the next two (8 s).
    QVERIFY2(ms < LongMs + 1000 * test::timeScale(), qPrintable(QString::number(ms)));
    QVERIFY(QTest::qWaitFor([&] { return longJob.finished; }, 30000));
    QCOMPARE(longJob.records.size(), 4);
}

// SIGTERM mid-job: the agent says bye, the controller requeues at once, the job completes on the other agent.
void TestAgent::terminatedAgentSaysByeAndJobGoesOn()
{
    const QString secret = secretFile(RightSecret);
    AgentProcess a1, a2;
    QVERIFY2(a1.start(newStateDir(), secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(a1.error()));
    QVERIFY2(a2.start(newStateDir(), secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(a2.error()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *r1 = addRemote(&c, a1, RightSecret);
    auto *r2 = addRemote(&c, a2, RightSecret);
    QVERIFY(waitOnline({r1, r2}));

    const int n = 30;
    JobWatch watch(&c, job(QStringLiteral("sleep"), range(n, 150)));
    const QVector<sched::TaskRecord> &records = watch.records;
    const bool &finished = watch.finished;
    QVERIFY(QTest::qWaitFor([&] { return records.size() >= 4 && r1->inFlight() > 0; }, 20000));
    QElapsedTimer clock;
    clock.start();
    QVERIFY(a1.terminate());
    QVERIFY(QTest::qWaitFor([&] { return r1->state() == sched::NodeState::Offline; }, 5000));
    QVERIFY2(clock.elapsed() < 3000, "the controller should learn of a stopping agent at once (bye)");
    QVERIFY2(r1->stateReason().contains(QStringLiteral("stopping")), qPrintable(r1->stateReason()));
    QVERIFY(QTest::qWaitFor([&] { return finished; }, 60000));
    QString why;
    QVERIFY2(exactlyOnce(
                 records, n, [](int) { return QCborValue(150); }, &why),
             qPrintable(why));
}

void TestAgent::signalsPidFileAndIdleExit()
{
    const QString pidFile = m_dir.filePath(QStringLiteral("agent.pid"));
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret),
                         {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("-P"), pidFile,
                          QStringLiteral("-t"), QStringLiteral("3")}),
             qPrintable(agent.error()));
    QFile f(pidFile);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll().trimmed().toLongLong(), agent.pid());
    ::kill(pid_t(agent.pid()), SIGUSR1);
    QVERIFY(QTest::qWaitFor([&] { return agent.stderrText().contains("taskfleet-agent statistics"); }, 5000));
    // No controller for 3 s: it exits by itself, cleanly, and removes its pid file.
    QVERIFY(QTest::qWaitFor([&] { return !agent.isRunning(); }, 10000));
    QVERIFY(!QFile::exists(pidFile));
}

// An upload whose bytes do not match its SHA-256 is rejected and not stored; a silent controller is dropped.
void TestAgent::badUploadIsRejectedAndSilentControllerDropped()
{
    const QString stateDir = newStateDir();
    AgentProcess agent;
    QVERIFY2(agent.start(stateDir, secretFile(RightSecret),
                         {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("-k"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    net::SecureChannel ch(net::ChannelOptions::fromSecret(RightSecret));
    QVector<QCborMap> got;
    bool closed = false;
    QString reason;
    const protocol::Hello h = controllerHello(QStringLiteral("raw"));
    const QByteArray claimed = QCryptographicHash::hash("the real plugin", QCryptographicHash::Sha256).toHex();
    connect(&ch, &net::SecureChannel::ready, this, [&] {
        ch.send(protocol::encode(h));
        ch.send(
            protocol::encode(protocol::PluginUpload {claimed, QStringLiteral("evil"), QByteArray("something else")}));
    });
    connect(&ch, &net::SecureChannel::messageReceived, this, [&](const QCborMap &m) { got.append(m); });
    connect(&ch, &net::SecureChannel::closed, this, [&](const QString &r) {
        closed = true;
        reason = r;
    });
    ch.connectToHost(QStringLiteral("127.0.0.1"), agent.port());
    auto has = [&](const QString &type) {
        return std::any_of(got.begin(), got.end(),
                           [&](const QCborMap &m) { return m.value(QStringLiteral("t")).toString() == type; });
    };
    QVERIFY(QTest::qWaitFor([&] { return has(QStringLiteral("plugin-rejected")) || closed; }, 10000));
    QVERIFY(has(QStringLiteral("plugin-rejected")));
    QVERIFY(
        !QFile::exists(stateDir + QStringLiteral("/plugins/") + QString::fromLatin1(claimed) + QStringLiteral(".so")));
    // We now stay silent (no heartbeats): with -k 1 the agent drops us within a few seconds.
    QVERIFY(QTest::qWaitFor([&] { return closed; }, 10000));
    QVERIFY(agent.isRunning());
}

// A controller that goes away has its tasks cancelled on the agent: the next controller gets the workers at once.
void TestAgent::disconnectedControllerTasksAreCancelled()
{
    AgentProcess agent;
    QVERIFY2(agent.start(newStateDir(), secretFile(RightSecret), {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    exec::WorkerPoolOptions none;
    none.workers = 0;
    {
        auto first = std::make_unique<sched::Controller>();
        first->addNode(new sched::LocalNode(none));
        auto *node = addRemote(first.get(), agent, RightSecret);
        QVERIFY(waitOnline({node}));
        first->submit(job(QStringLiteral("sleep"), range(20, 1000))); // 20 s of work for one worker
        QVERIFY(QTest::qWaitFor([&] { return node->busyWorkers() == 1; }, 10000));
    } // the first controller is gone
    sched::Controller second;
    second.addNode(new sched::LocalNode(none));
    auto *node = addRemote(&second, agent, RightSecret);
    QVERIFY(waitOnline({node}));
    QElapsedTimer clock;
    clock.start();
    QVector<sched::TaskRecord> records;
    QVERIFY(runJob(&second, job(QStringLiteral("echo"), range(20)), &records, 10000));
    QCOMPARE(records.size(), 20);
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QStringLiteral("took %1 ms").arg(clock.elapsed())));
}

QTEST_GUILESS_MAIN(TestAgent)
#include "tst_agent.moc"
