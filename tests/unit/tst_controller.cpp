// SPDX-License-Identifier: MIT
// Scheduling rules of the Controller, driven through fake nodes: exactly-once, retries, poison,
// lost nodes, speculation, plugin load failures, priorities and cancellation.
#include "protocol/frame.h"
#include "sched/clientsession.h"
#include "sched/controller.h"
#include "sched/job.h"
#include "testsupport.h"

#include <QtTest/QtTest>

#include <deque>
#include <functional>
#include <random>
#include <optional>

using namespace taskfleet;
using namespace taskfleet::sched;
using exec::Outcome;
using exec::WorkResult;

// A node whose answer to each task is decided by the test. nullopt: hold the task until released.
class FakeNode : public Node
{
public:
    using Behaviour = std::function<std::optional<WorkResult>(const NodeTask &)>;

    FakeNode(const QString &id, int capacity, Behaviour behaviour)
        : m_id(id)
        , m_capacity(capacity)
        , m_behaviour(std::move(behaviour))
    {
    }

    QString id() const override { return m_id; }
    QString name() const override { return m_id; }
    QString address() const override { return m_id + QStringLiteral(":1"); }
    NodeState state() const override { return m_state; }
    int workerCount() const override { return m_capacity; }
    int busyWorkers() const override { return m_inFlight; }
    int credit() const override { return std::max(0, m_capacity - m_inFlight); }
    bool canRun(const exec::PluginInfo &, QString *) const override { return true; }
    void setWorkerCount(int count) override { m_capacity = count; }

    void submit(const exec::PluginInfo &, qint64, const exec::JobParametersPtr &, QVector<NodeTask> tasks) override
    {
        for (const NodeTask &t : tasks) {
            ++m_inFlight;
            ++submitted;
            inputsSeen.append(t.input);
            std::optional<WorkResult> r = m_behaviour(t);
            if (!r) {
                held.append(t.attempt);
                continue;
            }
            r->id = t.attempt;
            QMetaObject::invokeMethod(
                this, [this, result = *r] { deliver({result}); }, Qt::QueuedConnection);
        }
    }

    void cancel(const QVector<quint64> &attempts) override
    {
        cancelled += attempts;
        QVector<WorkResult> out;
        for (quint64 a : attempts) {
            if (held.removeOne(a))
                out.append(WorkResult {a, Outcome::Cancelled, {}, QStringLiteral("cancelled"), 0, {}});
        }
        if (!out.isEmpty())
            QMetaObject::invokeMethod(
                this, [this, out] { deliver(out); }, Qt::QueuedConnection);
    }

    /** The oldest held attempt ends with its input... as the value (a long task finishing). */
    void releaseOne()
    {
        if (held.isEmpty())
            return;
        const quint64 a = held.takeFirst();
        QMetaObject::invokeMethod(
            this,
            [this, a] {
                deliver({WorkResult {a, Outcome::Ok, QCborValue(0), {}, 1000, {}}});
            },
            Qt::QueuedConnection);
    }

    void loseEverything()
    {
        const QVector<quint64> lost = held;
        held.clear();
        m_inFlight -= int(lost.size());
        m_state = NodeState::Offline;
        emit stateChanged();
        emit tasksLost(lost, QStringLiteral("connection lost"));
    }

    QVector<quint64> held;
    QVector<quint64> cancelled;
    QVector<QCborValue> inputsSeen;
    int submitted = 0;

private:
    void deliver(const QVector<WorkResult> &results)
    {
        m_inFlight -= int(results.size());
        emit resultsArrived(results);
        emit creditAvailable();
    }

    QString m_id;
    int m_capacity;
    int m_inFlight = 0;
    NodeState m_state = NodeState::Online;
    Behaviour m_behaviour;
};

static std::optional<WorkResult> echo(const NodeTask &t)
{
    return WorkResult {0, Outcome::Ok, t.input, {}, 1000, {}};
}

// Records every TaskRecord per job and checks that no index ends twice.
class Recorder : public QObject
{
public:
    explicit Recorder(Controller *c)
    {
        connect(c, &Controller::resultsRecorded, this, [this](int job, const QVector<TaskRecord> &records) {
            for (const TaskRecord &r : records) {
                if (byIndex[job].contains(r.index))
                    ++duplicates;
                byIndex[job].insert(r.index, r);
            }
        });
        connect(c, &Controller::jobFinished, this, [this](int job) { finished.append(job); });
    }
    QHash<int, QHash<int, TaskRecord>> byIndex;
    QVector<int> finished;
    int duplicates = 0;
};

