// SPDX-License-Identifier: MIT
// Distant agents: three real agents behind links of 50 ms ± 10 ms each way with 2 % segment
// loss (tests/support/impairedlink.h). The controller times each link's round trip and gives each node
// credit for it, so 200 tasks of 50 ms finish near their work time and every task ends exactly once.
#include "agentprocess.h"
#include "loopbacknodes.h"
#include "impairedlink.h"
#include "testsupport.h"

#include "exec/pluginregistry.h"
#include "sched/controller.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <memory>

using namespace taskfleet;

namespace {
const QByteArray Secret("distance test secret, long enough for a cluster");
constexpr int Agents = 3;
constexpr int WorkersPerAgent = 2;
constexpr int Tasks = 200;
constexpr int TaskMs = 50;

struct Outcome {
    QHash<int, int> recordsPerIndex;
    QHash<int, sched::TaskRecord> byIndex;
    bool finished = false;
    double wallSeconds = 0;
};

/** A RemoteNode to 127.0.0.1:\a port (an agent, or a link in front of one), added to \a c and started. */
sched::RemoteNode *addNode(sched::Controller &c, quint16 port)
{
    return test::startRemoteNode(c, test::loopbackNodeOptions(port, Secret));
}

Outcome run(sched::Controller &c, sched::JobSpec spec, int timeoutMs)
{
    Outcome out;
    int id = -1;
    QObject guard;
    QObject::connect(&c, &sched::Controller::resultsRecorded, &guard,
                     [&](int jobId, const QVector<sched::TaskRecord> &records) {
                         if (jobId != id)
                             return;
                         for (const sched::TaskRecord &r : records) {
                             ++out.recordsPerIndex[r.index];
                             out.byIndex.insert(r.index, r);
                         }
                     });
    QEventLoop loop;
    QObject::connect(&c, &sched::Controller::jobFinished, &loop, [&](int jobId) {
        if (jobId == id) {
            out.finished = true;
            loop.quit();
        }
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    QElapsedTimer clock;
    clock.start();
    id = c.submit(std::move(spec));
    if (!out.finished)
        loop.exec();
    out.wallSeconds = double(clock.nsecsElapsed()) / 1e9;
    return out;
}
} // namespace

class TestDistance : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void linkDelaysAndLosesAsConfigured();
    void distantAgentsKeepTheirWorkersBusy();
    void loopbackAgentsGetLittleDelayCredit();
    void firstCreditCoversTheRoundTrip();
    void freshAgentRunsRightBehindTheUpload();
    void cachedPluginRunsWithoutAQuery();
    void agentTimelineRecordsTheStartUp();

private:
    sched::JobSpec sleepJob(int tasks, int ms) const;

    QTemporaryDir m_dir;
    QString m_secretFile;
    exec::PluginInfo m_sleep;
    std::vector<std::unique_ptr<test::AgentProcess>> m_agents;
};

void TestDistance::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QString error;
    const auto sleep = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("sleep")), &error);
    QVERIFY2(sleep, qPrintable(error));
    m_sleep = *sleep;
    qputenv("TASKFLEET_WORKER", test::program(QStringLiteral("taskfleet-worker")).toLocal8Bit());
    m_secretFile = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(m_secretFile, Secret));
    for (int i = 0; i < Agents; ++i) {
        auto agent = std::make_unique<test::AgentProcess>();
        QVERIFY2(agent->start(m_dir.filePath(QStringLiteral("state%1").arg(i)), m_secretFile,
                              {QStringLiteral("-w"), QString::number(WorkersPerAgent)}),
                 qPrintable(agent->error()));
        m_agents.push_back(std::move(agent));
    }
}

sched::JobSpec TestDistance::sleepJob(int tasks, int ms) const
{
    sched::JobSpec spec;
    spec.name = QStringLiteral("sleeps");
    spec.plugin = m_sleep;
    for (int i = 0; i < tasks; ++i)
        spec.inputs.append(ms);
    return spec;
}

