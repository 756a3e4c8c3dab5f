// SPDX-License-Identifier: MIT
// taskfleet-run as a user runs it: a real process, real workers, real plugins, real files.
#include "testsupport.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QElapsedTimer>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QtTest>

#include <csignal>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

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
    void bigRangeJobInBoundedMemory();
    void defaultJournalGoesOnceEveryJobEnded();
    void bigLinesJobInBoundedMemory();

private:
    struct Run {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
    };
    Run run(const QStringList &args, int timeoutMs = 60000, const QString &secret = QString())
    {
        QProcess p;
        // Default journals go to this test's folder, not the user's ~/.local/state.
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_STATE_HOME"), stateDir());
        if (!secret.isEmpty())
            env.insert(QStringLiteral("TASKFLEET_SECRET"), secret);
        p.setProcessEnvironment(env);
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
    struct Measured {
        int exitCode = -1; ///< -1: ran past its time (killed); -2: crashed
        double peakMb = 0; ///< the largest RSS of this run's process (or of one of its workers, if larger)
        QByteArray err;
    };
    /**
     * Runs taskfleet-run with \a args as its own child and waits for it with wait4(), whose usage is that
     * process's alone (RUSAGE_CHILDREN would be the largest of every child this test ever waited for).
     */
    Measured runMeasured(const QStringList &args, int timeoutMs)
    {
        const QByteArray program = QFile::encodeName(test::program(QStringLiteral("taskfleet-run")));
        QList<QByteArray> argBytes {program};
        for (const QString &a : args)
            argBytes.append(a.toLocal8Bit());
        std::vector<char *> argv;
        for (QByteArray &a : argBytes)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_STATE_HOME"), stateDir());
        QList<QByteArray> envBytes;
        for (const QString &e : env.toStringList())
            envBytes.append(e.toLocal8Bit());
        std::vector<char *> envp;
        for (QByteArray &e : envBytes)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        const QByteArray errPath = QFile::encodeName(m_dir.filePath(QStringLiteral("measured.err")));
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&files, 2, errPath.constData(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        Measured m;
        pid_t pid = -1;
        const int spawned = posix_spawn(&pid, program.constData(), &files, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&files);
        if (spawned != 0)
            return m;
        QElapsedTimer clock;
        clock.start();
        int status = 0;
        rusage usage {};
        pid_t ended = 0;
        while ((ended = wait4(pid, &status, WNOHANG, &usage)) == 0 && clock.elapsed() < timeoutMs)
            QThread::msleep(20);
        if (ended == 0) {
            ::kill(pid, SIGKILL);
            wait4(pid, &status, 0, &usage);
            return m;
        }
        m.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -2;
        m.peakMb = double(usage.ru_maxrss) / 1024;
        QFile err(QFile::decodeName(errPath));
        if (err.open(QIODevice::ReadOnly))
            m.err = err.readAll();
        return m;
    }
    QString stateDir() const { return m_dir.filePath(QStringLiteral("state")); }
    QStringList defaultJournals() const
    {
        return QDir(stateDir() + QStringLiteral("/taskfleet/journal"))
            .entryList({QStringLiteral("*.tfj")}, QDir::Files);
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

// A range's inputs are made as tasks start, not held. 3 million echo tasks through the real taskfleet-run, every
// result once and right; and its peak RSS does not grow with the job: measured at 300,000 tasks and at 3 million
// (each run its own process), the difference stays under 16 MB, 6 bytes a task. Inputs held as values cost
// more than 20 bytes a task.
void TestTaskfleetRun::bigRangeJobInBoundedMemory()
{
    const bool sanitized = test::sanitized(); // memory bounds mean nothing there
    const qint64 small = sanitized ? 20000 : 300000, n = sanitized ? 200000 : 3000000;
    const auto rangeRun = [this](qint64 count, const QString &out) {
        const QString job
            = writeJob(QStringLiteral(R"({"plugin": "echo", "inputs": {"range": [0, %1]}})").arg(count).toUtf8(),
                       QStringLiteral("big.json"));
        return runMeasured({QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("-o"), out, job}, 150000);
    };
    const Measured few = rangeRun(small, m_dir.filePath(QStringLiteral("small.jsonl")));
    QVERIFY2(few.exitCode == 0, few.err.constData());
    const QString out = m_dir.filePath(QStringLiteral("big.jsonl"));
    const Measured many = rangeRun(n, out);
    QVERIFY2(many.exitCode == 0, many.err.constData());
    qInfo("echo tasks in a range: taskfleet-run peak RSS %.1f MB at %lld, %.1f MB at %lld", few.peakMb,
          static_cast<long long>(small), many.peakMb, static_cast<long long>(n));
    if (!sanitized)
        QVERIFY2(
            many.peakMb - few.peakMb < 16,
            qPrintable(QStringLiteral("%1 MB more for %2 more tasks").arg(many.peakMb - few.peakMb).arg(n - small)));

    // Every index exactly once, its input and output the index itself. Lines look like
    // {"index":7,"input":7,"output":7,...}: read the three numbers without a JSON parser (3 million lines).
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    std::vector<bool> seen(size_t(n), false);
    qint64 count = 0;
    const auto number = [](const QByteArray &line, const char *key, qint64 *value) {
        const qsizetype at = line.indexOf(key);
        if (at < 0)
            return false;
        qsizetype i = at + qsizetype(qstrlen(key));
        qsizetype j = i;
        while (j < line.size() && line.at(j) >= '0' && line.at(j) <= '9')
            ++j;
        bool ok = false;
        *value = line.mid(i, j - i).toLongLong(&ok);
        return ok;
    };
    while (!f.atEnd()) {
        const QByteArray line = f.readLine();
        qint64 index = -1, input = -1, output = -1;
        QVERIFY2(number(line, "\"index\":", &index) && number(line, "\"input\":", &input)
                     && number(line, "\"output\":", &output),
                 line.constData());
        QVERIFY2(index >= 0 && index < n && !seen[size_t(index)], line.constData());
        QVERIFY2(input == index && output == index, line.constData());
        seen[size_t(index)] = true;
        ++count;
    }
    QCOMPARE(count, n);
}

// A file's lines are read as their tasks start, and journaled in records of bounded size. 1 million short lines
// (24 MB) through the real taskfleet-run with a journal: every line's result once and right; and its peak RSS does
// not grow with the lines' text: measured at 100,000 lines and at 1 million (each run its own process), the
// difference stays under 32 MB, 35 bytes a line (where each line starts is kept, among others). The lines held
// as values cost over 200 bytes a line.
void TestTaskfleetRun::bigLinesJobInBoundedMemory()
{
    const bool sanitized = test::sanitized();
    const qint64 small = sanitized ? 10000 : 100000, n = sanitized ? 100000 : 1000000;
    const auto linesRun = [this](qint64 count, const QString &out) {
        const QString name = QStringLiteral("lines-%1").arg(count);
        QFile f(m_dir.filePath(name + QStringLiteral(".txt")));
        if (!f.open(QIODevice::WriteOnly))
            return Measured {};
        QByteArray block;
        for (qint64 i = 0; i < count; ++i) {
            block += "line " + QByteArray::number(i) + " of the big file\n";
            if (block.size() > (1 << 20)) {
                f.write(block);
                block.clear();
            }
        }
        f.write(block);
        f.close();
        const QString job
            = writeJob(QStringLiteral(R"({"plugin": "echo", "inputs": {"lines": "%1.txt"}})").arg(name).toUtf8(),
                       name + QStringLiteral(".json"));
        return runMeasured({QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--journal"),
                            m_dir.filePath(name + QStringLiteral(".tfj")), QStringLiteral("-o"), out, job},
                           150000);
    };
    const Measured few = linesRun(small, m_dir.filePath(QStringLiteral("lines-small.jsonl")));
    QVERIFY2(few.exitCode == 0, few.err.constData());
    const QString out = m_dir.filePath(QStringLiteral("lines.jsonl"));
    const Measured many = linesRun(n, out);
    QVERIFY2(many.exitCode == 0, many.err.constData());
    qInfo("lines: taskfleet-run peak RSS %.1f MB at %lld, %.1f MB at %lld", few.peakMb, static_cast<long long>(small),
          many.peakMb, static_cast<long long>(n));
    if (!sanitized)
        QVERIFY2(
            many.peakMb - few.peakMb < 32,
            qPrintable(QStringLiteral("%1 MB more for %2 more lines").arg(many.peakMb - few.peakMb).arg(n - small)));

    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    std::vector<bool> seen(size_t(n), false);
    qint64 count = 0;
    while (!f.atEnd()) {
        const QByteArray line = f.readLine();
        const qsizetype at = line.indexOf("\"index\":");
        QVERIFY2(at >= 0, line.constData());
        const qint64 index = line.mid(at + 8, line.indexOf(',', at) - at - 8).toLongLong();
        QVERIFY2(index >= 0 && index < n && !seen[size_t(index)], line.constData());
        const QByteArray text = "\"line " + QByteArray::number(index) + " of the big file\"";
        const QByteArray input = "\"input\":" + text, output = "\"output\":" + text;
        QVERIFY2(line.contains(input) && line.contains(output), line.constData());
        seen[size_t(index)] = true;
        ++count;
    }
    QCOMPARE(count, n);
}

// The journal a run makes by itself is removed when every job has ended (tasks that failed included):
// nothing is left to resume, and otherwise every run would leave its journal behind. A run that ends
// with jobs unfinished keeps it, and so does a journal named with --journal.
void TestTaskfleetRun::defaultJournalGoesOnceEveryJobEnded()
{
    QDir(stateDir()).removeRecursively();
    const QString job = writeJob(R"({"plugin": "fail", "inputs": [1, 2, 3]})", QStringLiteral("fails.json"));
    Run r = run({QStringLiteral("-n"), QStringLiteral("1"), job});
    QCOMPARE(r.exitCode, 1); // plugin errors: the job ended all the same
    QVERIFY(r.err.contains("taskfleet-run: journal "));
    QCOMPARE(defaultJournals(), QStringList());

    // No node can run the tasks: exit 3 with the job unfinished, the journal kept for --resume.
    const QString sums = test::sourceDir() + QStringLiteral("/resources/jobs/sumprimes.json");
    r = run({QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), QStringLiteral("127.0.0.1:1"),
             QStringLiteral("--connect-timeout"), QStringLiteral("1"), sums},
            30000, QStringLiteral("a-test-secret-of-enough-length-0123456789"));
    QCOMPARE(r.exitCode, 3);
    const QStringList kept = defaultJournals();
    QCOMPARE(kept.size(), 1);
    // ... and resuming it to the end keeps it too: the user named it.
    const QString keptPath = stateDir() + QStringLiteral("/taskfleet/journal/") + kept.first();
    r = run({QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("--resume"), keptPath});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(QFile::exists(keptPath));

    // Results that could not be written (a full disk: /dev/full) leave the journal as their only copy: kept.
    QDir(stateDir()).removeRecursively();
    r = run({QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("-o"), QStringLiteral("/dev/full"), sums});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("writing results failed"), r.err.constData());
    QCOMPARE(defaultJournals().size(), 1);

    const QString named = m_dir.filePath(QStringLiteral("named.tfj"));
    r = run({QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("--journal"), named, sums});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(QFile::exists(named));
}

QTEST_GUILESS_MAIN(TestTaskfleetRun)
#include "tst_taskfleetrun.moc"
