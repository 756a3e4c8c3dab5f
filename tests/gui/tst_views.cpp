// SPDX-License-Identifier: MIT
// The window's views on their own (offscreen, real widgets): the task map's legend, node colours, the
// chart's legend, the Nodes table's Errors column and sparklines, the Workers editor, the task detail and
// the timeline and the sparklines.
#include "delegates.h"
#include "format.h"
#include "jobsmodel.h"
#include "nodesmodel.h"
#include "nodesview.h"
#include "resultsmodel.h"
#include "sched/controller.h"
#include "sched/localnode.h"
#include "taskmapview.h"
#include "taskspanel.h"
#include "tasksmodel.h"
#include "testsupport.h"
#include "throughputchart.h"
#include "timelineview.h"

#include "exec/pluginregistry.h"
#include "exec/workerpool.h"

#include <QtCore/QDateTime>
#include <QtCore/QRegularExpression>
#include <QtTest/QtTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QToolButton>

using namespace taskfleet;
using gui::TasksModel;

namespace {

/** A record of a task that ran on \a node from \a startUs for \a runtimeUs. */
sched::TaskRecord record(int index, const QString &node, qint64 startUs, qint64 runtimeUs,
                         stats::TaskStatus status = stats::TaskStatus::Ok)
{
    sched::TaskRecord r;
    r.index = index;
    r.status = status;
    r.nodeId = node;
    r.nodeName = node;
    r.startUs = startUs;
    r.runtimeUs = runtimeUs;
    r.attempts = 1;
    if (status != stats::TaskStatus::Ok)
        r.error = QStringLiteral("went wrong");
    return r;
}

/** Hue distance in degrees (0..180). */
int hueDistance(const QColor &a, const QColor &b)
{
    const int d = std::abs(a.hslHue() - b.hslHue()) % 360;
    return std::min(d, 360 - d);
}

/** Pixels of \a image inside \a rect whose colour is within \a tolerance of \a color (per channel). */
int pixelsLike(const QImage &image, const QRect &rect, const QColor &color, int tolerance = 12)
{
    int n = 0;
    const QRect r = rect.intersected(image.rect());
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x) {
            const QColor c = image.pixelColor(x, y);
            if (std::abs(c.red() - color.red()) <= tolerance && std::abs(c.green() - color.green()) <= tolerance
                && std::abs(c.blue() - color.blue()) <= tolerance)
                ++n;
        }
    return n;
}

/** Pixels inside \a rect darker than \a lightness (text and lines). */
int darkPixels(const QImage &image, const QRect &rect, int lightness = 110)
{
    int n = 0;
    const QRect r = rect.intersected(image.rect());
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x)
            if (image.pixelColor(x, y).lightness() < lightness)
                ++n;
    return n;
}

/** Saves what the user would see, for a look (not checked). */
void keep(QWidget *w, const QString &name)
{
    w->grab().save(QDir::temp().filePath(QStringLiteral("tst_views-%1.png").arg(name)));
}

sched::NodeSnapshot node(const QString &id, sched::NodeState state = sched::NodeState::Online)
{
    sched::NodeSnapshot n;
    n.id = id;
    n.name = id;
    n.address = QStringLiteral("127.0.0.1:45450");
    n.state = state;
    n.workers = 4;
    return n;
}

} // namespace

