// SPDX-License-Identifier: MIT
// The window stays bounded for jobs of any size: the Tasks model's memory per task, its pages, the task map's cells.
#include "taskmapview.h"
#include "taskspanel.h"
#include "tasksmodel.h"
#include "testsupport.h"

#include <QtCore/QFile>
#include <QtCore/QRandomGenerator>
#include <QtTest/QtTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QTableView>

using namespace taskfleet;
using gui::TasksModel;
using gui::TaskStateFilter;

namespace {

/** VmRSS of this process in bytes, or -1. */
qint64 rssBytes()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong() * 1024;
    return -1;
}

/** The state task \a i of the synthetic jobs ends in: mostly done, some errors, failures and cancellations. */
stats::TaskStatus statusOf(qint64 i)
{
    if (i % 1009 == 5)
        return stats::TaskStatus::Error;
    if (i % 2003 == 7)
        return stats::TaskStatus::Failed;
    if (i % 4001 == 11)
        return stats::TaskStatus::Cancelled;
    return stats::TaskStatus::Ok;
}

/** Ends tasks 0 .. \a n - 1 of \a jobId (every one, or those with \a pred) through addRecords(), in batches. */
template <typename Pred>
void feed(TasksModel &model, int jobId, int n, Pred pred)
{
    constexpr int Batch = 8192;
    QVector<sched::TaskRecord> batch;
    batch.reserve(Batch);
    const QString nodes[] = {QStringLiteral("alpha"), QStringLiteral("beta"), QStringLiteral("gamma")};
    for (int i = 0; i < n; ++i) {
        if (!pred(i))
            continue;
        sched::TaskRecord r;
        r.index = i;
        r.status = statusOf(i);
        r.nodeName = nodes[(i / 300) % 3];
        r.startUs = qint64(i) * 10;
        r.runtimeUs = 1000 + i % 97;
        r.attempts = r.status == stats::TaskStatus::Failed ? 3 : 1;
        if (r.status != stats::TaskStatus::Ok)
            r.error = QStringLiteral("went wrong");
        batch.append(r);
        if (batch.size() == Batch) {
            model.addRecords(jobId, batch);
            batch.clear();
        }
    }
    if (!batch.isEmpty())
        model.addRecords(jobId, batch);
}

void feedAll(TasksModel &model, int jobId, int n)
{
    feed(model, jobId, n, [](int) { return true; });
}

/** The task map's order of urgency (TasksModel::worstState()). */
int urgency(TasksModel::TaskState s)
{
    switch (s) {
    case TasksModel::Failed:
        return 5;
    case TasksModel::Error:
        return 4;
    case TasksModel::Running:
        return 3;
    case TasksModel::Queued:
        return 2;
    case TasksModel::Cancelled:
        return 1;
    default:
        return 0;
    }
}

} // namespace

