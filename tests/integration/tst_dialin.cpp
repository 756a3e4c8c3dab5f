// SPDX-License-Identifier: MIT
// Agents that dial the controller (taskfleet-agent --connect, taskfleet-run --listen): real processes on
// loopback and in network namespaces, a firewalled agent, wrong secrets, a restarted controller, a 30 s cut,
// and 100 agents dialing at once into small pre-authentication limits.
#include "agentprocess.h"
#include "netns.h"
#include "testsupport.h"

#include "sched/agentlistener.h"
#include "sched/controller.h"
#include "sched/remotenode.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpServer>
#include <QtTest/QtTest>

#include <memory>
#include <vector>

using namespace taskfleet;

namespace {

const QByteArray Secret = "dial-in test secret";
const QByteArray WrongSecret = "not the dial-in secret";

/** A job file of \a n sleep tasks of \a ms each. */
bool writeSleepJob(const QString &path, int n, int ms)
{
    QByteArray inputs;
    for (int i = 0; i < n; ++i)
        inputs += (i ? "," : "") + QByteArray::number(ms);
    return test::writeFile(path,
                           "{\"name\": \"dial-in sleep\", \"plugin\": \"sleep\", \"inputs\": [" + inputs + "]}\n");
}

/** Results file lines; every index 0..n-1 exactly once with output \a ms; the nodes that ran them, counted. */
bool checkExactlyOnce(const QString &resultsPath, int n, int ms, QHash<QString, int> *byNode, QString *why)
{
    QFile f(resultsPath);
    if (!f.open(QIODevice::ReadOnly)) {
        *why = QStringLiteral("no results file");
        return false;
    }
    QVector<int> seen(n, 0);
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.trimmed().isEmpty())
            continue;
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        const int index = o.value(QLatin1String("index")).toInt(-1);
        if (index < 0 || index >= n || o.value(QLatin1String("output")).toInt() != ms) {
            *why = QStringLiteral("bad record: ") + QString::fromUtf8(line);
            return false;
        }
        if (++seen[index] > 1) {
            *why = QStringLiteral("task %1 recorded twice").arg(index);
            return false;
        }
        (*byNode)[o.value(QLatin1String("node")).toString()] += 1;
    }
    for (int i = 0; i < n; ++i) {
        if (seen.at(i) != 1) {
            *why = QStringLiteral("task %1 has no result").arg(i);
            return false;
        }
    }
    return true;
}

/** Reads \a process's stderr (bounded) until a line matches \a pattern; returns the match (or an invalid one). */
QRegularExpressionMatch waitForStderr(QProcess *process, const QRegularExpression &pattern, QByteArray *seen,
                                      int timeoutMs = 15000)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        seen->append(process->readAllStandardError());
        const QRegularExpressionMatch m = pattern.match(QString::fromLocal8Bit(*seen));
        if (m.hasMatch() || process->state() == QProcess::NotRunning)
            return m;
        process->waitForReadyRead(100);
    }
    return pattern.match(QString::fromLocal8Bit(*seen));
}

/** Runs `ip netns exec NS PROGRAM ARGS` (bounded); true on exit code 0. */
bool runIn(const QString &ns, const QString &program, const QStringList &args, QString *error)
{
    QProcess p;
    p.start(test::NetnsLab::ipProgram(),
            QStringList {QStringLiteral("netns"), QStringLiteral("exec"), ns, program} + args);
    if (!p.waitForFinished(10000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        *error = QStringLiteral("%1 %2: %3")
                     .arg(program, args.join(QLatin1Char(' ')), QString::fromLocal8Bit(p.readAllStandardError()));
        return false;
    }
    return true;
}

/** A taskfleet-agent that dials (--connect --no-listen), killed by its own pid when the test ends. */
class DialingAgent
{
public:
    ~DialingAgent()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    void start(const QStringList &args) { m_process.start(test::program(QStringLiteral("taskfleet-agent")), args); }
    bool waitStarted() { return m_process.waitForStarted(10000); }
    QString output()
    {
        m_text += m_process.readAllStandardOutput();
        m_text += m_process.readAllStandardError();
        return QString::fromLocal8Bit(m_text);
    }
    QProcess &process() { return m_process; }

private:
    QProcess m_process;
    QByteArray m_text;
};

} // namespace

