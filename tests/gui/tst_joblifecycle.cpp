// SPDX-License-Identifier: MIT
// JobLifecycle without a window: submit, retry, rerun, resume and forget on a real controller with real workers.
#include "appjournal.h"
#include "joblifecycle.h"
#include "resultsmodel.h"
#include "tasksmodel.h"

#include "exec/pluginregistry.h"
#include "sched/clientsession.h"
#include "sched/controllerhost.h"
#include "sched/journal.h"
#include "sched/localnode.h"

#include "protocol/frame.h"
#include "testsupport.h"

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>

using namespace taskfleet;
using taskfleet::gui::JobLifecycle;
using taskfleet::gui::ResultsModel;
using taskfleet::gui::TasksModel;

namespace {
constexpr int TimeoutMs = 60000;

struct Added {
    int jobId = -1;
    sched::JobSpec spec;
    bool select = false;
};

/** A host with two local workers, its models and a lifecycle over them. */
struct Rig {
    sched::ControllerHost host;
    TasksModel tasks;
    ResultsModel results;
    JobLifecycle jobs;
    QVector<Added> added;
    QSet<int> finished;
    QStringList errors;

    Rig()
        : host(options())
        , jobs(&host, &tasks, &results)
    {
        QObject::connect(&jobs, &JobLifecycle::jobAdded, &jobs,
                         [this](int id, const sched::JobSpec &spec, bool select) {
                             added.append({id, spec, select});
                         });
        QObject::connect(&host, &sched::ControllerHost::jobFinished, &jobs, [this](int id) { finished.insert(id); });
        QObject::connect(&jobs, &JobLifecycle::errorRaised, &jobs, [this](const QString &e) { errors.append(e); });
        host.start();
    }
    static sched::ControllerHostOptions options()
    {
        sched::ControllerHostOptions o;
        o.localWorkers = 2;
        o.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
        o.snapshotIntervalMs = 50;
        o.resultFlushMs = 20;
        return o;
    }
    /** Waits (bounded) until \a n jobs were added; whether they were. */
    bool waitAdded(int n)
    {
        QElapsedTimer t;
        t.start();
        while (added.size() < n && t.elapsed() < TimeoutMs)
            QTest::qWait(10);
        return added.size() >= n;
    }
    bool waitFinished(int jobId)
    {
        QElapsedTimer t;
        t.start();
        while (!finished.contains(jobId) && t.elapsed() < TimeoutMs)
            QTest::qWait(10);
        QTest::qWait(50); // the records flushed with the end
        return finished.contains(jobId);
    }
    const Added *find(const QString &name) const
    {
        for (const Added &a : added)
            if (a.spec.name == name)
                return &a;
        return nullptr;
    }
};

sched::JobSpec jobOf(const QString &plugin, const QString &name, const QVector<QCborValue> &inputs)
{
    sched::JobSpec spec;
    QString error;
    const auto info = exec::PluginRegistry::inspect(test::pluginPath(plugin), &error);
    if (info)
        spec.plugin = *info;
    else
        qWarning("%s", qPrintable(error));
    spec.name = name;
    for (const QCborValue &v : inputs)
        spec.inputs.append(v);
    return spec;
}

QVector<QCborValue> numbers(int n)
{
    QVector<QCborValue> v;
    for (int i = 0; i < n; ++i)
        v.append(i);
    return v;
}
} // namespace

