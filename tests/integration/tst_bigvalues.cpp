// SPDX-License-Identifier: MIT
// Big values: inputs and outputs of tens of MiB travel through real agents and workers in frames bounded by
// bytes, and one past a frame's 64 MiB in continued frames; beyond the documented maximum, that task alone
// fails with its size; nothing waits forever.
#include "agentprocess.h"
#include "loopbacknodes.h"
#include "testsupport.h"

#include "exec/pluginregistry.h"
#include "protocol/frame.h"
#include "sched/controller.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;

namespace {
const QByteArray Secret("big values test secret, long enough for a cluster");
constexpr qsizetype MiB = 1024 * 1024;

/** A text input of \a bytes whose content depends on \a seed (so swapped outputs are caught). */
QString text(qsizetype bytes, char seed)
{
    QByteArray b(bytes, seed);
    for (qsizetype i = 0; i < bytes; i += 997)
        b[i] = char('a' + (i / 997 + seed) % 26);
    return QString::fromLatin1(b);
}

/** Bytes of \a size whose content depends on \a seed (a copy that lost or moved a piece differs). */
QByteArray bytes(qsizetype size, char seed)
{
    QByteArray b(size, seed);
    for (qsizetype i = 0; i < size; i += 4093)
        b[i] = char(i / 4093 + seed);
    return b;
}

/** Runs \a spec on \a c until it ends (bounded); returns its records by task index. */
QHash<int, sched::TaskRecord> run(sched::Controller &c, sched::JobSpec spec, int timeoutMs, bool *finished)
{
    QHash<int, sched::TaskRecord> byIndex;
    int id = -1;
    *finished = false;
    QObject guard;
    QObject::connect(&c, &sched::Controller::resultsRecorded, &guard,
                     [&](int jobId, const QVector<sched::TaskRecord> &r) {
                         if (jobId == id)
                             for (const sched::TaskRecord &t : r)
                                 byIndex.insert(t.index, t);
                     });
    QObject::connect(&c, &sched::Controller::jobFinished, &guard,
                     [&](int jobId) { *finished = *finished || jobId == id; });
    // A real event loop, not QTest::qWaitFor: that sleeps 10 ms between event batches, and a 40 MB write to a
    // worker's pipe takes thousands of them.
    QEventLoop loop;
    QObject::connect(&c, &sched::Controller::jobFinished, &loop, [&](int jobId) {
        if (jobId == id)
            loop.quit();
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    id = c.submit(std::move(spec));
    if (!*finished)
        loop.exec();
    return byIndex;
}
} // namespace

class TestBigValues : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void twoFortyMegabyteInputsThroughAnAgent();
    void mixedSizesOnOneWorkerFirstAttempt();
    void valuePastOneFrameThroughAnAgent();
    void agentKilledWhileBigValuesTravelEachTaskEndsOnceExactly();
    void inputOverTheMaximumFailsAloneAtSubmit();
    void outputOverTheMaximumFailsAlone();

private:
    sched::JobSpec echoJob(const QVector<QCborValue> &inputs) const;
    /** Echoes \a inputs on \a c: empty when every task came back ok and exact (and, with \a firstAttempt, on
     *  its first attempt); otherwise what went wrong first. */
    QString echoedExactly(sched::Controller &c, const QVector<QCborValue> &inputs, bool firstAttempt) const;

    QTemporaryDir m_dir;
    exec::PluginInfo m_echo;
};

void TestBigValues::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QString error;
    const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY2(echo, qPrintable(error));
    m_echo = *echo;
    qputenv("TASKFLEET_WORKER", test::program(QStringLiteral("taskfleet-worker")).toLocal8Bit());
}

sched::JobSpec TestBigValues::echoJob(const QVector<QCborValue> &inputs) const
{
    sched::JobSpec spec;
    spec.name = QStringLiteral("big");
    spec.plugin = m_echo;
    spec.inputs = inputs;
    spec.retries = 2;
    spec.timeoutMs = 120000;
    return spec;
}

// The case: two 40 MB inputs and small ones in one job sent with no local worker. Before, the
// controller batched them into one 80 MB frame, refused to send it, and the job waited forever.
QString TestBigValues::echoedExactly(sched::Controller &c, const QVector<QCborValue> &inputs, bool firstAttempt) const
{
    bool finished = false;
    const auto records = run(c, echoJob(inputs), 120000, &finished);
    if (!finished)
        return QStringLiteral("the job did not end");
    if (records.size() != inputs.size())
        return QStringLiteral("%1 records for %2 inputs").arg(records.size()).arg(inputs.size());
    for (int i = 0; i < inputs.size(); ++i) {
        const sched::TaskRecord &r = records[i];
        if (r.status != stats::TaskStatus::Ok)
            return QStringLiteral("task %1: %2").arg(i).arg(r.error);
        if (firstAttempt && r.attempts != 1)
            return QStringLiteral("task %1 took %2 attempts").arg(i).arg(r.attempts);
        if (r.output != inputs[i])
            return QStringLiteral("task %1's output differs").arg(i);
    }
    return {};
}