class TestDialIn : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void jobRunsOnAgentsThatDialIn();
    void agentKeepsDialingThroughAControllerRestart();
    void hundredAgentsDialAtOnceIntoSmallLimits();
    void firewalledAgentInANamespaceSurvivesA30sCut();

private:
    QStringList agentArgs(const QString &target, const QString &secretFile, const QString &state, int workers) const;
    QProcess *startRun(const QStringList &args);

    QTemporaryDir m_dir;
    QString m_secret;
    QString m_wrongSecret;
    std::vector<std::unique_ptr<QProcess>> m_runs;
};

void TestDialIn::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_secret = m_dir.filePath(QStringLiteral("secret"));
    m_wrongSecret = m_dir.filePath(QStringLiteral("wrong.secret"));
    QVERIFY(test::writeSecretFile(m_secret, Secret));
    QVERIFY(test::writeSecretFile(m_wrongSecret, WrongSecret));
    QVERIFY(QFileInfo(test::program(QStringLiteral("taskfleet-agent"))).isExecutable());
    QVERIFY(QFileInfo(test::program(QStringLiteral("taskfleet-run"))).isExecutable());
}

QStringList TestDialIn::agentArgs(const QString &target, const QString &secretFile, const QString &state,
                                  int workers) const
{
    return {QStringLiteral("--connect"),
            target,
            QStringLiteral("--no-listen"),
            QStringLiteral("-w"),
            QString::number(workers),
            QStringLiteral("--state-dir"),
            m_dir.filePath(state),
            QStringLiteral("--secret-file"),
            secretFile,
            QStringLiteral("-t"),
            QStringLiteral("120")};
}

QProcess *TestDialIn::startRun(const QStringList &args)
{
    m_runs.push_back(std::make_unique<QProcess>());
    QProcess *p = m_runs.back().get();
    p->start(test::program(QStringLiteral("taskfleet-run")), args);
    return p;
}

// Two agents dial a taskfleet-run that listens; a third, with another secret, is turned away with a clear
// error on both sides, and the job runs exactly once on the two.
void TestDialIn::jobRunsOnAgentsThatDialIn()
{
    constexpr int N = 300, Ms = 20;
    const QString job = m_dir.filePath(QStringLiteral("job1.json"));
    const QString results = m_dir.filePath(QStringLiteral("results1.jsonl"));
    const QString stats = m_dir.filePath(QStringLiteral("stats1.csv"));
    QVERIFY(writeSleepJob(job, N, Ms));
    QProcess *run = startRun({QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("-n"),
                              QStringLiteral("0"), QStringLiteral("--connect-timeout"), QStringLiteral("60"),
                              QStringLiteral("--no-journal"), QStringLiteral("--secret-file"), m_secret,
                              QStringLiteral("-o"), results, QStringLiteral("--stats-csv"), stats,
                              QStringLiteral("--plugin-path"), test::pluginDir(), job});
    QByteArray err;
    const QRegularExpressionMatch m
        = waitForStderr(run, QRegularExpression(QStringLiteral("agents may connect to (127\\.0\\.0\\.1:\\d+)")), &err);
    QVERIFY2(m.hasMatch(), err.constData());
    const QString target = m.captured(1);

    DialingAgent a, b, stranger;
    stranger.start(agentArgs(target, m_wrongSecret, QStringLiteral("stranger"), 1));
    a.start(agentArgs(target, m_secret, QStringLiteral("a"), 2));
    b.start(agentArgs(target, m_secret, QStringLiteral("b"), 2));
    QVERIFY(a.waitStarted() && b.waitStarted() && stranger.waitStarted());

    QVERIFY2(run->waitForFinished(90000 * test::timeScale()), "taskfleet-run did not finish");
    err += run->readAllStandardError();
    qInfo("taskfleet-run:\n%s", err.right(2500).constData());
    QCOMPARE(run->exitStatus(), QProcess::NormalExit);
    QCOMPARE(run->exitCode(), 0);
    QHash<QString, int> byNode;
    QString why;
    QVERIFY2(checkExactlyOnce(results, N, Ms, &byNode, &why), qPrintable(why));
    // Both agents took a share, and each is shown as one that dialed in.
    QCOMPARE(byNode.size(), 2);
    for (auto it = byNode.cbegin(); it != byNode.cend(); ++it)
        QVERIFY2(it.key().contains(QLatin1String("dialed in")) && it.value() > 0, qPrintable(it.key()));

    // The wrong secret: the controller logs it, and the agent says what to check.
    QVERIFY2(err.contains("could not connect") && err.contains("different secret"), err.constData());
    QVERIFY2(QTest::qWaitFor([&] { return stranger.output().contains(QLatin1String("refused this agent")); }, 15000),
             qPrintable(stranger.output()));
    QVERIFY2(stranger.output().contains(QLatin1String("secrets differ")), qPrintable(stranger.output()));
}