static JobSpec job(int n, int retries = 2)
{
    JobSpec spec;
    spec.name = QStringLiteral("test");
    spec.plugin.name = QStringLiteral("fake");
    spec.plugin.path = QStringLiteral("/fake");
    spec.plugin.sha256 = QByteArray(64, 'a');
    for (int i = 0; i < n; ++i)
        spec.inputs.append(i);
    spec.retries = retries;
    return spec;
}

class TestController : public QObject
{
    Q_OBJECT

private slots:
    void clientSessionSendsBigResultsAloneInOrder();
    void indexQueueBehavesAsADeque();
    void taskStatesBehaveAsAVector();
    void exactlyOnceAcrossNodes();
    void retriesThenSucceeds();
    void retriesExhausted();
    void poisonAfterThreeNodes();
    void pluginErrorIsFinal();
    void lostNodeTasksRescheduled();
    void drainedNodeTakesNoNewTasks();
    void speculationFirstResultWins();
    void loadFailureExcludesNode();
    void noNodeCanRunFailsJob();
    void priorityOrder();
    void ownersShareTheWorkers();
    void cancelEndsEveryTask();
    void emptyJobFinishes();
    void statisticsCountEachTaskOnce();
    void taskReportShowsRunningAttemptsAndHistory();
    void onlyJobsThatAreOverAreRemoved();
    void resumedJobRunsOnlyWhatDidNotEnd();
    void tasksJoinARunningJobOnly();
};

void TestController::exactlyOnceAcrossNodes()
{
    Controller c;
    auto *a = new FakeNode(QStringLiteral("a"), 4, echo);
    auto *b = new FakeNode(QStringLiteral("b"), 4, echo);
    c.addNode(a);
    c.addNode(b);
    Recorder rec(&c);
    const int id = c.submit(job(1000));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(rec.byIndex[id].size(), 1000);
    QCOMPARE(rec.duplicates, 0);
    for (int i = 0; i < 1000; ++i)
        QCOMPARE(rec.byIndex[id][i].output.toInteger(), i);
    QVERIFY(a->submitted > 100);
    QVERIFY(b->submitted > 100);
    QCOMPARE(a->submitted + b->submitted, 1000);
    QCOMPARE(c.job(id)->state, JobState::Finished);
}

// A drained node gets no new task (and no speculative copy) while the ones it runs stay with it;
// taken back, it gets tasks again.
void TestController::drainedNodeTakesNoNewTasks()
{
    Controller c;
    auto *holder = new FakeNode(QStringLiteral("holder"), 2, [](const NodeTask &) { return std::nullopt; });
    auto *b = new FakeNode(QStringLiteral("b"), 2, echo);
    c.addNode(holder);
    c.addNode(b);
    Recorder rec(&c);
    const int first = c.submit(job(40));
    QTRY_COMPARE_WITH_TIMEOUT(holder->held.size(), 2, 5000);
    c.setNodeDraining(QStringLiteral("holder"), true);
    QVERIFY(c.isNodeDraining(QStringLiteral("holder")));
    QTRY_COMPARE_WITH_TIMEOUT(rec.byIndex[first].size(), 38, 10000); // b ran everything else
    QCOMPARE(holder->submitted, 2);                                  // nothing new, no speculative copy
    QCOMPARE(holder->held.size(), 2);                                // and its running tasks stay with it
    QVERIFY(holder->cancelled.isEmpty());
    QVERIFY(rec.finished.isEmpty());
    const auto drained = [&] {
        for (const NodeSnapshot &n : c.snapshot().nodes)
            if (n.id == QStringLiteral("holder"))
                return n.draining;
        return false;
    };
    QVERIFY(drained());
    // A second job goes to b alone as well.
    const int second = c.submit(job(20));
    QTRY_COMPARE_WITH_TIMEOUT(rec.byIndex[second].size(), 20, 10000);
    QCOMPARE(holder->submitted, 2);
    // Draining requeued nothing: only losing the node does.
    c.setNodeDraining(QStringLiteral("holder"), false);
    QVERIFY(!drained());
    holder->loseEverything();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 2, 10000);
    QCOMPARE(rec.byIndex[first].size(), 40);
    QCOMPARE(rec.duplicates, 0);
    c.setNodeDraining(QStringLiteral("nobody"), true); // an unknown id changes nothing
    QVERIFY(!c.isNodeDraining(QStringLiteral("nobody")));

    // Taken back, a drained node gets tasks again.
    c.setNodeDraining(QStringLiteral("b"), true);
    auto *x = new FakeNode(QStringLiteral("x"), 2, echo);
    c.addNode(x);
    const int third = c.submit(job(30));
    QTRY_COMPARE_WITH_TIMEOUT(rec.byIndex[third].size(), 30, 10000);
    const int bBefore = b->submitted;
    QCOMPARE(x->submitted, 30);
    c.setNodeDraining(QStringLiteral("b"), false);
    const int fourth = c.submit(job(200));
    QTRY_COMPARE_WITH_TIMEOUT(rec.byIndex[fourth].size(), 200, 10000);
    QVERIFY(b->submitted > bBefore);
}