// The impairment itself: without it the other tests would prove nothing. A probe's round trip through
// the link is at least the two one-way delays, and losses happen at about the configured rate.
void TestDistance::linkDelaysAndLosesAsConfigured()
{
    test::LinkProfile profile;
    profile.delayMs = 40;
    profile.loss = 0.5;
    profile.segmentBytes = 10;
    test::ImpairedLink link(QHostAddress::LocalHost, m_agents.front()->port(), profile);
    QVERIFY(link.start());
    QTcpSocket s;
    QElapsedTimer clock;
    clock.start();
    s.connectToHost(QHostAddress::LocalHost, link.port());
    QVERIFY(s.waitForConnected(5000));
    // Not a TLS hello: the agent answers by closing, and the close itself crosses the link.
    s.write(QByteArray(200, 'x'));
    QTRY_VERIFY_WITH_TIMEOUT(s.state() == QAbstractSocket::UnconnectedState, 15000);
    QVERIFY2(clock.elapsed() >= 2 * profile.delayMs, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(link.segments() >= 20); // 200 bytes in 10-byte segments towards the agent, and any alert back
    QVERIFY2(link.lostSegments() >= 4 && link.lostSegments() <= 16, qPrintable(QString::number(link.lostSegments())));
}

// The case: 200 × 50 ms on 3 agents × 2 workers behind 50 ms ± 10 ms each way, 2 % loss. The work
// is 1.67 s; with credit of capacity + 1 the workers idled most of the time (5.7–6.8 s).
void TestDistance::distantAgentsKeepTheirWorkersBusy()
{
    test::LinkProfile profile;
    profile.delayMs = 50;
    profile.jitterMs = 10;
    profile.loss = 0.02;
    std::vector<std::unique_ptr<test::ImpairedLink>> links;
    sched::Controller c;
    test::addLocalNode(c);
    QVector<sched::RemoteNode *> nodes;
    for (int i = 0; i < Agents; ++i) {
        profile.seed = quint32(150 + 10 * i);
        links.push_back(std::make_unique<test::ImpairedLink>(QHostAddress::LocalHost, m_agents[i]->port(), profile));
        QVERIFY(links.back()->start());
        nodes.append(addNode(c, links.back()->port()));
    }
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(nodes.cbegin(), nodes.cend(),
                                         [](const sched::RemoteNode *n) {
                                             return n->state() == sched::NodeState::Online && n->workerCount() > 0;
                                         }),
                             30000);

    // Warm up: the plugin is uploaded and each node has measured its task runtime.
    const Outcome warm = run(c, sleepJob(3 * Agents * WorkersPerAgent, TaskMs), 60000);
    QVERIFY(warm.finished);

    const Outcome out = run(c, sleepJob(Tasks, TaskMs), 60000);
    QVERIFY(out.finished);
    QCOMPARE(out.byIndex.size(), Tasks);
    for (int i = 0; i < Tasks; ++i) {
        QCOMPARE(out.recordsPerIndex.value(i), 1); // exactly once
        QCOMPARE(out.byIndex.value(i).status, stats::TaskStatus::Ok);
        QCOMPARE(out.byIndex.value(i).output.toInteger(), qint64(TaskMs));
    }
    for (const sched::RemoteNode *n : std::as_const(nodes)) {
        // Timed through the link: two one-way delays of 50 ± 10 ms, a retransmission at most adding more.
        QVERIFY2(n->roundTripUs() >= 70000 && n->roundTripUs() < 1000000,
                 qPrintable(QString::number(n->roundTripUs())));
        QVERIFY2(n->delayCredit() >= 3, qPrintable(QString::number(n->delayCredit())));
    }
    const double workSeconds = double(Tasks) * TaskMs / 1000.0 / (Agents * WorkersPerAgent);
    qInfo(
        "200 x 50 ms over 100 ms RTT links with 2 %% loss: %.2f s wall, work %.2f s (%.2fx); losses %llu of %llu "
        "segments",
        out.wallSeconds, workSeconds, out.wallSeconds / workSeconds,
        static_cast<unsigned long long>(links[0]->lostSegments() + links[1]->lostSegments() + links[2]->lostSegments()),
        static_cast<unsigned long long>(links[0]->segments() + links[1]->segments() + links[2]->segments()));
    // Generous for a loaded CI machine, yet well below the 5.7 s the old credit took.
    QVERIFY2(out.wallSeconds < 2.0 * workSeconds, qPrintable(QString::number(out.wallSeconds)));
}