class TestJobLifecycle : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    // What a submission asked for follows its own job, not the count of acknowledgements: a job another
    // submitter queues in between (no origin, no ticket) takes nothing from it.
    void selectionFollowsTheJobNotTheOrder()
    {
        Rig rig;
        rig.jobs.submit(jobOf(QStringLiteral("echo"), QStringLiteral("first"), numbers(2)), false);
        rig.host.submit(jobOf(QStringLiteral("echo"), QStringLiteral("someone else's"), numbers(2)));
        rig.jobs.submit(jobOf(QStringLiteral("echo"), QStringLiteral("chosen"), numbers(2)), true);
        QVERIFY(rig.waitAdded(3));
        QVERIFY(rig.find(QStringLiteral("first")));
        QVERIFY(!rig.find(QStringLiteral("first"))->select);
        QVERIFY(!rig.find(QStringLiteral("someone else's"))->select);
        QVERIFY(rig.find(QStringLiteral("chosen"))->select);
        QCOMPARE(rig.jobs.awaitedJobs(), 0);
        // Every job is known by its id, whoever queued it (Rerun works on each).
        for (const Added &a : std::as_const(rig.added))
            QCOMPARE(rig.jobs.spec(a.jobId)->name, a.spec.name);
    }

    // An attached script's job (origin set) is shown as it comes: selected.
    void scriptJobsAreSelected()
    {
        Rig rig;
        sched::JobSpec spec = jobOf(QStringLiteral("echo"), QStringLiteral("python: f — demo.py"), numbers(1));
        spec.origin = QStringLiteral("demo.py");
        rig.host.submit(spec);
        QVERIFY(rig.waitAdded(1));
        QVERIFY(rig.added.first().select);
    }

    // Retry Failed queues only the tasks that did not give a value, each named by the task it retries.
    void retryTakesTheFailedTasksOnly()
    {
        Rig rig;
        rig.jobs.submit(jobOf(QStringLiteral("fail"), QStringLiteral("bad"), numbers(3)));
        QVERIFY(rig.waitAdded(1));
        const int bad = rig.added.first().jobId;
        QVERIFY(rig.waitFinished(bad));
        QCOMPARE(rig.tasks.count(bad, TasksModel::Error), 3);
        QCOMPARE(rig.jobs.retryFailedTasks(bad), 3);
        QVERIFY(rig.waitAdded(2));
        const Added &retry = rig.added.at(1);
        QVERIFY(retry.select);
        QCOMPARE(retry.spec.inputs.size(), 3);
        QVERIFY(retry.spec.name.contains(QStringLiteral("retry of 3 tasks")));

        rig.jobs.submit(jobOf(QStringLiteral("echo"), QStringLiteral("good"), numbers(2)));
        QVERIFY(rig.waitAdded(3));
        const int good = rig.added.at(2).jobId;
        QVERIFY(rig.waitFinished(good));
        QCOMPARE(rig.jobs.retryFailedTasks(good), 0); // a clean job: nothing queued
        QTest::qWait(100);
        QCOMPARE(rig.added.size(), 3);
        QVERIFY(rig.jobs.rerunJob(good));
        QVERIFY(rig.waitAdded(4));
        QCOMPARE(rig.added.at(3).spec.inputs.size(), 2);
        QVERIFY(!rig.jobs.rerunJob(12345));
    }

    // Forget: the job leaves the models and the lifecycle.
    void forgetDropsTheJob()
    {
        Rig rig;
        rig.jobs.submit(jobOf(QStringLiteral("echo"), QStringLiteral("gone"), numbers(3)));
        QVERIFY(rig.waitAdded(1));
        const int id = rig.added.first().jobId;
        QVERIFY(rig.waitFinished(id));
        rig.results.setCurrentJob(id);
        QCOMPARE(rig.results.rowCount(), 3);
        QVERIFY(rig.jobs.forgetJob(id));
        QVERIFY(!rig.jobs.spec(id));
        QCOMPARE(rig.results.keptRows(id), 0);
        QVERIFY(!rig.jobs.forgetJob(id));
    }

    // Tasks a script's loop adds to its job (ControllerHost::tasksAdded) grow the models in place: 100,000
    // added one at a time cost what one job of 100,000 does, not a copy of the list at each.
    void addedTasksGrowTheJobInPlace()
    {
        Rig rig;
        rig.jobs.submit(jobOf(QStringLiteral("echo"), QStringLiteral("loop"), numbers(1)));
        QVERIFY(rig.waitAdded(1));
        const int id = rig.added.first().jobId;
        QSignalSpy grown(&rig.jobs, &JobLifecycle::tasksAdded);
        QElapsedTimer t;
        t.start();
        for (int i = 1; i <= 100000; ++i)
            emit rig.host.tasksAdded(id, i, {QCborValue(i)});
        const qint64 ms = t.elapsed();
        QCOMPARE(grown.size(), 100000);
        QCOMPARE(rig.jobs.spec(id)->inputs.size(), 100001);
        QCOMPARE(rig.jobs.spec(id)->inputs.at(77777).toInteger(), 77777);
        rig.tasks.setCurrentJob(id);
        QCOMPARE(rig.tasks.rowCount(), 100001);
        QVERIFY2(ms < 5000 * test::timeScale(), qPrintable(QStringLiteral("%1 ms").arg(ms)));
        qInfo("100,000 tasks added one at a time: %lld ms", ms);
        emit rig.host.tasksAdded(id, 5, {QCborValue(0)}); // not where the job ends: ignored
        QCOMPARE(rig.jobs.spec(id)->inputs.size(), 100001);
    }

    // A script's loop slower than its tasks (its job ran out of tasks between two frames) is still one job, in
    // the window's session as in taskfleet-run's (ClientSession::setJoinFrames): a frame of the same code
    // joins the job that ended a moment ago; the job finishes once, when no more came for a while or another
    // job of the session started, its end the time its last task ended. With a journal each frame stays a job
    // of its own there, its results under its own indices. The session runs the echo plugin as its "python".
    void sessionLoopSlowerThanItsTasksIsOneJob()
    {
        QString error;
        const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
        QVERIFY2(echo, qPrintable(error));
        QTemporaryDir dir;
        sched::JournalWriter journal;
        QVERIFY2(journal.open(dir.filePath(QStringLiteral("session.journal")), &error), qPrintable(error));
        sched::Controller controller;
        exec::WorkerPoolOptions options;
        options.workers = 2;
        options.program = test::program(QStringLiteral("taskfleet-worker"));
        controller.addNode(new sched::LocalNode(options));
        auto session = std::make_unique<sched::ClientSession>(&controller, *echo, [](const QByteArray &) {});
        session->setJoinFrames(true);
        session->setJournal(&journal);
        QSignalSpy finished(&controller, &sched::Controller::jobFinished);
        qint64 recorded = 0;
        connect(&controller, &sched::Controller::resultsRecorded, this,
                [&recorded](int, const QVector<sched::TaskRecord> &r) { recorded += r.size(); });
        int nextId = 1;
        const auto submit = [&](const QString &key, int tasks) {
            QCborMap m;
            m.insert(QStringLiteral("t"), QStringLiteral("submit"));
            m.insert(QStringLiteral("job"), key);
            QCborMap params;
            params.insert(QStringLiteral("function"), key);
            m.insert(QStringLiteral("params"), params);
            QCborArray list;
            for (int i = 0; i < tasks; ++i, ++nextId)
                list.append(QCborArray {nextId, 100 + nextId});
            m.insert(QStringLiteral("tasks"), list);
            QByteArray frame;
            protocol::appendFrame(frame, m);
            session->receive(frame.constData(), frame.size());
        };
        const auto waitRecorded = [&](qint64 n) {
            QElapsedTimer t;
            t.start();
            while (recorded < n && t.elapsed() < TimeoutMs)
                QTest::qWait(10);
            return recorded == n;
        };

        // Three frames of "f", each after the job ran out of tasks: one job of 3 + 2 + 1 tasks.
        submit(QStringLiteral("f"), 3);
        QCOMPARE(controller.jobIds().size(), 1);
        const int id = controller.jobIds().first();
        QVERIFY(waitRecorded(3));
        QTRY_VERIFY_WITH_TIMEOUT(controller.isWaitingForTasks(id), 5000);
        QVERIFY(!session->hasUnfinishedJobs()); // it has every result: nothing to cancel if the script went
        QTest::qWait(300);
        submit(QStringLiteral("f"), 2);
        QVERIFY(waitRecorded(5));
        QTest::qWait(300);
        submit(QStringLiteral("f"), 1);
        QVERIFY(waitRecorded(6));
        QCOMPARE(controller.jobIds().size(), 1);
        QCOMPARE(controller.job(id)->total(), 6);
        QCOMPARE(controller.job(id)->done, 6);
        QCOMPARE(finished.size(), 0); // not announced while it may still grow
        QCOMPARE(int(controller.job(id)->state), int(sched::JobState::Running));

        // Another job of the session starts: that wait is over, the first job finishes at once, once.
        QTRY_VERIFY_WITH_TIMEOUT(controller.isWaitingForTasks(id), 5000);
        const qint64 ranOut = controller.job(id)->ranOutUs;
        submit(QStringLiteral("g"), 2);
        QCOMPARE(controller.jobIds().size(), 2);
        QCOMPARE(finished.size(), 1);
        QCOMPARE(finished.first().first().toInt(), id);
        QCOMPARE(int(controller.job(id)->state), int(sched::JobState::Finished));
        QCOMPARE(controller.job(id)->finishedUs, ranOut); // when its last task ended, not when the wait did
        const int g = controller.jobIds().last();
        QVERIFY(waitRecorded(8));
        // Alone, it finishes when the wait is over (bounded), once; a frame after that is a new job.
        QTest::qWait(sched::ClientSession::JoinGraceMs / 2);
        QCOMPARE(finished.size(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 2 * sched::ClientSession::JoinGraceMs);
        QCOMPARE(finished.last().first().toInt(), g);
        submit(QStringLiteral("g"), 1);
        QCOMPARE(controller.jobIds().size(), 3);
        QVERIFY(waitRecorded(9));
        // The session ends while that job waits: it finishes (all its results are in), not cancelled.
        QTRY_VERIFY_WITH_TIMEOUT(controller.isWaitingForTasks(controller.jobIds().last()), 5000);
        const int last = controller.jobIds().last();
        session.reset();
        QCOMPARE(int(controller.job(last)->state), int(sched::JobState::Finished));
        QCOMPARE(controller.job(last)->cancelled, 0);
        QCOMPARE(finished.size(), 3);

        // The journal: each frame a job, its results under its own indices, every one ended.
        QVERIFY(journal.sync());
        const auto jobs = sched::JournalReader::read(journal.path(), &error);
        QVERIFY2(jobs, qPrintable(error));
        QCOMPARE(jobs->size(), 5);
        const QVector<int> sizes = {3, 2, 1, 2, 1};
        int value = 101;
        for (int i = 0; i < jobs->size(); ++i) {
            const sched::JournaledJob &j = jobs->at(i);
            QCOMPARE(j.spec.inputs.size(), sizes.at(i));
            QCOMPARE(j.results.size(), sizes.at(i));
            QVERIFY(j.ended);
            for (int k = 0; k < sizes.at(i); ++k, ++value)
                QCOMPARE(j.results.value(k).output.toInteger(), value);
        }
    }

    // A resumed job is the original job: its indices, total and earlier results; only the missing tasks run.
    void resumedJobKeepsTheOriginalJob()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        constexpr int Total = 20;
        constexpr int Earlier = 7;
        const sched::JobSpec whole = jobOf(QStringLiteral("echo"), QStringLiteral("long"), numbers(Total));
        {
            // An earlier session that ended with 7 of its 20 tasks done (indices 3..9).
            gui::AppJournal old;
            QString error;
            QVERIFY2(old.open(dir.path(), &error), qPrintable(error));
            old.addJob(1, whole);
            QVector<sched::TaskRecord> records;
            for (int i = 3; i < 3 + Earlier; ++i) {
                sched::TaskRecord r;
                r.index = i;
                r.output = QStringLiteral("earlier %1").arg(i);
                r.nodeName = QStringLiteral("old");
                r.attempts = 1;
                records.append(r);
            }
            old.addResults(1, records);
            old.close();
        }
        Rig rig;
        QString error;
        QStringList warnings;
        QVERIFY2(rig.jobs.openJournal(dir.path(), &error, &warnings), qPrintable(error));
        QCOMPARE(rig.jobs.leftoverJobs(), 1);
        QCOMPARE(rig.jobs.resumeLeftovers(), 1);
        QVERIFY(rig.waitAdded(1));
        const Added &resumed = rig.added.first();
        QCOMPARE(resumed.spec.name, QStringLiteral("long (resumed: 13 of 20 tasks left)"));
        QCOMPARE(resumed.spec.inputs.size(), Total);
        QVERIFY(resumed.select);
        // From the start: 20 tasks, 7 of them done.
        QCOMPARE(rig.tasks.count(resumed.jobId, TasksModel::Done) >= Earlier, true);
        QVERIFY(rig.waitFinished(resumed.jobId));
        const sched::ClusterSnapshot snap = rig.host.lastSnapshot();
        const sched::JobSnapshot *job = nullptr;
        for (const sched::JobSnapshot &j : snap.jobs)
            if (j.id == resumed.jobId)
                job = &j;
        QVERIFY(job);
        QCOMPARE(job->total, Total);
        QCOMPARE(job->done, Total);
        QCOMPARE(rig.tasks.count(resumed.jobId, TasksModel::Done), Total);
        // The results are the original indices: the earlier ones as journaled, the others echoed now.
        rig.results.setCurrentJob(resumed.jobId);
        QCOMPARE(rig.results.rowCount(), Total);
        QMap<int, QString> outputs;
        for (int row = 0; row < rig.results.rowCount(); ++row)
            outputs.insert(rig.results.index(row, ResultsModel::Index).data(ResultsModel::SortRole).toInt(),
                           rig.results.index(row, ResultsModel::Output).data().toString());
        QCOMPARE(outputs.size(), Total);
        QCOMPARE(outputs.firstKey(), 0);
        QCOMPARE(outputs.lastKey(), Total - 1);
        QVERIFY2(outputs.value(5).contains(QStringLiteral("earlier 5")), qPrintable(outputs.value(5)));
        QVERIFY2(!outputs.value(15).contains(QStringLiteral("earlier")), qPrintable(outputs.value(15)));
        // An earlier result says it ran in an earlier session, not at this session's start (the journal keeps
        // no attempt times); one of this session gives its clock time.
        rig.tasks.setCurrentJob(resumed.jobId);
        const QString earlierDetail = rig.tasks.detailText(5);
        QVERIFY2(earlierDetail.contains(QStringLiteral("old, in an earlier session"))
                     && !earlierDetail.contains(QStringLiteral("started at")),
                 qPrintable(earlierDetail));
        const QString laterDetail = rig.tasks.detailText(15);
        QVERIFY2(laterDetail.contains(QStringLiteral("started at")) && !laterDetail.contains(QStringLiteral("earlier")),
                 qPrintable(laterDetail));
        // This session's journal has the whole job, ended, with every index once.
        rig.jobs.closeJournal();
        const auto journaled = sched::JournalReader::read(rig.jobs.journal().path(), &error);
        QVERIFY2(journaled, qPrintable(error));
        QCOMPARE(journaled->size(), 1);
        QCOMPARE(journaled->first().results.size(), Total);
        QVERIFY(journaled->first().ended);
        QVERIFY(rig.errors.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestJobLifecycle)
#include "tst_joblifecycle.moc"
