// SPDX-License-Identifier: MIT
// The command plugin through real agents: refused without --allow-command (with the reason), run with it.
#include "agentprocess.h"
#include "testsupport.h"

#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;

namespace {
const QByteArray Secret("command agent test secret, long enough to be fine");
const QString Refusal = QStringLiteral("this agent does not allow the command plugin (start it with --allow-command)");
} // namespace

class TestCommandAgent : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void refusedWithoutAllowCommand();
    void runsWithAllowCommand();
    void localNodeMayRunIt();

private:
    struct Result {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
    };
    Result runJob(const QStringList &extraArgs)
    {
        QProcess p;
        QStringList args = extraArgs;
        args << QStringLiteral("-k") << m_job;
        p.start(test::program(QStringLiteral("taskfleet-run")), args);
        Result r;
        if (!p.waitForFinished(60000)) {
            p.kill();
            p.waitForFinished(5000);
            return r;
        }
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    }
    QStringList remoteOnly(const test::AgentProcess &agent) const
    {
        return {QStringLiteral("-n"),
                QStringLiteral("0"),
                QStringLiteral("--node"),
                agent.address(),
                QStringLiteral("--secret-file"),
                m_secret};
    }
    void checkRan(const Result &r)
    {
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 2);
        for (int i = 0; i < 2; ++i) {
            const QJsonObject o = QJsonDocument::fromJson(lines[i]).object();
            const QJsonObject output = o.value(QStringLiteral("output")).toObject();
            QCOMPARE(output.value(QStringLiteral("exit")).toInt(-1), 0);
            QCOMPARE(output.value(QStringLiteral("stdout")).toString(), QStringLiteral("task %1\n").arg(i));
        }
    }

    QTemporaryDir m_dir;
    QString m_secret;
    QString m_job;
};

void TestCommandAgent::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_secret = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(m_secret, Secret));
    m_job = m_dir.filePath(QStringLiteral("job.json"));
    QFile f(m_job);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"plugin": "command", "inputs": ["echo task 0", {"args": ["echo", "task 1"]}]})");
}

void TestCommandAgent::refusedWithoutAllowCommand()
{
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state-refuse")), m_secret,
                         {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("--no-discovery")}),
             qPrintable(agent.error()));
    const Result r = runJob(remoteOnly(agent));
    QVERIFY2(r.exitCode != 0 && r.exitCode != -1, r.err.constData());
    const QByteArray all = r.out + r.err;
    QVERIFY2(all.contains(Refusal.toUtf8()), all.constData());
    QVERIFY(!r.out.contains("\"exit\""));
    QVERIFY(agent.isRunning());
}

void TestCommandAgent::runsWithAllowCommand()
{
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state-allow")), m_secret,
                         {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("--no-discovery"),
                          QStringLiteral("--allow-command")}),
             qPrintable(agent.error()));
    checkRan(runJob(remoteOnly(agent)));
}

void TestCommandAgent::localNodeMayRunIt()
{
    checkRan(runJob({QStringLiteral("-n"), QStringLiteral("2")}));
}

QTEST_GUILESS_MAIN(TestCommandAgent)
#include "tst_command_agent.moc"
