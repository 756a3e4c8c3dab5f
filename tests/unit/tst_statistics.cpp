// SPDX-License-Identifier: MIT
// Statistics on a clock the test drives: every column, the rates, the per-second series and the CSV files,
// against numbers worked out by hand from the events fed in (see each test's comment).
#include "stats/statistics.h"

#include <QtCore/QBuffer>
#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;
using stats::Statistics;
using stats::TaskStatus;

namespace {

constexpr qint64 StartEpochMs = 1700000000250; // the time series dates its seconds from 1700000000

QString readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QStringLiteral("<cannot read %1>").arg(path);
}

/** CSV lines as written: each ends with CRLF. */
QString lines(const QStringList &rows)
{
    QString out;
    for (const QString &r : rows)
        out += r + QStringLiteral("\r\n");
    return out;
}

/**
 * A statistics object on a clock the test sets, fed a small run of two nodes (times in seconds):
 *
 *   t     node   job/index  start  runtime  attempts  status
 *   0.2   alpha  1/0        0.1    0.1      1         ok
 *   0.7   beta   1/1        0.3    0.4      1         ok
 *   1.1   alpha  1/2        0.95   0.15     2         error   (after a crash on alpha: 1 failure, 1 retry)
 *   1.5   alpha  2/0        1.25   0.25     1         ok
 *   2.9   beta   2/1        2.7    0.2      1         ok
 *   2.95  beta   2/2        2.9    0.05     3         failed  (3 crashes on beta, 2 retries)
 *   3.0   alpha  2/3        2.5    0.5      1         ok      (exactly on a second boundary)
 *   3.2   -      2/4        3.2    0        0         cancelled (beta lost 2 attempts; alpha 1 duplicate)
 *
 * Hence: alpha done 4 (1 plugin error), time 1.0 s, 0.25 s per task, 1 failure, 0 lost, 1 duplicate;
 * beta done 2, time 0.6 s, 0.3 s per task, 3 failures, 2 lost, 0 duplicates; 6 done in all,
 * alpha 66.67 %, beta 33.33 %; 4 failures, 3 retries, 8 tasks in the log.
 * Per second (done only): 0: alpha 1, beta 1; 1: alpha 2; 2: beta 1; 3: alpha 1.
 */
struct Run {
    qint64 now = 0;
    Statistics stats {[this] { return now; }, StartEpochMs};
    int alpha = -1;
    int beta = -1;

    Run()
    {
        alpha = stats.nodeIndex(QStringLiteral("n1"), QStringLiteral("alpha"));
        beta = stats.nodeIndex(QStringLiteral("n2"), QStringLiteral("beta, the second")); // quoted in CSV
    }

    void feed()
    {
        now = 200000;
        stats.taskFinished(alpha, 1, 0, 100000, 100000, 1, TaskStatus::Ok);
        now = 700000;
        stats.taskFinished(beta, 1, 1, 300000, 400000, 1, TaskStatus::Ok);
        now = 1100000;
        stats.attemptFailed(alpha);
        stats.retried();
        stats.taskFinished(alpha, 1, 2, 950000, 150000, 2, TaskStatus::Error);
        now = 1500000;
        stats.taskFinished(alpha, 2, 0, 1250000, 250000, 1, TaskStatus::Ok);
        now = 2900000;
        stats.taskFinished(beta, 2, 1, 2700000, 200000, 1, TaskStatus::Ok);
        now = 2950000;
        for (int i = 0; i < 3; ++i)
            stats.attemptFailed(beta);
        stats.retried();
        stats.retried();
        stats.taskFinished(beta, 2, 2, 2900000, 50000, 3, TaskStatus::Failed);
        now = 3000000;
        stats.taskFinished(alpha, 2, 3, 2500000, 500000, 1, TaskStatus::Ok);
        now = 3200000;
        stats.attemptLost(beta);
        stats.attemptLost(beta);
        stats.duplicateDiscarded(alpha);
        stats.taskFinished(-1, 2, 4, 3200000, 0, 0, TaskStatus::Cancelled);
        // Calls for no node count nowhere.
        stats.attemptFailed(-1);
        stats.attemptLost(-1);
        stats.duplicateDiscarded(-1);
    }
};

} // namespace

