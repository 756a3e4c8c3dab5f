// SPDX-License-Identifier: MIT
// The worker pool runs real worker processes with real plugins: results, crashes, timeouts, resizing.
#include "exec/workerpool.h"
#include "testsupport.h"

#include <QtCore/QCborMap>
#include <QtCore/QElapsedTimer>
#include <QtTest/QtTest>

using namespace taskfleet;
using namespace taskfleet::exec;

class TestWorkerPool : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void echoResultsExactlyOnce();
    void sumPrimesCorrect();
    void sdk10PluginRunsInThisWorker();
    void parametersFollowEachWorkersCache();
    void parametersCacheIsBoundedByCountAndBytes();
    void parametersAlteredAfterHashingAreRefused();
    void valueCacheBoundReachesTheWorkers();
    void lanesShareWorkersFairly();
    void crashIsReportedAndPoolServesOn_data();
    void crashIsReportedAndPoolServesOn();
    void timeoutKillsTask_data();
    void timeoutKillsTask();
    void growAndShrinkLoseNothing();
    void restartAfterEachTask();
    void loadFailureIsReported();
    void missingWorkerProgramFailsTasks();
    void cancelQueuedTasks();
    void preloadedPluginsAreLoadedBeforeTheFirstTask();
    void pluginCrashingAsItIsPreloadedBlamesNoTask();

private:
    static WorkerPoolOptions options(int workers)
    {
        WorkerPoolOptions o;
        o.program = test::program(QStringLiteral("taskfleet-worker"));
        o.workers = workers;
        return o;
    }
};

// Collects every result the pool emits, keyed by id, and fails on a second result for one id.
class Collector : public QObject
{
public:
    explicit Collector(WorkerPool *pool)
    {
        connect(pool, &WorkerPool::resultsReady, this, [this](const QVector<WorkResult> &results) {
            for (const WorkResult &r : results) {
                if (byId.contains(r.id))
                    ++duplicates;
                byId.insert(r.id, r);
            }
        });
    }
    QHash<quint64, WorkResult> byId;
    int duplicates = 0;
};

static QVector<PoolTask> tasks(const QString &plugin, const QVector<QCborValue> &inputs, qint64 timeoutMs = 0,
                               quint64 firstId = 1)
{
    QVector<PoolTask> out;
    for (const QCborValue &v : inputs)
        out.append(PoolTask {firstId++, v, test::pluginPath(plugin), timeoutMs, nullptr, 0});
    return out;
}

void TestWorkerPool::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY2(QFile::exists(test::program(QStringLiteral("taskfleet-worker"))), "taskfleet-worker not built");
    QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("echo"))), "echo plugin not built");
}

void TestWorkerPool::echoResultsExactlyOnce()
{
    WorkerPool pool(options(2));
    Collector c(&pool);
    QVector<QCborValue> inputs;
    for (int i = 0; i < 5000; ++i)
        inputs.append(i % 3 == 0 ? QCborValue(QStringLiteral("s%1").arg(i)) : QCborValue(i));
    pool.submit(tasks(QStringLiteral("echo"), inputs));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 5000, 30000);
    QCOMPARE(c.duplicates, 0);
    for (int i = 0; i < 5000; ++i) {
        const WorkResult r = c.byId.value(quint64(i + 1));
        QCOMPARE(r.outcome, Outcome::Ok);
        QCOMPARE(r.output, inputs.at(i));
    }
    QCOMPARE(pool.inFlightTasks(), 0);
    QCOMPARE(pool.queuedTasks(), 0);
}

void TestWorkerPool::sumPrimesCorrect()
{
    WorkerPool pool(options(2));
    Collector c(&pool);
    QVector<QCborValue> inputs;
    for (int n : {2, 3, 10, 1000, 100000, 100100})
        inputs.append(n);
    pool.submit(tasks(QStringLiteral("sumprimes"), inputs));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), inputs.size(), 30000);
    for (int i = 0; i < inputs.size(); ++i)
        QCOMPARE(c.byId.value(quint64(i + 1)).output.toInteger(), test::sumPrimesBelow(inputs.at(i).toInteger()));
    QCOMPARE(c.byId.value(5).output.toInteger(), 454396537);
}