void TestController::retriesThenSucceeds()
{
    Controller c;
    QHash<qint64, int> tries;
    c.addNode(new FakeNode(QStringLiteral("a"), 2, [&tries](const NodeTask &t) -> std::optional<WorkResult> {
        if (t.input.toInteger() == 3 && ++tries[3] <= 2)
            return WorkResult {0, Outcome::Crashed, {}, QStringLiteral("worker killed by signal 11"), 5, {}};
        return echo(t);
    }));
    Recorder rec(&c);
    const int id = c.submit(job(5, 2));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(rec.byIndex[id][3].status, stats::TaskStatus::Ok);
    QCOMPARE(rec.byIndex[id][3].attempts, 3);
    QCOMPARE(rec.byIndex[id][0].attempts, 1);
    QCOMPARE(c.statistics().retries(), 2);
    QCOMPARE(c.statistics().nodes().at(0).failures, 2);
    // The two crashed attempts are the task's history; the one that worked is its record.
    const TaskReport report = c.taskReport(id);
    QCOMPARE(report.jobId, id);
    QVERIFY(report.jobOver);
    QCOMPARE(report.notes.size(), 1);
    QCOMPARE(report.notes.value(3).size(), 2);
    QCOMPARE(report.notes.value(3).at(0).nodeName, QStringLiteral("a"));
    QCOMPARE(report.notes.value(3).at(1).what, QStringLiteral("crashed: worker killed by signal 11"));
}

void TestController::retriesExhausted()
{
    Controller c;
    c.addNode(new FakeNode(QStringLiteral("a"), 2, [](const NodeTask &t) -> std::optional<WorkResult> {
        if (t.input.toInteger() == 1)
            return WorkResult {0, Outcome::TimedOut, {}, QStringLiteral("timed out after 10 ms"), 10000, {}};
        return echo(t);
    }));
    Recorder rec(&c);
    const int id = c.submit(job(3, 1));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    const TaskRecord r = rec.byIndex[id][1];
    QCOMPARE(r.status, stats::TaskStatus::Failed);
    QCOMPARE(r.attempts, 2);
    QVERIFY2(r.error.contains(QStringLiteral("failed after 2 attempts"))
                 && r.error.contains(QStringLiteral("timed out")),
             qPrintable(r.error));
    QCOMPARE(c.job(id)->failed, 1);
    QCOMPARE(c.job(id)->done, 2);
}

void TestController::poisonAfterThreeNodes()
{
    Controller c;
    c.setSpeculation(false);
    const auto crashOnZero = [](const NodeTask &t) -> std::optional<WorkResult> {
        if (t.input.toInteger() == 0)
            return WorkResult {0, Outcome::Crashed, {}, QStringLiteral("worker killed by signal 6"), 1, {}};
        return echo(t);
    };
    QVector<FakeNode *> nodes;
    for (const char *name : {"a", "b", "c", "d"}) {
        nodes.append(new FakeNode(QString::fromLatin1(name), 1, crashOnZero));
        c.addNode(nodes.last());
    }
    Recorder rec(&c);
    const int id = c.submit(job(20, 50));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(rec.byIndex[id].size(), 20);
    QCOMPARE(rec.duplicates, 0);
    // Each retry goes to a node where the task has not crashed yet (four are online), so the third attempt
    // is on the third distinct node and ends it as poison: exactly Controller::PoisonNodes attempts, far
    // below its 50 retries.
    const TaskRecord r = rec.byIndex[id][0];
    QCOMPARE(r.status, stats::TaskStatus::Failed);
    QCOMPARE(r.attempts, Controller::PoisonNodes);
    QCOMPARE(r.error,
             QStringLiteral("poison task: it ended workers on 3 different nodes; last: worker killed by signal 6"));
    // Three runs of input 0, each on a different node; the failure is recorded on the last of them.
    int runs = 0;
    for (const FakeNode *n : std::as_const(nodes)) {
        const int times = int(n->inputsSeen.count(QCborValue(0)));
        QVERIFY2(times <= 1, qPrintable(QStringLiteral("input 0 ran %1 times on %2").arg(times).arg(n->id())));
        runs += times;
        if (n->id() == r.nodeId)
            QCOMPARE(times, 1);
    }
    QCOMPARE(runs, 3);
    // Statistics: three failed attempts on three nodes, two retries, 19 tasks done, one failed.
    QCOMPARE(c.statistics().totalFailures(), 3);
    QCOMPARE(c.statistics().retries(), 2);
    QCOMPARE(c.statistics().totalDone(), 19);
    QCOMPARE(c.job(id)->failed, 1);
    QCOMPARE(c.job(id)->done, 19);
    for (int i = 1; i < 20; ++i)
        QCOMPARE(rec.byIndex[id][i].status, stats::TaskStatus::Ok);
}