class TestStatistics : public QObject
{
    Q_OBJECT

private slots:
    void defaultClockRuns();
    void nodesRegisteredOnce();
    void countsAndTimes();
    void taskLog();
    void taskLogOfManyTasksComesBackFromDiskInOrder();
    void ratesOverTheWindow();
    void nodeThatStopsFallsToZero();
    void jobRatesAddUpToTheTotal();
    void secondBoundary();
    void timeSeriesUpToNow();
    void exportCsvWritesWhatItComputed();
    void exportCsvNames();
    void exportCsvReportsUnwritablePath();
    void printStatsTable();
};

void TestStatistics::defaultClockRuns()
{
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    Statistics s;
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(s.startedAtMsSinceEpoch() >= before && s.startedAtMsSinceEpoch() <= after);
    const qint64 a = s.nowUs();
    QTest::qSleep(20);
    const qint64 b = s.nowUs();
    QVERIFY2(a >= 0 && b >= a + 15000, qPrintable(QStringLiteral("%1 then %2").arg(a).arg(b)));
}

void TestStatistics::nodesRegisteredOnce()
{
    Run r;
    QCOMPARE(r.alpha, 0);
    QCOMPARE(r.beta, 1);
    // Same id: same index, and the name given later does not replace the first.
    QCOMPARE(r.stats.nodeIndex(QStringLiteral("n1"), QStringLiteral("other")), 0);
    QCOMPARE(r.stats.nodes().size(), 2);
    QCOMPARE(r.stats.nodes().at(0).name, QStringLiteral("alpha"));
    r.stats.renameNode(1, QStringLiteral("beta2"));
    r.stats.renameNode(7, QStringLiteral("nobody")); // out of range: ignored
    r.stats.renameNode(-1, QStringLiteral("nobody"));
    QCOMPARE(r.stats.nodes().at(1).name, QStringLiteral("beta2"));
    QCOMPARE(r.stats.nodes().at(1).id, QStringLiteral("n2"));
    QCOMPARE(r.stats.nodes().size(), 2);
}

void TestStatistics::countsAndTimes()
{
    Run r;
    r.feed();
    const auto &nodes = r.stats.nodes();
    QCOMPARE(nodes.size(), 2);
    const stats::NodeTotals &a = nodes.at(0), &b = nodes.at(1);
    QCOMPARE(a.tasksDone, 4);
    QCOMPARE(a.pluginErrors, 1);
    QCOMPARE(a.failures, 1);
    QCOMPARE(a.lost, 0);
    QCOMPARE(a.duplicates, 1);
    QCOMPARE(a.taskTimeSum, 1.0);
    QCOMPARE(a.timePerTask(), 0.25);
    QCOMPARE(b.tasksDone, 2);
    QCOMPARE(b.pluginErrors, 0);
    QCOMPARE(b.failures, 3);
    QCOMPARE(b.lost, 2);
    QCOMPARE(b.duplicates, 0);
    QCOMPARE(b.taskTimeSum, 0.6); // the failed task's 0.05 s is not in it
    QCOMPARE(b.timePerTask(), 0.3);
    QCOMPARE(r.stats.totalDone(), 6);
    QCOMPARE(r.stats.totalFinished(), 8);
    QCOMPARE(r.stats.totalFailures(), 4);
    QCOMPARE(r.stats.retries(), 3);
    // A node that has done nothing has no time per task (not a division by zero).
    const int idle = r.stats.nodeIndex(QStringLiteral("n3"), QStringLiteral("gamma"));
    QCOMPARE(r.stats.nodes().at(idle).timePerTask(), 0.0);
}

void TestStatistics::taskLog()
{
    Run r;
    r.feed();
    QVERIFY(r.stats.taskLogOnDisk()); // not kept in memory
    const auto log = r.stats.taskLog();
    QCOMPARE(log.size(), size_t(8));
    struct Expected {
        qint64 seq;
        int job, index, node;
        qint64 startUs, runtimeUs;
        int attempts;
        TaskStatus status;
    };
    const Expected expected[] = {
        {1, 1, 0, 0, 100000, 100000, 1, TaskStatus::Ok},    {2, 1, 1, 1, 300000, 400000, 1, TaskStatus::Ok},
        {3, 1, 2, 0, 950000, 150000, 2, TaskStatus::Error}, {4, 2, 0, 0, 1250000, 250000, 1, TaskStatus::Ok},
        {5, 2, 1, 1, 2700000, 200000, 1, TaskStatus::Ok},   {6, 2, 2, 1, 2900000, 50000, 3, TaskStatus::Failed},
        {7, 2, 3, 0, 2500000, 500000, 1, TaskStatus::Ok},   {8, 2, 4, -1, 3200000, 0, 0, TaskStatus::Cancelled},
    };
    for (size_t i = 0; i < log.size(); ++i) {
        const stats::TaskLogEntry &e = log[i];
        const Expected &x = expected[i];
        QCOMPARE(e.seq, x.seq);
        QCOMPARE(e.jobId, x.job);
        QCOMPARE(e.index, x.index);
        QCOMPARE(e.node, x.node);
        QCOMPARE(e.startUs, x.startUs);
        QCOMPARE(e.runtimeUs, x.runtimeUs);
        QCOMPARE(e.attempts, x.attempts);
        QCOMPARE(e.status, x.status);
    }
}