// A plugin built against the SDK 1.0 header (tests/data/sdk10) runs in today's worker, also for a job with
// parameters: the SDK only appends to TaskContext.
void TestWorkerPool::sdk10PluginRunsInThisWorker()
{
    const QString path = QStringLiteral(TF_TESTPLUGIN_DIR "/libtaskfleet_sdk10doubler.so");
    QVERIFY2(QFile::exists(path), qPrintable(path));
    WorkerPool pool(options(1));
    Collector c(&pool);
    const exec::JobParametersPtr parameters = exec::makeJobParameters(QCborMap {{QStringLiteral("k"), 1}});
    QVector<PoolTask> work;
    for (int i = 1; i <= 5; ++i)
        work.append(PoolTask {quint64(i), i * 10, path, 0, i % 2 ? parameters : nullptr, 0});
    pool.submit(work);
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 5, 30000);
    for (int i = 1; i <= 5; ++i) {
        const WorkResult r = c.byId.value(quint64(i));
        QVERIFY2(r.outcome == Outcome::Ok, qPrintable(r.error));
        QCOMPARE(r.output.toInteger(), i * 20);
    }
}

// Job parameters are sent to a worker only when it does not hold them; the pool mirrors each worker's
// 8-entry cache. 20 jobs interleaved three times on one worker force evictions and resends: every task
// must still see its own job's value (the python plugin returns x + K for its job's K).
void TestWorkerPool::parametersFollowEachWorkersCache()
{
#ifndef TF_HAVE_PYTHON_PLUGIN
    QSKIP("the python plugin is not built");
#else
    constexpr int Jobs = 20;
    std::vector<exec::JobParametersPtr> jobs;
    for (int k = 0; k < Jobs; ++k)
        jobs.push_back(exec::makeJobParameters(
            QCborMap {{QStringLiteral("source"), QStringLiteral("K = %1\ndef f(x):\n    return x + K\n").arg(k * 1000)},
                      {QStringLiteral("function"), QStringLiteral("f")}}));
    WorkerPool pool(options(1));
    Collector c(&pool);
    QVector<PoolTask> work;
    quint64 id = 0;
    for (int round = 0; round < 3; ++round)
        for (int k = 0; k < Jobs; ++k)
            work.append(PoolTask {++id, round, test::pluginPath(QStringLiteral("python")), 0, jobs[size_t(k)], 0});
    pool.submit(work);
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), int(id), 60000);
    QCOMPARE(c.duplicates, 0);
    for (quint64 i = 1; i <= id; ++i) {
        const int round = int((i - 1) / Jobs), k = int((i - 1) % Jobs);
        const WorkResult r = c.byId.value(i);
        QVERIFY2(r.outcome == Outcome::Ok, qPrintable(r.error));
        QCOMPARE(r.output.toInteger(), qint64(round + k * 1000));
    }
#endif
}

