// SPDX-License-Identifier: MIT
// Python functions as jobs: taskfleet-run with the python plugin, on the local node and through
// real agents; job parameters sent once per node; submit-time checks; crashes in user code.
#include "agentprocess.h"
#include "testsupport.h"

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;

namespace {
const QByteArray Secret("python jobs test secret, long enough for a real cluster");

/** Bytes a process has read and written through system calls so far (/proc/PID/io). */
struct IoCounters {
    qint64 read = -1;
    qint64 written = -1;
};

IoCounters ioOf(qint64 pid)
{
    IoCounters io;
    QFile f(QStringLiteral("/proc/%1/io").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return io;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith("rchar:"))
            io.read = line.mid(6).trimmed().toLongLong();
        else if (line.startsWith("wchar:"))
            io.written = line.mid(6).trimmed().toLongLong();
    }
    return io;
}
} // namespace

class TestPythonJobs : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void sumPrimesDemoOnTheLocalNode();
    void sumPrimesDemoThroughAnAgent();
    void printedOutputAndExceptionsTravelWithResults();
    void syntaxErrorOrMissingFunctionRefusedAtSubmit_data();
    void syntaxErrorOrMissingFunctionRefusedAtSubmit();
    void osExitIsRetriedThenFails();
    void parametersTravelOncePerNodeAndReachEveryWorker();
    void agentWithNoPythonRefusesPythonTasks();

private:
    QString job(const QByteArray &script, const QString &function, const QString &inputsJson,
                const QString &extra = {});
    static void checkSums(const test::ProgramRun &r);

    QTemporaryDir m_dir;
    int m_serial = 0;
    QString m_secretFile;
};

void TestPythonJobs::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("python"))), "build the python plugin first");
    m_secretFile = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(m_secretFile, Secret));
}

QString TestPythonJobs::job(const QByteArray &script, const QString &function, const QString &inputsJson,
                            const QString &extra)
{
    const int n = ++m_serial;
    const QString scriptName = QStringLiteral("script%1.py").arg(n);
    const QString jobPath = m_dir.filePath(QStringLiteral("job%1.json").arg(n));
    test::writeFile(m_dir.filePath(scriptName), script);
    test::writeFile(jobPath, QStringLiteral("{\"plugin\": \"python\", \"script\": \"%1\", \"function\": \"%2\", "
                                            "\"inputs\": %3 %4}")
                                 .arg(scriptName, function, inputsJson, extra)
                                 .toUtf8());
    return jobPath;
}

void TestPythonJobs::checkSums(const test::ProgramRun &r)
{
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QVector<QJsonObject> results = r.jsonLines();
    QCOMPARE(results.size(), 8);
    QSet<int> seen;
    for (const QJsonObject &o : results) {
        const qint64 n = o.value(QStringLiteral("input")).toInteger();
        QCOMPARE(n, 100000 + 100 * o.value(QStringLiteral("index")).toInteger());
        QCOMPARE(o.value(QStringLiteral("output")).toInteger(), test::sumPrimesBelow(n));
        QCOMPARE(o.value(QStringLiteral("attempts")).toInt(), 1);
        QVERIFY2(!o.contains(QStringLiteral("stdout")), "the script's __main__ block ran on a worker");
        seen.insert(o.value(QStringLiteral("index")).toInt());
    }
    QCOMPARE(seen.size(), 8);
}

void TestPythonJobs::sumPrimesDemoOnTheLocalNode()
{
    const auto r = test::runProgram(QStringLiteral("taskfleet-run"),
                                    {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--no-journal"),
                                     test::sourceDir() + QStringLiteral("/resources/jobs/sum_primes.json")});
    checkSums(r);
    QVERIFY(r.err.contains("8 ok, 0 errors, 0 failed"));
}

void TestPythonJobs::sumPrimesDemoThroughAnAgent()
{
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state-demo")), m_secretFile,
                         {QStringLiteral("-w"), QStringLiteral("2")}),
             qPrintable(agent.error()));
    const auto r
        = test::runProgram(QStringLiteral("taskfleet-run"),
                           {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), agent.address(),
                            QStringLiteral("--secret-file"), m_secretFile, QStringLiteral("--no-journal"),
                            test::sourceDir() + QStringLiteral("/resources/jobs/sum_primes.json")});
    checkSums(r);
    for (const QJsonObject &o : r.jsonLines())
        QCOMPARE(o.value(QStringLiteral("node")).toString().contains(agent.address()), true);
}