// rate() counts the tasks of the seconds in the window, the current one so far included, over the time those
// seconds span: (window - 1) whole seconds plus the part of this one that has passed, or less while the run
// is younger than that.
// The per-task log goes to disk as it happens. Enough tasks to span many 64 KiB blocks, read
// back while more are appended, every field and sequence number as written.
void TestStatistics::taskLogOfManyTasksComesBackFromDiskInOrder()
{
    qint64 now = 0;
    Statistics s([&now] { return now; }, 0);
    const int node = s.nodeIndex(QStringLiteral("n"), QStringLiteral("node"));
    constexpr int Tasks = 100000;
    const auto fill = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
            now = qint64(i) * 10;
            s.taskFinished(i % 3 == 0 ? -1 : node, 1 + i % 7, i, qint64(i) * 1000, qint64(i) * 3, 1 + i % 4,
                           TaskStatus(i % 4));
        }
    };
    fill(0, Tasks / 2);
    QVERIFY(s.taskLogOnDisk());
    QCOMPARE(s.taskLog().size(), size_t(Tasks / 2)); // a read in the middle ...
    fill(Tasks / 2, Tasks);                          // ... and appending goes on after it
    const std::vector<stats::TaskLogEntry> log = s.taskLog();
    QCOMPARE(log.size(), size_t(Tasks));
    QCOMPARE(s.totalFinished(), qint64(Tasks));
    for (int i = 0; i < Tasks; ++i) {
        const stats::TaskLogEntry &e = log[size_t(i)];
        if (e.seq != i + 1 || e.jobId != 1 + i % 7 || e.index != i || e.node != (i % 3 == 0 ? -1 : node)
            || e.startUs != qint64(i) * 1000 || e.runtimeUs != qint64(i) * 3 || e.attempts != 1 + i % 4
            || e.status != TaskStatus(i % 4))
            QFAIL(qPrintable(QStringLiteral("entry %1 differs").arg(i)));
    }
    QBuffer csv;
    QVERIFY(csv.open(QIODevice::WriteOnly));
    QVERIFY(s.writeTaskLogCsv(&csv));
    QCOMPARE(csv.data().count('\n'), Tasks + 1); // a header and one row per task
}

void TestStatistics::ratesOverTheWindow()
{
    Run r;
    r.feed();
    // t = 3.5 s: the 5 s window is seconds -1..3, which span 3.5 s (the run's age). alpha 4, beta 2, all 6.
    r.now = 3500000;
    QCOMPARE(r.stats.rate(0), 4 / 3.5);
    QCOMPARE(r.stats.rate(1), 2 / 3.5);
    QCOMPARE(r.stats.rate(-1), 6 / 3.5);
    // A 2 s window at t = 3.5 s: seconds 2..3, 1.5 s. alpha: 1 (t = 3.0), beta: 1 (t = 2.9; the failed one
    // does not count).
    QCOMPARE(r.stats.rate(0, 2), 1 / 1.5);
    QCOMPARE(r.stats.rate(1, 2), 1 / 1.5);
    QCOMPARE(r.stats.rate(-1, 2), 2 / 1.5);
    // A 1 s window is the current second so far: 0.5 s, alpha's one task at 3.0.
    QCOMPARE(r.stats.rate(0, 1), 2.0);
    QCOMPARE(r.stats.rate(1, 1), 0.0);
    // t = 6.25 s: seconds 2..6 span 4.25 s; alpha 1 (t = 3.0), beta 1 (t = 2.9).
    r.now = 6250000;
    QCOMPARE(r.stats.rate(0), 1 / 4.25);
    QCOMPARE(r.stats.rate(1), 1 / 4.25);
    QCOMPARE(r.stats.rate(-1), 2 / 4.25);
    // t = 7.0 s: seconds 3..7 span 4 s; only alpha's task at 3.0 s is left.
    r.now = 7000000;
    QCOMPARE(r.stats.rate(0), 0.25);
    QCOMPARE(r.stats.rate(1), 0.0);
    QCOMPARE(r.stats.rate(-1), 0.25);
    // t = 8.0 s: nothing in seconds 4..8.
    r.now = 8000000;
    QCOMPARE(r.stats.rate(-1), 0.0);
    // An unknown node has no tasks.
    QCOMPARE(r.stats.rate(5), 0.0);
    // At the very start there is no time to divide by.
    Run young;
    QCOMPARE(young.stats.rate(-1), 0.0);
}