// A worker's cache of job parameters (and the pool's mirror of it) holds at most Capacity values and ByteCapacity
// bytes: the oldest go first, several at once if a big one arrives, but never the one in use.
void TestWorkerPool::parametersCacheIsBoundedByCountAndBytes()
{
    using exec::ParametersLru;
    ParametersLru lru;
    const qint64 quarter = ParametersLru::ByteCapacity / 4;
    QVERIFY(!lru.touch("a", quarter));
    QVERIFY(!lru.touch("b", quarter));
    QVERIFY(!lru.touch("c", quarter));
    QVERIFY(lru.touch("a", quarter)); // held; now the most recent
    QVERIFY(lru.evicted().isEmpty());
    QCOMPARE(lru.bytes(), 3 * quarter);
    QVERIFY(!lru.touch("d", 3 * quarter)); // 6 quarters: b and then c go, a (more recent) stays
    QCOMPARE(lru.evicted(), (QVector<QByteArray> {"b", "c"}));
    QVERIFY(lru.contains("a") && lru.contains("d") && !lru.contains("b") && !lru.contains("c"));
    QCOMPARE(lru.bytes(), 4 * quarter);
    // One value bigger than the whole bound is still held while in use; everything older goes.
    QVERIFY(!lru.touch("huge", ParametersLru::ByteCapacity * 2));
    QCOMPARE(lru.evicted(), (QVector<QByteArray> {"a", "d"}));
    QVERIFY(lru.contains("huge"));
    // By count: small values, the oldest beyond Capacity.
    ParametersLru small;
    for (int i = 0; i < ParametersLru::Capacity; ++i)
        QVERIFY(!small.touch(QByteArray::number(i), 10));
    QVERIFY(small.evicted().isEmpty());
    QVERIFY(!small.touch("next", 10));
    QCOMPARE(small.evicted(), QVector<QByteArray> {"0"});
}

// Job parameters whose bytes changed after they were hashed (a flipped bit in an agent's store, a bug in between)
// are refused where they enter the worker, for that batch and every later one naming them, never computed with.
void TestWorkerPool::parametersAlteredAfterHashingAreRefused()
{
    const QString path = QStringLiteral(TF_TESTPLUGIN_DIR "/libtaskfleet_sdk10doubler.so");
    const exec::JobParametersPtr genuine = exec::makeJobParameters(QCborMap {{QStringLiteral("k"), 1}});
    auto altered = std::make_shared<exec::JobParameters>(*genuine);
    altered->value = QCborMap {{QStringLiteral("k"), 2}}; // same id and size, other bytes
    QCOMPARE(altered->value.toCbor().size(), genuine->encodedSize);
    WorkerPool pool(options(1));
    Collector c(&pool);
    pool.submit({PoolTask {1, 10, path, 0, altered, 0}});
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 1, 30000);
    pool.submit({PoolTask {2, 20, path, 0, altered, 0}}); // the pool believes the worker holds them now
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 2, 30000);
    for (quint64 id : {1, 2}) {
        const WorkResult r = c.byId.value(id);
        QCOMPARE(r.outcome, Outcome::LoadFailed);
        QVERIFY2(r.error.contains(QLatin1String("reached the worker altered"))
                     && r.error.contains(QString::fromLatin1(genuine->id.left(12)))
                     && r.error.contains(QLatin1String("refused, not used")),
                 qPrintable(r.error));
    }
    // The genuine bytes, to a worker that never saw the altered ones, run.
    WorkerPool fresh(options(1));
    Collector f(&fresh);
    fresh.submit({PoolTask {3, 30, path, 0, genuine, 0}});
    QTRY_COMPARE_WITH_TIMEOUT(f.byId.size(), 1, 30000);
    QVERIFY2(f.byId.value(3).outcome == Outcome::Ok, qPrintable(f.byId.value(3).error));
    QCOMPARE(f.byId.value(3).output.toInteger(), 60);
}