void TestPythonJobs::printedOutputAndExceptionsTravelWithResults()
{
    const QString path = job("def f(x):\n"
                             "    print('got', x)\n"
                             "    return 10 // x\n",
                             QStringLiteral("f"), QStringLiteral("[5, 0, 2]"));
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state-print")), m_secretFile), qPrintable(agent.error()));
    // Once on the local node, once through the agent (whose results carry output in the "logs" array).
    const QList<QStringList> where {{QStringLiteral("-n"), QStringLiteral("1")},
                                    {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"),
                                     agent.address(), QStringLiteral("--secret-file"), m_secretFile}};
    for (const QStringList &nodeArgs : where) {
        const auto r
            = test::runProgram(QStringLiteral("taskfleet-run"),
                               nodeArgs + QStringList {QStringLiteral("--no-journal"), QStringLiteral("-k"), path});
        QVERIFY2(r.exitCode == 1, r.err.constData()); // one task ended with an error
        const QVector<QJsonObject> results = r.jsonLines();
        QCOMPARE(results.size(), 3);
        QCOMPARE(results.at(0).value(QStringLiteral("output")).toInt(), 2);
        QCOMPARE(results.at(0).value(QStringLiteral("stdout")).toString(), QStringLiteral("got 5\n"));
        QCOMPARE(results.at(2).value(QStringLiteral("output")).toInt(), 5);
        const QJsonObject failed = results.at(1);
        QCOMPARE(failed.value(QStringLiteral("status")).toString(), QStringLiteral("error"));
        QCOMPARE(failed.value(QStringLiteral("attempts")).toInt(), 1); // an exception is a result, not a retry
        const QString error = failed.value(QStringLiteral("error")).toString();
        QVERIFY2(error.contains(QStringLiteral("ZeroDivisionError")), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral(", line 3, in f")), qPrintable(error));
        QCOMPARE(failed.value(QStringLiteral("stdout")).toString(), QStringLiteral("got 0\n"));
    }
}

void TestPythonJobs::syntaxErrorOrMissingFunctionRefusedAtSubmit_data()
{
    QTest::addColumn<QByteArray>("script");
    QTest::addColumn<QString>("function");
    QTest::addColumn<QString>("expected");
    QTest::newRow("syntax error") << QByteArray("def f(x):\n    return x\n\ndef g(x)\n    return x\n")
                                  << QStringLiteral("f") << QStringLiteral(".py:4: ");
    QTest::newRow("missing function") << QByteArray("def f(x):\n    return x\n") << QStringLiteral("nothere")
                                      << QStringLiteral("no top-level function named 'nothere' (functions: f)");
}

void TestPythonJobs::syntaxErrorOrMissingFunctionRefusedAtSubmit()
{
    QFETCH(QByteArray, script);
    QFETCH(QString, function);
    QFETCH(QString, expected);
    const QString path = job(script, function, QStringLiteral("[1, 2, 3]"));
    const auto r = test::runProgram(QStringLiteral("taskfleet-run"),
                                    {QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("--no-journal"), path});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(expected.toUtf8()), r.err.constData());
    QVERIFY2(r.err.contains("field \"script\""), r.err.constData());
    QVERIFY(r.out.isEmpty()); // no task ran
}

void TestPythonJobs::osExitIsRetriedThenFails()
{
    const QString path = job("import os\n"
                             "def f(x):\n"
                             "    if x == 0:\n"
                             "        os._exit(3)\n"
                             "    return x * 2\n",
                             QStringLiteral("f"), QStringLiteral("[0, 1, 2]"), QStringLiteral(", \"retries\": 2"));
    const auto r = test::runProgram(
        QStringLiteral("taskfleet-run"),
        {QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("--no-journal"), QStringLiteral("-k"), path});
    QVERIFY2(r.exitCode == 1, r.err.constData());
    const QVector<QJsonObject> results = r.jsonLines();
    QCOMPARE(results.size(), 3);
    QCOMPARE(results.at(0).value(QStringLiteral("status")).toString(), QStringLiteral("failed"));
    QCOMPARE(results.at(0).value(QStringLiteral("attempts")).toInt(), 3); // the first try and both retries
    QVERIFY2(results.at(0).value(QStringLiteral("error")).toString().contains(QStringLiteral("exit")),
             qPrintable(results.at(0).value(QStringLiteral("error")).toString()));
    QCOMPARE(results.at(1).value(QStringLiteral("output")).toInt(), 2);
    QCOMPARE(results.at(2).value(QStringLiteral("output")).toInt(), 4);
}