// A job's rate is the nodes' measure (the same count, the same window and span) for its own tasks: jobs' rates
// add up to the total (a job row and the Nodes total must agree). Job 1: 3 done
// in seconds 0..1; job 2: 3 done (1.5, 2.9, 3.0; its failed task does not count).
void TestStatistics::jobRatesAddUpToTheTotal()
{
    Run r;
    r.feed();
    r.now = 3500000;
    QCOMPARE(r.stats.jobRate(1), 3 / 3.5);
    QCOMPARE(r.stats.jobRate(2), 3 / 3.5);
    QCOMPARE(r.stats.jobRate(1) + r.stats.jobRate(2), r.stats.rate(-1));
    QCOMPARE(r.stats.jobRate(2, 2), r.stats.rate(-1, 2)); // seconds 2..3: only job 2's
    // Up to a given time rather than now (a snapshot's moment).
    QCOMPARE(r.stats.jobRate(1, 5, 1500000), r.stats.rate(-1, 5, 1500000) - 1 / 1.5);
    r.now = 6250000; // seconds 2..6: job 1's tasks have left the window
    QCOMPARE(r.stats.jobRate(1), 0.0);
    QCOMPARE(r.stats.jobRate(2), r.stats.rate(-1));
    QCOMPARE(r.stats.jobRate(7), 0.0); // no such job
    // A job's last minute is a ring: a result 61 s later does not find the old one in its slot.
    r.now = 5500000;
    r.stats.taskFinished(r.alpha, 3, 0, 5400000, 100000, 1, TaskStatus::Ok);
    r.now = 66500000;
    r.stats.taskFinished(r.alpha, 3, 1, 66400000, 100000, 1, TaskStatus::Ok);
    r.now = 66900000;
    QCOMPARE(r.stats.jobRate(3), 1 / 4.9);
    QCOMPARE(r.stats.jobRate(3), r.stats.rate(-1));
    r.now = 65900000; // second 65 is 5 (mod 60), where the result at 5.5 s was counted
    QCOMPARE(r.stats.jobRate(3, 1), 0.0);
    r.stats.forgetJob(3);
    r.now = 66900000;
    QCOMPARE(r.stats.jobRate(3), 0.0);
}

