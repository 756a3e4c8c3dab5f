// SPDX-License-Identifier: MIT
// taskfleet-run as a user runs it: a real process, real workers, real plugins, real files.
#include "testsupport.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;

class TestTaskfleetRun : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void sumPrimesDemo_data();
    void sumPrimesDemo();
    void pluginErrorsExitOne();
    void badUsageExitsTwo_data();
    void badUsageExitsTwo();
    void statsCsv();
    void keepOrderAndResultsFile();
    void crashingTasksAreRetriedThenReported();

private:
    struct Run {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
    };
    Run run(const QStringList &args, int timeoutMs = 60000)
    {
        QProcess p;
        p.start(test::program(QStringLiteral("taskfleet-run")), args);
        Run r;
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished(5000);
            return r;
        }
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    }
    QString writeJob(const QByteArray &json, const QString &name = QStringLiteral("job.json"))
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(json);
        return path;
    }
    static QVector<QJsonObject> lines(const QByteArray &jsonl)
    {
        QVector<QJsonObject> out;
        for (const QByteArray &line : jsonl.split('\n'))
            if (!line.trimmed().isEmpty())
                out.append(QJsonDocument::fromJson(line).object());
        return out;
    }

    QTemporaryDir m_dir;
};

void TestTaskfleetRun::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(QFile::exists(test::program(QStringLiteral("taskfleet-run"))));
}

void TestTaskfleetRun::sumPrimesDemo_data()
{
    QTest::addColumn<int>("workers");
    QTest::newRow("1 worker") << 1;
    QTest::newRow("2 workers") << 2;
}

void TestTaskfleetRun::sumPrimesDemo()
{
    QFETCH(int, workers);
    const Run r = run({QStringLiteral("-n"), QString::number(workers),
                       test::sourceDir() + QStringLiteral("/resources/jobs/sumprimes.json")});
    QCOMPARE(r.exitCode, 0);
    const QVector<QJsonObject> results = lines(r.out);
    QCOMPARE(results.size(), 8);
    QSet<int> seen;
    for (const QJsonObject &o : results) {
        const int index = o.value(QStringLiteral("index")).toInt();
        const int n = o.value(QStringLiteral("input")).toInt();
        QCOMPARE(n, 100000 + 100 * index);
        QCOMPARE(qint64(o.value(QStringLiteral("output")).toDouble()), test::sumPrimesBelow(n));
        QCOMPARE(o.value(QStringLiteral("attempts")).toInt(), 1);
        QVERIFY(o.contains(QStringLiteral("node")));
        QVERIFY(o.contains(QStringLiteral("seconds")));
        seen.insert(index);
    }
    QCOMPARE(seen.size(), 8);
    QVERIFY2(r.err.contains("task count | % of all tasks | task time sum | time per task"), r.err.constData());
    QVERIFY(r.err.contains("8 ok, 0 errors, 0 failed"));
}

void TestTaskfleetRun::pluginErrorsExitOne()
{
    const QString job = writeJob(R"({"plugin": "fail", "inputs": ["a", "b"]})");
    const Run r = run({QStringLiteral("-n"), QStringLiteral("1"), job});
    QCOMPARE(r.exitCode, 1);
    const QVector<QJsonObject> results = lines(r.out);
    QCOMPARE(results.size(), 2);
    for (const QJsonObject &o : results) {
        QVERIFY(o.value(QStringLiteral("error")).toString().startsWith(QStringLiteral("requested failure")));
        QCOMPARE(o.value(QStringLiteral("status")).toString(), QStringLiteral("error"));
        QVERIFY(!o.contains(QStringLiteral("output")));
    }
}