// WorkerPoolOptions::valueCacheBytes bounds the pool's mirror of each worker's cache and reaches the worker (which
// bounds its own cache, and the python plugin its unpickled values, by it): with room for one of two 300 KB values,
// alternating jobs make every batch carry its value, and every task still sees its own job's value.
void TestWorkerPool::valueCacheBoundReachesTheWorkers()
{
#ifndef TF_HAVE_PYTHON_PLUGIN
    QSKIP("the python plugin is not built");
#else
    const auto job = [](int k) {
        return exec::makeJobParameters(QCborMap {
            {QStringLiteral("source"),
             QStringLiteral("import os\nK = %1\nPAD = '%2'\n"
                            "def f(x):\n    return [x + K, int(os.environ['TASKFLEET_WORKER_VALUE_CACHE'])]\n")
                 .arg(k)
                 .arg(QString(300000, QLatin1Char('p')))},
            {QStringLiteral("function"), QStringLiteral("f")}});
    };
    const exec::JobParametersPtr a = job(1000), b = job(2000);
    WorkerPoolOptions o = options(1);
    o.valueCacheBytes = 400 * 1000;
    WorkerPool pool(o);
    Collector c(&pool);
    constexpr int Tasks = 12;
    for (int i = 1; i <= Tasks; ++i) { // one batch each: the next is submitted after the last result
        pool.submit({PoolTask {quint64(i), i, test::pluginPath(QStringLiteral("python")), 0, i % 2 ? a : b, 0}});
        QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), i, 30000);
    }
    for (int i = 1; i <= Tasks; ++i) {
        const WorkResult r = c.byId.value(quint64(i));
        QVERIFY2(r.outcome == Outcome::Ok, qPrintable(r.error));
        QCOMPARE(r.output.toArray().at(0).toInteger(), i + (i % 2 ? 1000 : 2000));
        QCOMPARE(r.output.toArray().at(1).toInteger(), o.valueCacheBytes);
    }
    QCOMPARE(pool.parameterValuesSent(), qint64(Tasks)); // one value fits the bound, never both
    // With the default bound both stay: each value is sent once.
    WorkerPool roomy(options(1));
    Collector d(&roomy);
    for (int i = 1; i <= 4; ++i) {
        roomy.submit({PoolTask {quint64(i), i, test::pluginPath(QStringLiteral("python")), 0, i % 2 ? a : b, 0}});
        QTRY_COMPARE_WITH_TIMEOUT(d.byId.size(), i, 30000);
        QVERIFY2(d.byId.value(quint64(i)).outcome == Outcome::Ok, qPrintable(d.byId.value(quint64(i)).error));
    }
    QCOMPARE(roomy.parameterValuesSent(), qint64(2));
#endif
}

// Two owners on one worker: lane 1 queued ten 100 ms sleeps first, lane 2 then brings 200 echo tasks. Served
// by worker time, lane 2 is done after at most the sleep already running, not behind all ten (1 s).
void TestWorkerPool::lanesShareWorkersFairly()
{
    WorkerPool pool(options(1));
    Collector c(&pool);
    // The echo plugin loaded first, on a lane of its own: loading it takes a loaded machine hundreds of ms,
    // which would be charged to lane 2 as worker time and put it behind lane 1 for a while (seen once).
    pool.submit({PoolTask {1000, 0, test::pluginPath(QStringLiteral("echo")), 0, nullptr, 3}});
    QTRY_VERIFY_WITH_TIMEOUT(c.byId.contains(1000), 10000);
    c.byId.remove(1000);
    QVector<PoolTask> slow, quick;
    for (quint64 i = 1; i <= 10; ++i)
        slow.append(PoolTask {i, 100, test::pluginPath(QStringLiteral("sleep")), 0, nullptr, 1});
    for (quint64 i = 101; i <= 300; ++i)
        quick.append(PoolTask {i, qint64(i), test::pluginPath(QStringLiteral("echo")), 0, nullptr, 2});
    pool.submit(slow);
    QTRY_VERIFY_WITH_TIMEOUT(c.byId.contains(1), 10000); // lane 1 has used worker time
    QElapsedTimer clock;
    clock.start();
    pool.submit(quick);
    // A real event loop (QTRY_* sleeps 10 ms between event batches, which would be the measurement).
    auto quickDone = [&] {
        return std::all_of(quick.cbegin(), quick.cend(), [&](const PoolTask &t) { return c.byId.contains(t.id); });
    };
    QEventLoop loop;
    connect(&pool, &WorkerPool::resultsReady, &loop, [&] {
        if (quickDone())
            loop.quit();
    });
    QTimer::singleShot(10000, &loop, &QEventLoop::quit);
    loop.exec();
    const qint64 ms = clock.elapsed();
    QVERIFY(quickDone());
    qInfo("lane 2's 200 tasks done after %lld ms, with %d of lane 1's 10 sleeps done", ms, int(c.byId.size()) - 200);
    // In FIFO order all nine remaining sleeps (900 ms) would come first.
    QVERIFY2(c.byId.size() - 200 <= 4, "lane 2 waited behind lane 1's queue");
    QVERIFY2(ms < 1000 * test::timeScale(),
             qPrintable(QString::number(ms))); // a sanity bound; the count above is the test
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 210, 10000);
    for (quint64 i = 101; i <= 300; ++i)
        QCOMPARE(c.byId.value(i).output.toInteger(), qint64(i));
}