void TestPythonJobs::parametersTravelOncePerNodeAndReachEveryWorker()
{
    // A 2 MiB constant in the source makes the job's parameters big enough to count: sent per task or per
    // batch, 400 tasks would move hundreds of MiB.
    constexpr int Tasks = 400;
    constexpr qint64 Blob = 2 * 1024 * 1024;
    const QByteArray script = "import os, time\n"
                              "BLOB = '"
                              + QByteArray(Blob, 'x')
                              + "'\n"
                                "def f(x):\n"
                                "    time.sleep(0.004)\n"
                                "    return [x * 3, len(BLOB), os.getpid()]\n";
    const QString path = job(script, QStringLiteral("f"), QStringLiteral("{\"range\": [0, %1]}").arg(Tasks));
    test::AgentProcess a, b;
    QVERIFY2(
        a.start(m_dir.filePath(QStringLiteral("state-a")), m_secretFile, {QStringLiteral("-w"), QStringLiteral("2")}),
        qPrintable(a.error()));
    QVERIFY2(
        b.start(m_dir.filePath(QStringLiteral("state-b")), m_secretFile, {QStringLiteral("-w"), QStringLiteral("2")}),
        qPrintable(b.error()));
    const IoCounters a0 = ioOf(a.pid()), b0 = ioOf(b.pid());
    QVERIFY2(a0.read >= 0 && b0.read >= 0, "cannot read /proc/PID/io");
    const auto r = test::runProgram(QStringLiteral("taskfleet-run"),
                                    {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--node"), a.address(),
                                     QStringLiteral("--node"), b.address(), QStringLiteral("--secret-file"),
                                     m_secretFile, QStringLiteral("--no-journal"), path},
                                    120000);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QVector<QJsonObject> results = r.jsonLines();
    QCOMPARE(results.size(), Tasks);
    QSet<int> seen;
    QSet<QString> nodes;
    QSet<qint64> workers;
    for (const QJsonObject &o : results) {
        const int index = o.value(QStringLiteral("index")).toInt();
        const QJsonArray out = o.value(QStringLiteral("output")).toArray();
        QCOMPARE(out.at(0).toInteger(), qint64(index) * 3);
        QCOMPARE(out.at(1).toInteger(), Blob); // every worker that ran a task had the parameters
        seen.insert(index);
        nodes.insert(o.value(QStringLiteral("node")).toString());
        workers.insert(out.at(2).toInteger());
    }
    QCOMPARE(seen.size(), Tasks);
    QCOMPARE(nodes.size(), 3); // the local node and both agents ran tasks
    QVERIFY2(workers.size() >= 4, qPrintable(QStringLiteral("%1 workers ran tasks").arg(workers.size())));
    // Each agent received the parameters once (plus the plugin upload and small frames) and handed them
    // to each of its 2 workers once.
    const IoCounters a1 = ioOf(a.pid()), b1 = ioOf(b.pid());
    const qint64 limitIn = Blob + 3 * 1024 * 1024, limitOut = 2 * Blob + 3 * 1024 * 1024;
    QVERIFY2(a1.read - a0.read < limitIn, qPrintable(QStringLiteral("agent a read %1 bytes").arg(a1.read - a0.read)));
    QVERIFY2(b1.read - b0.read < limitIn, qPrintable(QStringLiteral("agent b read %1 bytes").arg(b1.read - b0.read)));
    QVERIFY2(a1.written - a0.written < limitOut,
             qPrintable(QStringLiteral("agent a wrote %1 bytes").arg(a1.written - a0.written)));
    QVERIFY2(b1.written - b0.written < limitOut,
             qPrintable(QStringLiteral("agent b wrote %1 bytes").arg(b1.written - b0.written)));
    QVERIFY2(a1.read - a0.read > Blob / 2, "agent a never received the parameters?");
}

void TestPythonJobs::agentWithNoPythonRefusesPythonTasks()
{
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state-nopy")), m_secretFile, {QStringLiteral("--no-python")}),
             qPrintable(agent.error()));
    const QString path = job("def f(x):\n    return x\n", QStringLiteral("f"), QStringLiteral("[1, 2]"));
    const auto r
        = test::runProgram(QStringLiteral("taskfleet-run"),
                           {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), agent.address(),
                            QStringLiteral("--secret-file"), m_secretFile, QStringLiteral("--no-journal"), path});
    QCOMPARE(r.exitCode, 1);
    const QVector<QJsonObject> results = r.jsonLines();
    QCOMPARE(results.size(), 2);
    for (const QJsonObject &o : results) {
        QCOMPARE(o.value(QStringLiteral("status")).toString(), QStringLiteral("failed"));
        QVERIFY2(o.value(QStringLiteral("error")).toString().contains(QStringLiteral("started with --no-python")),
                 qPrintable(o.value(QStringLiteral("error")).toString()));
    }
    // The same agent still runs other plugins.
    const auto echo
        = test::runProgram(QStringLiteral("taskfleet-run"),
                           {QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), agent.address(),
                            QStringLiteral("--secret-file"), m_secretFile, QStringLiteral("--no-journal"),
                            test::sourceDir() + QStringLiteral("/resources/jobs/sumprimes.json")});
    QVERIFY2(echo.exitCode == 0, echo.err.constData());
}

QTEST_GUILESS_MAIN(TestPythonJobs)
#include "tst_python_jobs.moc"