class TestTasksScale : public QObject
{
    Q_OBJECT

private slots:
    /**
     * The model's memory grows by at most 1.5 bytes a task: a 4 M-task job costs at most 4.5 MB more than a 1 M-task
     * one (RSS, and the model's own accounting), every task ended; states, counts and details stay exact.
     */
    void memoryPerTaskIsBounded()
    {
        // The sanitizer's allocator makes RSS meaningless and the feed slow: smaller jobs, the functional checks only.
        const bool measure = !test::sanitized();
        const int small = measure ? 1000000 : 100000;
        const int big = 4 * small;
        {
            // The allocator settles first (the feed's batches, the hashes' first growth), so only the jobs are measured.
            TasksModel warmUp;
            warmUp.addJob(1, small / 4);
            feedAll(warmUp, 1, small / 4);
        }
        const qint64 before = rssBytes();
        TasksModel one;
        one.addJob(1, small);
        feedAll(one, 1, small);
        const qint64 afterSmall = rssBytes();
        TasksModel four;
        four.addJob(1, big);
        feedAll(four, 1, big);
        const qint64 afterBig = rssBytes();
        const double perTask = double((afterBig - afterSmall) - (afterSmall - before)) / double(big - small);
        const double accounted = double(four.memoryBytes() - one.memoryBytes()) / double(big - small);
        qInfo("RSS: %.1f MB for %d tasks, %.1f MB for %d: %.3f B a task (the model's accounting: %.3f B a task)",
              double(afterSmall - before) / 1e6, small, double(afterBig - afterSmall) / 1e6, big, perTask, accounted);
        QVERIFY2(accounted <= 1.5, qPrintable(QString::number(accounted)));
        if (measure)
            QVERIFY2(perTask <= 1.5, qPrintable(QStringLiteral("%1 B a task").arg(perTask)));

        // A job whose tasks are all done keeps no state bits (its chunks say "all done"), only its blocks and details.
        {
            TasksModel allDone;
            allDone.addJob(1, big);
            feed(allDone, 1, big, [](int i) { return statusOf(i) == stats::TaskStatus::Ok; });
            QVector<sched::TaskRecord> rest;
            for (int i = 0; i < big; ++i)
                if (statusOf(i) != stats::TaskStatus::Ok) {
                    sched::TaskRecord r;
                    r.index = i;
                    rest << r; // done now
                }
            allDone.addRecords(1, rest);
            QCOMPARE(allDone.count(1, TasksModel::Done), qint64(big));
            QVERIFY2(allDone.memoryBytes() + big / 4 <= four.memoryBytes(),
                     qPrintable(QStringLiteral("%1 B all done, %2 B with problems")
                                    .arg(allDone.memoryBytes())
                                    .arg(four.memoryBytes())));
            allDone.setCurrentJob(1);
            QCOMPARE(allDone.stateAt(big - 1), TasksModel::Done);
            QCOMPARE(allDone.indicesIn(1, {TasksModel::Queued}), QVector<int>());
            allDone.growJob(1, big + 10); // an attached script adds tasks to a job all done: they are queued
            QCOMPARE(allDone.stateAt(big - 1), TasksModel::Done);
            QCOMPARE(allDone.stateAt(big), TasksModel::Queued);
            QCOMPARE(allDone.count(1, TasksModel::Queued), 10);
        }

        // Exact whatever is kept: the counts, each task's state, the indices retry-failed takes.
        four.setCurrentJob(1);
        qint64 expected[TasksModel::StateCount] = {};
        for (int i = 0; i < big; ++i) {
            const TasksModel::TaskState s = statusOf(i) == stats::TaskStatus::Ok       ? TasksModel::Done
                                            : statusOf(i) == stats::TaskStatus::Error  ? TasksModel::Error
                                            : statusOf(i) == stats::TaskStatus::Failed ? TasksModel::Failed
                                                                                       : TasksModel::Cancelled;
            ++expected[s];
            if (four.stateAt(i) != s)
                QFAIL(
                    qPrintable(QStringLiteral("task %1 reads %2").arg(i).arg(TasksModel::stateName(four.stateAt(i)))));
        }
        for (int s = 0; s < TasksModel::StateCount; ++s)
            QCOMPARE(four.count(1, TasksModel::TaskState(s)), expected[s]);
        const QVector<int> failed = four.indicesIn(1, {TasksModel::Failed});
        QCOMPARE(failed.size(), expected[TasksModel::Failed]);
        for (int i : failed)
            QCOMPARE(statusOf(i), stats::TaskStatus::Failed);
        QCOMPARE(four.rowCount(), big);

        // The latest done tasks keep their details; older ones say they are no longer kept, never a wrong figure.
        int recent = big - 1;
        while (statusOf(recent) != stats::TaskStatus::Ok)
            --recent;
        QVERIFY(!four.detailsDropped(recent));
        QVERIFY2(four.detailText(recent).contains(QStringLiteral("Attempts: 1")), qPrintable(four.detailText(recent)));
        QCOMPARE(four.index(recent, TasksModel::Node).data().toString(), four.nodeAt(recent));
        QVERIFY(!four.nodeAt(recent).isEmpty());
        QVERIFY(four.detailsDropped(0));
        QVERIFY2(four.detailText(0).contains(QStringLiteral("no longer kept")), qPrintable(four.detailText(0)));
        QCOMPARE(four.index(0, TasksModel::Attempts).data(), QVariant());
        QCOMPARE(four.index(0, TasksModel::State).data().toString(), QStringLiteral("done"));
        // A task that went wrong early keeps its details and its error (the first ones are kept).
        QVERIFY(!four.detailsDropped(5));
        QVERIFY2(four.detailText(5).contains(QStringLiteral("went wrong")), qPrintable(four.detailText(5)));
        QCOMPARE(four.index(7, TasksModel::Attempts).data().toInt(), 3);
    }