void TestWorkerPool::crashIsReportedAndPoolServesOn_data()
{
    QTest::addColumn<QString>("mode");
    QTest::addColumn<QString>("reason");
    QTest::newRow("abort") << QStringLiteral("abort") << QStringLiteral("signal 6");
    QTest::newRow("segfault") << QStringLiteral("segfault") << QStringLiteral("signal 11");
    QTest::newRow("exit") << QStringLiteral("exit") << QStringLiteral("exit code 3");
}

void TestWorkerPool::crashIsReportedAndPoolServesOn()
{
    QFETCH(QString, mode);
    QFETCH(QString, reason);
    WorkerPool pool(options(1));
    Collector c(&pool);
    // Echo tasks before and after the crash, on the one worker: none may be lost or blamed.
    QVector<PoolTask> all = tasks(QStringLiteral("echo"), {1, 2, 3}, 0, 1);
    all += tasks(QStringLiteral("crash"), {QCborValue(mode)}, 0, 100);
    all += tasks(QStringLiteral("echo"), {4, 5, 6}, 0, 200);
    pool.submit(all);
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 7, 30000);
    QCOMPARE(c.duplicates, 0);
    const WorkResult crash = c.byId.value(100);
    QCOMPARE(crash.outcome, Outcome::Crashed);
    QVERIFY2(crash.error.contains(reason), qPrintable(crash.error));
    for (quint64 id : {1, 2, 3, 200, 201, 202})
        QCOMPARE(c.byId.value(id).outcome, Outcome::Ok);
    QCOMPARE(pool.workerFailures(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(pool.runningWorkers(), 1, 5000);
}

void TestWorkerPool::timeoutKillsTask_data()
{
    QTest::addColumn<QString>("plugin");
    QTest::addColumn<QCborValue>("input");
    QTest::newRow("sleep past timeout") << QStringLiteral("sleep") << QCborValue(60000);
    QTest::newRow("hang ignoring cancel") << QStringLiteral("crash") << QCborValue(QStringLiteral("hang"));
}

void TestWorkerPool::timeoutKillsTask()
{
    QFETCH(QString, plugin);
    QFETCH(QCborValue, input);
    WorkerPool pool(options(1));
    Collector c(&pool);
    QElapsedTimer timer;
    timer.start();
    pool.submit(tasks(plugin, {input}, 300, 1));
    pool.submit(tasks(QStringLiteral("echo"), {7}, 300, 2));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 2, 20000);
    QCOMPARE(c.byId.value(1).outcome, Outcome::TimedOut);
    QVERIFY2(c.byId.value(1).error.contains(QStringLiteral("timed out after 300 ms")),
             qPrintable(c.byId.value(1).error));
    QCOMPARE(c.byId.value(2).outcome, Outcome::Ok);
    QVERIFY(timer.elapsed() < 10000);
}