class TestViews : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        qputenv("TASKFLEET_WORKER", test::program(QStringLiteral("taskfleet-worker")).toLocal8Bit());
        QVERIFY2(QFile::exists(test::program(QStringLiteral("taskfleet-worker"))), "build taskfleet-worker first");
        QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("fail"))), "build the plugins first");
        QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("sleep"))), "build the plugins first");
    }

    /** Item 11: the task map says what each colour means, with each state's count, below a grid that keeps clear of it. */
    void taskMapHasALegend()
    {
        TasksModel model;
        model.addJob(1, 150); // as many as fill the map's height with its largest cells, without a legend
        model.setCurrentJob(1);
        QVector<sched::TaskRecord> records;
        for (int i = 0; i < 10; ++i)
            records << record(i, QStringLiteral("alpha"), 1000 * i, 500);
        records << record(10, QStringLiteral("alpha"), 0, 100, stats::TaskStatus::Error);
        records << record(11, QStringLiteral("alpha"), 0, 0, stats::TaskStatus::Failed);
        records << record(12, QString(), 0, 0, stats::TaskStatus::Cancelled);
        model.addRecords(1, records);
        gui::TaskMapView map(&model);
        map.resize(420, 300);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        const QStringList legend = map.legendEntries();
        QCOMPARE(legend.size(), 6);
        for (const QString &word : {QStringLiteral("done"), QStringLiteral("running"), QStringLiteral("queued"),
                                    QStringLiteral("error"), QStringLiteral("failed"), QStringLiteral("cancelled")})
            QVERIFY2(legend.filter(QRegularExpression(QStringLiteral("^") + word)).size() == 1,
                     qPrintable(legend.join(QLatin1Char('|'))));
        QVERIFY2(legend.contains(QStringLiteral("done (its node's colour): 10")),
                 qPrintable(legend.join(QLatin1Char('|'))));
        QVERIFY(legend.contains(QStringLiteral("queued: 137")));
        QVERIFY(legend.contains(QStringLiteral("error: 1")));
        QVERIFY(legend.contains(QStringLiteral("failed: 1")));
        QVERIFY(legend.contains(QStringLiteral("cancelled: 1")));
        // Drawn: inside the widget, below the last cell, its swatches in the map's own colours.
        const QRect legendRect = map.legendRect();
        QVERIFY(!legendRect.isEmpty());
        QVERIFY(map.rect().contains(legendRect));
        const QImage image = map.grab().toImage();
        keep(&map, QStringLiteral("taskmap"));
        QVERIFY(map.cellRect(149).bottom() < legendRect.top());
        for (TasksModel::TaskState s :
             {TasksModel::Queued, TasksModel::Error, TasksModel::Failed, TasksModel::Cancelled})
            QVERIFY2(pixelsLike(image, legendRect, gui::TaskMapView::stateColor(s), 4) >= 20,
                     qPrintable(TasksModel::stateName(s)));
        QVERIFY(darkPixels(image, legendRect) > 100); // the words
        // A click on the legend is no click on a task.
        QCOMPARE(map.taskAt(legendRect.center()), -1);
    }

    /** Item 11: no node colour reads as the task map's failed (red) or error (orange), nor as queued/cancelled grey. */
    void nodeColoursNeverReadAsFailures()
    {
        const QColor failed = gui::TaskMapView::stateColor(TasksModel::Failed);
        const QColor error = gui::TaskMapView::stateColor(TasksModel::Error);
        QSet<QRgb> seen;
        for (int i = 0; i < 300; ++i)
            seen.insert(gui::nodeColor(QStringLiteral("node-%1").arg(i)).rgb());
        seen.insert(gui::nodeColor(QStringLiteral("127.0.0.1:45450")).rgb());
        for (const QColor &c : gui::nodePalette())
            seen.insert(c.rgb());
        QCOMPARE(seen.size(), gui::nodePalette().size()); // every name takes a colour of the palette
        for (QRgb rgb : std::as_const(seen)) {
            const QColor c(rgb);
            QVERIFY2(hueDistance(c, failed) >= 60 && hueDistance(c, error) >= 45, qPrintable(c.name()));
            QVERIFY2(c.hslSaturation() >= 100, qPrintable(c.name())); // not grey
        }
    }

    /**
     * Node colours: the first nodes seen all differ (as many as the palette has), every one from the palette;
     * the book remembers them (a restart reads it back), so the order nodes then appear in changes nothing,
     * where without the book it would.
     */
    void nodeColoursDifferForTheFirstNodesAndAreRemembered()
    {
        const int n = int(gui::nodePalette().size());
        QVERIFY(n >= 16);
        QStringList names;
        for (int i = 0; i < n; ++i)
            names << QStringLiteral("host-%1:45450").arg(i);
        const auto colorsOf = [](const QStringList &list) {
            QMap<QString, QRgb> colors;
            for (const QString &name : list)
                colors.insert(name, gui::nodeColor(name).rgb());
            return colors;
        };
        // The first few differ plainly, not only by shade: three nodes of a by-eye run got two purples.
        gui::useNodeColorBook({});
        const QStringList three = {QStringLiteral("vm (local)"), QStringLiteral("vm (127.0.0.1:47101)"),
                                   QStringLiteral("vm (127.0.0.1:47102)")};
        for (int a = 0; a < 3; ++a)
            for (int b = a + 1; b < 3; ++b)
                QVERIFY2(
                    hueDistance(gui::nodeColor(three[a]), gui::nodeColor(three[b])) >= 60,
                    qPrintable(gui::nodeColor(three[a]).name() + QLatin1Char(' ') + gui::nodeColor(three[b]).name()));
        gui::useNodeColorBook({});
        const QMap<QString, QRgb> first = colorsOf(names);
        const QList<QRgb> distinct(first.cbegin(), first.cend());
        QCOMPARE(QSet<QRgb>(distinct.cbegin(), distinct.cend()).size(), n);
        QCOMPARE(colorsOf(names), first);                                                 // a node keeps its colour
        QVERIFY(gui::nodePalette().contains(gui::nodeColor(QStringLiteral("one more")))); // shares one after that

        // Remembered in a file: read back at a restart, the nodes in the opposite order get the same colours.
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("node-colors.ini"));
        gui::useNodeColorBook(file);
        const QMap<QString, QRgb> booked = colorsOf(names);
        QStringList reversed = names;
        std::reverse(reversed.begin(), reversed.end());
        gui::useNodeColorBook(file);
        QCOMPARE(colorsOf(reversed), booked);
        // Without it, that order gives other colours: the book is what keeps them.
        gui::useNodeColorBook({});
        QVERIFY(colorsOf(reversed) != booked);
        gui::useNodeColorBook({});
    }

    /** Item 11: a node that never connected takes no legend entry; an online one does, and a node with tasks. */
    void chartLegendSkipsNeverConnectedNodes()
    {
        gui::ThroughputChart chart;
        chart.resize(600, 220);
        sched::ClusterSnapshot s;
        s.takenUs = 5'000'000;
        s.nodes = {node(QStringLiteral("local")), node(QStringLiteral("never"), sched::NodeState::Connecting),
                   node(QStringLiteral("refused"), sched::NodeState::Refused)};
        s.throughputNodeNames = {QStringLiteral("local"), QStringLiteral("never"), QStringLiteral("refused")};
        s.throughputHistory = {{0, 0, 3}, {0, 0, 3}, {0, 0, 0}, {0, 0, 0}};
        chart.setSnapshot(s);
        QCOMPARE(chart.legend(), QStringList({QStringLiteral("total"), QStringLiteral("local")}));
    }

    /** Item 11: the Nodes table has an Errors column, filled by the controller (a real node and plugin) and summed. */
    void nodesTableCountsErrorsPerNode()
    {
        QString error;
        const auto fail = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("fail")), &error);
        QVERIFY2(fail, qPrintable(error));
        sched::Controller controller;
        exec::WorkerPoolOptions options;
        options.workers = 2;
        controller.addNode(new sched::LocalNode(options));
        sched::JobSpec spec;
        spec.name = QStringLiteral("errors");
        spec.plugin = *fail;
        spec.inputs = QVector<QCborValue> {1, 2, 3, 4, 5};
        QSignalSpy finished(&controller, &sched::Controller::jobFinished);
        controller.submit(spec);
        QVERIFY(finished.wait(30000) || finished.size() == 1);
        const sched::ClusterSnapshot snapshot = controller.snapshot();
        QCOMPARE(snapshot.nodes.size(), 1);
        QCOMPARE(snapshot.nodes.at(0).errors, 5);

        gui::NodesModel model;
        sched::ClusterSnapshot two = snapshot;
        two.nodes.append(node(QStringLiteral("other")));
        two.nodes.last().errors = 2;
        model.setSnapshot(two);
        // A node still connecting, never online, named by its address: a neutral swatch, and no colour booked for
        // that name (it would keep one of the first, most distinct colours from the nodes to come).
        gui::useNodeColorBook({});
        sched::ClusterSnapshot connecting;
        connecting.nodes.append(node(QStringLiteral("127.0.0.1:47101"), sched::NodeState::Connecting));
        gui::NodesModel waiting;
        waiting.setSnapshot(connecting);
        const QColor swatch = waiting.index(0, gui::NodesModel::Name).data(Qt::DecorationRole).value<QColor>();
        QVERIFY(swatch.isValid() && !gui::nodePalette().contains(swatch));
        QCOMPARE(gui::nodeColor(QStringLiteral("first to come")), gui::nodePalette().at(0));
        QCOMPARE(model.headerData(gui::NodesModel::Errors, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("Errors"));
        QCOMPARE(model.index(0, gui::NodesModel::Errors).data().toLongLong(), 5);
        QCOMPARE(model.index(1, gui::NodesModel::Errors).data().toLongLong(), 2);
        QCOMPARE(model.index(2, gui::NodesModel::Errors).data().toLongLong(), 7);   // totals
        QCOMPARE(model.index(0, gui::NodesModel::Failures).data().toLongLong(), 0); // errors are no crashes
    }

    /**
     * Item 12: the Workers editor hides the cell's old value. Its up/down buttons painted no background, so
     * the cell's "4" showed through them beside the "1" being typed ("1|4"): with the model's value changed
     * under the open editor (a snapshot), the editor's pixels must not change.
     */
    void workersEditorHidesTheOldValue()
    {
        gui::NodesModel model;
        sched::ClusterSnapshot s;
        s.takenUs = 1'000'000;
        s.nodes = {node(QStringLiteral("local"))};
        model.setSnapshot(s);
        gui::NodesView view(&model, {});
        view.resize(1024, 150);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QModelIndex cell = model.index(0, gui::NodesModel::Workers);
        view.setCurrentIndex(cell);
        view.edit(cell);
        auto *spin = view.viewport()->findChild<QSpinBox *>();
        QVERIFY(spin);
        QTRY_VERIFY(spin->isVisible());
        QTest::keyClick(spin, Qt::Key_A, Qt::ControlModifier);
        QTest::keyClicks(spin, QStringLiteral("1")); // typed, not yet committed (it is when the edit ends)
        QApplication::processEvents();
        const QRect editor = spin->geometry();
        const QImage before = view.viewport()->grab().toImage().copy(editor);
        keep(&view, QStringLiteral("workers-editor"));
        for (int workers : {8, 4, 8}) { // snapshots come while the user types: the cell under the editor changes
            s.takenUs += 250'000;
            s.nodes[0].workers = workers;
            model.setSnapshot(s);
            QApplication::processEvents();
            QCOMPARE(spin->text(), QStringLiteral("1"));
            QCOMPARE(model.index(0, gui::NodesModel::Workers).data().toInt(), workers);
            QVERIFY2(view.viewport()->grab().toImage().copy(editor) == before,
                     "the cell's own value shows through the editor");
        }
    }

    /** Item 12: the detail shows the task's input (big ones cut, with their size) and attempt times as clock times. */
    void detailShowsInputAndClockTimes()
    {
        TasksModel model;
        model.addJob(1, 4);
        const QString big(200000, QLatin1Char('x'));
        QCborArray many;
        for (int i = 0; i < 5000; ++i)
            many.append(100000 + i); // 5 bytes each in CBOR, and a head of 3
        model.setJobInputs(1, QVector<QCborValue> {7, big, QCborMap {{QStringLiteral("n"), 3}}, many});
        model.setCurrentJob(1);
        const QDateTime origin(QDate(2026, 12, 7), QTime(14, 0, 0), Qt::LocalTime);
        model.setClockOrigin(origin.toMSecsSinceEpoch());
        model.addRecords(1, {record(0, QStringLiteral("alpha"), 192'118'000, 1'500'000),
                             record(1, QStringLiteral("alpha"), 192'118'000, 1'000)});
        const QString small = model.detailText(0);
        QVERIFY2(small.contains(QStringLiteral("\nInput: 7\n")), qPrintable(small));
        QVERIFY2(small.contains(QStringLiteral("started at 14:03:12.118")), qPrintable(small));
        QVERIFY2(!small.contains(QStringLiteral("192.118 s")), qPrintable(small));
        const QString cut = model.detailText(1);
        const QString inputLine = cut.split(QLatin1Char('\n')).filter(QStringLiteral("Input")).value(0);
        QVERIFY2(inputLine.startsWith(QStringLiteral("Input: <200.0 kB text> xxxx")), qPrintable(inputLine));
        QVERIFY2(inputLine.size() < TasksModel::InputPreviewChars + 60, qPrintable(QString::number(inputLine.size())));
        QVERIFY(model.detailText(2).contains(QStringLiteral("Input: {n: 3}")));
        const QString array = model.detailText(3);
        QVERIFY2(array.contains(QStringLiteral("Input (25.0 kB encoded, cut short): [100000, 100001, ")),
                 qPrintable(array));
        QVERIFY(array.split(QLatin1Char('\n')).filter(QStringLiteral("Input")).value(0).size()
                < TasksModel::InputPreviewChars + 60);
        // In the panel, as the user selects the task.
        gui::TasksPanel panel(&model);
        panel.resize(700, 500);
        panel.show();
        QVERIFY(panel.selectTask(1));
        QVERIFY(panel.detail()->toPlainText().contains(QStringLiteral("<200.0 kB text>")));
        keep(&panel, QStringLiteral("detail"));
    }

    /**
     * Timeline: tasks running now are bars that grow up to the clock now, each in a lane no other bar takes
     * meanwhile; a task's final record replaces its growing bar in that lane; attempts only waiting on a node
     * (more than it has busy workers) and a job that is over draw none.
     */
    void timelineGrowsRunningTasks()
    {
        TasksModel model;
        model.addJob(1, 8);
        model.setCurrentJob(1);
        model.setNodesBusy({{QStringLiteral("alpha"), 2}});
        gui::TimelineView timeline(&model);
        timeline.resize(600, 200);
        timeline.show();
        QVERIFY(QTest::qWaitForWindowExposed(&timeline));
        // alpha has ended task 5 already; tasks 0 and 1 run there, task 2 waits there for a worker.
        model.addRecords(1, {record(5, QStringLiteral("alpha"), 1'000'000, 2'000'000)});
        sched::TaskReport report;
        report.jobId = 1;
        report.takenUs = 5'000'000;
        report.running = {{0, QStringLiteral("alpha"), 3'500'000},
                          {1, QStringLiteral("alpha"), 4'000'000},
                          {2, QStringLiteral("alpha"), 4'500'000}};
        model.setReport(report);
        timeline.setRunning(report);
        QCOMPARE(model.stateAt(2), TasksModel::Queued);
        const auto running = [&timeline] {
            QVector<gui::TimelineView::Bar> all;
            for (int lane = 0; lane < timeline.laneNames().size(); ++lane)
                all += timeline.runningBars(lane);
            return all;
        };
        const auto laneOfRunning = [&timeline](int index) {
            for (int lane = 0; lane < timeline.laneNames().size(); ++lane)
                for (const gui::TimelineView::Bar &b : timeline.runningBars(lane))
                    if (b.index == index)
                        return lane;
            return -1;
        };
        QCOMPARE(running().size(), 2); // not task 2
        const int lane0 = laneOfRunning(0);
        const int lane1 = laneOfRunning(1);
        QVERIFY(lane0 >= 0 && lane1 >= 0 && lane0 != lane1);
        QCOMPARE(timeline.laneNames().size(), 2); // task 0 took the lane task 5 left at 3 s
        QCOMPARE(timeline.barCount(), 1);         // growing bars are not kept bars
        const gui::TimelineView::Bar first = timeline.runningBars(lane0).value(0);
        QVERIFY(first.running && first.startUs == 3'500'000 && first.endUs >= report.takenUs);
        QVERIFY(timeline.lastUs() < first.endUs); // the span reaches now, past the last ended bar
        // Drawn, lighter than an ended bar of the job, and growing with the clock between reports.
        QVERIFY(!timeline.barRect(1, 0).isEmpty());
        QVERIFY(timeline.barRect(1, 0).width() > 10);
        QVERIFY(!timeline.barRect(1, 1).isEmpty());
        QTest::qWait(3 * gui::TimelineView::GrowIntervalMs);
        const gui::TimelineView::Bar later = timeline.runningBars(lane0).value(0);
        QVERIFY2(later.endUs - first.endUs >= 2 * gui::TimelineView::GrowIntervalMs * 1000,
                 qPrintable(QStringLiteral("%1 -> %2").arg(first.endUs).arg(later.endUs)));
        QVERIFY(timeline.barRect(1, 0).right() >= timeline.viewport()->width() - 20); // up to now, at the right

        // Task 0 ends: its final bar replaces the growing one, in its lane; task 1 still grows.
        model.addRecords(1, {record(0, QStringLiteral("alpha"), 3'500'000, 2'000'000)});
        QCOMPARE(laneOfRunning(0), -1);
        QCOMPARE(laneOfRunning(1), lane1);
        QCOMPARE(timeline.barCount(), 2);
        bool replaced = false;
        for (const gui::TimelineView::Bar &b : timeline.bars(lane0))
            replaced = replaced || (b.index == 0 && !b.running);
        QVERIFY(replaced);
        // A task that was never seen running ends: it takes no lane a running task holds.
        model.addRecords(1, {record(6, QStringLiteral("alpha"), 4'100'000, 300'000)});
        for (const gui::TimelineView::Bar &b : timeline.bars(lane1))
            QVERIFY(b.index != 6);

        // The job is over: nothing grows any more.
        report.running.clear();
        report.jobOver = true;
        timeline.setRunning(report);
        QCOMPARE(running().size(), 0);
        QCOMPARE(timeline.barCount(), 3);

        // A resumed job's earlier result ran in another session: no bar at this session's clock.
        sched::TaskRecord earlier = record(7, QStringLiteral("alpha"), 0, 400'000);
        earlier.startUs = sched::TaskRecord::EarlierSession;
        model.addRecords(1, {earlier});
        QCOMPARE(model.stateAt(7), TasksModel::Done);
        QCOMPARE(timeline.barCount(), 3);
    }

    /** Timeline: a lane per worker (as many as ran at once on a node), bars by job, bounded, clickable, scrolling. */
    /**
     * The Results table sorts itself and keeps its order while records arrive past its row limit: at every step the
     * rows are exactly the kept records in the order a stable sort of them gives (arrival order for equal keys),
     * by numbers and by the text shown, either way; -1 is the order they came in.
     */
    void resultsSortHoldsAsRecordsArrive()
    {
        constexpr int Limit = 500;
        gui::ResultsModel model(nullptr, Limit);
        model.setCurrentJob(1);
        QVector<sched::TaskRecord> all;
        const auto batch = [&](int first, int n) {
            QVector<sched::TaskRecord> records;
            for (int i = first; i < first + n; ++i) {
                sched::TaskRecord r = record(i, QStringLiteral("node-%1").arg(i % 7), 0, (i * 7919) % 300);
                r.output = QStringLiteral("out %1").arg((i * 104729) % 1000);
                records.append(r);
            }
            all += records;
            model.addRecords(1, records);
        };
        const auto check = [&](int column, Qt::SortOrder order) {
            std::vector<sched::TaskRecord> kept(all.end() - std::min<qsizetype>(all.size(), Limit), all.end());
            const auto key = [column](const sched::TaskRecord &r) -> QVariant {
                switch (column) {
                case gui::ResultsModel::Index:
                    return r.index;
                case gui::ResultsModel::Time:
                    return r.runtimeUs;
                case gui::ResultsModel::Node:
                    return r.nodeName;
                default:
                    return r.output.toString();
                }
            };
            if (column >= 0)
                std::stable_sort(kept.begin(), kept.end(), [&](const sched::TaskRecord &a, const sched::TaskRecord &b) {
                    const int c = QVariant::compare(key(a), key(b)) == QPartialOrdering::Less      ? -1
                                  : QVariant::compare(key(a), key(b)) == QPartialOrdering::Greater ? 1
                                                                                                   : 0;
                    return order == Qt::AscendingOrder ? c < 0 : c > 0;
                });
            QCOMPARE(model.rowCount(), int(kept.size()));
            for (int row = 0; row < model.rowCount(); ++row)
                QCOMPARE(model.index(row, gui::ResultsModel::Index).data().toInt(), kept[size_t(row)].index);
        };
        batch(0, 300);
        model.sort(gui::ResultsModel::Time, Qt::AscendingOrder);
        check(gui::ResultsModel::Time, Qt::AscendingOrder);
        if (QTest::currentTestFailed())
            return;
        batch(300, 150); // below the limit: merged in
        check(gui::ResultsModel::Time, Qt::AscendingOrder);
        if (QTest::currentTestFailed())
            return;
        batch(450, 200); // past it: the oldest leave the order
        check(gui::ResultsModel::Time, Qt::AscendingOrder);
        if (QTest::currentTestFailed())
            return;
        model.sort(gui::ResultsModel::Output, Qt::DescendingOrder);
        check(gui::ResultsModel::Output, Qt::DescendingOrder);
        if (QTest::currentTestFailed())
            return;
        for (int k = 0; k < 4; ++k) {
            batch(650 + k * 90, 90);
            check(gui::ResultsModel::Output, Qt::DescendingOrder);
            if (QTest::currentTestFailed())
                return;
        }
        batch(1010, 700); // one batch bigger than the limit
        check(gui::ResultsModel::Output, Qt::DescendingOrder);
        if (QTest::currentTestFailed())
            return;
        model.sort(gui::ResultsModel::Node, Qt::AscendingOrder);
        batch(1710, 40);
        check(gui::ResultsModel::Node, Qt::AscendingOrder);
        if (QTest::currentTestFailed())
            return;
        model.sort(-1);
        check(-1, Qt::AscendingOrder);
        if (QTest::currentTestFailed())
            return;
        // Another job shown keeps the sort; its own records in it.
        model.sort(gui::ResultsModel::Index, Qt::DescendingOrder);
        model.setCurrentJob(2);
        model.addRecords(2, {record(5, QStringLiteral("a"), 0, 1), record(9, QStringLiteral("a"), 0, 1),
                             record(7, QStringLiteral("a"), 0, 1)});
        QCOMPARE(model.index(0, gui::ResultsModel::Index).data().toInt(), 9);
        QCOMPARE(model.index(2, gui::ResultsModel::Index).data().toInt(), 5);
    }

    /**
     * A node takes no more lanes than it has workers: a batch of tiny tasks' records, drawn as ending when the batch
     * came, overlaps, and without the bound a 1-worker node would grow a lane for each of them.
     */
    void timelineLanesFollowTheNodesWorkers()
    {
        TasksModel model;
        model.addJob(1, 1000);
        model.setCurrentJob(1);
        gui::TimelineView timeline(&model);
        timeline.setNodeWorkers({{QStringLiteral("one"), 1}, {QStringLiteral("two"), 2}});
        const qint64 t0 = 1'000'000;
        for (int batch = 0; batch < 10; ++batch) {
            QVector<sched::TaskRecord> records;
            for (int k = 0; k < 50; ++k) {
                const int index = batch * 100 + k;
                records.append(record(index, QStringLiteral("one"), t0 + batch * 1000 + k * 10, 5));
                records.append(record(index + 50, QStringLiteral("two"), t0 + batch * 1000 + k * 10, 5));
            }
            timeline.addRecords(1, records, t0 + batch * 1000 + 900); // the batch came after they all ended
        }
        QCOMPARE(timeline.laneNames(), QStringList({QStringLiteral("one \u00b7 1"), QStringLiteral("two \u00b7 1"),
                                                    QStringLiteral("two \u00b7 2")}));
        QCOMPARE(timeline.barCount(), 1000);
        // A node that gains workers may take more lanes; one never seen keeps the general bound.
        timeline.setNodeWorkers({{QStringLiteral("one"), 3}});
        timeline.addRecords(1,
                            {record(999, QStringLiteral("one"), t0 + 20'000, 5'000),
                             record(998, QStringLiteral("one"), t0 + 20'000, 5'000),
                             record(997, QStringLiteral("one"), t0 + 20'000, 5'000),
                             record(996, QStringLiteral("one"), t0 + 20'000, 5'000)},
                            t0 + 25'000);
        QCOMPARE(timeline.laneNames().filter(QStringLiteral("one")).size(), 3);
    }

    void timelineLanesBarsAndBounds()
    {
        TasksModel model;
        model.addJob(1, 4000);
        model.addJob(2, 10);
        model.setCurrentJob(1);
        gui::TasksPanel panel(&model);
        panel.resize(800, 500);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        gui::TimelineView *timeline = panel.timeline();
        QVERIFY(!panel.isTimelineShown());
        panel.timelineButton()->click();
        QVERIFY(panel.isTimelineShown());
        QVERIFY(timeline->isVisible());
        // alpha runs two tasks at a time, back to back, 100 ms each; beta one at a time. Job 2 shares alpha.
        const qint64 t0 = 1'000'000;
        for (int k = 0; k < 5; ++k) {
            const qint64 end = t0 + (k + 1) * 100'000;
            timeline->addRecords(1,
                                 {record(2 * k, QStringLiteral("alpha"), end - 100'000, 100'000),
                                  record(2 * k + 1, QStringLiteral("alpha"), end - 100'000, 100'000),
                                  record(100 + k, QStringLiteral("beta"), end - 100'000, 100'000)},
                                 end + 2000); // received 2 ms after they ended
        }
        timeline->addRecords(2, {record(0, QStringLiteral("beta"), t0 + 500'000, 50'000, stats::TaskStatus::Error)},
                             t0 + 551'000);
        QCOMPARE(timeline->laneNames(), QStringList({QStringLiteral("alpha \u00b7 1"), QStringLiteral("alpha \u00b7 2"),
                                                     QStringLiteral("beta \u00b7 1")}));
        QCOMPARE(timeline->bars(0).size(), 5);
        QCOMPARE(timeline->bars(1).size(), 5);
        QCOMPARE(timeline->bars(2).size(), 6);
        QCOMPARE(timeline->bars(0).first().startUs, t0 + 2000); // ends when received, starts its run time earlier
        QCOMPARE(timeline->bars(0).first().endUs, t0 + 102'000);
        // Two short tasks at once on a node take two lanes, however short (the jitter tolerance is no excuse).
        timeline->addRecords(2,
                             {record(1, QStringLiteral("beta"), t0 + 600'000, 5'000),
                              record(2, QStringLiteral("beta"), t0 + 600'000, 5'000)},
                             t0 + 605'000);
        QCOMPARE(timeline->laneNames().filter(QStringLiteral("beta")).size(), 2);
        QCOMPARE(timeline->bars(2).size(), 7);
        QCOMPARE(timeline->bars(3).size(), 1);
        // Bars in their job's colour: the current job's in full, an error in the task map's orange.
        timeline->setPixelsPerSecond(1000);
        QApplication::processEvents();
        const QImage image = timeline->viewport()->grab().toImage();
        keep(timeline, QStringLiteral("timeline"));
        const QRect first = timeline->barRect(1, 0);
        QVERIFY(!first.isEmpty());
        QVERIFY(pixelsLike(image, first, gui::TimelineView::jobColor(1), 2) >= first.width() * first.height() / 2);
        // Another job's bars are faded; shown as the current job, its error in the task map's orange.
        QVERIFY(pixelsLike(image, timeline->barRect(2, 0), gui::TaskMapView::stateColor(TasksModel::Error), 2) == 0);
        model.setCurrentJob(2);
        QApplication::processEvents();
        const QRect err = timeline->barRect(2, 0);
        QVERIFY(!err.isEmpty());
        QVERIFY(
            pixelsLike(timeline->viewport()->grab().toImage(), err, gui::TaskMapView::stateColor(TasksModel::Error), 2)
            >= err.width() * err.height() / 2);
        QVERIFY(pixelsLike(timeline->viewport()->grab().toImage(), first, gui::TimelineView::jobColor(1), 2) == 0);
        model.setCurrentJob(1);
        QApplication::processEvents();
        // A click on a bar of the current job selects its task, and the detail shows it.
        QTest::mouseClick(timeline->viewport(), Qt::LeftButton, {}, timeline->barRect(1, 7).center());
        QCOMPARE(panel.selectedTask(), 7);
        QVERIFY(panel.detail()->toPlainText().startsWith(QStringLiteral("Task 7:")));
        QVERIFY(panel.isTimelineShown());
        // Through the model, as the window feeds it: the records come with the time they were received.
        model.setClockOrigin(QDateTime::currentMSecsSinceEpoch() - 2000); // the controller started 2 s ago
        model.addRecords(1, {record(20, QStringLiteral("gamma"), 1'500'000, 200'000)});
        QCOMPARE(timeline->laneNames().size(), 5);
        const gui::TimelineView::Bar viaModel = timeline->bars(4).value(0);
        QCOMPARE(viaModel.index, 20);
        QVERIFY2(viaModel.endUs >= 1'900'000 && viaModel.endUs < 60'000'000,
                 qPrintable(QString::number(viaModel.endUs)));
        QCOMPARE(viaModel.endUs - viaModel.startUs, 200'000);
        // Wider than the view: it scrolls, and follows the newest bar until the user scrolls back.
        QScrollBar *h = timeline->horizontalScrollBar();
        QVERIFY(h->maximum() > 0);
        QCOMPARE(h->value(), h->maximum());
        h->setValue(0);
        timeline->addRecords(1, {record(30, QStringLiteral("alpha"), 3'000'000, 100'000)}, 3'100'000);
        QCOMPARE(h->value(), 0);
        // Bounded: one worker's 3000 tasks keep its last MaxBarsPerLane, the oldest gone.
        for (int k = 0; k < 3000; ++k) {
            const qint64 start = 10'000'000 + qint64(k) * 10'000;
            timeline->addRecords(1, {record(k, QStringLiteral("delta"), start, 10'000)}, start + 10'000);
        }
        QCOMPARE(timeline->laneNames().filter(QStringLiteral("delta")).size(), 1);
        const QVector<gui::TimelineView::Bar> delta = timeline->bars(5);
        QCOMPARE(delta.size(), gui::TimelineView::MaxBarsPerLane);
        QCOMPARE(delta.first().index, 3000 - gui::TimelineView::MaxBarsPerLane);
        QCOMPARE(delta.last().index, 2999);
        QVERIFY(timeline->barCount() <= qint64(gui::TimelineView::MaxBarsPerLane) * 6);
        QCOMPARE(timeline->firstUs(), t0 + 2000);
    }

    /**
     * Timeline on a real run: a local node with 2 workers runs 24 sleeps of 40 ms; the records, taken as the
     * window takes them (TasksModel::addRecords at arrival), give exactly 2 lanes whose bars do not overlap.
     */
    void timelineOfARealRunHasALanePerWorker()
    {
        QString error;
        const auto sleep = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("sleep")), &error);
        QVERIFY2(sleep, qPrintable(error));
        sched::Controller controller;
        exec::WorkerPoolOptions options;
        options.workers = 2;
        controller.addNode(new sched::LocalNode(options));
        TasksModel model;
        model.setClockOrigin(QDateTime::currentMSecsSinceEpoch() - controller.snapshot().takenUs / 1000);
        gui::TasksPanel panel(&model);
        panel.resize(900, 420);
        panel.showTimeline(true);
        panel.show();
        sched::JobSpec spec;
        spec.name = QStringLiteral("sleeps");
        spec.plugin = *sleep;
        QVector<QCborValue> inputs;
        for (int i = 0; i < 24; ++i)
            inputs.append(40);
        spec.inputs = inputs;
        QSignalSpy finished(&controller, &sched::Controller::jobFinished);
        connect(&controller, &sched::Controller::jobSubmitted, &model, [&model](int jobId) {
            model.addJob(jobId, 24);
            model.setCurrentJob(jobId);
        });
        connect(&controller, &sched::Controller::resultsRecorded, &model, &TasksModel::addRecords);
        const int id = controller.submit(spec);
        gui::TimelineView *timeline = panel.timeline();
        // Mid-run, the controller's report: its running tasks grow, one a worker, on the node's lanes.
        QTRY_VERIFY_WITH_TIMEOUT(model.count(id, TasksModel::Done) >= 4, 20000);
        const sched::TaskReport report = controller.taskReport(id);
        const sched::NodeSnapshot local = controller.snapshot().nodes.value(0);
        model.setNodesBusy({{local.name, local.busy}});
        model.setReport(report);
        timeline->setRunning(report);
        int growing = 0;
        for (int lane = 0; lane < timeline->laneNames().size(); ++lane)
            for (const gui::TimelineView::Bar &b : timeline->runningBars(lane)) {
                QVERIFY(b.running && b.jobId == id && b.endUs > b.startUs);
                QVERIFY(timeline->laneNames().at(lane).startsWith(local.name));
                ++growing;
            }
        QVERIFY2(growing >= 1 && growing <= 2, qPrintable(QString::number(growing)));
        // Reports all along the run, as the window asks for them: growing bars never push ended ones into
        // lanes of their own (the node keeps one lane a worker, checked below).
        QElapsedTimer clock;
        clock.start();
        while (finished.isEmpty() && clock.elapsed() < 30000) {
            const sched::TaskReport now = controller.taskReport(id);
            model.setNodesBusy({{local.name, controller.snapshot().nodes.value(0).busy}});
            model.setReport(now);
            timeline->setRunning(now);
            QTest::qWait(15);
        }
        QCOMPARE(finished.size(), 1);
        QApplication::processEvents();
        timeline->setRunning(controller.taskReport(id)); // over: nothing grows
        for (int lane = 0; lane < timeline->laneNames().size(); ++lane)
            QVERIFY(timeline->runningBars(lane).isEmpty());
        keep(&panel, QStringLiteral("timeline-real"));
        QCOMPARE(timeline->laneNames().size(), 2);
        QCOMPARE(timeline->barCount(), 24);
        for (int lane = 0; lane < 2; ++lane) {
            const QVector<gui::TimelineView::Bar> bars = timeline->bars(lane);
            for (int i = 1; i < bars.size(); ++i)
                QVERIFY2(bars.at(i).startUs >= bars.at(i - 1).endUs - gui::TimelineView::OverlapToleranceUs,
                         qPrintable(QStringLiteral("lane %1 bar %2").arg(lane).arg(i)));
            for (const gui::TimelineView::Bar &b : bars)
                QVERIFY(b.endUs - b.startUs >= 40000); // the sleep's own run time
        }
        // Until the user zooms, the whole run fills the view's width (a half-second job is not a speck).
        QVERIFY(timeline->isFitted());
        const double shown = timeline->pixelsPerSecond() * double(timeline->lastUs() - timeline->firstUs()) / 1e6;
        const int width = timeline->viewport()->width() - timeline->labelWidth();
        QVERIFY2(shown >= 0.9 * width && shown <= width, qPrintable(QString::number(shown)));
        QCOMPARE(timeline->horizontalScrollBar()->maximum(), 0);
        timeline->zoomBy(4);
        QVERIFY(!timeline->isFitted());
        QVERIFY(timeline->horizontalScrollBar()->maximum() > 0);
        QTest::mouseDClick(timeline->viewport(), Qt::LeftButton, {}, QPoint(5, 5));
        QVERIFY(timeline->isFitted());
        QCOMPARE(timeline->horizontalScrollBar()->maximum(), 0);
    }

    /**
     * The Jobs table counts what the Tasks view counts, in its words: plugin errors ("error") and tasks that
     * crashed or timed out for good ("failed") in columns of their own, never summed into one "Failed".
     */
    void jobsTableCountsErrorsAndFailuresAsTheTasksView()
    {
        // One job's ending: 4 values, 2 plugin errors, 3 failures, 1 cancelled, in the Tasks view...
        const QVector<stats::TaskStatus> statuses
            = {stats::TaskStatus::Ok, stats::TaskStatus::Error,     stats::TaskStatus::Failed,
               stats::TaskStatus::Ok, stats::TaskStatus::Failed,    stats::TaskStatus::Error,
               stats::TaskStatus::Ok, stats::TaskStatus::Cancelled, stats::TaskStatus::Failed,
               stats::TaskStatus::Ok};
        TasksModel tasks;
        tasks.addJob(7, statuses.size());
        QVector<sched::TaskRecord> records;
        for (int i = 0; i < statuses.size(); ++i)
            records.append(record(i, QStringLiteral("n"), 1000 * i, 500, statuses.at(i)));
        tasks.addRecords(7, records);
        // ...and the controller's counts of the same ending, in the Jobs table.
        sched::JobSnapshot job;
        job.id = 7;
        job.name = QStringLiteral("mixed");
        job.state = sched::JobState::Finished;
        job.total = statuses.size();
        job.done = tasks.count(7, TasksModel::Done);
        job.errors = tasks.count(7, TasksModel::Error);
        job.failed = tasks.count(7, TasksModel::Failed);
        job.cancelled = tasks.count(7, TasksModel::Cancelled);
        QCOMPARE(job.errors, 2);
        QCOMPARE(job.failed, 3);
        sched::ClusterSnapshot snapshot;
        snapshot.jobs = {job};
        gui::JobsModel jobs;
        jobs.setSnapshot(snapshot);
        const auto header = [&jobs](int column) {
            return jobs.headerData(column, Qt::Horizontal, Qt::DisplayRole).toString().toLower();
        };
        // The same words as the Tasks view's states (and the exports' statuses), the same counts.
        QCOMPARE(header(gui::JobsModel::Errors), TasksModel::stateName(TasksModel::Error) + QLatin1Char('s'));
        QCOMPARE(header(gui::JobsModel::Failed), TasksModel::stateName(TasksModel::Failed));
        QCOMPARE(stats::taskStatusName(stats::TaskStatus::Error), TasksModel::stateName(TasksModel::Error));
        QCOMPARE(stats::taskStatusName(stats::TaskStatus::Failed), TasksModel::stateName(TasksModel::Failed));
        QCOMPARE(jobs.index(0, gui::JobsModel::Errors).data().toLongLong(), tasks.count(7, TasksModel::Error));
        QCOMPARE(jobs.index(0, gui::JobsModel::Failed).data().toLongLong(), tasks.count(7, TasksModel::Failed));
        QCOMPARE(jobs.index(0, gui::JobsModel::Done).data().toLongLong(), tasks.count(7, TasksModel::Done));
        QCOMPARE(jobs.index(0, gui::JobsModel::Cancelled).data().toLongLong(), tasks.count(7, TasksModel::Cancelled));
        QCOMPARE(jobs.index(0, gui::JobsModel::State).data().toString(),
                 QStringLiteral("finished: 2 errors, 3 failed"));
        QVERIFY(jobs.index(0, gui::JobsModel::Errors)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("\"error\"")));
        QVERIFY(jobs.index(0, gui::JobsModel::Failed)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("\"failed\"")));
        // Still running with every task ended: a script's job waiting for more of its loop says so.
        job.state = sched::JobState::Running;
        QCOMPARE(gui::JobsModel::stateText(job), QStringLiteral("waiting for more tasks"));
        job.cancelled = 0;
        QCOMPARE(gui::JobsModel::stateText(job), QStringLiteral("running"));
    }

    /**
     * Item 12: the job row's Tasks/s and the Nodes total are one measure ("28.5" and "18.9" at the same moment:
     * the job's was its average since it started, the nodes' the last 5 s). A real controller and node, its
     * clock running a while before the job as in the window; both models fed the same snapshot. An ended job
     * shows its average over its run, a run under a second counted as one (a 6-task retry read 15306 tasks/s).
     */
    void jobRateIsTheNodesTotal()
    {
        QString error;
        const auto sleep = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("sleep")), &error);
        QVERIFY2(sleep, qPrintable(error));
        const auto fail = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("fail")), &error);
        QVERIFY2(fail, qPrintable(error));
        sched::Controller controller;
        exec::WorkerPoolOptions options;
        options.workers = 2;
        controller.addNode(new sched::LocalNode(options));
        QTest::qWait(1500);
        sched::JobSpec spec;
        spec.name = QStringLiteral("sleeps");
        spec.plugin = *sleep;
        QVector<QCborValue> inputs;
        for (int i = 0; i < 80; ++i)
            inputs.append(50);
        spec.inputs = inputs;
        QSignalSpy finished(&controller, &sched::Controller::jobFinished);
        const int id = controller.submit(spec);
        const auto jobOf = [id](const sched::ClusterSnapshot &s) {
            for (const sched::JobSnapshot &j : s.jobs)
                if (j.id == id)
                    return j;
            return sched::JobSnapshot {};
        };
        QTRY_VERIFY_WITH_TIMEOUT(jobOf(controller.snapshot()).done >= 24, 20000);
        const sched::ClusterSnapshot running = controller.snapshot();
        QCOMPARE(int(jobOf(running).state), int(sched::JobState::Running));
        gui::JobsModel jobs;
        gui::NodesModel nodes;
        jobs.setSnapshot(running);
        nodes.setSnapshot(running);
        QCOMPARE(jobs.rowCount(), 1);
        QCOMPARE(nodes.rowCount(), 2); // the local node and the Total row
        const QString jobRate = jobs.index(0, gui::JobsModel::Rate).data().toString();
        const QString totalRate = nodes.index(1, gui::NodesModel::Rate).data().toString();
        QVERIFY2(jobOf(running).tasksPerSecond > 0, qPrintable(jobRate));
        QCOMPARE(jobRate, totalRate);
        QCOMPARE(jobOf(running).tasksPerSecond, running.tasksPerSecond);

        // Over: its tasks over the time it ran (2 workers, 50 ms a task: at most 40 tasks/s).
        QVERIFY(finished.wait(30000) || finished.size() == 1);
        const sched::JobSnapshot over = jobOf(controller.snapshot());
        QVERIFY2(over.tasksPerSecond >= 15 && over.tasksPerSecond <= 40,
                 qPrintable(QString::number(over.tasksPerSecond)));

        // A burst: 5 plugin errors within milliseconds read 5 tasks/s, not thousands.
        spec.name = QStringLiteral("burst");
        spec.plugin = *fail;
        spec.inputs = QVector<QCborValue> {1, 2, 3, 4, 5};
        const int burst = controller.submit(spec);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 30000);
        for (const sched::JobSnapshot &j : controller.snapshot().jobs)
            if (j.id == burst)
                QVERIFY2(j.tasksPerSecond > 0 && j.tasksPerSecond <= 5.0,
                         qPrintable(QString::number(j.tasksPerSecond)));
    }

    /** Sparklines: the Nodes table keeps the last minutes of each node's load (bounded) and draws them in the cell. */
    void nodesTableDrawsLoadSparklines()
    {
        gui::NodesModel model;
        // Seven minutes of snapshots, 4 a second would be many: one a second, the load climbing 0 to 4 and back.
        for (int second = 0; second <= 420; ++second) {
            sched::ClusterSnapshot s;
            s.takenUs = qint64(second) * 1'000'000;
            sched::NodeSnapshot n = node(QStringLiteral("alpha"));
            n.host.cores = 4;
            n.host.load = second < 360 ? 4.0 * second / 360.0 : 4.0 - 4.0 * (second - 360) / 60.0;
            n.host.memTotal = 1000;
            n.host.memUsed = 500;
            s.nodes = {n};
            model.setSnapshot(s);
        }
        const QVector<double> load = model.loadHistory(QStringLiteral("alpha"));
        QCOMPARE(load.size(), gui::NodesModel::HistorySamples); // five minutes, one sample every five seconds
        QVERIFY(qAbs(load.last() - 0.0) < 0.01);
        QVERIFY(qAbs(load.at(load.size() - 13) - 4.0) < 0.01); // the peak a minute ago
        const QVector<double> scaled
            = model.index(0, gui::NodesModel::Load).data(gui::NodesModel::HistoryRole).value<QVector<double>>();
        QCOMPARE(scaled.size(), load.size());
        QVERIFY(std::all_of(scaled.cbegin(), scaled.cend(), [](double v) { return v >= 0 && v <= 1; }));
        QVERIFY(qAbs(model.memoryHistory(QStringLiteral("alpha")).last() - 0.5) < 0.001);
        // Drawn in the view, left of the number.
        gui::NodesView view(&model, {});
        view.resize(1400, 150);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(!view.isColumnHidden(gui::NodesModel::Load));
        const QRect cell = view.visualRect(model.index(0, gui::NodesModel::Load));
        const QImage image = view.viewport()->grab().toImage();
        keep(&view, QStringLiteral("nodes"));
        QVERIFY(pixelsLike(image, gui::SparklineDelegate::sparkRect(cell), gui::SparklineDelegate::lineColor(), 30)
                > 20);
        QVERIFY(darkPixels(image, cell) > 20); // and the number over it
        QVERIFY2(view.model()
                     ->index(0, gui::NodesModel::Load)
                     .data(Qt::ToolTipRole)
                     .toString()
                     .contains(QStringLiteral("Load average over the last")),
                 "the tooltip says what the line is");
    }
};

QTEST_MAIN(TestViews)
#include "tst_views.moc"