void TestController::pluginErrorIsFinal()
{
    Controller c;
    FakeNode *a = new FakeNode(QStringLiteral("a"), 2, [](const NodeTask &t) -> std::optional<WorkResult> {
        return WorkResult {0, Outcome::PluginError, {}, QStringLiteral("bad input %1").arg(t.input.toInteger()), 3, {}};
    });
    c.addNode(a);
    Recorder rec(&c);
    const int id = c.submit(job(4));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(a->submitted, 4); // no retries
    QCOMPARE(rec.byIndex[id][2].status, stats::TaskStatus::Error);
    QCOMPARE(rec.byIndex[id][2].error, QStringLiteral("bad input 2"));
    QCOMPARE(c.job(id)->errors, 4);
}

void TestController::lostNodeTasksRescheduled()
{
    Controller c;
    c.setSpeculation(false);
    auto *a = new FakeNode(QStringLiteral("a"), 8, [](const NodeTask &) { return std::optional<WorkResult>(); });
    c.addNode(a);
    Recorder rec(&c);
    const int id = c.submit(job(50));
    QTRY_COMPARE_WITH_TIMEOUT(a->held.size(), 8, 5000);
    auto *b = new FakeNode(QStringLiteral("b"), 4, echo);
    c.addNode(b);
    QTRY_VERIFY_WITH_TIMEOUT(c.job(id)->pending.empty(), 5000);
    a->loseEverything();
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(rec.byIndex[id].size(), 50);
    QCOMPARE(rec.duplicates, 0);
    QCOMPARE(b->submitted, 50);
    QCOMPARE(c.statistics().nodes().at(0).lost, 8);
    QCOMPARE(c.statistics().nodes().at(0).tasksDone, 0);
}

void TestController::speculationFirstResultWins()
{
    Controller c;
    c.setSpeculationMinAgeMs(50);
    // Node a never answers input 7; node b answers everything at once.
    auto *a = new FakeNode(QStringLiteral("a"), 2, [](const NodeTask &t) -> std::optional<WorkResult> {
        if (t.input.toInteger() == 7)
            return std::nullopt;
        return echo(t);
    });
    auto *b = new FakeNode(QStringLiteral("b"), 2, echo);
    c.addNode(a);
    c.addNode(b);
    Recorder rec(&c);
    const int id = c.submit(job(40));
    // Speculation only starts when something else happens; keep the loop busy with a second tiny job.
    QTRY_COMPARE_WITH_TIMEOUT(rec.byIndex[id].size(), 40, 10000);
    QCOMPARE(rec.duplicates, 0);
    const TaskRecord r = rec.byIndex[id][7];
    QCOMPARE(r.status, stats::TaskStatus::Ok);
    QCOMPARE(r.nodeId, QStringLiteral("b"));
    QTRY_COMPARE_WITH_TIMEOUT(a->cancelled.size(), 1, 5000); // the losing copy was withdrawn
    const QVector<AttemptNote> notes = c.taskReport(id).notes.value(7);
    QCOMPARE(notes.size(), 1);
    QCOMPARE(notes.first().nodeName, QStringLiteral("a"));
    QVERIFY2(notes.first().what.startsWith(QStringLiteral("a duplicate, cancelled")), qPrintable(notes.first().what));
}