void TestWorkerPool::growAndShrinkLoseNothing()
{
    WorkerPool pool(options(1));
    Collector c(&pool);
    QVector<QCborValue> inputs;
    for (int i = 0; i < 120; ++i)
        inputs.append(15);
    pool.submit(tasks(QStringLiteral("sleep"), inputs));
    QTRY_VERIFY_WITH_TIMEOUT(c.byId.size() >= 5, 10000);
    pool.setWorkerCount(4);
    QCOMPARE(pool.workerCount(), 4);
    QTRY_COMPARE_WITH_TIMEOUT(pool.busyWorkers(), 4, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(c.byId.size() >= 60, 20000);
    pool.setWorkerCount(1);
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 120, 30000);
    QCOMPARE(c.duplicates, 0);
    for (const WorkResult &r : std::as_const(c.byId))
        QCOMPARE(r.outcome, Outcome::Ok);
    // Shrinking really ends the surplus processes (ppft only lowered a cap).
    QTRY_COMPARE_WITH_TIMEOUT(pool.runningWorkers(), 1, 10000);
    QCOMPARE(pool.workerFailures(), 0);
}

void TestWorkerPool::restartAfterEachTask()
{
    WorkerPoolOptions o = options(2);
    o.restartAfterEachTask = true;
    WorkerPool pool(o);
    Collector c(&pool);
    pool.submit(tasks(QStringLiteral("echo"), {1, 2, 3, 4, 5, 6, 7, 8}));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 8, 30000);
    QVERIFY2(pool.workersStarted() >= 8, qPrintable(QString::number(pool.workersStarted())));
    QCOMPARE(pool.workerFailures(), 0);
}

void TestWorkerPool::loadFailureIsReported()
{
    WorkerPool pool(options(1));
    Collector c(&pool);
    pool.submit({PoolTask {1, 5, QStringLiteral("/nonexistent/libnothing.so"), 0, nullptr, 0}});
    pool.submit(tasks(QStringLiteral("echo"), {5}, 0, 2));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 2, 20000);
    QCOMPARE(c.byId.value(1).outcome, Outcome::LoadFailed);
    QVERIFY(c.byId.value(1).error.contains(QStringLiteral("cannot load plugin")));
    QCOMPARE(c.byId.value(2).outcome, Outcome::Ok);
}

void TestWorkerPool::missingWorkerProgramFailsTasks()
{
    WorkerPoolOptions o = options(1);
    o.program = QStringLiteral("/nonexistent/taskfleet-worker");
    WorkerPool pool(o);
    Collector c(&pool);
    pool.submit(tasks(QStringLiteral("echo"), {1, 2}));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 2, 20000);
    QCOMPARE(c.byId.value(1).outcome, Outcome::Crashed);
    QVERIFY2(c.byId.value(1).error.contains(QStringLiteral("cannot start worker program")),
             qPrintable(c.byId.value(1).error));
}

void TestWorkerPool::cancelQueuedTasks()
{
    WorkerPool pool(options(1));
    Collector c(&pool);
    pool.submit(tasks(QStringLiteral("sleep"), {2000}, 0, 1));
    pool.submit(tasks(QStringLiteral("echo"), {1, 2, 3}, 0, 10));
    // Exact, not racy: the sleep went to the one worker at once; with no runtime measured yet a worker holds
    // one task at a time (depth 1), and a batch holds one plugin, so the echoes wait in the pool's queue.
    QCOMPARE(pool.busyWorkers(), 1);
    QCOMPARE(pool.inFlightTasks(), 1);
    QCOMPARE(pool.queuedTasks(), 3);
    pool.cancel({1, 10, 11, 12});
    // Queued tasks end as Cancelled inside cancel() itself, before any of them could reach a worker.
    QCOMPARE(pool.queuedTasks(), 0);
    QCOMPARE(c.byId.size(), 3);
    for (quint64 id : {10, 11, 12}) {
        const WorkResult r = c.byId.value(id);
        QCOMPARE(r.outcome, Outcome::Cancelled);
        QCOMPARE(r.error, QStringLiteral("cancelled"));
        QCOMPARE(r.runtimeUs, qint64(0));
        QVERIFY(r.output.isUndefined());
    }
    // The running sleep is told to stop: whether the cancel reaches the worker before the task starts or while
    // it sleeps, it ends Cancelled (never Ok, which would take the full 2 s).
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 4, 10000 * test::timeScale());
    const WorkResult sleep = c.byId.value(1);
    QCOMPARE(sleep.outcome, Outcome::Cancelled);
    QVERIFY2(sleep.error == QStringLiteral("cancelled before it started")
                 || sleep.error.startsWith(QStringLiteral("cancelled after ")),
             qPrintable(sleep.error));
    QVERIFY2(sleep.runtimeUs < 1500000, qPrintable(QString::number(sleep.runtimeUs)));
    QCOMPARE(c.duplicates, 0);
    QCOMPARE(pool.inFlightTasks(), 0);
    QCOMPARE(pool.workerFailures(), 0);
}