// beta stops after three tasks (t = 0.25, 1.25, 2.25 s) while alpha goes on with one task at k + 0.5 s up to
// 9.5 s. beta's rate falls as its seconds leave the window and is 0 from t = 7 s, when the window (seconds 3..7)
// no longer holds its last second (2); alpha's stays at about 1/s until alpha stops too.
void TestStatistics::nodeThatStopsFallsToZero()
{
    Run r;
    struct Finish {
        qint64 atUs;
        int node;
    };
    QVector<Finish> finishes;
    for (int k = 0; k < 10; ++k) {
        if (k < 3)
            finishes.append({k * 1000000 + 250000, r.beta});
        finishes.append({k * 1000000 + 500000, r.alpha});
    }
    int next = 0;
    const auto advanceTo = [&](qint64 t) {
        for (; next < finishes.size() && finishes.at(next).atUs <= t; ++next) {
            r.now = finishes.at(next).atUs;
            r.stats.taskFinished(finishes.at(next).node, 1, next, r.now - 100000, 100000, 1, TaskStatus::Ok);
        }
        r.now = t;
    };
    const struct {
        qint64 now;
        double beta, alpha; // tasks in the window's seconds / the time they span
    } steps[] = {
        {2500000, 3 / 2.5, 3 / 2.5},           // seconds -2..2 over 2.5 s: beta 3, alpha 3
        {4999999, 3 / 4.999999, 5 / 4.999999}, // seconds 0..4: beta 3, alpha 0.5..4.5
        {5000000, 2 / 4.0, 4 / 4.0},           // seconds 1..5 over 4 s: beta 1.25, 2.25; alpha 1.5..4.5
        {6000000, 1 / 4.0, 4 / 4.0},           // seconds 2..6: beta 2.25; alpha 2.5..5.5
        {6999999, 1 / 4.999999, 5 / 4.999999}, // seconds 2..6: beta 2.25; alpha 2.5..6.5
        {7000000, 0.0, 4 / 4.0},               // seconds 3..7: beta none; alpha 3.5..6.5
        {9750000, 0.0, 5 / 4.75},              // seconds 5..9 over 4.75 s: alpha 5.5..9.5
        {14000000, 0.0, 0.0},                  // seconds 10..14: nobody
    };
    for (const auto &step : steps) {
        advanceTo(step.now);
        const QByteArray at = QByteArray::number(double(step.now) / 1e6, 'f', 6);
        QVERIFY2(qFuzzyCompare(1 + r.stats.rate(r.beta), 1 + step.beta),
                 QByteArray(at + " s: beta " + QByteArray::number(r.stats.rate(r.beta)) + ", expected "
                            + QByteArray::number(step.beta))
                     .constData());
        QVERIFY2(qFuzzyCompare(1 + r.stats.rate(r.alpha), 1 + step.alpha),
                 QByteArray(at + " s: alpha " + QByteArray::number(r.stats.rate(r.alpha)) + ", expected "
                            + QByteArray::number(step.alpha))
                     .constData());
        QVERIFY2(qFuzzyCompare(1 + r.stats.rate(-1), 1 + step.alpha + step.beta), at.constData());
    }
    // What beta did stays counted; only its rate fell.
    QCOMPARE(r.stats.nodes().at(r.beta).tasksDone, 3);
    QCOMPARE(r.stats.nodes().at(r.alpha).tasksDone, 10);
    QCOMPARE(r.stats.totalDone(), 13);
    QCOMPARE(r.stats.seconds(), 15); // seconds 0..14, the last ones empty
    QCOMPARE(r.stats.doneInSecond(r.beta, 2), 1);
    QCOMPARE(r.stats.doneInSecond(r.beta, 3), 0);
}

// The current second is part of the series as soon as the clock is in it, with what it has so far.
void TestStatistics::secondBoundary()
{
    Run r;
    r.now = 999999;
    r.stats.taskFinished(r.alpha, 1, 0, 0, 500000, 1, TaskStatus::Ok);
    QCOMPARE(r.stats.seconds(), 1);
    QCOMPARE(r.stats.doneInSecond(r.alpha, 0), 1);
    QCOMPARE(r.stats.rate(r.alpha), 1 / 0.999999);
    // 1.000000 s: second 1 has begun and is empty so far.
    r.now = 1000000;
    QCOMPARE(r.stats.seconds(), 2);
    QCOMPARE(r.stats.doneInSecond(r.alpha, 1), 0);
    QCOMPARE(r.stats.doneInSecond(-1, 1), 0);
    QCOMPARE(r.stats.rate(r.alpha), 1.0); // seconds -3..1 span 1 s
    r.stats.taskFinished(r.alpha, 1, 1, 500000, 500000, 1, TaskStatus::Ok);
    r.stats.taskFinished(r.beta, 1, 2, 500000, 500000, 1, TaskStatus::Ok);
    QCOMPARE(r.stats.seconds(), 2);
    QCOMPARE(r.stats.doneInSecond(r.alpha, 0), 1);
    QCOMPARE(r.stats.doneInSecond(r.alpha, 1), 1);
    QCOMPARE(r.stats.doneInSecond(r.beta, 1), 1);
    QCOMPARE(r.stats.doneInSecond(-1, 1), 2);
    QCOMPARE(r.stats.rate(r.alpha), 2.0);
    QCOMPARE(r.stats.rate(-1), 3.0);
    // The 1 s window at the boundary is the empty part of second 1 so far: no time, no rate.
    QCOMPARE(r.stats.rate(-1, 1), 0.0);
    // 1.25 s: the 1 s window is second 1 so far (0.25 s, 2 tasks).
    r.now = 1250000;
    QCOMPARE(r.stats.rate(-1, 1), 8.0);
    QCOMPARE(r.stats.seconds(), 2);
    // Out of range: nothing.
    QCOMPARE(r.stats.doneInSecond(r.alpha, 2), 0);
    QCOMPARE(r.stats.doneInSecond(r.alpha, -1), 0);
    QCOMPARE(r.stats.doneInSecond(5, 0), 0);
}