void TestTaskfleetRun::badUsageExitsTwo_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("no job") << QStringList {} << QStringLiteral("no job file given");
    QTest::newRow("unknown option") << QStringList {QStringLiteral("--frobnicate"), QStringLiteral("x.json")}
                                    << QStringLiteral("frobnicate");
    QTest::newRow("missing file") << QStringList {QStringLiteral("/nonexistent/job.json")}
                                  << QStringLiteral("/nonexistent/job.json: cannot read");
    QTest::newRow("bad workers") << QStringList {QStringLiteral("-n"), QStringLiteral("lots"), QStringLiteral("x.json")}
                                 << QStringLiteral("--local-workers");
    QTest::newRow("zero workers, no node")
        << QStringList {QStringLiteral("-n"), QStringLiteral("0"),
                        test::sourceDir() + QStringLiteral("/resources/jobs/sumprimes.json")}
        << QStringLiteral("no node to run tasks on");
}

void TestTaskfleetRun::badUsageExitsTwo()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const Run r = run(args);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
}

void TestTaskfleetRun::statsCsv()
{
    const QString job = writeJob(R"({"plugin": "echo", "inputs": {"range": [0, 500]}})");
    const QString csv = m_dir.filePath(QStringLiteral("stats.csv"));
    const Run r = run({QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--stats-csv"), csv, job});
    QCOMPARE(r.exitCode, 0);
    QFile summary(csv);
    QVERIFY(summary.open(QIODevice::ReadOnly));
    const QList<QByteArray> rows = summary.readAll().trimmed().split('\n');
    QCOMPARE(rows.size(), 3); // header, local node, total
    QVERIFY(rows.at(0).startsWith("node_id,node,tasks_done,percent_of_all,task_time_sum_s,time_per_task_s"));
    QCOMPARE(rows.at(1).split(',').at(2), QByteArray("500"));
    QVERIFY(rows.at(2).startsWith("total,total,500,100.00,"));
    QFile tasks(m_dir.filePath(QStringLiteral("stats.tasks.csv")));
    QVERIFY(tasks.open(QIODevice::ReadOnly));
    QCOMPARE(tasks.readAll().trimmed().split('\n').size(), 501);
    QFile series(m_dir.filePath(QStringLiteral("stats.timeseries.csv")));
    QVERIFY(series.open(QIODevice::ReadOnly));
    qint64 total = 0;
    const QList<QByteArray> seriesRows = series.readAll().trimmed().split('\n');
    for (int i = 1; i < seriesRows.size(); ++i)
        total += seriesRows.at(i).split(',').at(2).trimmed().toLongLong();
    QCOMPARE(total, 500);
}

void TestTaskfleetRun::keepOrderAndResultsFile()
{
    const QString job = writeJob(R"({"plugin": "sleep", "inputs": [60, 1, 30, 1, 1, 1]})");
    const QString out = m_dir.filePath(QStringLiteral("results.jsonl"));
    const Run r
        = run({QStringLiteral("-n"), QStringLiteral("3"), QStringLiteral("-k"), QStringLiteral("-o"), out, job});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.isEmpty());
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QVector<QJsonObject> results = lines(f.readAll());
    QCOMPARE(results.size(), 6);
    for (int i = 0; i < 6; ++i)
        QCOMPARE(results.at(i).value(QStringLiteral("index")).toInt(), i);
}

void TestTaskfleetRun::crashingTasksAreRetriedThenReported()
{
    const QString job = writeJob(R"({"plugin": "crash", "inputs": ["abort"], "retries": 1})");
    const Run r = run({QStringLiteral("-n"), QStringLiteral("1"), job});
    QCOMPARE(r.exitCode, 1);
    const QVector<QJsonObject> results = lines(r.out);
    QCOMPARE(results.size(), 1);
    QCOMPARE(results.first().value(QStringLiteral("attempts")).toInt(), 2);
    QCOMPARE(results.first().value(QStringLiteral("status")).toString(), QStringLiteral("failed"));
    QVERIFY(results.first().value(QStringLiteral("error")).toString().contains(QStringLiteral("signal 6")));
}

QTEST_GUILESS_MAIN(TestTaskfleetRun)
#include "tst_taskfleetrun.moc"
