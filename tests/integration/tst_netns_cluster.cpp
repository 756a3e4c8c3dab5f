// SPDX-License-Identifier: MIT
// Real agents in a namespace LAN: taskfleet-run --discover finds them by broadcast, runs a job, names the stranger.
#include "agentprocess.h"
#include "netns.h"
#include "testsupport.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using taskfleet::test::NetnsLab;

namespace {

const QByteArray GoodSecret = "netns cluster good secret";
const QByteArray OtherSecret = "netns cluster other secret";
constexpr int AgentStartMs = 15000;
constexpr int RunTimeoutMs = 90000;
constexpr int AgentTcpPort = 45450;

constexpr int GoodHostA = 0;
constexpr int GoodHostB = 1;
constexpr int OtherHost = 2;
constexpr int ControllerHost = 3;

/** Waits (bounded) for the agent's "listening on" and "discovery" lines; collects what it printed into *out. */
bool waitListening(QProcess *process, QByteArray *out)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < AgentStartMs && process->state() != QProcess::NotRunning) {
        process->waitForReadyRead(200);
        out->append(process->readAllStandardOutput());
        if (out->contains("taskfleet-agent listening on") && out->contains("taskfleet-agent discovery"))
            return true;
    }
    out->append(process->readAllStandardOutput());
    out->append(process->readAllStandardError());
    return false;
}

} // namespace

class TestNetnsCluster : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void runDiscoversAgentsByBroadcast();

private:
    QProcess *startAgent(NetnsLab &lab, int host, const QString &secretFile, const QStringList &extra);

    QTemporaryDir m_dir;
    QString m_agent;
    QString m_run;
};

void TestNetnsCluster::initTestCase()
{
    QString why;
    if (!NetnsLab::available(&why))
        TF_SKIP_OR_FAIL(
            qPrintable(QStringLiteral("needs network namespaces: %1; tst_discovery_agents covers discovery with "
                                      "real agents on loopback")
                           .arg(why)));
    QVERIFY(m_dir.isValid());
    m_agent = taskfleet::test::program(QStringLiteral("taskfleet-agent"));
    m_run = taskfleet::test::program(QStringLiteral("taskfleet-run"));
    QVERIFY2(QFileInfo(m_agent).isExecutable(), qPrintable(m_agent));
    QVERIFY2(QFileInfo(m_run).isExecutable(), qPrintable(m_run));
}

QProcess *TestNetnsCluster::startAgent(NetnsLab &lab, int host, const QString &secretFile, const QStringList &extra)
{
    QStringList args {QStringLiteral("-p"),
                      QString::number(AgentTcpPort),
                      QStringLiteral("-i"),
                      lab.hostAddress(host),
                      QStringLiteral("-w"),
                      QStringLiteral("2"),
                      QStringLiteral("--state-dir"),
                      m_dir.filePath(QStringLiteral("state-%1").arg(host)),
                      QStringLiteral("--secret-file"),
                      secretFile,
                      QStringLiteral("--idle-exit"),
                      QStringLiteral("120")};
    return lab.startIn(host, m_agent, args + extra);
}