// On loopback the round trip is tiny, so the delay credit stays at about the old allowance (one task):
// no node hoards tasks it cannot start.
void TestDistance::loopbackAgentsGetLittleDelayCredit()
{
    sched::Controller c;
    test::addLocalNode(c);
    sched::RemoteNode *node = addNode(c, m_agents.front()->port());
    QTRY_VERIFY_WITH_TIMEOUT(node->state() == sched::NodeState::Online && node->workerCount() > 0, 30000);
    const Outcome out = run(c, sleepJob(20, TaskMs), 60000);
    QVERIFY(out.finished);
    QCOMPARE(out.byIndex.size(), 20);
    QVERIFY(node->roundTripUs() > 0);
    QVERIFY2(node->roundTripUs() < 50000, qPrintable(QString::number(node->roundTripUs())));
    // A loopback round trip is far below a 50 ms task: one task per worker at most, whatever the sanitizers cost.
    QVERIFY2(node->delayCredit() <= WorkersPerAgent, qPrintable(QString::number(node->delayCredit())));
}

namespace {
/** 50 ms each way, nothing else: round trips counted by the clock. */
test::LinkProfile cleanLink()
{
    test::LinkProfile profile;
    profile.delayMs = 50;
    return profile;
}
constexpr int RoundTripMs = 100;
constexpr int ShortTaskMs = 10;
} // namespace

// Before any result the task's runtime is unknown; it is taken to be one round trip, so the first
// dispatch to a distant node covers the round trip (the old rule gave nothing beyond capacity + 1 until then).
void TestDistance::firstCreditCoversTheRoundTrip()
{
    test::ImpairedLink link(QHostAddress::LocalHost, m_agents.front()->port(), cleanLink());
    QVERIFY(link.start());
    sched::Controller c;
    test::addLocalNode(c);
    sched::RemoteNode *node = addNode(c, link.port());
    QTRY_VERIFY_WITH_TIMEOUT(node->state() == sched::NodeState::Online && node->roundTripUs() >= 70000, 30000);
    // No job ran on this controller: the node knows the round trip, not the tasks. Three round trips (the
    // smoothed one plus four deviations, as the first sample sets them) of tasks one round trip long, per worker.
    QVERIFY2(node->delayCredit() >= 2 * WorkersPerAgent, qPrintable(QString::number(node->delayCredit())));
    QVERIFY2(node->credit() >= WorkersPerAgent + 2 * WorkersPerAgent, qPrintable(QString::number(node->credit())));
}

// An agent without the plugin gets it and the tasks in one go: no plugin-query (its hello said what
// it holds) and no wait for plugin-stored. From submit to the result: the upload and run out (half a round
// trip and the transfer), the task, the result back (half a round trip); asking first and waiting for the
// store took two round trips more.
void TestDistance::freshAgentRunsRightBehindTheUpload()
{
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("fresh-state")), m_secretFile,
                         {QStringLiteral("-w"), QString::number(WorkersPerAgent)}),
             qPrintable(agent.error()));
    test::ImpairedLink link(QHostAddress::LocalHost, agent.port(), cleanLink());
    QVERIFY(link.start());
    sched::Controller c;
    test::addLocalNode(c);
    sched::RemoteNode *node = addNode(c, link.port());
    QTRY_VERIFY_WITH_TIMEOUT(node->state() == sched::NodeState::Online, 30000);
    const Outcome out = run(c, sleepJob(1, ShortTaskMs), 30000);
    QVERIFY(out.finished);
    QCOMPARE(out.byIndex.value(0).status, stats::TaskStatus::Ok);
    QCOMPARE(node->uploads(), 1);
    const double ms = out.wallSeconds * 1000;
    qInfo("fresh agent, 100 ms RTT: first result %.0f ms after submit", ms);
    // One round trip, the task and the upload's transfer and store (here about 30 ms); each round trip more fails.
    QVERIFY2(ms < 1.9 * RoundTripMs + ShortTaskMs, qPrintable(QString::number(ms)));
}