void TestStatistics::timeSeriesUpToNow()
{
    Run r;
    r.feed();
    // t = 3.2 s: seconds 0..3, the last one so far.
    QCOMPARE(r.stats.seconds(), 4);
    const int alpha[] = {1, 2, 0, 1}, beta[] = {1, 0, 1, 0}, total[] = {2, 2, 1, 1};
    for (int s = 0; s < 4; ++s) {
        QCOMPARE(r.stats.doneInSecond(r.alpha, s), alpha[s]);
        QCOMPARE(r.stats.doneInSecond(r.beta, s), beta[s]);
        QCOMPARE(r.stats.doneInSecond(-1, s), total[s]);
    }
    // Quiet until t = 6.5 s: the series runs on with zeros up to the current second (6).
    r.now = 6500000;
    QCOMPARE(r.stats.seconds(), 7);
    for (int s = 4; s < 7; ++s)
        QCOMPARE(r.stats.doneInSecond(-1, s), 0);
    QBuffer series;
    QVERIFY(series.open(QIODevice::WriteOnly));
    QVERIFY(r.stats.writeTimeSeriesCsv(&series));
    QCOMPARE(QString::fromUtf8(series.data()), lines({
                                                   QStringLiteral("second,unix_time,total,alpha,\"beta, the second\""),
                                                   QStringLiteral("0,1700000000,2,1,1"),
                                                   QStringLiteral("1,1700000001,2,2,0"),
                                                   QStringLiteral("2,1700000002,1,0,1"),
                                                   QStringLiteral("3,1700000003,1,1,0"),
                                                   QStringLiteral("4,1700000004,0,0,0"),
                                                   QStringLiteral("5,1700000005,0,0,0"),
                                                   QStringLiteral("6,1700000006,0,0,0"),
                                               }));
}

// The three files at t = 3.5 s (rates: seconds -1..3 over 3.5 s: alpha 4/3.5 = 1.14, beta 2/3.5 = 0.57,
// all 6/3.5 = 1.71 tasks/s).
void TestStatistics::exportCsvWritesWhatItComputed()
{
    Run r;
    r.feed();
    r.now = 3500000;
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("stats.csv"));
    QString error;
    const QStringList files = r.stats.exportCsv(path, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(files, (QStringList {path, dir.filePath(QStringLiteral("stats.timeseries.csv")),
                                  dir.filePath(QStringLiteral("stats.tasks.csv"))}));

    QCOMPARE(readAll(files.at(0)),
             lines({
                 QStringLiteral("node_id,node,tasks_done,percent_of_all,task_time_sum_s,time_per_task_s,tasks_per_s_5s,"
                                "plugin_errors,failures,lost,duplicates_discarded"),
                 QStringLiteral("n1,alpha,4,66.67,1.000000,0.250000,1.14,1,1,0,1"),
                 QStringLiteral("n2,\"beta, the second\",2,33.33,0.600000,0.300000,0.57,0,3,2,0"),
                 QStringLiteral("total,total,6,100.00,1.600000,0.266667,1.71,1,4,2,1"),
             }));
    QCOMPARE(readAll(files.at(1)), lines({
                                       QStringLiteral("second,unix_time,total,alpha,\"beta, the second\""),
                                       QStringLiteral("0,1700000000,2,1,1"),
                                       QStringLiteral("1,1700000001,2,2,0"),
                                       QStringLiteral("2,1700000002,1,0,1"),
                                       QStringLiteral("3,1700000003,1,1,0"),
                                   }));
    QCOMPARE(readAll(files.at(2)), lines({
                                       QStringLiteral("seq,job,index,node,start_s,runtime_s,attempts,status"),
                                       QStringLiteral("1,1,0,alpha,0.100000,0.100000,1,ok"),
                                       QStringLiteral("2,1,1,\"beta, the second\",0.300000,0.400000,1,ok"),
                                       QStringLiteral("3,1,2,alpha,0.950000,0.150000,2,error"),
                                       QStringLiteral("4,2,0,alpha,1.250000,0.250000,1,ok"),
                                       QStringLiteral("5,2,1,\"beta, the second\",2.700000,0.200000,1,ok"),
                                       QStringLiteral("6,2,2,\"beta, the second\",2.900000,0.050000,3,failed"),
                                       QStringLiteral("7,2,3,alpha,2.500000,0.500000,1,ok"),
                                       QStringLiteral("8,2,4,,3.200000,0.000000,0,cancelled"),
                                   }));

    // Later, with nothing more done: the same totals, the rates fallen to 0, the series grown to t = 9.1 s.
    r.now = 9100000;
    QVERIFY(!r.stats.exportCsv(path, &error).isEmpty());
    QCOMPARE(readAll(files.at(0)),
             lines({
                 QStringLiteral("node_id,node,tasks_done,percent_of_all,task_time_sum_s,time_per_task_s,tasks_per_s_5s,"
                                "plugin_errors,failures,lost,duplicates_discarded"),
                 QStringLiteral("n1,alpha,4,66.67,1.000000,0.250000,0.00,1,1,0,1"),
                 QStringLiteral("n2,\"beta, the second\",2,33.33,0.600000,0.300000,0.00,0,3,2,0"),
                 QStringLiteral("total,total,6,100.00,1.600000,0.266667,0.00,1,4,2,1"),
             }));
    QCOMPARE(readAll(files.at(1)).count(QStringLiteral("\r\n")), 1 + 10); // header, seconds 0..9
}

