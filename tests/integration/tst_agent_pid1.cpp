// SPDX-License-Identifier: MIT
// An agent that is PID 1 of its PID namespace (as in a container, or under some init systems) runs jobs:
// its workers must not mistake their parent for init and quit.
#include "agentprocess.h"
#include "testsupport.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QtTest>

#include <unistd.h>

using namespace taskfleet;

class TestAgentPid1 : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void agentAsPid1RunsTheSumOfPrimesJob();

private:
    /** The pid (in our namespace) of the launcher's only child, and that child's pid inside its namespace. */
    static bool childPids(qint64 launcherPid, qint64 *hostPid, qint64 *namespacePid);

    QTemporaryDir m_dir;
    QString m_unshare;
};

void TestAgentPid1::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_unshare = QStandardPaths::findExecutable(QStringLiteral("unshare"));
    if (::geteuid() != 0 || m_unshare.isEmpty())
        TF_SKIP_OR_FAIL("needs root and unshare(1) to make a PID namespace");
    QProcess probe;
    probe.start(m_unshare, {QStringLiteral("--pid"), QStringLiteral("--fork"), QStringLiteral("true")});
    if (!probe.waitForFinished(10000) || probe.exitCode() != 0)
        TF_SKIP_OR_FAIL(qPrintable(QStringLiteral("cannot make a PID namespace: %1")
                                       .arg(QString::fromLocal8Bit(probe.readAllStandardError()))));
}

bool TestAgentPid1::childPids(qint64 launcherPid, qint64 *hostPid, qint64 *namespacePid)
{
    QFile children(QStringLiteral("/proc/%1/task/%1/children").arg(launcherPid));
    if (!children.open(QIODevice::ReadOnly))
        return false;
    const QList<QByteArray> pids = children.readAll().simplified().split(' ');
    if (pids.size() != 1 || pids.first().isEmpty())
        return false;
    *hostPid = pids.first().toLongLong();
    QFile status(QStringLiteral("/proc/%1/status").arg(*hostPid));
    if (!status.open(QIODevice::ReadOnly))
        return false;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("NSpid:")) {
            const QList<QByteArray> ids = line.mid(6).simplified().split(' ');
            *namespacePid = ids.last().toLongLong(); // innermost namespace last
            return true;
        }
    }
    return false;
}

void TestAgentPid1::agentAsPid1RunsTheSumOfPrimesJob()
{
    const QString secret = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(secret, "pid 1 test secret, long enough to be a real one"));
    const QString state = m_dir.filePath(QStringLiteral("state"));
    QVERIFY(QDir().mkpath(state));

    test::AgentProcess agent;
    // --kill-child: if the test dies, the kernel takes the namespace's PID 1 (and so its workers) along.
    agent.setLauncher({m_unshare, QStringLiteral("--pid"), QStringLiteral("--fork"), QStringLiteral("--kill-child")});
    QVERIFY2(agent.start(state, secret, {QStringLiteral("-w"), QStringLiteral("2")}), qPrintable(agent.error()));

    qint64 hostPid = 0, nsPid = 0;
    QVERIFY2(childPids(agent.pid(), &hostPid, &nsPid), "cannot find the agent under unshare");
    QCOMPARE(nsPid, 1); // the premise: the agent is PID 1 where it runs

    QProcess run;
    run.setProcessChannelMode(QProcess::SeparateChannels);
    run.start(test::program(QStringLiteral("taskfleet-run")),
              {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), agent.address(),
               QStringLiteral("--secret-file"), secret, QStringLiteral("--no-journal"), QStringLiteral("--keep-order"),
               test::sourceDir() + QStringLiteral("/resources/jobs/sumprimes.json")});
    QVERIFY(run.waitForFinished(60000));
    const QByteArray out = run.readAllStandardOutput();
    const QByteArray err = run.readAllStandardError();
    QVERIFY2(run.exitCode() == 0, QByteArray(err + "\nagent: " + agent.stderrText()).constData());
    int checked = 0;
    for (const QByteArray &line : out.split('\n')) {
        if (line.trimmed().isEmpty())
            continue;
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        const qint64 n = o.value(QStringLiteral("input")).toInteger();
        QCOMPARE(o.value(QStringLiteral("output")).toInteger(), test::sumPrimesBelow(n));
        QCOMPARE(o.value(QStringLiteral("attempts")).toInt(), 1); // no worker quit on the first try
        ++checked;
    }
    QCOMPARE(checked, 8);
    QVERIFY2(!agent.stderrText().contains("ended unexpectedly"), agent.stderrText().constData());
}

QTEST_GUILESS_MAIN(TestAgentPid1)
#include "tst_agent_pid1.moc"