// How many child processes of this test have \a fileName mapped (a loaded plugin).
static int childrenMapping(const QString &fileName)
{
    int n = 0;
    const QByteArray me = QByteArray::number(QCoreApplication::applicationPid());
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &pid : pids) {
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray line = stat.readAll();
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (fields.size() < 2 || fields.at(1) != me)
            continue;
        QFile maps(QStringLiteral("/proc/%1/maps").arg(pid));
        if (maps.open(QIODevice::ReadOnly) && maps.readAll().contains(fileName.toLocal8Bit()))
            ++n;
    }
    return n;
}

void TestWorkerPool::preloadedPluginsAreLoadedBeforeTheFirstTask()
{
    const QString echo = test::pluginPath(QStringLiteral("echo"));
    const QString echoFile = QFileInfo(echo).fileName();
    {
        WorkerPool pool(options(2)); // no preload: a worker loads a plugin when a task names it
        QTRY_COMPARE_WITH_TIMEOUT(pool.readyWorkers(), 2, 20000);
        QCOMPARE(childrenMapping(echoFile), 0);
    }
    WorkerPoolOptions o = options(2);
    // A path that does not load costs nothing: the first task naming it would report why.
    o.preloadPlugins = QStringList {QStringLiteral("/nonexistent/libtaskfleet_nothing.so"), echo};
    WorkerPool pool(o);
    QTRY_COMPARE_WITH_TIMEOUT(pool.readyWorkers(), 2, 20000);
    QCOMPARE(childrenMapping(echoFile), 2); // ready means loaded, before any task
    Collector c(&pool);
    pool.submit(tasks(QStringLiteral("echo"), {1, 2, 3}));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 3, 20000);
    QCOMPARE(c.byId.value(2).output.toInteger(), 2);
    QCOMPARE(pool.readyWorkers(), 2);
}

// A preloaded plugin that aborts as it loads ends the worker before its hello, so before any task
// started: the tasks already sent to it are run by its replacement, which preloads nothing, and none
// is reported crashed.
void TestWorkerPool::pluginCrashingAsItIsPreloadedBlamesNoTask()
{
    WorkerPoolOptions o = options(1);
    o.preloadPlugins = QStringList {QStringLiteral(TF_TESTPLUGIN_DIR "/libtaskfleet_crashonload.so")};
    QVERIFY(QFile::exists(o.preloadPlugins.first()));
    WorkerPool pool(o);
    Collector c(&pool);
    pool.submit(tasks(QStringLiteral("echo"), {1, 2, 3}));
    QTRY_COMPARE_WITH_TIMEOUT(c.byId.size(), 3, 30000);
    for (quint64 id = 1; id <= 3; ++id) {
        QCOMPARE(c.byId.value(id).outcome, Outcome::Ok);
        QCOMPARE(c.byId.value(id).output.toInteger(), qint64(id));
    }
    QCOMPARE(c.duplicates, 0);
    QTRY_COMPARE_WITH_TIMEOUT(pool.readyWorkers(), 1, 20000);
}

QTEST_GUILESS_MAIN(TestWorkerPool)
#include "tst_workerpool.moc"