// The report lists each attempt in flight with its node, and what was lost with a node.
void TestController::taskReportShowsRunningAttemptsAndHistory()
{
    Controller c;
    c.setSpeculation(false);
    auto *holder = new FakeNode(QStringLiteral("holder"), 3, [](const NodeTask &) { return std::nullopt; });
    c.addNode(holder);
    Recorder rec(&c);
    const int id = c.submit(job(10));
    QTRY_COMPARE_WITH_TIMEOUT(holder->held.size(), 3, 5000);
    TaskReport report = c.taskReport(id);
    QCOMPARE(report.jobId, id);
    QVERIFY(!report.jobOver);
    QCOMPARE(report.running.size(), 3);
    QSet<int> running;
    for (const RunningAttempt &a : std::as_const(report.running)) {
        QCOMPARE(a.nodeName, QStringLiteral("holder"));
        QVERIFY(a.startUs <= report.takenUs);
        running.insert(a.index);
    }
    QCOMPARE(running, (QSet<int> {0, 1, 2}));
    QVERIFY(report.notes.isEmpty());

    holder->loseEverything();
    report = c.taskReport(id);
    QVERIFY(report.running.isEmpty());
    QCOMPARE(report.notes.size(), 3);
    QCOMPARE(report.notes.value(1).first().what, QStringLiteral("lost with its node: connection lost"));
    QCOMPARE(c.taskReport(id + 100).jobId, -1);
}

// Jobs ▸ Remove Job forgets a job that is over, and only such a job.
void TestController::onlyJobsThatAreOverAreRemoved()
{
    Controller c;
    auto *holder = new FakeNode(QStringLiteral("holder"), 1, [](const NodeTask &) { return std::nullopt; });
    c.addNode(holder);
    Recorder rec(&c);
    const int id = c.submit(job(4));
    QTRY_COMPARE_WITH_TIMEOUT(holder->held.size(), 1, 5000);
    QVERIFY(!c.removeJob(id)); // running
    QVERIFY(c.job(id));
    c.cancelJob(id);
    QVERIFY(c.removeJob(id));
    QVERIFY(!c.job(id));
    QVERIFY(c.snapshot().jobs.isEmpty());
    QVERIFY(!c.removeJob(id)); // already gone
    QVERIFY(!c.removeJob(12345));
}

void TestController::loadFailureExcludesNode()
{
    Controller c;
    auto *a = new FakeNode(QStringLiteral("a"), 4, [](const NodeTask &) -> std::optional<WorkResult> {
        return WorkResult {0, Outcome::LoadFailed, {}, QStringLiteral("cannot load plugin: wrong ELF class"), 0, {}};
    });
    auto *b = new FakeNode(QStringLiteral("b"), 4, echo);
    c.addNode(a);
    c.addNode(b);
    Recorder rec(&c);
    const int id = c.submit(job(30));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(rec.byIndex[id].size(), 30);
    for (const TaskRecord &r : std::as_const(rec.byIndex[id]))
        QCOMPARE(r.nodeId, QStringLiteral("b"));
    QVERIFY(a->submitted <= 4); // one batch at most, then never again
    QVERIFY(c.job(id)->excludedNodes.contains(QStringLiteral("a")));
}

void TestController::noNodeCanRunFailsJob()
{
    Controller c;
    c.addNode(new FakeNode(QStringLiteral("a"), 4, [](const NodeTask &) -> std::optional<WorkResult> {
        return WorkResult {0, Outcome::LoadFailed, {}, QStringLiteral("cannot load plugin: missing symbol"), 0, {}};
    }));
    Recorder rec(&c);
    const int id = c.submit(job(10));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    QCOMPARE(c.job(id)->failed, 10);
    QVERIFY2(rec.byIndex[id][9].error.contains(QStringLiteral("missing symbol")), qPrintable(rec.byIndex[id][9].error));
}

void TestController::priorityOrder()
{
    Controller c;
    auto *a = new FakeNode(QStringLiteral("a"), 1, echo);
    Recorder rec(&c);
    JobSpec low = job(5);
    low.priority = 0;
    JobSpec high = job(5);
    high.priority = 10;
    QVector<QCborValue> shifted;
    for (qsizetype i = 0; i < high.inputs.size(); ++i)
        shifted.append(QCborValue(high.inputs.at(i).toInteger() + 100));
    high.inputs = shifted;
    c.submit(low);
    c.submit(high);
    c.addNode(a); // both jobs queued before any node exists
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 2, 10000);
    for (int i = 0; i < 5; ++i)
        QVERIFY2(a->inputsSeen.at(i).toInteger() >= 100, "the high-priority job must run first");
}