void TestBigValues::twoFortyMegabyteInputsThroughAnAgent()
{
    const QString secret = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(secret, Secret));
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state")), secret, {QStringLiteral("-w"), QStringLiteral("2")}),
             qPrintable(agent.error()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *node = test::startRemoteNode(c, test::loopbackNodeOptions(agent.port(), Secret));
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Online; }, 15000));

    const QVector<QCborValue> inputs {QCborValue(1), QCborValue(text(40 * 1000 * 1000, 'a')), QCborValue(2),
                                      QCborValue(text(40 * 1000 * 1000, 'b')), QCborValue(3)};
    QElapsedTimer clock;
    clock.start();
    const QString problem = echoedExactly(c, inputs, false);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    qInfo("two 40 MB inputs and three small ones through the agent and back: %lld ms", clock.elapsed());
}

// The second case: inputs of 0, 1 MB, 16 MB, 40 MB, 40 MB, 1, 2 on one local worker. The pool
// batched by count into a 91 MB frame the worker refused; now every task succeeds on its first attempt.
void TestBigValues::mixedSizesOnOneWorkerFirstAttempt()
{
    sched::Controller c;
    test::addLocalNode(c, 1);
    const QVector<QCborValue> inputs {QCborValue(0),
                                      QCborValue(QByteArray(1 * MiB, 'x')),
                                      QCborValue(QByteArray(16 * MiB, 'y')),
                                      QCborValue(text(40 * 1000 * 1000, 'c')),
                                      QCborValue(text(40 * 1000 * 1000, 'd')),
                                      QCborValue(1),
                                      QCborValue(2)};
    QElapsedTimer clock;
    clock.start();
    const QString problem = echoedExactly(c, inputs, true);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    qInfo("mixed sizes on one worker: %lld ms", clock.elapsed());
}

// A value past protocol::MaxFrameSize (64 MiB) goes in continued frames: 100 MiB through the controller's channel,
// the agent, its worker's pipe and back.
void TestBigValues::valuePastOneFrameThroughAnAgent()
{
    const qsizetype size = 100 * MiB;
    QVERIFY(size > qsizetype(protocol::MaxFrameSize));
    const QString secret = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(secret, Secret));
    test::AgentProcess agent;
    QVERIFY2(
        agent.start(m_dir.filePath(QStringLiteral("state-past")), secret, {QStringLiteral("-w"), QStringLiteral("1")}),
        qPrintable(agent.error()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *node = test::startRemoteNode(c, test::loopbackNodeOptions(agent.port(), Secret));
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Online; }, 15000));

    const QVector<QCborValue> inputs {QCborValue(1), QCborValue(bytes(size, 'p')), QCborValue(2)};
    QElapsedTimer clock;
    clock.start();
    const QString problem = echoedExactly(c, inputs, true);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    qInfo("a 100 MiB value through the agent and back: %lld ms", clock.elapsed());
}