// An agent started before its controller keeps dialing; when the controller dies (SIGKILL) mid-job and a new
// one listens on the same port, the agent rejoins it.
void TestDialIn::agentKeepsDialingThroughAControllerRestart()
{
    const quint16 port = test::unusedPort();
    QVERIFY(port != 0);
    const QString target = QStringLiteral("127.0.0.1:%1").arg(port);
    DialingAgent agent;
    agent.start(agentArgs(target, m_secret, QStringLiteral("restart"), 2));
    QVERIFY(agent.waitStarted());
    QVERIFY2(QTest::qWaitFor([&] { return agent.output().count(QLatin1String("dialing again")) >= 2; }, 15000),
             qPrintable(agent.output()));

    const QString job1 = m_dir.filePath(QStringLiteral("job2a.json"));
    const QString results1 = m_dir.filePath(QStringLiteral("results2a.jsonl"));
    QVERIFY(writeSleepJob(job1, 400, 25));
    QProcess *first
        = startRun({QStringLiteral("--listen"), target, QStringLiteral("-n"), QStringLiteral("0"),
                    QStringLiteral("--connect-timeout"), QStringLiteral("60"), QStringLiteral("--no-journal"),
                    QStringLiteral("--secret-file"), m_secret, QStringLiteral("-o"), results1,
                    QStringLiteral("--plugin-path"), test::pluginDir(), job1});
    const auto lines = [&] {
        QFile f(results1);
        return f.open(QIODevice::ReadOnly) ? int(f.readAll().count('\n')) : 0;
    };
    QVERIFY2(QTest::qWaitFor([&] { return lines() >= 40 || first->state() == QProcess::NotRunning; }, 40000),
             qPrintable(agent.output()));
    QVERIFY2(first->state() != QProcess::NotRunning, first->readAllStandardError().constData());
    first->kill(); // SIGKILL: no bye
    QVERIFY(first->waitForFinished(10000));

    constexpr int N = 40, Ms = 10;
    const QString job2 = m_dir.filePath(QStringLiteral("job2b.json"));
    const QString results2 = m_dir.filePath(QStringLiteral("results2b.jsonl"));
    QVERIFY(writeSleepJob(job2, N, Ms));
    QElapsedTimer clock;
    clock.start();
    QProcess *second
        = startRun({QStringLiteral("--listen"), target, QStringLiteral("-n"), QStringLiteral("0"),
                    QStringLiteral("--connect-timeout"), QStringLiteral("60"), QStringLiteral("--no-journal"),
                    QStringLiteral("--secret-file"), m_secret, QStringLiteral("-o"), results2,
                    QStringLiteral("--plugin-path"), test::pluginDir(), job2});
    QVERIFY2(second->waitForFinished(70000), "the second controller did not finish");
    const QByteArray err = second->readAllStandardError();
    qInfo("second controller done %.1f s after it started; the agent rejoined:\n%s", clock.elapsed() / 1000.0,
          err.right(1500).constData());
    QCOMPARE(second->exitCode(), 0);
    QHash<QString, int> byNode;
    QString why;
    QVERIFY2(checkExactlyOnce(results2, N, Ms, &byNode, &why), qPrintable(why));
    QVERIFY2(clock.elapsed() < 40000, "the agent took more than 40 s to come back");
}