// The window's job keeps every worker busy with long tasks; an attached script's job (another owner,
// the same priority) then gets each slot that frees, up to half the workers, instead of waiting for every task of
// the older job. Before: jobs of one priority ran oldest first, so the script's tasks came after all 8.
void TestController::ownersShareTheWorkers()
{
    Controller c;
    Recorder rec(&c);
    auto *node = new FakeNode(QStringLiteral("n"), 4, [](const NodeTask &t) -> std::optional<WorkResult> {
        if (t.input.toInteger() < 1000)
            return std::nullopt; // the window's long tasks: held until released
        return WorkResult {0, Outcome::Ok, t.input, {}, 1000, {}};
    });
    c.addNode(node);
    const int windowJob = c.submit(job(8));
    QTRY_COMPARE_WITH_TIMEOUT(node->held.size(), 4, 5000);
    JobSpec script = job(6);
    script.origin = QStringLiteral("script.py (pid 1)");
    QVector<QCborValue> scriptInputs;
    for (int i = 0; i < 6; ++i)
        scriptInputs.append(QCborValue(1000 + i));
    script.inputs = scriptInputs;
    const int scriptJob = c.submit(script);
    QTest::qWait(50);
    QCOMPARE(node->inputsSeen.size(), 4); // no slot free yet: the script waits for one of the long tasks
    node->releaseOne();                   // one long task ends: its slot goes to the script, and stays with it
    QTRY_VERIFY_WITH_TIMEOUT(rec.finished.contains(scriptJob), 5000);
    QVERIFY2(!rec.finished.contains(windowJob), "the window's job ended first: nothing was measured");
    // The window's next long tasks did not take the freed slot while the script had tasks; after it, they do.
    QVERIFY(node->inputsSeen.size() >= 4 + 6);
    for (qsizetype i = 4; i < 4 + 6; ++i)
        QVERIFY2(node->inputsSeen.at(i).toInteger() >= 1000, qPrintable(QString::number(i)));
    for (int i = 0; i < 20 && !rec.finished.contains(windowJob); ++i) { // the rest of the long tasks end
        node->releaseOne();
        QTest::qWait(10);
    }
    QTRY_VERIFY_WITH_TIMEOUT(rec.finished.contains(windowJob), 5000);
    QCOMPARE(rec.duplicates, 0);
}

void TestController::cancelEndsEveryTask()
{
    Controller c;
    auto *a = new FakeNode(QStringLiteral("a"), 3, [](const NodeTask &) { return std::optional<WorkResult>(); });
    c.addNode(a);
    Recorder rec(&c);
    const int id = c.submit(job(20));
    QTRY_COMPARE_WITH_TIMEOUT(a->held.size(), 3, 5000);
    c.cancelJob(id);
    QCOMPARE(rec.finished.size(), 1);
    QCOMPARE(rec.byIndex[id].size(), 20);
    QCOMPARE(c.job(id)->state, JobState::Cancelled);
    QCOMPARE(c.job(id)->cancelled, 20);
    QCOMPARE(a->cancelled.size(), 3);
    QCOMPARE(rec.duplicates, 0);
}

void TestController::emptyJobFinishes()
{
    Controller c;
    Recorder rec(&c);
    const int id = c.submit(job(0));
    QCOMPARE(rec.finished, QVector<int> {id});
}

void TestController::statisticsCountEachTaskOnce()
{
    Controller c;
    c.setSpeculationMinAgeMs(20);
    auto *a = new FakeNode(QStringLiteral("a"), 2, echo);
    auto *b = new FakeNode(QStringLiteral("b"), 2, echo);
    c.addNode(a);
    c.addNode(b);
    Recorder rec(&c);
    c.submit(job(300));
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 10000);
    const auto &nodes = c.statistics().nodes();
    QCOMPARE(nodes.at(0).tasksDone + nodes.at(1).tasksDone, 300);
    QCOMPARE(c.statistics().totalDone(), 300);
    QCOMPARE(qint64(c.statistics().taskLog().size()), 300);
    const ClusterSnapshot s = c.snapshot();
    QCOMPARE(s.nodes.size(), 2);
    QCOMPARE(s.jobs.size(), 1);
    QCOMPARE(s.jobs.first().done, 300);
    QVERIFY(std::abs(s.nodes.at(0).percentOfAll + s.nodes.at(1).percentOfAll - 100.0) < 0.01);
}