// kill -9 of an agent while big values are on their way to it and back: its tasks run again on the local node,
// and every task ends exactly once (one record per index), with its own value.
void TestBigValues::agentKilledWhileBigValuesTravelEachTaskEndsOnceExactly()
{
    const QString secret = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(secret, Secret));
    test::AgentProcess agent;
    QVERIFY2(
        agent.start(m_dir.filePath(QStringLiteral("state-kill")), secret, {QStringLiteral("-w"), QStringLiteral("1")}),
        qPrintable(agent.error()));
    sched::Controller c;
    test::addLocalNode(c, 1);
    auto *node = test::startRemoteNode(c, test::loopbackNodeOptions(agent.port(), Secret));
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Online; }, 15000));
    const QString agentNode = node->id();

    QVector<QCborValue> inputs;
    for (int i = 0; i < 16; ++i)
        inputs.append(QCborValue(bytes(6 * MiB + i, char('A' + i))));
    QHash<int, int> ended;                 // records per index
    QHash<int, sched::TaskRecord> byIndex; // the last of them
    int inFlightAtKill = -1;
    bool finished = false;
    int id = -1;
    QObject guard;
    QEventLoop loop;
    QObject::connect(&c, &sched::Controller::resultsRecorded, &guard,
                     [&](int jobId, const QVector<sched::TaskRecord> &records) {
                         if (jobId != id)
                             return;
                         for (const sched::TaskRecord &r : records) {
                             ++ended[r.index];
                             byIndex.insert(r.index, r);
                             // The agent's first result back: others are on their way to it or in its worker.
                             if (r.nodeId == agentNode && inFlightAtKill < 0) {
                                 inFlightAtKill = node->inFlight();
                                 agent.kill9();
                             }
                         }
                     });
    QObject::connect(&c, &sched::Controller::jobFinished, &loop, [&](int jobId) {
        if (jobId == id) {
            finished = true;
            loop.quit();
        }
    });
    QTimer::singleShot(120000, &loop, &QEventLoop::quit);
    sched::JobSpec spec = echoJob(inputs);
    spec.retries = 0; // a task lost with its node is not a failed attempt: it runs again all the same
    id = c.submit(std::move(spec));
    loop.exec();

    QVERIFY2(finished, "the job did not end");
    QVERIFY2(inFlightAtKill > 0, qPrintable(QStringLiteral("nothing was on its way to the agent when it was killed "
                                                           "(%1)")
                                                .arg(inFlightAtKill)));
    for (int i = 0; i < inputs.size(); ++i) {
        QVERIFY2(ended.value(i) == 1, qPrintable(QStringLiteral("task %1 ended %2 times").arg(i).arg(ended.value(i))));
        const sched::TaskRecord &r = byIndex[i];
        QVERIFY2(r.status == stats::TaskStatus::Ok, qPrintable(QStringLiteral("task %1: %2").arg(i).arg(r.error)));
        QVERIFY2(r.output == inputs[i], qPrintable(QStringLiteral("task %1's output differs").arg(i)));
    }
    qInfo("agent killed with %d big tasks on their way to it; all %lld ended once, exactly", inFlightAtKill,
          qlonglong(inputs.size()));
}

void TestBigValues::inputOverTheMaximumFailsAloneAtSubmit()
{
    sched::Controller c;
    test::addLocalNode(c, 1);
    const QVector<QCborValue> inputs {QCborValue(7), QCborValue(QByteArray(300 * MiB, 'z')), QCborValue(8)};
    bool finished = false;
    const auto records = run(c, echoJob(inputs), 60000, &finished);
    QVERIFY(finished);
    QCOMPARE(records.size(), 3);
    QCOMPARE(records[0].output, QCborValue(7));
    QCOMPARE(records[2].output, QCborValue(8));
    QCOMPARE(records[1].status, stats::TaskStatus::Failed);
    QCOMPARE(records[1].attempts, 0); // never sent anywhere
    QVERIFY2(records[1].error.contains(QStringLiteral("input 1 is 300.0 MiB")), qPrintable(records[1].error));
    QVERIFY2(records[1].error.contains(QStringLiteral("256 MiB")), qPrintable(records[1].error));
}

void TestBigValues::outputOverTheMaximumFailsAlone()
{
#ifndef TF_HAVE_PYTHON_PLUGIN
    QSKIP("this build has no python plugin (CMake found no Python embedding files)");
#else
    // Configured with the plugin: a missing file is a broken build, not a reason to skip.
    QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("python"))),
             qPrintable(test::pluginPath(QStringLiteral("python")) + QStringLiteral(" is missing: build tf_plugins")));
    QString error;
    const auto python = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("python")), &error);
    QVERIFY2(python, qPrintable(error));
    sched::Controller c;
    test::addLocalNode(c, 1);
    sched::JobSpec spec;
    spec.name = QStringLiteral("big output");
    spec.plugin = *python;
    spec.parameters = QCborMap {{QStringLiteral("source"), QStringLiteral("def f(n):\n    return b'x' * n\n")},
                                {QStringLiteral("function"), QStringLiteral("f")}};
    spec.inputs = {QCborValue(10), QCborValue(qint64(300 * MiB)), QCborValue(20)};
    bool finished = false;
    const auto records = run(c, spec, 120000, &finished);
    QVERIFY(finished);
    QCOMPARE(records.size(), 3);
    QCOMPARE(records[0].output, QCborValue(QByteArray(10, 'x')));
    QCOMPARE(records[2].output, QCborValue(QByteArray(20, 'x')));
    QCOMPARE(records[1].status, stats::TaskStatus::Error);
    QCOMPARE(records[1].attempts, 1);
    QVERIFY2(records[1].error.contains(QStringLiteral("the output is 300.0 MiB")), qPrintable(records[1].error));
#endif
}

QTEST_GUILESS_MAIN(TestBigValues)
#include "tst_bigvalues.moc"