// A controller new to an agent that has the plugin sends the run at once (the agent's hello listed
// its cache): the first result one round trip and the task after submit, not two.
void TestDistance::cachedPluginRunsWithoutAQuery()
{
    test::ImpairedLink link(QHostAddress::LocalHost, m_agents.front()->port(), cleanLink());
    QVERIFY(link.start());
    {
        // Makes sure the agent has it (earlier tests usually uploaded it already).
        sched::Controller warm;
        test::addLocalNode(warm);
        sched::RemoteNode *node = addNode(warm, m_agents.front()->port());
        QTRY_VERIFY_WITH_TIMEOUT(node->state() == sched::NodeState::Online, 30000);
        QVERIFY(run(warm, sleepJob(1, 1), 30000).finished);
    }
    sched::Controller c;
    test::addLocalNode(c);
    sched::RemoteNode *node = addNode(c, link.port());
    QTRY_VERIFY_WITH_TIMEOUT(node->state() == sched::NodeState::Online, 30000);
    const Outcome out = run(c, sleepJob(1, ShortTaskMs), 30000);
    QVERIFY(out.finished);
    QCOMPARE(out.byIndex.value(0).status, stats::TaskStatus::Ok);
    QCOMPARE(node->uploads(), 0);
    const double ms = out.wallSeconds * 1000;
    qInfo("cached plugin, 100 ms RTT: first result %.0f ms after submit", ms);
    // A plugin-query first would add a whole round trip (at least 210 ms).
    QVERIFY2(ms < 1.7 * RoundTripMs + ShortTaskMs, qPrintable(QString::number(ms)));
}

// TASKFLEET_TIMELINE (bench_distance_netsim.sh reads it): the agent writes one line per event, with the
// name the controller knows it by, and each task's runtime, so a task's start is its end minus its runtime.
void TestDistance::agentTimelineRecordsTheStartUp()
{
    const QString path = m_dir.filePath(QStringLiteral("timeline"));
    qputenv("TASKFLEET_TIMELINE", QFile::encodeName(path));
    test::AgentProcess agent;
    const bool started = agent.start(m_dir.filePath(QStringLiteral("timeline-state")), m_secretFile,
                                     {QStringLiteral("-w"), QString::number(WorkersPerAgent)});
    qunsetenv("TASKFLEET_TIMELINE");
    QVERIFY2(started, qPrintable(agent.error()));
    {
        sched::Controller c;
        test::addLocalNode(c);
        sched::RemoteNode *node = addNode(c, agent.port());
        QTRY_VERIFY_WITH_TIMEOUT(node->state() == sched::NodeState::Online, 30000);
        QVERIFY(run(c, sleepJob(3, ShortTaskMs), 30000).finished);
    }
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString name = QStringLiteral("127.0.0.1:%1").arg(agent.port());
    QHash<QByteArray, int> events;
    int runtimesAtLeastTheTask = 0;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.isEmpty())
            continue;
        const QList<QByteArray> f = line.split(' ');
        QVERIFY2(f.size() >= 4, line.constData());
        QVERIFY2(f[0].toLongLong() > 1700000000LL * 1000000, line.constData()); // microseconds since 1970
        QCOMPARE(f[1], QByteArray("agent"));
        QCOMPARE(QString::fromUtf8(f[2]), name);
        ++events[f[3]];
        if (f[3] == "task-done" && f.size() > 4 && f[4].toLongLong() >= ShortTaskMs * 1000)
            ++runtimesAtLeastTheTask;
    }
    for (const char *e : {"tls-ready", "hello", "upload-received", "plugin-stored", "run", "results"})
        QVERIFY2(events.value(e) >= 1, e);
    QCOMPARE(events.value("task-done"), 3);
    QCOMPARE(runtimesAtLeastTheTask, 3);
}

QTEST_GUILESS_MAIN(TestDistance)
#include "tst_distance.moc"