// 100 agents (30 in the sanitizer build) start at once and dial one controller whose listener admits only
// 2 pending handshakes (2 per address): the excess is turned away with the busy alert, backs off with
// jitter, and comes back; every agent gets in, none is refused forever.
void TestDialIn::hundredAgentsDialAtOnceIntoSmallLimits()
{
    const int agents = test::sanitized() ? 30 : 100;
    sched::Controller controller;
    sched::AgentListenerOptions options;
    options.server.channel = net::ChannelOptions::fromSecret(Secret);
    options.server.maxPendingHandshakes = 2;
    options.server.maxPendingPerAddress = 2;
    options.node.channel = options.server.channel;
    sched::AgentListener listener(&controller, options);
    QVERIFY2(listener.listen(QHostAddress::LocalHost, 0), qPrintable(listener.errorString()));
    const QString target = QStringLiteral("127.0.0.1:%1").arg(listener.port());

    std::vector<std::unique_ptr<DialingAgent>> procs;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < agents; ++i) {
        procs.push_back(std::make_unique<DialingAgent>());
        procs.back()->start(agentArgs(target, m_secret, QStringLiteral("many-%1").arg(i), 0));
    }
    const auto online = [&] {
        int n = 0;
        for (sched::Node *node : controller.nodes())
            n += node->state() == sched::NodeState::Online ? 1 : 0;
        return n;
    };
    const bool all = QTest::qWaitFor([&] { return online() == agents; }, 120000);
    const net::ServerCounters c = listener.counters();
    qInfo("%d of %d agents online after %.1f s; handshakes: %llu ok, %llu refused busy, %llu evicted, %llu failed",
          online(), agents, clock.elapsed() / 1000.0, c.established, c.rejectedBusy, c.evictedHandshakes,
          c.failedHandshakes);
    QVERIFY2(all, qPrintable(procs.front()->output().right(1500)));
    QCOMPARE(int(controller.nodes().size()), agents); // one node per agent: none counted twice
    QCOMPARE(listener.agentsAccepted(), agents);
}