// A job submitted with tasks that ended before (a resume) keeps every index and counts them from the start;
// only the others run, and the job's rate counts only what it ran.
void TestController::resumedJobRunsOnlyWhatDidNotEnd()
{
    Controller c;
    auto *a = new FakeNode(QStringLiteral("a"), 4, echo);
    c.addNode(a);
    Recorder rec(&c);
    JobSpec spec = job(10);
    for (int i : {0, 1, 2, 7})
        spec.endedBefore.insert(i, int(stats::TaskStatus::Ok));
    spec.endedBefore.insert(8, int(stats::TaskStatus::Error));
    const int id = c.submit(spec);
    QCOMPARE(c.snapshot().jobs.first().total, 10);
    QCOMPARE(c.snapshot().jobs.first().done, 4);
    QCOMPARE(c.snapshot().jobs.first().errors, 1);
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 5000);
    QCOMPARE(a->submitted, 5);
    QCOMPARE(rec.byIndex[id].size(), 5);
    for (int i : {3, 4, 5, 6, 9})
        QCOMPARE(rec.byIndex[id].value(i).output.toInteger(), i);
    QCOMPARE(c.job(id)->done, 9);
    QCOMPARE(c.job(id)->errors, 1);
    QCOMPARE(c.job(id)->state, JobState::Finished);

    JobSpec all = job(3);
    for (int i = 0; i < 3; ++i)
        all.endedBefore.insert(i, int(stats::TaskStatus::Ok));
    const int over = c.submit(all); // nothing left to run: over at once
    QCOMPARE(c.job(over)->state, JobState::Finished);
}

// Tasks added to a running job take the next indices and run; a job that is over (or a range) takes none.
void TestController::tasksJoinARunningJobOnly()
{
    Controller c;
    auto *a = new FakeNode(QStringLiteral("a"), 2, [](const NodeTask &) { return std::optional<WorkResult>(); });
    c.addNode(a);
    Recorder rec(&c);
    QSignalSpy added(&c, &Controller::tasksAdded);
    const int id = c.submit(job(3));
    QCOMPARE(c.addTasks(id, {QCborValue(30), QCborValue(40)}), 3);
    QCOMPARE(added.size(), 1);
    QCOMPARE(added.first().at(1).toInt(), 3);
    QCOMPARE(added.first().at(2).toInt(), 2);
    QCOMPARE(c.job(id)->total(), 5);
    for (int i = 0; i < 5; ++i) {
        QTRY_VERIFY_WITH_TIMEOUT(!a->held.isEmpty(), 5000);
        a->releaseOne();
        QTRY_COMPARE_WITH_TIMEOUT(rec.byIndex[id].size(), i + 1, 5000);
    }
    QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, 5000);
    QCOMPARE(a->inputsSeen.size(), 5);
    QVERIFY(a->inputsSeen.contains(QCborValue(40)));
    QCOMPARE(c.addTasks(id, {QCborValue(50)}), -1); // over: a new job is the caller's to make
    QCOMPARE(c.job(id)->total(), 5);
    QCOMPARE(c.addTasks(12345, {QCborValue(1)}), -1);
    JobSpec range = job(0);
    range.inputs = JobInputs::range(0, 1, 10);
    const int r = c.submit(range);
    QCOMPARE(c.addTasks(r, {QCborValue(1)}), -1);

    // A script whose client writes each submit alone adds one task at a time: each costs the same, not the
    // size of the job (an exact reserve() per call made single appends quadratic).
    const int loop = c.submit(job(1));
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < 100000; ++i)
        QCOMPARE(c.addTasks(loop, {QCborValue(i)}), i + 1);
    QVERIFY2(t.elapsed() < 5000 * test::timeScale(), qPrintable(QString::number(t.elapsed())));
}

// Every task's state is half a byte (TaskStates); it must read back exactly what a std::vector<TaskState> holds,
// through assignments, growth from odd and even sizes, and shrinking.
void TestController::taskStatesBehaveAsAVector()
{
    using sched::TaskState;
    std::mt19937 rng(7);
    sched::TaskStates packed;
    std::vector<TaskState> plain;
    packed.assign(9, TaskState::Pending);
    plain.assign(9, TaskState::Pending);
    for (int step = 0; step < 20000; ++step) {
        const auto s = TaskState(rng() % 5);
        switch (rng() % 10) {
        case 0: { // grow by a few, from odd and even sizes
            const size_t n = plain.size() + rng() % 5;
            packed.resize(n, s);
            plain.resize(n, s);
            break;
        }
        case 1: // shrink a little
            if (plain.size() > 3) {
                packed.resize(plain.size() - 1, s);
                plain.resize(plain.size() - 1, s);
            }
            break;
        default: {
            const size_t i = rng() % plain.size();
            packed[i] = s;
            plain[i] = s;
        }
        }
        QCOMPARE(packed.size(), plain.size());
    }
    for (size_t i = 0; i < plain.size(); ++i)
        QCOMPARE(int(packed.at(i)), int(plain[i]));
    const sched::TaskStates &readOnly = packed;
    QCOMPARE(int(readOnly[plain.size() - 1]), int(plain.back()));
}