    /** The Tasks view's rows are a page of at most PageRows tasks, in one state or all, found across the whole job. */
    void pagesOfOneStateOrAll()
    {
        constexpr int Tasks = 25000;
        TasksModel model;
        model.addJob(3, Tasks);
        model.setCurrentJob(3);
        // Half the tasks end: the even ones.
        feed(model, 3, Tasks, [](int i) { return i % 2 == 0; });
        TaskStateFilter pages;
        pages.setSourceModel(&model);
        QCOMPARE(pages.rowCount(), TaskStateFilter::PageRows);
        QCOMPARE(pages.pageCount(), 3);
        pages.setPage(2);
        QCOMPARE(pages.rowCount(), Tasks - 2 * TaskStateFilter::PageRows);
        QCOMPARE(pages.taskAt(0), 2 * TaskStateFilter::PageRows);
        QCOMPARE(pages.index(0, TasksModel::Index).data(TasksModel::TaskRole).toInt(), 2 * TaskStateFilter::PageRows);

        // Queued: the odd tasks, 12,500 of them, over two pages.
        pages.setState(TasksModel::Queued);
        QCOMPARE(pages.page(), 0);
        QCOMPARE(pages.matching(), Tasks / 2);
        QCOMPARE(pages.rowCount(), TaskStateFilter::PageRows);
        for (int r = 0; r < pages.rowCount(); r += 997)
            QCOMPARE(pages.taskAt(r), 2 * r + 1);
        // A task on another page: the filter turns to it.
        const int row = pages.showTask(24001);
        QCOMPARE(pages.page(), 1);
        QCOMPARE(pages.taskAt(row), 24001);
        QCOMPARE(pages.showTask(24000), -1); // done, not queued
        // Errors: every one of the job, on one page.
        pages.setState(TasksModel::Error);
        QCOMPARE(pages.matching(), model.count(3, TasksModel::Error));
        QCOMPARE(qint64(pages.rowCount()), model.count(3, TasksModel::Error));
        for (int r = 0; r < pages.rowCount(); ++r)
            QCOMPARE(pages.index(r, TasksModel::State).data().toString(), QStringLiteral("error"));

        // Tasks that leave the state leave the page; the selection stays on its task.
        pages.setState(TasksModel::Queued);
        QItemSelectionModel selection(&pages);
        const int kept = pages.taskAt(50);
        selection.select(pages.index(50, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        feed(model, 3, 101, [](int i) { return i % 2 == 1; }); // tasks 1, 3, …, 99 end
        pages.refresh();
        QCOMPARE(pages.taskAt(0), 101);
        QCOMPARE(pages.matching(), Tasks / 2 - 50);
        QCOMPARE(pages.rowCount(), TaskStateFilter::PageRows);
        const QModelIndexList selected = selection.selectedRows();
        QCOMPARE(selected.size(), 1);
        QCOMPARE(pages.taskAt(selected.first().row()), kept);

        // A job that grows one task at a time (an attached script's loop) keeps the details of all its done tasks
        // while it has fewer tasks than TasksModel::DoneDetailSlots.
        TasksModel loop;
        loop.addJob(9, 1);
        loop.setCurrentJob(9);
        for (int i = 0; i < 3000; ++i) {
            loop.growJob(9, i + 1);
            feed(loop, 9, i + 1, [i](int k) { return k == i; });
        }
        for (int i = 0; i < 3000; i += 7)
            QVERIFY2(!loop.detailsDropped(i), qPrintable(QString::number(i)));
        QCOMPARE(loop.index(2999, TasksModel::Node).data().toString(), loop.nodeAt(2999));
    }

    /** A job of millions of tasks in the Tasks tab: a page in the table, a task on any page selectable, sort of the page. */
    void panelOfAHugeJob()
    {
        const int tasks = test::sanitized() ? 300000 : 3000000;
        TasksModel model;
        model.addJob(4, tasks);
        feedAll(model, 4, tasks / 2);
        gui::TasksPanel panel(&model);
        panel.resize(800, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        model.setCurrentJob(4);
        QCOMPARE(panel.view()->model()->rowCount(), TaskStateFilter::PageRows);
        QVERIFY(panel.pageBar()->isVisible());
        QVERIFY(panel.selectTask(tasks - 2));
        QCOMPARE(panel.selectedTask(), tasks - 2);
        QVERIFY(panel.detail()->toPlainText().startsWith(QStringLiteral("Task %1: queued").arg(tasks - 2)));
        QCOMPARE(panel.pages()->page(), (tasks - 2) / TaskStateFilter::PageRows);
        QVERIFY(panel.selectTask(3));
        QCOMPARE(panel.pages()->page(), 0);
        panel.view()->sortByColumn(TasksModel::Index, Qt::DescendingOrder);
        QCOMPARE(panel.view()->model()->index(0, TasksModel::Index).data().toInt(), TaskStateFilter::PageRows - 1);
        QCOMPARE(panel.selectedTask(), 3);
        // The filter by state counts the whole job.
        panel.setStateFilter(TasksModel::Failed);
        QCOMPARE(panel.pages()->matching(), model.count(4, TasksModel::Failed));
        QCOMPARE(qint64(panel.view()->model()->rowCount()), model.count(4, TasksModel::Failed));
        QVERIFY(!panel.pageBar()->isVisible());
    }

    /** A cell of the task map shows the state that most needs a look among its tasks, read from block counts. */
    void mapCellsMatchTheirTasks()
    {
        constexpr int Tasks = 300000;
        TasksModel model;
        model.addJob(5, Tasks);
        model.setCurrentJob(5);
        feed(model, 5, Tasks, [](int i) { return i < 200000 || i % 3 == 0; });
        sched::TaskReport report;
        report.jobId = 5;
        for (int i : {200002, 250000, 299999}) // not ended: running
            report.running.append({i, QStringLiteral("alpha"), 0});
        model.setReport(report);
        QCOMPARE(model.count(5, TasksModel::Running), 3);
        auto *rng = QRandomGenerator::global();
        for (int k = 0; k < 300; ++k) {
            const int first = int(rng->bounded(Tasks));
            const int count = 1 + int(rng->bounded(k % 2 ? 5000 : 100000));
            int shown = -1;
            const TasksModel::TaskState got = model.worstState(first, count, &shown);
            TasksModel::TaskState want = model.stateAt(first);
            int wantShown = first;
            for (int i = first; i < std::min(Tasks, first + count); ++i)
                if (urgency(model.stateAt(i)) > urgency(want)) {
                    want = model.stateAt(i);
                    wantShown = i;
                }
            QCOMPARE(got, want);
            QCOMPARE(shown, wantShown);
        }
        gui::TaskMapView map(&model);
        map.resize(300, 300);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        map.grab(); // lays the grid out
        QVERIFY(map.tasksPerCell() > 1);
        int shown = -1;
        QCOMPARE(map.cellState(200000, 3, &shown), TasksModel::Running);
        QCOMPARE(shown, 200002);
    }
};

QTEST_MAIN(TestTasksScale)
#include "tst_tasksscale.moc"