// The agent's host drops every inbound TCP connection (a firewall, as behind NAT): the controller cannot dial
// it, yet it runs a job by dialing out; its link is then cut for 30 s mid-job and the job still ends with every
// task exactly once, after the agent came back.
void TestDialIn::firewalledAgentInANamespaceSurvivesA30sCut()
{
    QString why;
    if (!test::NetnsLab::available(&why))
        TF_SKIP_OR_FAIL(qPrintable(QStringLiteral("needs network namespaces: %1").arg(why)));
    const QString iptables = QStandardPaths::findExecutable(QStringLiteral("iptables"),
                                                            {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin")});
    if (iptables.isEmpty())
        TF_SKIP_OR_FAIL("needs iptables (Debian package iptables) to firewall the agent's namespace");

    test::NetnsLab lab;
    QString error;
    QVERIFY2(lab.create(2, &error), qPrintable(error));
    constexpr int Controller = 0, AgentHost = 1;
    QVERIFY2(runIn(lab.hostNamespace(AgentHost), iptables,
                   {QStringLiteral("-A"), QStringLiteral("INPUT"), QStringLiteral("-p"), QStringLiteral("tcp"),
                    QStringLiteral("--syn"), QStringLiteral("-j"), QStringLiteral("DROP")},
                   &error),
             qPrintable(error));
    const QString listenAt = QStringLiteral("%1:45460").arg(lab.hostAddress(Controller));
    QProcess *agent = lab.startIn(AgentHost, test::program(QStringLiteral("taskfleet-agent")),
                                  {QStringLiteral("-i"), lab.hostAddress(AgentHost), QStringLiteral("--no-discovery"),
                                   QStringLiteral("--connect"), listenAt, QStringLiteral("-w"), QStringLiteral("2"),
                                   QStringLiteral("-k"), QStringLiteral("10"), QStringLiteral("--state-dir"),
                                   m_dir.filePath(QStringLiteral("fw")), QStringLiteral("--secret-file"), m_secret});
    QVERIFY(agent && agent->waitForStarted(10000));

    // Dialing the agent fails: its port is behind the firewall.
    const QString tiny = m_dir.filePath(QStringLiteral("tiny.json"));
    QVERIFY(writeSleepJob(tiny, 2, 1));
    QProcess *dialer = lab.startIn(
        Controller, test::program(QStringLiteral("taskfleet-run")),
        {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--no-journal"), QStringLiteral("--connect-timeout"),
         QStringLiteral("3"), QStringLiteral("--node"), QStringLiteral("%1:45450").arg(lab.hostAddress(AgentHost)),
         QStringLiteral("--secret-file"), m_secret, QStringLiteral("--plugin-path"), test::pluginDir(), tiny});
    QVERIFY(dialer && dialer->waitForFinished(30000));
    QCOMPARE(dialer->exitCode(), 3);

    // The agent dials the controller instead: a job of 300 x 100 ms on 2 workers, about 15 s.
    constexpr int N = 300, Ms = 100, CutMs = 30000;
    const QString job = m_dir.filePath(QStringLiteral("fw.json"));
    const QString results = m_dir.filePath(QStringLiteral("fw.jsonl"));
    QVERIFY(writeSleepJob(job, N, Ms));
    QElapsedTimer clock;
    clock.start();
    QProcess *run = lab.startIn(Controller, test::program(QStringLiteral("taskfleet-run")),
                                {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--no-journal"),
                                 QStringLiteral("--listen"), listenAt, QStringLiteral("--connect-timeout"),
                                 QStringLiteral("60"), QStringLiteral("--secret-file"), m_secret, QStringLiteral("-o"),
                                 results, QStringLiteral("--plugin-path"), test::pluginDir(), job});
    QVERIFY(run);
    const auto lines = [&] {
        QFile f(results);
        return f.open(QIODevice::ReadOnly) ? int(f.readAll().count('\n')) : 0;
    };
    QVERIFY2(QTest::qWaitFor([&] { return lines() >= 40 || run->state() == QProcess::NotRunning; }, 60000),
             run->readAllStandardError().constData());
    QVERIFY2(run->state() != QProcess::NotRunning, "the job ended before the link could be cut");

    const QString bridgeNs = lab.namespaces().first();
    const QString ip = test::NetnsLab::ipProgram();
    QVERIFY2(QProcess::execute(ip, {QStringLiteral("-n"), bridgeNs, QStringLiteral("link"), QStringLiteral("set"),
                                    QStringLiteral("vh1"), QStringLiteral("down")})
                 == 0,
             "cannot cut the link");
    const int atCut = lines();
    qInfo("t=%.1f s: link of the agent cut at %d results", clock.elapsed() / 1000.0, atCut);
    QTest::qWait(CutMs);
    const int duringCut = lines() - atCut;
    QVERIFY2(QProcess::execute(ip, {QStringLiteral("-n"), bridgeNs, QStringLiteral("link"), QStringLiteral("set"),
                                    QStringLiteral("vh1"), QStringLiteral("up")})
                 == 0,
             "cannot restore the link");
    qInfo("t=%.1f s: link restored (%d results arrived during the cut)", clock.elapsed() / 1000.0, duringCut);

    QVERIFY2(run->waitForFinished(120000), "taskfleet-run did not finish after the link came back");
    const QByteArray err = run->readAllStandardError();
    qInfo("taskfleet-run finished at t=%.1f s:\n%s", clock.elapsed() / 1000.0, err.right(2500).constData());
    QCOMPARE(run->exitCode(), 0);
    QHash<QString, int> byNode;
    QVERIFY2(checkExactlyOnce(results, N, Ms, &byNode, &why), qPrintable(why));
    QVERIFY2(err.contains("dialed in again"), "the agent did not rejoin over a new connection");
}

QTEST_GUILESS_MAIN(TestDialIn)
#include "tst_dialin.moc"