void TestStatistics::exportCsvNames()
{
    Run r;
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString error;
    // No suffix: the side files are NAME.timeseries.csv and NAME.tasks.csv; a .CSV suffix counts too.
    const QString bare = dir.filePath(QStringLiteral("run1"));
    QCOMPARE(r.stats.exportCsv(bare, &error),
             (QStringList {bare, bare + QStringLiteral(".timeseries.csv"), bare + QStringLiteral(".tasks.csv")}));
    const QString upper = dir.filePath(QStringLiteral("run2.CSV"));
    QCOMPARE(r.stats.exportCsv(upper, &error), (QStringList {upper, dir.filePath(QStringLiteral("run2.timeseries.csv")),
                                                             dir.filePath(QStringLiteral("run2.tasks.csv"))}));
    // With no task at t = 0: headers, two node rows and the total; one (current) second; no tasks.
    QCOMPARE(readAll(upper),
             lines({
                 QStringLiteral("node_id,node,tasks_done,percent_of_all,task_time_sum_s,time_per_task_s,"
                                "tasks_per_s_5s,plugin_errors,failures,lost,duplicates_discarded"),
                 QStringLiteral("n1,alpha,0,0.00,0.000000,0.000000,0.00,0,0,0,0"),
                 QStringLiteral("n2,\"beta, the second\",0,0.00,0.000000,0.000000,0.00,0,0,0,0"),
                 QStringLiteral("total,total,0,0.00,0.000000,0.000000,0.00,0,0,0,0"),
             }));
    QCOMPARE(readAll(dir.filePath(QStringLiteral("run2.timeseries.csv"))),
             lines({QStringLiteral("second,unix_time,total,alpha,\"beta, the second\""),
                    QStringLiteral("0,1700000000,0,0,0")}));
    QCOMPARE(readAll(dir.filePath(QStringLiteral("run2.tasks.csv"))),
             lines({QStringLiteral("seq,job,index,node,start_s,runtime_s,attempts,status")}));
}

void TestStatistics::exportCsvReportsUnwritablePath()
{
    Run r;
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("no/such/dir/stats.csv"));
    QString error;
    QVERIFY(r.stats.exportCsv(path, &error).isEmpty());
    QVERIFY2(error.startsWith(QStringLiteral("cannot write %1: ").arg(path)), qPrintable(error));
}

void TestStatistics::printStatsTable()
{
    Run r;
    r.feed();
    r.now = 3500000;
    // Columns right-aligned to their headers' widths; rates as above, with one decimal.
    QCOMPARE(
        r.stats.printStats(),
        QStringLiteral(
            "Task execution statistics:\n"
            " task count | % of all tasks | task time sum | time per task | tasks/s | failures | node\n"
            "          4 |          66.67 |        1.0000 |      0.250000 |     1.1 |        1 | alpha\n"
            "          2 |          33.33 |        0.6000 |      0.300000 |     0.6 |        3 | beta, the second\n"
            "Time elapsed since the controller started: 3.500 s\n"));
}

QTEST_GUILESS_MAIN(TestStatistics)
#include "tst_statistics.moc"