void TestNetnsCluster::runDiscoversAgentsByBroadcast()
{
    const QString good = m_dir.filePath(QStringLiteral("good.secret"));
    const QString other = m_dir.filePath(QStringLiteral("other.secret"));
    QVERIFY(taskfleet::test::writeSecretFile(good, GoodSecret));
    QVERIFY(taskfleet::test::writeSecretFile(other, OtherSecret));

    NetnsLab lab; // processes killed and namespaces deleted on every return path
    QString error;
    QVERIFY2(lab.create(4, &error), qPrintable(error));

    // One agent announces to the limited broadcast (default), one to the subnet's broadcast address.
    QProcess *a = startAgent(lab, GoodHostA, good, {});
    QProcess *b = startAgent(lab, GoodHostB, good, {QStringLiteral("-b"), lab.broadcastAddress()});
    QProcess *stranger = startAgent(lab, OtherHost, other, {QStringLiteral("-b"), lab.broadcastAddress()});
    for (QProcess *p : {a, b, stranger}) {
        QVERIFY(p);
        QByteArray out;
        QVERIFY2(waitListening(p, &out), out.constData());
        QVERIFY2(out.contains("discovery on UDP"), out.constData());
    }

    // 160 sleeps of 100 ms on 2 x 2 workers: about 4 s, long enough to hear the stranger's
    // announcement (every 2 s) and for both agents to take a share.
    const QString jobFile = m_dir.filePath(QStringLiteral("job.json"));
    {
        QFile f(jobFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QByteArray inputs;
        for (int i = 0; i < 160; ++i)
            inputs += (i ? "," : "") + QByteArray("100");
        f.write("{\"name\": \"netns sleep\", \"plugin\": \"sleep\", \"inputs\": [" + inputs + "]}\n");
    }
    const QString results = m_dir.filePath(QStringLiteral("results.jsonl"));
    const QString stats = m_dir.filePath(QStringLiteral("stats.csv"));
    QElapsedTimer clock;
    clock.start();
    QProcess *run = lab.startIn(ControllerHost, m_run,
                                {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--discover=5"),
                                 QStringLiteral("--secret-file"), good, QStringLiteral("-o"), results,
                                 QStringLiteral("--stats-csv"), stats, QStringLiteral("--plugin-path"),
                                 taskfleet::test::pluginDir(), jobFile});
    QVERIFY(run);
    QVERIFY2(run->waitForFinished(RunTimeoutMs), "taskfleet-run did not finish");
    const QString err = QString::fromLocal8Bit(run->readAllStandardError());
    qInfo("taskfleet-run finished after %lld ms; stderr:\n%s", clock.elapsed(), qPrintable(err));
    QCOMPARE(run->exitStatus(), QProcess::NormalExit);
    QCOMPARE(run->exitCode(), 0);

    // Every task exactly once, with its input as output.
    QFile r(results);
    QVERIFY(r.open(QIODevice::ReadOnly));
    QVector<int> seen(160, 0);
    const QList<QByteArray> lines = r.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.trimmed().isEmpty())
            continue;
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        const int index = o.value(QLatin1String("index")).toInt(-1);
        QVERIFY2(index >= 0 && index < 160, line.constData());
        ++seen[index];
        QCOMPARE(o.value(QLatin1String("output")).toInt(), 100);
    }
    for (int i = 0; i < 160; ++i)
        QVERIFY2(seen.at(i) == 1, qPrintable(QStringLiteral("task %1 recorded %2 times").arg(i).arg(seen.at(i))));

    // Both good agents did work (per-node statistics: node_id,node,tasks_done,...).
    QFile s(stats);
    QVERIFY(s.open(QIODevice::ReadOnly));
    QHash<QString, int> done;
    const QList<QByteArray> rows = s.readAll().split('\n');
    for (const QByteArray &row : rows) {
        const QList<QByteArray> cells = row.split(',');
        if (cells.size() > 2)
            done.insert(QString::fromUtf8(cells.at(0)).remove(QLatin1Char('"')), cells.at(2).toInt());
    }
    const QString endpointA = QStringLiteral("%1:%2").arg(lab.hostAddress(GoodHostA)).arg(AgentTcpPort);
    const QString endpointB = QStringLiteral("%1:%2").arg(lab.hostAddress(GoodHostB)).arg(AgentTcpPort);
    QVERIFY2(done.value(endpointA) > 0, qPrintable(err));
    QVERIFY2(done.value(endpointB) > 0, qPrintable(err));
    QCOMPARE(done.value(endpointA) + done.value(endpointB), 160);
    QVERIFY(!done.contains(QStringLiteral("%1:%2").arg(lab.hostAddress(OtherHost)).arg(AgentTcpPort)));

    // The stranger is named.
    QVERIFY2(err.contains(QStringLiteral("1 agent at %1 answers with another secret").arg(lab.hostAddress(OtherHost))),
             qPrintable(err));
}

QTEST_GUILESS_MAIN(TestNetnsCluster)
#include "tst_netns_cluster.moc"