// The controller's queue of waiting tasks stores runs of consecutive indices; it must give exactly the
// sequence a std::deque<int> gives, whatever mix of pushes and pops (retries go to the front).
// A script's session writes small results together and each big one (1 MiB or more) in a frame of its own,
// from where it lies; one batch of records mixing them comes out whole and in order.
void TestController::clientSessionSendsBigResultsAloneInOrder()
{
    sched::Controller controller; // no node: the job waits, and its records are made up here
    exec::PluginInfo python;
    python.name = QStringLiteral("python");
    python.path = QStringLiteral("/nonexistent/python.so");
    python.sha256 = QByteArray(64, 'a');
    QByteArray written;
    sched::ClientSession session(&controller, python,
                                 [&written](const QByteArray &bytes) { written.append(bytes); }); // copies
    const QVector<qsizetype> sizes {10, 20, 2 * 1024 * 1024, 30, 3 * 1024 * 1024, 5 * 1024 * 1024, 40, 50};
    QCborMap submit;
    submit.insert(QStringLiteral("t"), QStringLiteral("submit"));
    submit.insert(QStringLiteral("job"), QStringLiteral("f"));
    submit.insert(QStringLiteral("params"), QCborMap {{QStringLiteral("function"), QStringLiteral("f")}});
    QCborArray tasks;
    for (int i = 0; i < sizes.size(); ++i)
        tasks.append(QCborArray {100 + i, i});
    submit.insert(QStringLiteral("tasks"), tasks);
    QByteArray frame;
    protocol::appendFrame(frame, submit);
    session.receive(frame.constData(), frame.size());
    QCOMPARE(controller.jobIds().size(), 1);

    QVector<sched::TaskRecord> records;
    for (int i = 0; i < sizes.size(); ++i) {
        sched::TaskRecord r;
        r.index = i;
        r.output = QCborValue(QByteArray(sizes[i], char('a' + i)));
        records.append(r);
    }
    written.clear();
    emit controller.resultsRecorded(controller.jobIds().first(), records);
    session.flush();

    protocol::FrameDecoder decoder;
    decoder.append(written.constData(), written.size());
    QCborMap message;
    QVector<qint64> ids;
    while (decoder.next(&message) == protocol::FrameDecoder::Status::Frame) {
        if (message.value(QStringLiteral("t")).toString() != QLatin1String("results"))
            continue;
        const QCborArray rows = message.value(QStringLiteral("r")).toArray();
        for (const QCborValue &row : rows) {
            const QCborArray r = row.toArray();
            const int i = int(r.at(0).toInteger()) - 100;
            QVERIFY(i >= 0 && i < sizes.size());
            QVERIFY(r.at(1).toBool());
            QCOMPARE(r.at(2).toByteArray(), QByteArray(sizes[i], char('a' + i)));
            if (sizes[i] >= 1024 * 1024)
                QCOMPARE(rows.size(), 1); // alone in its frame
            ids.append(r.at(0).toInteger());
        }
    }
    QCOMPARE(decoder.errorString(), QString());
    QCOMPARE(ids, (QVector<qint64> {100, 101, 102, 103, 104, 105, 106, 107}));
}

void TestController::indexQueueBehavesAsADeque()
{
    IndexQueue q;
    for (int i = 0; i < 1000000; ++i)
        q.push_back(i);
    QCOMPARE(q.runCount(), size_t(1)); // a fresh job: one run, not a million indices
    QCOMPARE(q.size(), size_t(1000000));
    q.clear();

    std::mt19937 random(12345);
    std::deque<int> model;
    int nextFresh = 0;
    for (int step = 0; step < 200000; ++step) {
        const unsigned op = random() % 10;
        if (op < 4) { // a fresh index, in order, sometimes with a gap (an input too big to run)
            nextFresh += random() % 7 == 0 ? 2 : 1;
            q.push_back(nextFresh);
            model.push_back(nextFresh);
        } else if (op < 6 && !model.empty()) { // a retry: back to the front, maybe the index just taken
            const int index = random() % 2 ? model.front() - 1 : int(random() % 1000);
            q.push_front(index);
            model.push_front(index);
        } else if (!model.empty()) {
            QCOMPARE(q.front(), model.front());
            q.pop_front();
            model.pop_front();
        }
        QCOMPARE(q.size(), model.size());
        QCOMPARE(q.empty(), model.empty());
        if (!model.empty())
            QCOMPARE(q.front(), model.front());
    }
    while (!model.empty()) {
        QCOMPARE(q.front(), model.front());
        q.pop_front();
        model.pop_front();
    }
    QVERIFY(q.empty());
}

QTEST_GUILESS_MAIN(TestController)
#include "tst_controller.moc"
