// SPDX-License-Identifier: MIT
// The main window end to end: drops, bad files, worker counts, results, statistics export.
#include "addnodedialog.h"
#include "agentnodetype.h"
#include "agentprocess.h"
#include "appjournal.h"
#include "appsettings.h"
#include "historydialog.h"
#include "delegates.h"
#include "format.h"
#include "guitestsupport.h"
#include "jobsmodel.h"
#include "mainwindow.h"
#include "mandelbrotview.h"
#include "manualwindow.h"
#include "nodesmodel.h"
#include "nodesview.h"
#include "plugininputsdialog.h"
#include "pythonjobdialog.h"
#include "resultsmodel.h"
#include "resultspanel.h"
#include "settingsdialog.h"
#include "taskmapview.h"
#include "tasksmodel.h"
#include "taskspanel.h"
#include "throughputchart.h"
#include "testsupport.h"

#include "exec/pluginregistry.h"
#include "net/nodeaddress.h"
#include "sched/journal.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QLockFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMimeData>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QThread>
#include <QtCore/QSysInfo>
#include <QtCore/QTemporaryDir>
#include <QtCore/QUrl>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QUdpSocket>
#include <QtGui/QDragEnterEvent>
#include <QtGui/QDropEvent>
#include <QtWidgets/QMessageBox>
#include <QtCore/QTimer>
#include <QtCore/QSettings>
#include <QtWidgets/QApplication>
#include <QtWidgets/QAbstractButton>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QMenu>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTextBrowser>
#include <QtWidgets/QTableView>
#include <QtWidgets/QTableWidget>
#include <QtWidgets/QTabWidget>

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>

#include <sys/stat.h>
#include <unistd.h>

using namespace taskfleet;
using namespace taskfleet::guitest;
using gui::JobsModel;
using gui::MainWindow;
using gui::NodesModel;

namespace {

/**
 * A window with fake nodes named \a names added in that order: the colour of each (by node id, the name
 * with an "id-" prefix) in its Nodes table swatch.
 */
QMap<QString, QString> nodeColorsOfAWindow(const QStringList &names)
{
    QMap<QString, QString> colors;
    const auto window = makeWindow(1);
    MainWindow &w = *window;
    if (const QString book = qEnvironmentVariable("TF_NODE_COLOR_BOOK"); !book.isEmpty())
        gui::useNodeColorBook(book); // as the app's book beside its settings
    for (const QString &name : names) {
        w.host()->addNode([name] { return new FakeNode(1, QStringLiteral("id-") + name, name); });
        // One at a time, so each is first seen after the ones before it.
        QElapsedTimer clock;
        clock.start();
        while (w.nodesModel()->rowOf(QStringLiteral("id-") + name) < 0 && clock.elapsed() < 10000)
            QTest::qWait(20);
    }
    for (const QString &name : names) {
        const int row = w.nodesModel()->rowOf(QStringLiteral("id-") + name);
        if (row >= 0)
            colors.insert(QStringLiteral("id-") + name,
                          w.nodesModel()->index(row, NodesModel::Name).data(Qt::DecorationRole).value<QColor>().name());
    }
    return colors;
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_config.isValid());
        qputenv("XDG_CONFIG_HOME", QFile::encodeName(m_config.path()));
        QCoreApplication::setOrganizationName(QStringLiteral("taskfleet-test"));
        QCoreApplication::setApplicationName(QStringLiteral("taskfleet-test"));
        QVERIFY2(QFile::exists(test::program(QStringLiteral("taskfleet-worker"))), "build taskfleet-worker first");
        QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("echo"))), "build the plugins first");
    }

    void dropJobFileRunsToCompletion()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString job
            = writeFile(dir, QStringLiteral("echo.json"),
                        R"({"name": "dropped echo", "plugin": "echo", "inputs": {"range": [0, 300, 1]}})");
        auto w = makeWindow(2);
        QVERIFY(dropFiles(w.get(), {job}));
        QVERIFY(w->lastError().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QCOMPARE(onlyJob(w.get())->name, QStringLiteral("dropped echo"));
        QCOMPARE(onlyJob(w.get())->total, 300);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(onlyJob(w.get())->done, 300);
        QCOMPARE(onlyJob(w.get())->failed, 0);
        // The results arrive in batches; all 300 are kept for the job, and it is shown selected.
        const int jobId = onlyJob(w.get())->id;
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->keptRows(jobId), 300, 10000);
        QCOMPARE(w->selectedJob(), jobId);
        QCOMPARE(w->resultsModel()->rowCount(), 300);
        // Sortable: by index, descending, the first row is task 299; by time, ascending, times never fall.
        QTableView *results = w->resultsPanel()->view();
        results->sortByColumn(gui::ResultsModel::Index, Qt::DescendingOrder);
        QCOMPARE(results->model()->index(0, gui::ResultsModel::Index).data().toInt(), 299);
        results->sortByColumn(gui::ResultsModel::Time, Qt::AscendingOrder);
        for (int r = 1; r < results->model()->rowCount(); ++r)
            QVERIFY(
                results->model()->index(r - 1, gui::ResultsModel::Time).data(gui::ResultsModel::SortRole).toLongLong()
                <= results->model()->index(r, gui::ResultsModel::Time).data(gui::ResultsModel::SortRole).toLongLong());
        // The local node did the work, and the nodes table says so (node row + totals row).
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->nodes().value(0).tasksDone, 300, 10000);
        QCOMPARE(w->nodesModel()->rowCount(), 2);
        QCOMPARE(w->nodesModel()->index(1, NodesModel::TasksDone).data().toLongLong(), 300);
    }

    void badFileIsRefusedAndQueuedJobUndisturbed()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString good = writeFile(
            dir, QStringLiteral("sleep.json"),
            R"({"name": "sleeper", "plugin": "sleep", "inputs": [200, 200, 200, 200, 200, 200, 200, 200]})");
        const QString badPlugin
            = writeFile(dir, QStringLiteral("bad-plugin.json"), R"({"plugin": "no-such-plugin", "inputs": [1]})");
        const QString badJson = writeFile(dir, QStringLiteral("broken.json"), R"({"plugin": "echo", "inputs": [1, 2)");
        auto w = makeWindow(2);
        QSignalSpy errors(w.get(), &MainWindow::errorShown);
        QVERIFY(dropFiles(w.get(), {good}));
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int jobId = onlyJob(w.get())->id;

        QVERIFY(dropFiles(w.get(), {badPlugin}));
        QCOMPARE(errors.size(), 1);
        QVERIFY2(w->lastError().contains(QStringLiteral("bad-plugin.json")), qPrintable(w->lastError()));
        QVERIFY2(w->lastError().contains(QStringLiteral("no-such-plugin")), qPrintable(w->lastError()));
        QVERIFY(dropFiles(w.get(), {badJson}));
        QCOMPARE(errors.size(), 2);
        QVERIFY2(w->lastError().contains(QStringLiteral("broken.json")), qPrintable(w->lastError()));

        // Nothing was added, and the queued job runs to its end untouched.
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(w->jobsModel()->rowCount(), 1);
        QCOMPARE(onlyJob(w.get())->id, jobId);
        QCOMPARE(onlyJob(w.get())->done, 8);
        QCOMPARE(onlyJob(w.get())->cancelled, 0);
    }

    void workerCountEditedInTableChangesTheNode()
    {
        auto w = makeWindow(2);
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 2, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->rowCount(), 2, 10000);
        const QModelIndex cell = w->nodesModel()->index(0, NodesModel::Workers);
        QVERIFY(cell.flags() & Qt::ItemIsEditable);
        QVERIFY(!(w->nodesModel()->index(1, NodesModel::Workers).flags() & Qt::ItemIsEditable)); // totals row

        // Through the view's spin box delegate, as a person would.
        QAbstractItemDelegate *delegate = w->nodesView()->itemDelegateForIndex(cell);
        QVERIFY(qobject_cast<gui::WorkerCountDelegate *>(delegate));
        w->nodesView()->edit(cell);
        auto *spin = w->nodesView()->findChild<QSpinBox *>();
        QVERIFY(spin);
        QCOMPARE(spin->value(), 2);
        spin->setValue(4);
        delegate->setModelData(spin, w->nodesModel(), cell);
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 4, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->index(0, NodesModel::Workers).data().toInt(), 4, 10000);

        // Through the model, and shrinking: it takes effect while a job runs.
        QTemporaryDir dir;
        const QString job
            = writeFile(dir, QStringLiteral("sleep.json"),
                        R"({"plugin": "sleep", "inputs": [150, 150, 150, 150, 150, 150, 150, 150, 150, 150]})");
        QCOMPARE(w->openFiles({job}), 1);
        QVERIFY(w->nodesModel()->setData(cell, 1, Qt::EditRole));
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 1, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(w->jobsModel()->jobs().first().done, 10);
        QTRY_VERIFY_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).busy <= 1, 10000);
    }

    /**
     * The Workers cell edited as a user does while a job of long sleeps runs. The edit
     * holds through 3 s of snapshots (every 250 ms, which used to put the old count back) and the node
     * gets it; two Up presses in the spin box are two workers more, not one.
     */
    void workerEditHoldsWhileAJobRuns()
    {
        auto w = makeWindow(4);
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 4, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->rowCount(), 2, 10000);
        QTemporaryDir dir;
        QCOMPARE(w->openFiles({writeSleepJob(dir, QStringLiteral("long sleeps"), 60, 1000)}), 1);
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).busy, 4, 10000);
        QTableView *view = w->nodesView();
        w->activateWindow();
        const QModelIndex cell = w->nodesModel()->index(0, NodesModel::Workers);
        QSignalSpy snapshots(w->host(), &sched::ControllerHost::snapshotReady);

        // Typed: select the number, type 1, Enter.
        view->setCurrentIndex(cell);
        view->edit(cell);
        auto *spin = view->findChild<QSpinBox *>();
        QVERIFY(spin);
        QCOMPARE(spin->value(), 4);
        spin->selectAll();
        QTest::keyClicks(spin, QStringLiteral("1"));
        QTest::keyClick(spin, Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!view->findChild<QSpinBox *>(), 5000); // the editor closed
        for (int i = 0; i < 30; ++i) {                                  // 3 s of refreshes
            QCOMPARE(w->nodesModel()->index(0, NodesModel::Workers).data().toInt(), 1);
            QCOMPARE(w->nodesModel()->totals().workers, 1);
            QTest::qWait(100);
        }
        QVERIFY(snapshots.size() >= 6);
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 1, 10000);
        QCOMPARE(w->nodesModel()->index(0, NodesModel::Workers).data().toInt(), 1);

        // Two Up presses in the open editor: 1 -> 3.
        view->setCurrentIndex(cell);
        view->edit(cell);
        spin = view->findChild<QSpinBox *>();
        QVERIFY(spin);
        QCOMPARE(spin->value(), 1);
        QTest::keyClick(spin, Qt::Key_Up);
        QTest::qWait(600); // a few refreshes between the presses
        QTest::keyClick(spin, Qt::Key_Up);
        QCOMPARE(spin->value(), 3);
        QTest::qWait(600);
        QCOMPARE(spin->value(), 3); // the refreshes did not put an older count in the open editor
        QTest::keyClick(spin, Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!view->findChild<QSpinBox *>(), 5000);
        for (int i = 0; i < 30; ++i) {
            QCOMPARE(w->nodesModel()->index(0, NodesModel::Workers).data().toInt(), 3);
            QTest::qWait(100);
        }
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 3, 10000);
    }

    /**
     * A node's colour follows its identity, not the order nodes appear in nor what this
     * process saw before: two windows one after the other, the nodes in opposite orders, and a second
     * process (a restart of the app) all give each node the same colour.
     */
    void nodeColoursStayAcrossWindowsAndRestarts()
    {
        const QStringList names
            = {QStringLiteral("agent-red"), QStringLiteral("agent-blue"), QStringLiteral("agent-green")};
        QTemporaryDir dir;
        qputenv("TF_NODE_COLOR_BOOK", dir.filePath(QStringLiteral("node-colors.ini")).toLocal8Bit());
        const QMap<QString, QString> first = nodeColorsOfAWindow(names);
        QCOMPARE(first.size(), 3);
        QStringList reversed = names;
        std::reverse(reversed.begin(), reversed.end());
        const QMap<QString, QString> second = nodeColorsOfAWindow(reversed);
        QCOMPARE(second, first);

        QProcess restart; // this test program again, with only the probe below, as a fresh start
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("TF_NODE_COLOR_PROBE"),
                   QStringList {names.at(1), names.at(2), names.at(0)}.join(QLatin1Char(',')));
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        restart.setProcessEnvironment(env);
        restart.start(QCoreApplication::applicationFilePath(), {QStringLiteral("nodeColorProbe")});
        QVERIFY(restart.waitForFinished(60000));
        QMap<QString, QString> third;
        const QList<QByteArray> lines = restart.readAllStandardOutput().split('\n');
        for (const QByteArray &line : lines)
            if (line.startsWith("NODECOLOR "))
                third.insert(QString::fromUtf8(line.split(' ').value(1)), QString::fromUtf8(line.split(' ').value(2)));
        qunsetenv("TF_NODE_COLOR_BOOK");
        QCOMPARE(third, first);
    }

    /** For nodeColoursStayAcrossWindowsAndRestarts() in a child process; does nothing otherwise. */
    void nodeColorProbe()
    {
        const QString probe = qEnvironmentVariable("TF_NODE_COLOR_PROBE");
        if (probe.isEmpty())
            return;
        const QMap<QString, QString> colors = nodeColorsOfAWindow(probe.split(QLatin1Char(',')));
        for (auto it = colors.constBegin(); it != colors.constEnd(); ++it)
            std::printf("NODECOLOR %s %s\n", qPrintable(it.key()), qPrintable(it.value()));
        std::fflush(stdout);
    }

    /**
     * The window's JSON Lines export of a finished job is taskfleet-run -o's, record
     * for record: the same field names, the same values (an integer above 2^53 exact), seconds apart.
     */
    void exportedJsonLinesAreTaskfleetRunRecords()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString job = writeFile(
            dir, QStringLiteral("mixed.json"),
            R"({"name": "mixed", "plugin": "echo", "inputs": [1, 9007199254740993, -0.5, "text", {"a": [1, 2]}, null]})");
        auto w = makeWindow(2);
        QCOMPARE(w->openFiles({job}), 1);
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        w->selectJob(onlyJob(w.get())->id);
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->rowCount(), 6, 10000);
        const QString app = dir.filePath(QStringLiteral("app.jsonl"));
        QString error;
        QVERIFY2(w->resultsModel()->exportJsonLines(app, &error), qPrintable(error));

        const QString run = dir.filePath(QStringLiteral("run.jsonl"));
        QProcess runner;
        runner.start(test::program(QStringLiteral("taskfleet-run")),
                     {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--plugin-path"), test::pluginDir(),
                      QStringLiteral("-o"), run, job});
        QVERIFY(runner.waitForFinished(60000));
        QVERIFY2(runner.exitCode() == 0, runner.readAllStandardError().constData());

        auto linesOf = [](const QString &path) {
            QFile f(path);
            QMap<qint64, QByteArray> byIndex; // the app's and taskfleet-run's records, by task
            if (f.open(QIODevice::ReadOnly))
                for (const QByteArray &line : f.readAll().split('\n'))
                    if (!line.isEmpty())
                        byIndex.insert(
                            QJsonDocument::fromJson(line).object().value(QStringLiteral("index")).toInteger(-1), line);
            return byIndex;
        };
        const QMap<qint64, QByteArray> ours = linesOf(app), theirs = linesOf(run);
        QCOMPARE(ours.size(), 6);
        QCOMPARE(ours.keys(), theirs.keys());
        const QRegularExpression seconds(QStringLiteral(R"("seconds":[0-9.]+)"));
        for (auto it = ours.constBegin(); it != ours.constEnd(); ++it) {
            const QJsonObject a = QJsonDocument::fromJson(it.value()).object();
            const QJsonObject b = QJsonDocument::fromJson(theirs.value(it.key())).object();
            QCOMPARE(a.keys(), b.keys()); // index, input, output, node, seconds, attempts: no runtime_s, no status
            QVERIFY(a.value(QStringLiteral("seconds")).isDouble());
            QVERIFY2(it.value().contains(R"("seconds":)"), it.value().constData());
            // Byte for byte but the time taken (and the node's name, the same computer in both).
            QCOMPARE(QString::fromUtf8(it.value()).replace(seconds, QStringLiteral("S")),
                     QString::fromUtf8(theirs.value(it.key())).replace(seconds, QStringLiteral("S")));
        }
        QVERIFY(ours.value(1).contains(R"("input":9007199254740993,"output":9007199254740993)"));
    }

    /** History's export writes the same records, NaN and infinities as taskfleet-run does. */
    void historyExportWritesTaskfleetRunRecords()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        sched::JobSpec spec;
        spec.name = QStringLiteral("odd values");
        spec.plugin.name = QStringLiteral("echo");
        spec.inputs = {1, 2};
        QString error;
        {
            sched::JournalWriter ended;
            QVERIFY2(ended.open(dir.filePath(QStringLiteral("app-20260101-000000-1-1.tfj")), &error),
                     qPrintable(error));
            ended.writeJob(QStringLiteral("k1"), spec);
            QVector<sched::TaskRecord> records(2);
            records[0].index = 0;
            records[0].output = QCborArray {qQNaN(), qInf(), -qInf(), QCborValue(std::numeric_limits<qint64>::max())};
            records[0].nodeName = QStringLiteral("n1");
            records[0].runtimeUs = 1500000;
            records[0].attempts = 1;
            records[1].index = 1;
            records[1].status = stats::TaskStatus::Error;
            records[1].error = QStringLiteral("no good");
            records[1].nodeName = QStringLiteral("n1");
            records[1].attempts = 2;
            ended.writeResults(QStringLiteral("k1"), records);
            ended.writeEnd(QStringLiteral("k1"));
        }
        gui::AppJournal own;
        QVERIFY2(own.open(dir.path(), &error), qPrintable(error));
        gui::HistoryDialog history(dir.path(), own.path());
        QCOMPARE(history.jobCount(), 1);
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        QVERIFY2(history.exportJob(0, out, &error), qPrintable(error));
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines.at(0),
                 QByteArray(R"({"index":0,"input":1,"output":[NaN,Infinity,-Infinity,9223372036854775807],)"
                            R"("node":"n1","seconds":1.500000,"attempts":1})"));
        QCOMPARE(lines.at(1), QByteArray(R"({"index":1,"input":2,"error":"no good","status":"error","node":"n1",)"
                                         R"("seconds":0.000000,"attempts":2})"));
    }

    /**
     * The statistics export (summary, time series, per-task log), checked row by row against the task records the
     * controller delivered (counted here, not by the statistics code that writes the files): two nodes, plugin
     * errors among the values, and the same numbers in the file --export-stats writes when the window goes.
     */
    void exportedStatisticsMatchTheTaskRecords()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = writeAgentSecret(dir);
        QVERIFY(!secret.isEmpty());
        test::AgentProcess agent;
        QVERIFY2(startAgent(agent, dir.filePath(QStringLiteral("agent")), secret, 2), qPrintable(agent.error()));
        const QString exitStats = dir.filePath(QStringLiteral("at-exit.csv"));
        auto w = makeWindow(2, exitStats, secret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), agent.port()));
        QVERIFY(waitForNodeState(w.get(), agent.address(), QStringLiteral("online")));

        QMap<int, sched::TaskRecord> records; // task index -> its record
        QObject guard;
        connect(w->host(), &sched::ControllerHost::resultsRecorded, &guard,
                [&](int, const QVector<sched::TaskRecord> &batch) {
                    for (const sched::TaskRecord &r : batch)
                        records.insert(r.index, r);
                });
        constexpr int Tasks = 240;
        QStringList inputs;
        for (int i = 0; i < Tasks; ++i)
            inputs << (i % 10 == 7 ? QStringLiteral("\"bad\"") : QStringLiteral("10")); // 24 plugin errors
        QCOMPARE(w->openFiles({writeFile(dir, QStringLiteral("mixed.json"),
                                         QStringLiteral(R"({"name": "mixed", "plugin": "sleep", "inputs": [%1]})")
                                             .arg(inputs.join(QLatin1Char(',')))
                                             .toUtf8())}),
                 1);
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int jobId = onlyJob(w.get())->id;
        QVERIFY(waitForJobFinished(w.get(), 0));
        QTRY_COMPARE_WITH_TIMEOUT(records.size(), Tasks, 10000);

        // What the records say, per node id.
        struct Expected {
            QString name;
            qint64 done = 0, errors = 0;
            double seconds = 0;
        };
        QMap<QString, Expected> expected;
        for (const sched::TaskRecord &r : std::as_const(records)) {
            QVERIFY2(r.status == stats::TaskStatus::Ok || r.status == stats::TaskStatus::Error, qPrintable(r.error));
            Expected &e = expected[r.nodeId];
            e.name = r.nodeName;
            ++e.done;
            e.errors += r.status == stats::TaskStatus::Error;
            e.seconds += double(r.runtimeUs) / 1e6;
        }
        QVERIFY2(expected.value(QStringLiteral("local")).done > 0 && expected.value(agent.address()).done > 0,
                 "both nodes ran tasks");

        QSignalSpy exported(w->host(), &sched::ControllerHost::statisticsExported);
        const QString path = dir.filePath(QStringLiteral("stats.csv"));
        w->host()->exportStatistics(path);
        // Emitted on the controller's thread: the spy may hold it before wait() would start waiting.
        QTRY_VERIFY_WITH_TIMEOUT(!exported.isEmpty(), 10000);
        const QStringList files = exported.first().at(0).toStringList();
        QVERIFY2(files.size() == 3, qPrintable(exported.first().at(1).toString()));

        const auto checkSummary = [&](const QString &file) -> QString {
            const QVector<QStringList> rows = readCsv(file);
            if (rows.size() < 2)
                return file + QStringLiteral(": no rows");
            const QStringList &head = rows.first();
            const auto col = [&](const char *name) { return int(head.indexOf(QLatin1String(name))); };
            const int id = col("node_id"), name = col("node"), done = col("tasks_done"), share = col("percent_of_all"),
                      time = col("task_time_sum_s"), errors = col("plugin_errors");
            if (std::min({id, name, done, share, time, errors}) < 0)
                return QStringLiteral("columns missing: ") + head.join(QLatin1Char(','));
            QSet<QString> seen;
            for (int r = 1; r < rows.size(); ++r) {
                const QStringList &row = rows.at(r);
                if (row.size() != head.size())
                    return QStringLiteral("row %1 has %2 fields").arg(r).arg(row.size());
                const bool total = row.at(id) == QLatin1String("total");
                Expected e;
                if (total) {
                    for (const Expected &n : std::as_const(expected)) {
                        e.done += n.done;
                        e.errors += n.errors;
                        e.seconds += n.seconds;
                    }
                    e.name = QStringLiteral("total");
                } else {
                    e = expected.value(row.at(id)); // a node that ran nothing: all zero
                    seen.insert(row.at(id));
                    if (!expected.contains(row.at(id)))
                        e.name = row.at(name);
                }
                const QString got
                    = QStringLiteral("%1 %2 %3 %4").arg(row.at(name), row.at(done), row.at(errors), row.at(share));
                const QString want = QStringLiteral("%1 %2 %3 %4")
                                         .arg(e.name)
                                         .arg(e.done)
                                         .arg(e.errors)
                                         .arg(100.0 * double(e.done) / double(Tasks), 0, 'f', 2);
                if (got != want || std::abs(row.at(time).toDouble() - e.seconds) > 1e-4)
                    return QStringLiteral("%1 row %2: the file says \"%3\" (%4 s), the records \"%5\" (%6 s)")
                        .arg(file, row.at(id), got, row.at(time), want)
                        .arg(e.seconds, 0, 'f', 6);
            }
            for (auto it = expected.cbegin(); it != expected.cend(); ++it)
                if (!seen.contains(it.key()))
                    return QStringLiteral("%1: no row for node %2").arg(file, it.key());
            if (rows.last().at(id) != QLatin1String("total"))
                return file + QStringLiteral(": the last row is not the total");
            return {};
        };
        QCOMPARE(checkSummary(path), QString());

        // The time series: the total and each node's column (by name: two nodes may share a host's name) add up to
        // what ran there.
        const QVector<QStringList> series = readCsv(files.at(1));
        QVERIFY(series.size() >= 2);
        QCOMPARE(series.first().mid(0, 3),
                 (QStringList {QStringLiteral("second"), QStringLiteral("unix_time"), QStringLiteral("total")}));
        QMap<QString, qint64> seriesByName, recordsByName;
        for (int c = 2; c < series.first().size(); ++c)
            for (int r = 1; r < series.size(); ++r)
                seriesByName[series.first().at(c)] += series.at(r).value(c).toLongLong();
        for (const Expected &e : std::as_const(expected)) {
            recordsByName[e.name] += e.done;
            recordsByName[QStringLiteral("total")] += e.done;
        }
        QCOMPARE(seriesByName, recordsByName);

        // The per-task log: one row per task, each with its record's node, attempts, status and time.
        const QVector<QStringList> log = readCsv(files.at(2));
        QCOMPARE(log.size() - 1, Tasks);
        const QStringList &head = log.first();
        const int jobCol = int(head.indexOf(QStringLiteral("job"))),
                  indexCol = int(head.indexOf(QStringLiteral("index"))),
                  nodeCol = int(head.indexOf(QStringLiteral("node"))),
                  runtimeCol = int(head.indexOf(QStringLiteral("runtime_s"))),
                  attemptsCol = int(head.indexOf(QStringLiteral("attempts"))),
                  statusCol = int(head.indexOf(QStringLiteral("status")));
        QVERIFY(std::min({jobCol, indexCol, nodeCol, runtimeCol, attemptsCol, statusCol}) >= 0);
        QSet<int> logged;
        for (int r = 1; r < log.size(); ++r) {
            const QStringList &row = log.at(r);
            const int index = row.at(indexCol).toInt();
            QVERIFY2(records.contains(index) && !logged.contains(index), qPrintable(row.join(QLatin1Char(','))));
            logged.insert(index);
            const sched::TaskRecord &rec = records.value(index);
            QCOMPARE(row.at(jobCol).toInt(), jobId);
            QCOMPARE(row.at(nodeCol), rec.nodeName);
            QCOMPARE(row.at(attemptsCol).toInt(), rec.attempts);
            QCOMPARE(row.at(statusCol),
                     rec.status == stats::TaskStatus::Ok ? QStringLiteral("ok") : QStringLiteral("error"));
            QCOMPARE(qRound64(row.at(runtimeCol).toDouble() * 1e6), rec.runtimeUs);
        }

        // The Nodes table shows the records' numbers too.
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), agent.address(), NodesModel::TasksDone),
                                  QString::number(expected.value(agent.address()).done), 5000);
        QCOMPARE(nodeCell(w.get(), QStringLiteral("local"), NodesModel::TasksDone),
                 QString::number(expected.value(QStringLiteral("local")).done));

        // --export-stats: written when the window (and its controller) goes, with the same numbers.
        w.reset();
        QCOMPARE(checkSummary(exitStats), QString());
    }

    void mandelbrotExampleAssemblesAndExportsResults()
    {
        auto w = makeWindow(2);
        QVERIFY(MainWindow::exampleJobs().contains(QStringLiteral("mandelbrot.json")));
        QVERIFY(w->queueExample(QStringLiteral("mandelbrot.json")));
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int jobId = onlyJob(w.get())->id;
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w->mandelbrotView()->tileCount(jobId), 64, 10000);
        QCOMPARE(w->mandelbrotView()->currentJob(), jobId);

        w->selectJob(jobId);
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->rowCount(), 64, 10000);
        QTemporaryDir dir;
        QString error;
        QCOMPARE(w->pictureOrMap(), w->mandelbrotView()->parentWidget()); // a job that draws: its picture
        const QString jsonl = dir.filePath(QStringLiteral("r.jsonl"));
        const QString csv = dir.filePath(QStringLiteral("r.csv"));
        QVERIFY2(w->resultsModel()->exportJsonLines(jsonl, &error), qPrintable(error));
        QVERIFY2(w->resultsModel()->exportCsv(csv, &error), qPrintable(error));
        QFile f(jsonl);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().count('\n'), 64);
        const QVector<QStringList> rows = readCsv(csv);
        QCOMPARE(rows.size(), 65);
        QCOMPARE(rows.first().first(), QStringLiteral("index"));
        QCOMPARE(rows.at(1).at(1), QStringLiteral("ok"));
    }

    /**
     * The picture pane shows what the plugin computed, where it belongs: escape counts at sample points match a
     * computation here, every painted pixel's colour follows its escape count (a tile drawn in the wrong place
     * breaks that), the points inside the set are black and those that escape at once the palette's first colour;
     * a tile whose task ended in an error stays the grey of a tile not computed; tinted by node, each computed tile
     * is washed with its node's colour from the Nodes table, and the errored tile is not.
     */
    void mandelbrotPictureIsWhatThePluginComputed()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        constexpr int Tiles = 4, Size = 32, Iterations = 64, Side = Tiles * Size;
        constexpr double Cx = -0.5, Cy = 0.0, Scale = 3.0;
        constexpr int BadX = 1, BadY = 2; // its task fails: "iterations": 0 is refused by the plugin
        QStringList inputs;
        for (int y = 0; y < Tiles; ++y)
            for (int x = 0; x < Tiles; ++x)
                inputs << QStringLiteral(R"({"x": %1, "y": %2, "tiles": %3, "size": %4, "iterations": %5,)"
                                         R"( "cx": %6, "cy": %7, "scale": %8})")
                              .arg(x)
                              .arg(y)
                              .arg(Tiles)
                              .arg(Size)
                              .arg(x == BadX && y == BadY ? 0 : Iterations)
                              .arg(Cx)
                              .arg(Cy)
                              .arg(Scale);
        auto w = makeWindow(2);
        QMap<int, sched::TaskRecord> records;
        QObject guard;
        connect(w->host(), &sched::ControllerHost::resultsRecorded, &guard,
                [&](int, const QVector<sched::TaskRecord> &batch) {
                    for (const sched::TaskRecord &r : batch)
                        records.insert(r.index, r);
                });
        QCOMPARE(w->openFiles({writeFile(dir, QStringLiteral("small.json"),
                                         QStringLiteral(R"({"name": "small", "plugin": "mandelbrot", "inputs": [%1]})")
                                             .arg(inputs.join(QLatin1Char(',')))
                                             .toUtf8())}),
                 1);
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int jobId = onlyJob(w.get())->id;
        QVERIFY(waitForJobFinished(w.get(), 0));
        QTRY_COMPARE_WITH_TIMEOUT(records.size(), Tiles * Tiles, 10000);
        QCOMPARE(records.value(BadY * Tiles + BadX).status, stats::TaskStatus::Error);
        QTRY_COMPARE_WITH_TIMEOUT(w->mandelbrotView()->tileCount(jobId), Tiles * Tiles - 1, 10000);
        QCOMPARE(w->mandelbrotView()->currentJob(), jobId);

        // The plugin's escape counts, tile by tile, as one picture (-1 where the task failed).
        QVector<int> counts(Side * Side, -1);
        for (const sched::TaskRecord &r : std::as_const(records)) {
            if (r.status != stats::TaskStatus::Ok)
                continue;
            const QCborMap m = r.output.toMap();
            const int tx = int(m.value(QStringLiteral("x")).toInteger()),
                      ty = int(m.value(QStringLiteral("y")).toInteger());
            QCOMPARE(tx + ty * Tiles, r.index);
            const QByteArray pixels = m.value(QStringLiteral("pixels")).toByteArray();
            QCOMPARE(pixels.size(), Size * Size);
            for (int py = 0; py < Size; ++py)
                for (int px = 0; px < Size; ++px)
                    counts[(ty * Size + py) * Side + tx * Size + px] = quint8(pixels.at(py * Size + px));
        }
        // Computed here: the view is Scale wide around (Cx, Cy), each pixel sampled at its centre, row 0 at the top;
        // a point's value is 255 inside the set, else 255 * (n - 1) / Iterations for the n-th iteration that leaves
        // the circle of radius 2. Points whose count a rounding could change are left out (long double and double
        // must agree).
        const auto escape = [](auto re, auto im) {
            decltype(re) zr = 0, zi = 0;
            for (int n = 1; n <= Iterations; ++n) {
                const auto t = zr * zr - zi * zi + re;
                zi = 2 * zr * zi + im;
                zr = t;
                if (zr * zr + zi * zi > 4)
                    return 255 * (n - 1) / Iterations;
            }
            return 255;
        };
        int sampled = 0, inside = 0, outside = 0;
        for (int i = 0; i < 40; ++i) {
            const int X = (i * 37 + 5) % Side, Y = (i * 53 + 11) % Side;
            if (counts.at(Y * Side + X) < 0)
                continue; // the failed tile
            const long double step = (long double)Scale / Side;
            const long double re = Cx - Scale / 2 + (X + 0.5L) * step, im = Cy + Scale / 2 - (Y + 0.5L) * step;
            const int exact = escape(re, im);
            if (exact != escape(double(re), double(im)))
                continue;
            QVERIFY2(counts.at(Y * Side + X) == exact,
                     qPrintable(QStringLiteral("pixel (%1, %2): the plugin says %3, the computation here %4")
                                    .arg(X)
                                    .arg(Y)
                                    .arg(counts.at(Y * Side + X))
                                    .arg(exact)));
            ++sampled;
            inside += exact == 255;
            outside += exact < 255;
        }
        QVERIFY2(sampled >= 25 && inside >= 3 && outside >= 3,
                 qPrintable(QStringLiteral("%1 points, %2 inside").arg(sampled).arg(inside)));

        // The pane at a size where the picture is drawn one to one: (136 - 8) = 128 pixels, from (4, 4).
        gui::MandelbrotView *view = w->mandelbrotView();
        view->setFixedSize(Side + 8, Side + 8);
        QTRY_COMPARE_WITH_TIMEOUT(view->size(), QSize(Side + 8, Side + 8), 5000);
        const QPoint origin(4, 4);
        const QImage plain = view->grab().toImage().convertToFormat(QImage::Format_RGB32);
        QCOMPARE(plain.size(), view->size());
        const QRgb notComputed = qRgb(0x3a, 0x3d, 0x45);
        QMap<int, QRgb> colourOf;            // escape count -> the colour it is painted in
        for (int Y = 1; Y < Side - 1; ++Y) { // the outermost pixels carry the picture's frame
            for (int X = 1; X < Side - 1; ++X) {
                const QRgb shown = plain.pixel(origin + QPoint(X, Y));
                const int count = counts.at(Y * Side + X);
                if (count < 0) {
                    QVERIFY2(
                        shown == notComputed,
                        qPrintable(
                            QStringLiteral("failed tile at (%1, %2) is %3").arg(X).arg(Y).arg(QColor(shown).name())));
                    continue;
                }
                const auto known = colourOf.constFind(count);
                if (known == colourOf.cend())
                    colourOf.insert(count, shown);
                else
                    QVERIFY2(
                        *known == shown,
                        qPrintable(QStringLiteral("pixel (%1, %2), escape count %3, is %4; elsewhere that count is %5")
                                       .arg(X)
                                       .arg(Y)
                                       .arg(count)
                                       .arg(QColor(shown).name(), QColor(*known).name())));
            }
        }
        QCOMPARE(QColor(colourOf.value(255)).name(), QStringLiteral("#000000")); // inside the set
        QCOMPARE(QColor(colourOf.value(0)).name(), QStringLiteral("#0b1033"));   // escapes at once
        QVERIFY(colourOf.size() >= 10);
        QSet<QRgb> distinct;
        for (const QRgb c : std::as_const(colourOf))
            distinct.insert(c);
        QVERIFY2(distinct.size() >= colourOf.size() * 3 / 4, "escape counts told apart by colour");

        // Tinted by node: a wash of alpha 70 in the node's colour (the Nodes table's swatch) over each computed tile.
        view->setTintByNode(true);
        const QImage tinted = view->grab().toImage().convertToFormat(QImage::Format_RGB32);
        const double alpha = 70.0 / 255.0;
        int checked = 0;
        for (int ty = 1; ty < Tiles; ++ty) { // the legend sits over the top row of tiles
            for (int tx = 0; tx < Tiles; ++tx) {
                const sched::TaskRecord &r = records.value(ty * Tiles + tx);
                const int row = w->nodesModel()->rowOf(r.nodeId);
                QVERIFY2(row >= 0, qPrintable(r.nodeId));
                const QColor swatch
                    = w->nodesModel()->index(row, NodesModel::Name).data(Qt::DecorationRole).value<QColor>();
                QVERIFY(swatch.isValid());
                for (int py = 3; py < Size - 3; py += 4) { // inside the tile's frame
                    for (int px = 3; px < Size - 3; px += 4) {
                        const QPoint at = origin + QPoint(tx * Size + px, ty * Size + py);
                        const QColor before(plain.pixel(at)), after(tinted.pixel(at));
                        if (r.status != stats::TaskStatus::Ok) {
                            QCOMPARE(after.name(), before.name()); // not computed: no wash
                            continue;
                        }
                        const auto near = [&](int b, int c, int a) { return std::abs(b + (c - b) * alpha - a) <= 2.5; };
                        QVERIFY2(near(before.red(), swatch.red(), after.red())
                                     && near(before.green(), swatch.green(), after.green())
                                     && near(before.blue(), swatch.blue(), after.blue()),
                                 qPrintable(QStringLiteral("tile (%1, %2) of %3: %4 tinted with %5 is %6")
                                                .arg(tx)
                                                .arg(ty)
                                                .arg(r.nodeName, before.name(), swatch.name(), after.name())));
                        ++checked;
                    }
                }
            }
        }
        QVERIFY(checked >= 500);
        view->setTintByNode(false);
        view->setMinimumSize(0, 0);
        view->setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX);
    }

    void nodesTableShowsEveryControllerNode()
    {
        auto w = makeWindow(1);
        w->host()->addNode([] { return new FakeNode(3); });
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->rowCount(), 3, 10000); // local, fake, totals
        const int row = w->nodesModel()->rowOf(QStringLiteral("fake-1"));
        QCOMPARE(row, 1);
        QCOMPARE(w->nodesModel()->index(row, NodesModel::Name).data().toString(), QStringLiteral("fake-agent"));
        QCOMPARE(w->nodesModel()->index(row, NodesModel::Address).data().toString(), QStringLiteral("192.0.2.7:45450"));
        QCOMPARE(w->nodesModel()->index(row, NodesModel::Workers).data().toInt(), 3);
        QCOMPARE(w->nodesModel()->index(2, NodesModel::Workers).data().toInt(), 4); // totals
        QVERIFY(w->nodesModel()->setData(w->nodesModel()->index(row, NodesModel::Workers), 6, Qt::EditRole));
        QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(1).workers, 6, 10000);
        // Leaving the controller (as discovery drops a dead agent) keeps the row, greyed, until the user removes it.
        w->host()->removeNode(QStringLiteral("fake-1"));
        QTRY_VERIFY_WITH_TIMEOUT(w->nodesModel()->isGone(1), 10000);
        QCOMPARE(w->nodesModel()->rowCount(), 3);
        QCOMPARE(w->nodesModel()->index(1, NodesModel::Name).data().toString(), QStringLiteral("fake-agent"));
        QVERIFY(
            w->nodesModel()->index(1, NodesModel::State).data().toString().startsWith(QStringLiteral("offline: gone")));
        QVERIFY(!(w->nodesModel()->flags(w->nodesModel()->index(1, NodesModel::Workers)) & Qt::ItemIsEditable));
        QCOMPARE(w->nodesModel()->index(2, NodesModel::Workers).data().toInt(), 1); // totals: the gone node has none
        w->nodesView()->selectRow(1);
        QAction *remove = menuAction(w.get(), QStringLiteral("&Remove Node"));
        QVERIFY(remove && remove->isEnabled());
        QSignalSpy snapshots(w->host(), &sched::ControllerHost::snapshotReady);
        remove->trigger();
        QCOMPARE(w->nodesModel()->rowCount(), 2);
        QTRY_VERIFY_WITH_TIMEOUT(snapshots.size() >= 2, 10000); // later snapshots do not bring the row back
        QCOMPARE(w->nodesModel()->rowCount(), 2);
    }

    /**
     * Kill -9 of an agent mid-job. Every row's Tasks done equals what the task records say ran
     * there (counted here, not by the statistics code), the totals row is the sum of the rows, the dead
     * agent's tasks in flight show as Lost and ran elsewhere, and its row stays (greyed, numbers kept)
     * when it leaves the controller, until the user removes it.
     */
    void killedAgentKeepsItsRowAndTheNumbersAddUp()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = writeAgentSecret(dir);
        QVERIFY(!secret.isEmpty());
        test::AgentProcess survivor, victim;
        for (test::AgentProcess *a : {&survivor, &victim})
            QVERIFY2(startAgent(*a, dir.filePath(a == &victim ? QStringLiteral("victim") : QStringLiteral("survivor")),
                                secret, 2),
                     qPrintable(a->error()));
        auto w = makeWindow(1, {}, secret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), survivor.port()));
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), victim.port()));
        const QString victimId = victim.address();
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), survivor.address(), NodesModel::State), QStringLiteral("online"),
                                  20000);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), victimId, NodesModel::State), QStringLiteral("online"), 20000);
        const QString victimName = nodeCell(w.get(), victimId, NodesModel::Name);

        QMap<QString, qint64> ranOn; // node name -> tasks that ended with a value there, from the records
        QSet<int> indices;
        QObject guard;
        connect(w->host(), &sched::ControllerHost::resultsRecorded, &guard,
                [&](int, const QVector<sched::TaskRecord> &records) {
                    for (const sched::TaskRecord &r : records) {
                        if (r.status == stats::TaskStatus::Ok)
                            ++ranOn[r.nodeName];
                        indices.insert(r.index);
                    }
                });
        constexpr int Tasks = 400;
        w->openFiles({writeSleepJob(dir, QStringLiteral("sleepers"), Tasks, 20)}); // about 2 s on the 5 workers
        QTRY_VERIFY_WITH_TIMEOUT(ranOn.value(victimName) >= 20, 30000);
        victim.kill9();
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(nodeCell(w.get(), victimId, NodesModel::State) != QStringLiteral("online"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(indices.size(), Tasks, 10000);
        QCOMPARE(onlyJob(w.get())->done, Tasks);

        const auto checkRows = [&] {
            const NodesModel *m = w->nodesModel();
            qint64 sum = 0;
            for (int row = 0; row + 1 < m->rowCount(); ++row) {
                const QString name = m->index(row, NodesModel::Name).data().toString();
                const qint64 shown = m->index(row, NodesModel::TasksDone).data().toLongLong();
                if (shown != ranOn.value(name))
                    return QStringLiteral("%1 shows %2 tasks, the records say %3")
                        .arg(name)
                        .arg(shown)
                        .arg(ranOn.value(name));
                sum += shown;
            }
            const qint64 total = m->index(m->rowCount() - 1, NodesModel::TasksDone).data().toLongLong();
            if (sum != Tasks || total != Tasks)
                return QStringLiteral("rows add up to %1, the totals row says %2, %3 tasks ran")
                    .arg(sum)
                    .arg(total)
                    .arg(Tasks);
            return QString();
        };
        QTRY_COMPARE_WITH_TIMEOUT(checkRows(), QString(), 10000);
        const int victimRow = w->nodesModel()->rowOf(victimId);
        const qint64 lost = w->nodesModel()->index(victimRow, NodesModel::Lost).data().toLongLong();
        QVERIFY2(lost >= 1, "the dead agent had tasks in flight: they show as lost");
        QCOMPARE(w->nodesModel()->index(w->nodesModel()->rowCount() - 1, NodesModel::Lost).data().toLongLong(), lost);

        // The agent leaves the controller (as discovery drops a dead agent): its row and numbers stay, greyed.
        w->host()->removeNode(victimId);
        QTRY_VERIFY_WITH_TIMEOUT(w->nodesModel()->isGone(w->nodesModel()->rowOf(victimId)), 10000);
        QCOMPARE(checkRows(), QString());
        const QVariant grey
            = w->nodesModel()->index(w->nodesModel()->rowOf(victimId), NodesModel::TasksDone).data(Qt::ForegroundRole);
        QVERIFY(grey.isValid());
        QCOMPARE(grabFor(w.get(), QStringLiteral("window-killed-agent.png")), QString());
        // The sizes the docs show: a large screen, and 1024 x 700 where every table must still read.
        for (const QSize size : {QSize(1600, 1000), QSize(1024, 700)}) {
            w->resize(size);
            QVERIFY(settle(w.get()));
            QCOMPARE(w->size(), size);
            QCOMPARE(grabFor(w.get(), QStringLiteral("window-%1x%2.png").arg(size.width()).arg(size.height())),
                     QString());
            // The Nodes table reads without scrolling sideways: at 1024 some columns step aside, at 1600 none.
            auto *nodes = static_cast<gui::NodesView *>(w->nodesView());
            QTRY_COMPARE_WITH_TIMEOUT(nodes->horizontalScrollBar()->maximum(), 0, 5000);
            QCOMPARE(nodes->columnsSetAside().isEmpty(), size.width() >= 1600);
            QVERIFY(!nodes->isColumnHidden(NodesModel::Name) && !nodes->isColumnHidden(NodesModel::State)
                    && !nodes->isColumnHidden(NodesModel::TasksDone));
            // Steady: the next snapshots (they refit the columns) change nothing.
            const QList<int> aside = nodes->columnsSetAside();
            QVERIFY(settle(w.get()) && settle(w.get()));
            QCOMPARE(nodes->columnsSetAside(), aside);
        }
        // And back: with room again, every column is shown.
        w->resize(1600, 1000);
        QTRY_VERIFY_WITH_TIMEOUT(static_cast<gui::NodesView *>(w->nodesView())->columnsSetAside().isEmpty(), 5000);
    }

    /**
     * The live cells, checked mid-job against the task records (not against the statistics
     * object that computes them). The job is paused so that nothing moves while the cells are read.
     */
    void liveCellsMidJobMatchTheRecords()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = dir.filePath(QStringLiteral("secret"));
        QVERIFY(test::writeSecretFile(secret, "gui-live-secret-0123456789"));
        test::AgentProcess agent;
        QVERIFY2(
            agent.start(dir.filePath(QStringLiteral("state")), secret, {QStringLiteral("-w"), QStringLiteral("2")}),
            qPrintable(agent.error()));
        auto w = makeWindow(1, {}, secret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), agent.port()));
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), agent.address(), NodesModel::State), QStringLiteral("online"),
                                  20000);
        QMap<QString, qint64> ranOn; // node name -> tasks that ended with a value there
        qint64 records = 0;
        QObject guard;
        connect(w->host(), &sched::ControllerHost::resultsRecorded, &guard,
                [&](int, const QVector<sched::TaskRecord> &r) {
                    for (const sched::TaskRecord &t : r)
                        ++ranOn[t.nodeName];
                    records += r.size();
                });
        constexpr int Tasks = 300;
        w->openFiles({writeSleepJob(dir, QStringLiteral("live"), Tasks, 20)}); // about 2 s on 3 workers
        QTRY_VERIFY_WITH_TIMEOUT(records >= 60, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        w->jobsView()->selectRow(0);
        QAction *pause = menuAction(w.get(), QStringLiteral("&Pause"));
        QVERIFY(pause && pause->isEnabled());
        pause->trigger();
        // Running tasks finish; then nothing moves: every node idle, the records steady.
        QTRY_VERIFY_WITH_TIMEOUT(
            w->nodesModel()->totals().busy == 0 && onlyJob(w.get())->state == sched::JobState::Paused, 15000);
        qint64 steady = -1;
        QTRY_VERIFY_WITH_TIMEOUT(std::exchange(steady, records) == records && settle(w.get()), 10000);
        QVERIFY(settle(w.get()));
        QVERIFY(records > 0 && records < Tasks);

        const NodesModel *m = w->nodesModel();
        qint64 sum = 0;
        for (int row = 0; row + 1 < m->rowCount(); ++row) {
            const QString name = m->index(row, NodesModel::Name).data().toString();
            QCOMPARE(m->index(row, NodesModel::TasksDone).data().toLongLong(), ranOn.value(name));
            // "% of all" is this node's share of the records, to one decimal.
            QCOMPARE(m->index(row, NodesModel::Percent).data().toString(),
                     QStringLiteral("%1 %").arg(100.0 * double(ranOn.value(name)) / double(records), 0, 'f', 1));
            // A 20 ms sleep takes 20 ms and a little: the time per task says so.
            if (ranOn.value(name) > 0) {
                const QString perTask = m->index(row, NodesModel::TimePerTask).data().toString();
                QVERIFY2(perTask.endsWith(QStringLiteral(" ms")), qPrintable(perTask));
                const double ms = perTask.chopped(3).toDouble();
                QVERIFY2(ms >= 20.0 && ms < 40.0, qPrintable(perTask));
            }
            sum += ranOn.value(name);
        }
        QCOMPARE(sum, records);
        QCOMPARE(m->index(m->rowCount() - 1, NodesModel::TasksDone).data().toLongLong(), records);
        const int doneCell = w->jobsModel()->index(0, JobsModel::Done).data().toInt();
        QCOMPARE(qint64(doneCell), records);
        QCOMPARE(w->jobsModel()->index(0, JobsModel::Eta).data().toString(), QStringLiteral("–"));

        QAction *resume = menuAction(w.get(), QStringLiteral("&Resume"));
        QVERIFY(resume && resume->isEnabled());
        resume->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(records, qint64(Tasks), 10000);
    }

    /**
     * Finished, finished with failures, cancelled and paused read differently (state text,
     * bar colour, counts); cancelled tasks are counted; a paused job has no ETA and its rate holds.
     */
    void jobStatesAreToldApart()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto w = makeWindow(2);
        const auto rowOf = [&](const QString &name) {
            for (int r = 0; r < w->jobsModel()->rowCount(); ++r)
                if (w->jobsModel()->jobs().at(r).name == name)
                    return r;
            return -1;
        };
        const auto cell = [&](const QString &name, int column, int role = Qt::DisplayRole) {
            return w->jobsModel()->index(rowOf(name), column).data(role);
        };
        w->openFiles(
            {writeFile(dir, QStringLiteral("ok.json"), R"({"name": "ok", "plugin": "echo", "inputs": [1, 2, 3]})"),
             writeFile(dir, QStringLiteral("bad.json"),
                       R"({"name": "bad", "plugin": "fail", "inputs": [1, 2, 3, 4, 5]})"),
             writeSleepJob(dir, QStringLiteral("slow"), 400, 50)});
        QTRY_VERIFY_WITH_TIMEOUT(rowOf(QStringLiteral("slow")) >= 0, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(cell(QStringLiteral("ok"), JobsModel::State).toString(), QStringLiteral("finished"),
                                  JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(cell(QStringLiteral("bad"), JobsModel::State).toString(),
                                  QStringLiteral("no results: 5 errors"), JobTimeoutMs);
        QCOMPARE(cell(QStringLiteral("ok"), JobsModel::Progress, JobsModel::OutcomeRole).toInt(),
                 int(JobsModel::FinishedOk));
        QCOMPARE(cell(QStringLiteral("bad"), JobsModel::Progress, JobsModel::OutcomeRole).toInt(),
                 int(JobsModel::FinishedWithFailures));
        QCOMPARE(cell(QStringLiteral("bad"), JobsModel::Errors).toInt(), 5); // the plugin's errors: not "failed"
        QCOMPARE(cell(QStringLiteral("bad"), JobsModel::Failed).toInt(), 0);
        QVERIFY(gui::ProgressDelegate::barColor(JobsModel::FinishedOk, 1)
                != gui::ProgressDelegate::barColor(JobsModel::FinishedWithFailures, 1));

        // Pause: the ETA is "–" and the rate does not decay while nothing runs.
        const sched::JobSnapshot *slowJob
            = w->jobsModel()->job(w->jobsModel()->jobs().at(rowOf(QStringLiteral("slow"))).id);
        const int slowId = slowJob->id;
        QTRY_VERIFY_WITH_TIMEOUT(w->jobsModel()->job(slowId)->done >= 10, 20000);
        w->host()->pauseJob(slowId);
        QTRY_COMPARE_WITH_TIMEOUT(cell(QStringLiteral("slow"), JobsModel::State).toString(), QStringLiteral("paused"),
                                  10000);
        QCOMPARE(cell(QStringLiteral("slow"), JobsModel::Eta).toString(), QStringLiteral("\u2013"));
        QCOMPARE(cell(QStringLiteral("slow"), JobsModel::Progress, JobsModel::OutcomeRole).toInt(),
                 int(JobsModel::IsPaused));
        QVERIFY(settle(w.get()));
        const double rateAtPause = w->jobsModel()->job(slowId)->tasksPerSecond;
        QVERIFY(rateAtPause > 0);
        QSignalSpy snapshots(w->host(), &sched::ControllerHost::snapshotReady);
        QTRY_VERIFY_WITH_TIMEOUT(snapshots.size() >= 6, 10000); // about 1.5 s of snapshots while paused
        const double rateLater = w->jobsModel()->job(slowId)->tasksPerSecond;
        QVERIFY2(rateLater >= 0.9 * rateAtPause,
                 qPrintable(QStringLiteral("%1 -> %2 tasks/s while paused").arg(rateAtPause).arg(rateLater)));
        QCOMPARE(cell(QStringLiteral("slow"), JobsModel::Eta).toString(), QStringLiteral("\u2013"));

        // Cancel: "cancelled (N not run)", N in the Cancelled column, the bar short of 100 % and grey.
        w->host()->resumeJob(slowId);
        w->host()->cancelJob(slowId);
        QTRY_COMPARE_WITH_TIMEOUT(int(w->jobsModel()->job(slowId)->state), int(sched::JobState::Cancelled), 10000);
        const sched::JobSnapshot cancelled = *w->jobsModel()->job(slowId);
        QVERIFY(cancelled.cancelled > 0 && cancelled.done + cancelled.cancelled == 400);
        QCOMPARE(cell(QStringLiteral("slow"), JobsModel::State).toString(),
                 QStringLiteral("cancelled (%1 not run)").arg(cancelled.cancelled));
        QCOMPARE(cell(QStringLiteral("slow"), JobsModel::Cancelled).toLongLong(), cancelled.cancelled);
        QVERIFY(cell(QStringLiteral("slow"), JobsModel::Progress, JobsModel::ProgressRole).toInt() < 1000);
        QCOMPARE(cell(QStringLiteral("slow"), JobsModel::Progress, JobsModel::OutcomeRole).toInt(),
                 int(JobsModel::WasCancelled));
        QCOMPARE(grabFor(w.get(), QStringLiteral("window-job-states.png")), QString());
    }

    /** Help ▸ Manual shows the README and docs compiled in, and every relative link in them resolves. */
    void manualShowsTheDocsAndItsLinksWork()
    {
        auto w = makeWindow(0);
        QAction *manual = menuAction(w.get(), QStringLiteral("&Manual"));
        QVERIFY(manual);
        manual->trigger();
        auto *window = w->findChild<gui::ManualWindow *>();
        QVERIFY(window && window->isVisible());
        QVERIFY2(window->browser()->toPlainText().contains(QStringLiteral("Quick start")),
                 qPrintable(window->browser()->toPlainText().left(300)));
        // Every document's relative links (to another document or a picture) point at something embedded.
        const QStringList docs = QDir(QStringLiteral(":/taskfleet/manual/docs")).entryList({QStringLiteral("*.md")});
        QVERIFY(docs.contains(QStringLiteral("gui.md")) && docs.contains(QStringLiteral("python.md")));
        QStringList documents {QStringLiteral("README.md")};
        for (const QString &d : docs)
            documents << QStringLiteral("docs/") + d;
        const QRegularExpression link(QStringLiteral(R"(\]\(([^)#\s]+)(#[^)]*)?\))"));
        int checked = 0;
        for (const QString &doc : documents) {
            QFile f(QStringLiteral(":/taskfleet/manual/") + doc);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QString text = QString::fromUtf8(f.readAll());
            for (auto it = link.globalMatch(text); it.hasNext();) {
                const QString target = it.next().captured(1);
                if (target.contains(QStringLiteral("://")) || target.startsWith(QStringLiteral("mailto:")))
                    continue;
                const QUrl resolved = gui::ManualWindow::manualRoot().resolved(QUrl(doc)).resolved(QUrl(target));
                QVERIFY2(QFile::exists(QLatin1Char(':') + resolved.path()),
                         qPrintable(doc + QStringLiteral(": ") + target));
                ++checked;
            }
        }
        QVERIFY(checked >= 3);
        window->showDocument(QStringLiteral("docs/gui.md"));
        QVERIFY(window->browser()->toPlainText().contains(QStringLiteral("Throughput")));
        QVERIFY(window->windowTitle().contains(QStringLiteral("gui.md")));
        window->showDocument(QStringLiteral("README.md"));
        QCOMPARE(grabFor(window, QStringLiteral("manual.png")), QString());
    }

    /** An export is confirmed in the status bar; a job's end is announced; the title shows progress. */
    void exportsAreConfirmedAndEndsAnnounced()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto w = makeWindow(2);
        w->openFiles({writeSleepJob(dir, QStringLiteral("sleepy"), 60, 30)});
        QTRY_VERIFY_WITH_TIMEOUT(w->windowTitle().contains(QStringLiteral("% · Taskfleet")), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w->lastNotification(), QStringLiteral("Job 1 \"sleepy\": finished"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(w->windowTitle(), QStringLiteral("Taskfleet"), 10000);
        const QString csv = dir.filePath(QStringLiteral("stats.csv"));
        w->host()->exportStatistics(csv);
        QTRY_VERIFY_WITH_TIMEOUT(w->statusBar()->currentMessage().startsWith(QStringLiteral("Statistics written: ")),
                                 10000);
        QVERIFY(w->statusBar()->currentMessage().contains(csv));
        QVERIFY(QFile::exists(csv));
    }

    /** Quitting with unfinished jobs asks first; Cancel keeps the window, Quit closes it. */
    void quitAsksWhileJobsRun()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto w = makeWindow(1);
        w->openFiles({writeSleepJob(dir, QStringLiteral("long"), 100, 100)});
        QTRY_COMPARE_WITH_TIMEOUT(w->unfinishedJobs(), 1, 10000);
        QString asked;
        // The question is modal: answer it from a timer running inside its event loop (bounded: 200 x 25 ms).
        QTimer answerer;
        int tries = 0;
        QString button;
        connect(&answerer, &QTimer::timeout, w.get(), [&] {
            auto *box = w->findChild<QMessageBox *>(QStringLiteral("quitQuestion"));
            if (++tries > 200)
                answerer.stop();
            if (!box)
                return;
            asked = box->text();
            for (QAbstractButton *b : box->buttons())
                if (QString(b->text()).remove(QLatin1Char('&')) == button)
                    b->click();
        });
        const auto answer = [&](const QString &text) {
            button = text;
            tries = 0;
            answerer.start(25);
        };
        answer(QStringLiteral("Cancel"));
        QVERIFY(!w->close());
        answerer.stop();
        QCOMPARE(asked, QStringLiteral("1 job is not finished. Quit anyway?"));
        QVERIFY(w->isVisible());
        asked.clear();
        answer(QStringLiteral("Quit"));
        QVERIFY(w->close());
        answerer.stop();
        QVERIFY(!asked.isEmpty());
        QVERIFY(!w->isVisible());
    }

    /** Nodes added by hand, the local worker count and the window's layout survive a restart. */
    void settingsRememberNodesWorkersAndLayout()
    {
        QString error;
        QVERIFY2(gui::AppSettings::setSecret(QStringLiteral("remembered secret 0123456789"), &error),
                 qPrintable(error));
        const auto open = [] {
            gui::MainWindowOptions options;
            options.pluginPaths = {test::pluginDir()};
            options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
            options.useSettings = true;
            options.discovery = net::ListenerConfig(); // set, but never started: no secret path needed for it
            options.discovery->bindAddress = QHostAddress(QHostAddress::LocalHost);
            options.discovery->port = 0;
            options.discovery->probeAddresses = {QHostAddress(QHostAddress::LocalHost)};
            auto w = std::make_unique<MainWindow>(options);
            w->show();
            return w;
        };
        QSize size;
        {
            auto w = open();
            QAction *add = menuAction(w.get(), QStringLiteral("&Add Node…"));
            add->trigger();
            gui::AddNodeDialog *dialog = nullptr;
            QTRY_VERIFY_WITH_TIMEOUT((dialog = w->findChild<gui::AddNodeDialog *>()) != nullptr, 5000);
            dialog->findChild<QLineEdit *>()->setText(
                QStringLiteral("127.0.0.1:9")); // nothing listens: offline, retried
            dialog->accept();
            QTRY_VERIFY_WITH_TIMEOUT(w->nodesModel()->rowOf(QStringLiteral("127.0.0.1:9")) >= 0, 10000);
            QTRY_VERIFY_WITH_TIMEOUT(w->nodesModel()->rowCount() >= 2, 10000);
            QVERIFY(w->nodesModel()->setData(w->nodesModel()->index(0, NodesModel::Workers), 3, Qt::EditRole));
            w->resize(1234, 777);
            size = w->size();    // what the layout allowed
            QVERIFY(w->close()); // no unfinished job: no question
        }
        const gui::AppSettings saved = gui::AppSettings::load();
        QCOMPARE(saved.manualNodes, QStringList {QStringLiteral("127.0.0.1:9")});
        QCOMPARE(saved.localWorkers, 3);
        {
            auto w = open();
            QTRY_VERIFY_WITH_TIMEOUT(w->nodesModel()->rowOf(QStringLiteral("127.0.0.1:9")) >= 0, 10000);
            QTRY_COMPARE_WITH_TIMEOUT(w->host()->lastSnapshot().nodes.value(0).workers, 3, 10000);
            QCOMPARE(w->size(), size);
            QVERIFY(size != QSize(1280, 840)); // not just the default size
            // Removing it by hand forgets it for the next start too.
            w->nodesView()->selectRow(w->nodesModel()->rowOf(QStringLiteral("127.0.0.1:9")));
            menuAction(w.get(), QStringLiteral("&Remove Node"))->trigger();
            QVERIFY(gui::AppSettings::load().manualNodes.isEmpty());
            QVERIFY(w->close());
        }
        QSettings().clear();
        QVERIFY(gui::AppSettings::setSecret(QString(), &error));
    }

    /**
     * With Settings' "agents may connect to this computer on port N", an agent that dials the window
     * (--connect --no-listen) is a node, told apart in the Address column as one that dialed in; and saving the
     * Settings dialog keeps the nodes added by hand (it used to drop them).
     */
    void agentsDialInOnTheSettingsPort()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QByteArray secretText = "dial-in window secret 0123456789";
        const QString secretFile = dir.filePath(QStringLiteral("secret"));
        QVERIFY(test::writeSecretFile(secretFile, secretText));
        QString error;
        QVERIFY2(gui::AppSettings::setSecret(QString::fromLatin1(secretText), &error), qPrintable(error));
        const quint16 port = test::unusedPort();
        QVERIFY(port != 0);
        gui::AppSettings settings;
        settings.localWorkers = 0;
        settings.discovery = false;
        settings.acceptAgents = true;
        settings.listenPort = port;
        settings.manualNodes = {QStringLiteral("127.0.0.1:9")};
        settings.save();

        gui::MainWindowOptions options;
        options.pluginPaths = {test::pluginDir()};
        options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
        options.useSettings = true;
        MainWindow w(options);
        w.show();
        QProcess agent;
        agent.start(test::program(QStringLiteral("taskfleet-agent")),
                    {QStringLiteral("--connect"), QStringLiteral("127.0.0.1:%1").arg(port),
                     QStringLiteral("--no-listen"), QStringLiteral("-w"), QStringLiteral("1"),
                     QStringLiteral("--state-dir"), dir.filePath(QStringLiteral("state")),
                     QStringLiteral("--secret-file"), secretFile, QStringLiteral("-t"), QStringLiteral("60")});
        QVERIFY(agent.waitForStarted(10000));
        const auto dialedInRow = [&w] {
            for (int r = 0; r < w.nodesModel()->rowCount(); ++r)
                if (w.nodesModel()
                        ->index(r, NodesModel::Address)
                        .data()
                        .toString()
                        .startsWith(QLatin1String("dialed in from 127.0.0.1, ")))
                    return r;
            return -1;
        };
        QTRY_VERIFY_WITH_TIMEOUT(dialedInRow() >= 0, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(w.nodesModel()->index(dialedInRow(), NodesModel::State).data().toString(),
                                  QStringLiteral("online"), 20000);
        QTRY_COMPARE_WITH_TIMEOUT(w.nodesModel()->index(dialedInRow(), NodesModel::Workers).data().toString(),
                                  QStringLiteral("1"), 10000);
        // The dialed node keeps its host:port; the one that dialed in says so.
        QVERIFY(w.nodesModel()->rowOf(QStringLiteral("127.0.0.1:9")) >= 0);
        QCOMPARE(grabFor(&w, QStringLiteral("dialed-in.png")), QString());

        menuAction(&w, QStringLiteral("Se&ttings…"))->trigger();
        gui::SettingsDialog *dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = w.findChild<gui::SettingsDialog *>()) != nullptr, 5000);
        QCOMPARE(dialog->settings().acceptAgents, true);
        QCOMPARE(dialog->settings().listenPort, port);
        dialog->accept();
        QCOMPARE(gui::AppSettings::load().manualNodes, QStringList {QStringLiteral("127.0.0.1:9")});

        agent.kill();
        agent.waitForFinished(5000);
        QVERIFY(w.close());
        QSettings().clear();
        QVERIFY(gui::AppSettings::setSecret(QString(), &error));
    }

    /** The chart's data runs up to now (it scrolls while nothing finishes) and holds every finished task. */
    void throughputHistoryScrollsWithTheClock()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto w = makeWindow(2);
        w->openFiles({writeFile(dir, QStringLiteral("quick.json"),
                                R"({"name": "quick", "plugin": "echo", "inputs": {"range": [0, 300, 1]}})")});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && jobFinished(w.get(), 0), JobTimeoutMs);
        QVERIFY(settle(w.get()));
        const auto sum = [](const QVector<int> &v) { return std::accumulate(v.begin(), v.end(), 0); };
        const sched::ClusterSnapshot first = w->host()->lastSnapshot();
        QCOMPARE(sum(first.throughputHistory.value(0)),
                 300); // the job's last second is in, even if it is the current one
        const qint64 secondNow = first.takenUs / 1000000;
        QCOMPARE(first.throughputHistory.value(0).size(), int(qMin<qint64>(secondNow + 1, 120)));
        // Two idle seconds later the history has moved on with the clock: its newest seconds are empty.
        QSignalSpy snapshots(w->host(), &sched::ControllerHost::snapshotReady);
        QTRY_VERIFY_WITH_TIMEOUT(w->host()->lastSnapshot().takenUs / 1000000 >= secondNow + 2, 10000);
        const sched::ClusterSnapshot later = w->host()->lastSnapshot();
        const QVector<int> total = later.throughputHistory.value(0);
        QVERIFY(total.size() >= 3);
        QCOMPARE(total.at(total.size() - 1), 0);
        QCOMPARE(total.at(total.size() - 2), 0);
        QCOMPARE(sum(total), 300);
        QVERIFY(later.currentSecondFraction >= 0 && later.currentSecondFraction < 1);
    }

    /**
     * Once an agent leaves the controller (as discovery drops a dead one), its line and legend
     * entry stay until its tasks scroll out, so the node lines add up to the total; a node that never
     * connected takes no legend entry.
     */
    void chartKeepsALeftNodesHistory()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = writeAgentSecret(dir);
        QVERIFY(!secret.isEmpty());
        test::AgentProcess agent;
        QVERIFY2(startAgent(agent, dir.filePath(QStringLiteral("agent")), secret, 2), qPrintable(agent.error()));
        quint16 closedPort = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost));
            closedPort = probe.serverPort(); // nothing listens there once it closes
        }
        auto w = makeWindow(1, {}, secret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), agent.port()));
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), closedPort));
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), agent.address(), NodesModel::State), QStringLiteral("online"),
                                  20000);
        const QString agentName = nodeCell(w.get(), agent.address(), NodesModel::Name);
        const QString deadName = nodeCell(w.get(), QStringLiteral("127.0.0.1:%1").arg(closedPort), NodesModel::Name);
        QMap<QString, int> ranOn;
        QObject guard;
        connect(w->host(), &sched::ControllerHost::resultsRecorded, &guard,
                [&](int, const QVector<sched::TaskRecord> &records) {
                    for (const sched::TaskRecord &r : records)
                        ++ranOn[r.nodeName];
                });
        constexpr int Tasks = 150;
        w->openFiles({writeSleepJob(dir, QStringLiteral("spread"), Tasks, 20)});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && jobFinished(w.get(), 0), JobTimeoutMs);
        QVERIFY2(ranOn.value(agentName) > 0, "the agent ran none of the tasks");
        QVERIFY(settle(w.get()));
        gui::ThroughputChart *chart = w->throughputChart();
        const auto sum = [](const QVector<int> &v) { return std::accumulate(v.begin(), v.end(), 0); };
        QVERIFY2(!chart->legend().contains(deadName), qPrintable(chart->legend().join(QLatin1Char(','))));
        QCOMPARE(sum(chart->series(agentName)), ranOn.value(agentName));

        w->host()->removeNode(agent.address());
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->isGone(w->nodesModel()->rowOf(agent.address())), true, 10000);
        // Two seconds later, the clock has moved on: the line is still there, with all its tasks.
        const qint64 second = w->host()->lastSnapshot().takenUs / 1000000;
        QTRY_VERIFY_WITH_TIMEOUT(w->host()->lastSnapshot().takenUs / 1000000 >= second + 2, 10000);
        QVERIFY(settle(w.get()));
        QVERIFY2(chart->legend().contains(agentName), qPrintable(chart->legend().join(QLatin1Char(','))));
        QVERIFY(!chart->legend().contains(deadName));
        const QVector<int> total = chart->series(QStringLiteral("total"));
        const QVector<int> gone = chart->series(agentName);
        QCOMPARE(sum(gone), ranOn.value(agentName));
        QCOMPARE(gone.size(), total.size()); // it moved with the clock
        // Second by second, the node lines add up to the total.
        const QStringList legend = chart->legend();
        for (int k = 1; k <= total.size(); ++k) {
            int nodes = 0;
            for (const QString &name : legend.mid(1)) {
                const QVector<int> s = chart->series(name);
                nodes += k <= s.size() ? s.at(s.size() - k) : 0;
            }
            QCOMPARE(nodes, total.at(total.size() - k));
        }
        QCOMPARE(sum(total), Tasks);
        // And it is drawn: the left node's line, in its colour, inside the plot (its legend swatch lies outside).
        const QImage picture = chart->grab().toImage().convertToFormat(QImage::Format_RGB32);
        const QRgb lineColour = gui::nodeColor(agentName).rgb();
        const QRect plot = chart->plotRect();
        int painted = 0, swatch = 0;
        for (int y = 0; y < picture.height(); ++y)
            for (int x = 0; x < picture.width(); ++x)
                if (picture.pixel(x, y) == lineColour)
                    ++(plot.contains(x, y) ? painted : swatch);
        QVERIFY2(painted >= 5 && swatch >= 40, qPrintable(QStringLiteral("%1 pixels of %2 in the plot, %3 outside")
                                                              .arg(painted)
                                                              .arg(gui::nodeColor(agentName).name())
                                                              .arg(swatch)));
    }

    /**
     * The first start (welcome bar shown) fits 1024 x 700: the Jobs table shows its numbers,
     * the Nodes table its totals row, the chart a plot of a usable size.
     */
    void firstStartFits1024x700()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto w = makeWindow(2);
        for (const QString &name :
             {QStringLiteral("render-node-alpha.example.lan"), QStringLiteral("render-node-bravo.example.lan"),
              QStringLiteral("render-node-charlie.example.lan")})
            w->host()->addNode([name] { return new FakeNode(4, QStringLiteral("id-") + name, name); });
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->nodes().size(), 4, 10000);
        QWidget *welcome = nullptr;
        for (QFrame *f : w->findChildren<QFrame *>())
            if (f->findChild<QPushButton *>(QStringLiteral("example_mandelbrot")))
                welcome = f;
        QVERIFY(welcome && welcome->isVisible());
        QVERIFY2(w->minimumSizeHint().width() <= 1024,
                 qPrintable(QStringLiteral("minimum width %1").arg(w->minimumSizeHint().width())));
        w->resize(1024, 700);
        QVERIFY(settle(w.get()));
        QCOMPARE(w->size(), QSize(1024, 700));
        QVERIFY(welcome->isVisible());
        // The Nodes table: its totals row in view, below every node.
        QTableView *nodes = w->nodesView();
        const int totalRow = nodes->model()->rowCount() - 1;
        QTRY_VERIFY_WITH_TIMEOUT(totalRow >= 4 && nodes->rowViewportPosition(totalRow) >= 0
                                     && nodes->rowViewportPosition(totalRow) + nodes->rowHeight(totalRow)
                                            <= nodes->viewport()->height(),
                                 5000);
        // The chart: a plot of a usable height, its legend wrapped or not.
        const QRect plot = w->throughputChart()->plotRect();
        QVERIFY2(plot.height() >= 80 && plot.width() >= 200,
                 qPrintable(QStringLiteral("plot %1 x %2").arg(plot.width()).arg(plot.height())));
        QCOMPARE(grabFor(w.get(), QStringLiteral("window-first-start-1024x700.png")), QString());

        // A job: its progress, counts and ETA readable without scrolling sideways.
        w->openFiles({writeSleepJob(dir, QStringLiteral("a job with a rather long descriptive name"), 40, 200)});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && onlyJob(w.get())->done > 0, 20000);
        QVERIFY(settle(w.get()));
        QTableView *jobs = w->jobsView();
        const QFontMetrics fm = jobs->fontMetrics();
        for (int c : {JobsModel::Progress, JobsModel::Done, JobsModel::Errors, JobsModel::Failed, JobsModel::Total,
                      JobsModel::Eta}) {
            QVERIFY2(!jobs->isColumnHidden(c), qPrintable(QString::number(c)));
            const int right = jobs->columnViewportPosition(c) + jobs->columnWidth(c);
            QVERIFY2(jobs->columnViewportPosition(c) >= 0 && right <= jobs->viewport()->width(),
                     qPrintable(QStringLiteral("column %1 ends at %2 of %3")
                                    .arg(jobs->model()->headerData(c, Qt::Horizontal).toString())
                                    .arg(right)
                                    .arg(jobs->viewport()->width())));
        }
        QVERIFY(jobs->columnWidth(JobsModel::Progress) >= fm.horizontalAdvance(QStringLiteral("100.0 %")) + 8);
        w->host()->cancelJob(onlyJob(w.get())->id);
    }

    /** The status bar says how agents join, and why they cannot (no secret), with a way to fix it. */
    void statusBarSaysHowAgentsJoin()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto open = [](const QString &secretFile) {
            gui::MainWindowOptions options;
            options.localWorkers = 1;
            options.pluginPaths = {test::pluginDir()};
            options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
            options.useSettings = false;
            options.secretFile = secretFile;
            options.discovery = net::ListenerConfig();
            options.discovery->bindAddress = QHostAddress(QHostAddress::LocalHost);
            options.discovery->port = 0;
            options.discovery->probeAddresses = {QHostAddress(QHostAddress::LocalHost)};
            auto w = std::make_unique<MainWindow>(options);
            w->show();
            return w;
        };
        {
            auto w = open({});
            auto *hint = w->findChild<QLabel *>(QStringLiteral("agentsHint"));
            QVERIFY(hint);
            QVERIFY(hint->isVisible());
            QVERIFY2(hint->text().contains(QStringLiteral("no cluster secret"))
                         && hint->text().contains(QStringLiteral("Settings")),
                     qPrintable(hint->text()));
            emit hint->linkActivated(QStringLiteral("settings")); // the link opens Settings
            QTRY_VERIFY_WITH_TIMEOUT(w->findChild<gui::SettingsDialog *>() != nullptr, 5000);
            w->findChild<gui::SettingsDialog *>()->reject();
        }
        const QString secret = writeAgentSecret(dir);
        QVERIFY(!secret.isEmpty());
        auto w = open(secret);
        auto *hint = w->findChild<QLabel *>(QStringLiteral("agentsHint"));
        QVERIFY(hint && hint->isVisible());
        QVERIFY2(hint->text().contains(QStringLiteral("found by discovery")), qPrintable(hint->text()));
    }

    /**
     * A journal write that fails (a full disk) is told once, with the path and the
     * reason; that journal is never offered for a resume; exports to a full disk say the path and the reason.
     */
    void journalOnAFullDiskIsToldAndNeverResumed()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString mnt = dir.filePath(QStringLiteral("tiny"));
        QVERIFY(QDir().mkpath(mnt));
        if (::geteuid() != 0)
            TF_SKIP_OR_FAIL("needs root to mount a small tmpfs");
        const auto run = [](const QString &program, const QStringList &args) {
            QProcess p;
            p.start(program, args);
            return p.waitForFinished(10000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
        };
        if (!run(QStringLiteral("mount"), {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                                           QStringLiteral("size=1024k"), QStringLiteral("tmpfs"), mnt}))
            TF_SKIP_OR_FAIL("cannot mount a small tmpfs");
        struct Unmount {
            std::function<bool(const QString &, const QStringList &)> run;
            QString dir;
            ~Unmount() { run(QStringLiteral("umount"), {dir}); }
        } unmountAtEnd {run, mnt};
        const QString journalDir = mnt + QStringLiteral("/journal");
        const QString fill = mnt + QStringLiteral("/fill");
        {
            auto w = makeJournaledWindow(2, journalDir, gui::MainWindowOptions::Resume::Never);
            const QString journal = w->journalPath();
            QVERIFY(!journal.isEmpty());
            QSignalSpy errors(w.get(), &MainWindow::errorShown);
            // A long job, journaled while there is room.
            w->openFiles({writeSleepJob(dir, QStringLiteral("long"), 300, 50)});
            QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && onlyJob(w.get())->done > 0, 20000);
            QVERIFY(settle(w.get()));
            QCOMPARE(errors.count(), 0);
            {
                QFile f(fill); // the disk fills up
                QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Unbuffered));
                const QByteArray block(64 * 1024, 'x');
                for (int i = 0; i < 1000 && f.write(block) == block.size(); ++i) { }
                for (int i = 0; i < 1000 && f.write(block.left(512)) == 512; ++i) { }
            }
            // A second job: its record (8 kB inputs) cannot be written.
            const QString big = QStringLiteral("\"%1\"").arg(QString(8000, QLatin1Char('y')));
            w->openFiles({writeFile(
                dir, QStringLiteral("big.json"),
                QStringLiteral(R"({"name": "big", "plugin": "echo", "inputs": [%1, %1]})").arg(big).toUtf8())});
            QTRY_VERIFY_WITH_TIMEOUT(errors.count() >= 1, 10000);
            const QString message = errors.first().first().toString();
            QVERIFY2(message.contains(QStringLiteral("cannot write journal %1: No space left on device").arg(journal)),
                     qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("will not be offered for a resume")), qPrintable(message));
            QVERIFY(w->lastError() == message);
            // Told once, though the long job's results go on failing to be written.
            const qint64 done = w->jobsModel()->jobs().first().done;
            QTRY_VERIFY_WITH_TIMEOUT(w->jobsModel()->jobs().first().done >= done + 10, 20000);
            QCOMPARE(errors.count(), 1);
            // An export to the full disk: the path and the reason.
            w->selectJob(w->jobsModel()->jobs().first().id);
            QString error;
            const QString exported = mnt + QStringLiteral("/results.jsonl");
            QVERIFY(!w->resultsModel()->exportJsonLines(exported, &error));
            QVERIFY2(error.contains(exported) && error.contains(QStringLiteral("No space left on device")),
                     qPrintable(error));
            QVERIFY(!w->resultsModel()->exportCsv(exported, &error));
            QVERIFY2(error.contains(exported) && error.contains(QStringLiteral("No space left on device")),
                     qPrintable(error));
            QVERIFY(w->unfinishedJobs() > 0); // the window goes while the long job runs
        }
        QVERIFY(QFile::remove(fill));
        // The next start: the unfinished job of the journal that could not be written is not offered.
        auto next = makeJournaledWindow(1, journalDir, gui::MainWindowOptions::Resume::Always);
        QCOMPARE(next->leftoverJobs(), 0);
        QVERIFY(settle(next.get()));
        QCOMPARE(next->jobsModel()->rowCount(), 0);
        QCOMPARE(QDir(journalDir).entryList({QStringLiteral("app-*.tfj.failed")}, QDir::Files).size(), 1);
    }

    /** An agent started by the test, added through Nodes ▸ Add Node…, shows with its workers. */
    void agentAddedThroughDialogShowsWorkersAndRunsTasks()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = writeAgentSecret(dir);
        QVERIFY(!secret.isEmpty());
        test::AgentProcess agent;
        QVERIFY2(startAgent(agent, dir.filePath(QStringLiteral("state")), secret, 2), qPrintable(agent.error()));
        auto w = makeWindow(0, {}, secret); // no local workers: every task runs on the agent

        // The dialog path, as a person uses it (host:port typed in the host field also works).
        QAction *add = menuAction(w.get(), QStringLiteral("&Add Node…"));
        QVERIFY(add);
        add->trigger();
        gui::AddNodeDialog *dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = w->findChild<gui::AddNodeDialog *>()) != nullptr, 5000);
        QCOMPARE(gui::NodeTypes::types().value(dialog->typeIndex()).name, gui::agentNodeTypeName());
        dialog->findChild<QLineEdit *>()->setText(QStringLiteral("127.0.0.1"));
        dialog->findChild<QSpinBox *>()->setValue(agent.port());
        dialog->accept();

        const QString id = agent.address();
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::State), QStringLiteral("online"), 20000);
        QCOMPARE(w->nodesModel()->rowOf(id), 1); // after the local node
        QCOMPARE(nodeCell(w.get(), id, NodesModel::Address), id);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::Workers), QStringLiteral("2"), 10000);
        QCOMPARE(nodeCell(w.get(), id, NodesModel::Busy), QStringLiteral("0/2"));

        // The agent's machine (here this one): memory total as /proc/meminfo says, a load, and the
        // OS, version and CPUs in the name's tooltip.
        QFile meminfo(QStringLiteral("/proc/meminfo"));
        QVERIFY(meminfo.open(QIODevice::ReadOnly));
        // Read here, not through util::parseMemInfo (what the agent reports with).
        const QRegularExpressionMatch memTotal
            = QRegularExpression(QStringLiteral("^MemTotal:\\s+(\\d+) kB$"), QRegularExpression::MultilineOption)
                  .match(QString::fromLatin1(meminfo.readAll()));
        QVERIFY(memTotal.hasMatch());
        const double totalKb = memTotal.captured(1).toDouble();
        const QString totalText = QStringLiteral(" / %1 GB").arg(totalKb / (1024.0 * 1024), 0, 'f', 1);
        QTRY_VERIFY_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::Memory).endsWith(totalText), 10000);
        bool loadOk = false;
        QVERIFY(nodeCell(w.get(), id, NodesModel::Load).toDouble(&loadOk) >= 0 && loadOk);
        const QString machine
            = w->nodesModel()->index(w->nodesModel()->rowOf(id), NodesModel::Name).data(Qt::ToolTipRole).toString();
        QVERIFY2(machine.contains(QSysInfo::prettyProductName()) && machine.contains(QSysInfo::kernelVersion()),
                 qPrintable(machine));
        QVERIFY2(machine.contains(QStringLiteral("Taskfleet ")), qPrintable(machine));
        QVERIFY2(machine.contains(QStringLiteral("%1 logical CPU").arg(QThread::idealThreadCount())),
                 qPrintable(machine));
        QVERIFY2(machine.contains(QStringLiteral("running for")), qPrintable(machine));

        // The editable worker count goes to the agent; the snapshot's count is what the agent reports back.
        const int row = w->nodesModel()->rowOf(id);
        QVERIFY(w->nodesModel()->setData(w->nodesModel()->index(row, NodesModel::Workers), 3, Qt::EditRole));
        QTRY_VERIFY_WITH_TIMEOUT(
            nodeIn(w->host()->lastSnapshot(), id) && nodeIn(w->host()->lastSnapshot(), id)->workers == 3, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::Workers), QStringLiteral("3"), 10000);

        // A small job runs on the agent, and its row counts the tasks.
        const QString job = writeFile(dir, QStringLiteral("echo.json"),
                                      R"({"name": "remote echo", "plugin": "echo", "inputs": {"range": [0, 40, 1]}})");
        QString error;
        QVERIFY2(w->queueJobFile(job, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(onlyJob(w.get())->done, 40);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::TasksDone), QStringLiteral("40"), 10000);
        QCOMPARE(nodeCell(w.get(), QStringLiteral("local"), NodesModel::TasksDone), QStringLiteral("0"));

        // Reconnect drops the link and comes back at once; Remove takes the row away.
        w->nodesView()->selectRow(w->nodesModel()->rowOf(id));
        QAction *reconnect = menuAction(w.get(), QStringLiteral("Re&connect"));
        QVERIFY(reconnect && reconnect->isEnabled());
        reconnect->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(nodeIn(w->host()->lastSnapshot(), id)
                                     && nodeIn(w->host()->lastSnapshot(), id)->state != sched::NodeState::Online,
                                 10000);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::State), QStringLiteral("online"), 20000);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::Workers), QStringLiteral("3"), 10000);
        w->nodesView()->selectRow(w->nodesModel()->rowOf(id));
        QAction *remove = menuAction(w.get(), QStringLiteral("&Remove Node"));
        QVERIFY(remove && remove->isEnabled());
        remove->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(w->nodesModel()->rowOf(id), -1, 10000);
    }

    /**
     * The Tasks view lists every task of the selected job in its state (queued, running
     * with its node, done, error, failed), filters by state, and shows a task's full error and each attempt;
     * Retry Failed Tasks queues exactly the tasks without a value and names what each retries; Rerun and
     * Remove work on the job as a whole.
     */
    void tasksViewShowsEveryTaskAndRetriesTheFailed()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        constexpr int Tasks = 30;
        QStringList inputs;
        QSet<int> bad;
        for (int i = 0; i < Tasks; ++i) {
            if (i % 5 == 3) {
                bad.insert(i);
                inputs << QStringLiteral("\"bad\"");
            } else {
                inputs << QStringLiteral("300");
            }
        }
        auto w = makeWindow(2);
        auto *tabs = w->findChild<QTabWidget *>();
        QVERIFY(tabs);
        tabs->setCurrentWidget(w->tasksPanel());
        w->openFiles({writeFile(dir, QStringLiteral("mixed.json"),
                                QStringLiteral(R"({"name": "mixed", "plugin": "sleep", "inputs": [%1]})")
                                    .arg(inputs.join(QLatin1Char(',')))
                                    .toUtf8())});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int mixedId = onlyJob(w.get())->id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), mixedId, 10000);
        gui::TasksModel *tasks = w->tasksModel();
        QCOMPARE(tasks->rowCount(), Tasks);
        const auto sum = [&](int jobId) {
            qint64 n = 0;
            for (int s = 0; s < gui::TasksModel::StateCount; ++s)
                n += tasks->count(jobId, gui::TasksModel::TaskState(s));
            return n;
        };
        // Mid-job: both workers' tasks show as running on the local node, some done, some still queued.
        QTRY_VERIFY_WITH_TIMEOUT(tasks->count(mixedId, gui::TasksModel::Running) == 2
                                     && tasks->count(mixedId, gui::TasksModel::Done) >= 2
                                     && tasks->count(mixedId, gui::TasksModel::Queued) > 0,
                                 20000);
        QCOMPARE(sum(mixedId), Tasks);
        w->tasksPanel()->setStateFilter(gui::TasksModel::Running);
        QTableView *view = w->tasksPanel()->view();
        QTRY_VERIFY_WITH_TIMEOUT(view->model()->rowCount() >= 1 && view->model()->rowCount() <= 2, 5000);
        QCOMPARE(view->model()->index(0, gui::TasksModel::State).data().toString(), QStringLiteral("running"));
        QVERIFY(!view->model()->index(0, gui::TasksModel::Node).data().toString().isEmpty());
        w->tasksPanel()->setStateFilter(-1);

        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(tasks->count(mixedId, gui::TasksModel::Done), qint64(Tasks - bad.size()), 10000);
        QCOMPARE(tasks->count(mixedId, gui::TasksModel::Error), qint64(bad.size()));
        QCOMPARE(tasks->count(mixedId, gui::TasksModel::Running), 0);
        QCOMPARE(tasks->count(mixedId, gui::TasksModel::Queued), 0);
        // The filter shows exactly the errors, and a selected one explains itself in full.
        w->tasksPanel()->setStateFilter(gui::TasksModel::Error);
        QCOMPARE(view->model()->rowCount(), bad.size());
        QSet<int> shown;
        for (int r = 0; r < view->model()->rowCount(); ++r)
            shown.insert(view->model()->index(r, gui::TasksModel::Index).data().toInt());
        QCOMPARE(shown, bad);
        QVERIFY(w->tasksPanel()->selectTask(3));
        const QString detail = w->tasksPanel()->detail()->toPlainText();
        QVERIFY2(detail.contains(QStringLiteral("Task 3: error"))
                     && detail.contains(QStringLiteral("sleep expects milliseconds, an integer from 0 to")),
                 qPrintable(detail));

        // The task map stands where the picture would: a done task in its node's colour, an error orange;
        // a click on a cell shows that task in the Tasks view.
        QCOMPARE(w->pictureOrMap(), w->taskMap());
        gui::TaskMapView *map = w->taskMap();
        QCOMPARE(map->grab().isNull(), false); // lays the grid out
        const QString localName = w->nodesModel()->nodes().value(0).name;
        QCOMPARE(map->cellColor(0, 1), gui::nodeColor(localName));
        QCOMPARE(map->cellColor(3, 1), QColor(0xf5, 0x7c, 0x00));
        QCOMPARE(map->cellColor(0, 4), QColor(0xf5, 0x7c, 0x00)); // a cell of several tasks shows the error
        int crossed = -1;
        QCOMPARE(map->cellState(0, 4, &crossed), gui::TasksModel::Error); // drawn crossed out
        QCOMPARE(crossed, 3);
        w->tasksPanel()->setStateFilter(-1);
        tabs->setCurrentIndex(0);
        QTest::mouseClick(map, Qt::LeftButton, {}, map->cellRect(13).center());
        QCOMPARE(tabs->currentWidget(), w->tasksPanel());
        QCOMPARE(w->tasksPanel()->selectedTask(), 13);
        w->tasksPanel()->setStateFilter(gui::TasksModel::Error);

        // Retry Failed Tasks: a new job of exactly the 6 errors, selected, each naming the task it retries.
        QVERIFY(menuAction(w.get(), QStringLiteral("Re&try Failed Tasks"))->isEnabled());
        QCOMPARE(w->retryFailedTasks(mixedId), bad.size());
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowCount(), 2, 10000);
        const sched::JobSnapshot retry = w->jobsModel()->jobs().at(1);
        QCOMPARE(retry.name, QStringLiteral("mixed (retry of 6 tasks)"));
        QCOMPARE(retry.total, qint64(bad.size()));
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), retry.id, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(tasks->count(retry.id, gui::TasksModel::Error), qint64(bad.size()), JobTimeoutMs);
        w->tasksPanel()->setStateFilter(-1);
        QVERIFY(w->tasksPanel()->selectTask(1));
        QVERIFY2(w->tasksPanel()->detail()->toPlainText().contains(
                     QStringLiteral("A retry of task 8 of job %1.").arg(mixedId)),
                 qPrintable(w->tasksPanel()->detail()->toPlainText()));

        // A task that crashes its worker: failed, with both attempts in its history.
        w->openFiles(
            {writeFile(dir, QStringLiteral("crashy.json"),
                       R"({"name": "crashy", "plugin": "crash", "retries": 1, "inputs": ["nope", "abort"]})")});
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowCount(), 3, 10000);
        const int crashyId = w->jobsModel()->jobs().at(2).id;
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 2), JobTimeoutMs);
        w->selectJob(crashyId);
        QTRY_COMPARE_WITH_TIMEOUT(tasks->count(crashyId, gui::TasksModel::Failed), 1, 10000);
        QVERIFY(w->tasksPanel()->selectTask(1));
        QTRY_VERIFY_WITH_TIMEOUT(w->tasksPanel()->detail()->toPlainText().contains(QStringLiteral("2. ")), 10000);
        const QString crashDetail = w->tasksPanel()->detail()->toPlainText();
        QVERIFY2(crashDetail.contains(QStringLiteral("Task 1: failed"))
                     && crashDetail.contains(QStringLiteral("failed after 2 attempts"))
                     && crashDetail.count(QStringLiteral(": crashed: ")) == 2
                     && crashDetail.contains(QStringLiteral("2. ")) && !crashDetail.contains(QStringLiteral("3. ")),
                 qPrintable(crashDetail));
        // "retries": 1 is at most 2 attempts, as the Attempts column counts them too.
        QCOMPARE(tasks->index(1, gui::TasksModel::Attempts).data().toInt(), 2);
        // The Note column's tooltip has the full error (the table shows its first line).
        QVERIFY(view->model()
                    ->index(1, gui::TasksModel::Note)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .startsWith(QStringLiteral("failed after 2 attempts")));
        QCOMPARE(grabFor(w.get(), QStringLiteral("window-tasks.png")), QString());

        // Rerun queues the whole job again; Remove forgets a finished job here and in the controller.
        QVERIFY(w->rerunJob(mixedId));
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowCount(), 4, 10000);
        const int rerunId = w->jobsModel()->jobs().at(3).id;
        QCOMPARE(w->jobsModel()->jobs().at(3).total, qint64(Tasks));
        w->host()->pauseJob(rerunId); // held unfinished: a job that is not over cannot be removed
        QTRY_COMPARE_WITH_TIMEOUT(int(w->jobsModel()->job(rerunId)->state), int(sched::JobState::Paused), 10000);
        QVERIFY(!w->removeJob(rerunId));
        QVERIFY(w->removeJob(crashyId));
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowOf(crashyId), -1, 10000);
        QCOMPARE(w->jobsModel()->rowCount(), 3);
        QCOMPARE(tasks->count(crashyId, gui::TasksModel::Failed), 0);
        QVERIFY(w->jobsModel()->job(rerunId));
        w->host()->resumeJob(rerunId);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 2), JobTimeoutMs);
        QCOMPARE(w->clearFinishedJobs(), 3);
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowCount(), 0, 10000);
    }

    /**
     * A node takes more tasks than it has workers (credit); only those its busy workers run
     * are "running", the others wait there and show as queued on that node.
     */
    void runningCountsOnlyWhatWorkersRun()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        constexpr int Workers = 2;
        auto w = makeWindow(Workers);
        auto *tabs = w->findChild<QTabWidget *>();
        QVERIFY(tabs);
        tabs->setCurrentWidget(w->tasksPanel()); // reports come while the Tasks tab shows a running job
        // 1 ms tasks: the local node keeps a second one waiting in each worker's pipe, so it has more than 2.
        w->openFiles({writeSleepJob(dir, QStringLiteral("short"), 3000, 1)});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int jobId = onlyJob(w.get())->id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), jobId, 10000);
        gui::TasksModel *tasks = w->tasksModel();
        qint64 maxRunning = 0, sawRunning = 0, sawWaiting = 0;
        QObject guard;
        connect(w->host(), &sched::ControllerHost::taskReportReady, &guard, [&](const sched::TaskReport &report) {
            if (report.jobId != jobId)
                return;
            // After the model took the report (it is connected first).
            QTimer::singleShot(0, &guard, [&, sent = report.running.size()] {
                const qint64 running = tasks->count(jobId, gui::TasksModel::Running);
                maxRunning = std::max(maxRunning, running);
                sawRunning += running > 0;
                for (int i = 0; i < tasks->rowCount() && sent > running; ++i)
                    if (tasks->index(i, gui::TasksModel::Node)
                            .data()
                            .toString()
                            .endsWith(QStringLiteral("(waits for a worker)"))) {
                        QCOMPARE(tasks->index(i, gui::TasksModel::State).data().toString(), QStringLiteral("queued"));
                        ++sawWaiting;
                        break;
                    }
            });
        });
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QVERIFY2(sawRunning > 0, "no report showed a running task");
        QVERIFY2(maxRunning <= Workers,
                 qPrintable(QStringLiteral("%1 running on %2 workers").arg(maxRunning).arg(Workers)));
        QVERIFY2(sawWaiting > 0, "no report had tasks sent to the node and waiting there");
    }

    /**
     * A task whose speculative copy lost the race and was cancelled succeeded; it is not shown
     * as an attempt that went wrong, nor counted as an attempt.
     */
    void speculativeCopyIsNoFailure()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = writeAgentSecret(dir);
        QVERIFY(!secret.isEmpty());
        test::AgentProcess agent;
        QVERIFY2(startAgent(agent, dir.filePath(QStringLiteral("agent")), secret, 1), qPrintable(agent.error()));
        auto w = makeWindow(1, {}, secret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), agent.port()));
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), agent.address(), NodesModel::State), QStringLiteral("online"),
                                  20000);
        // One quick task and one slow one: the node that is done early gets a copy of the slow one (after 0.5 s),
        // which loses the race and is cancelled.
        w->openFiles({writeFile(dir, QStringLiteral("race.json"),
                                R"({"name": "race", "plugin": "sleep", "inputs": [50, 2500]})")});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        const int jobId = onlyJob(w.get())->id;
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        w->selectJob(jobId);
        gui::TasksModel *tasks = w->tasksModel();
        QTRY_COMPARE_WITH_TIMEOUT(tasks->count(jobId, gui::TasksModel::Done), 2, 10000);
        QVERIFY(w->tasksPanel()->selectTask(1));
        QTRY_VERIFY_WITH_TIMEOUT(
            w->tasksPanel()->detail()->toPlainText().contains(QStringLiteral("a duplicate, cancelled")), 10000);
        const QString note = tasks->index(1, gui::TasksModel::Note).data().toString();
        QVERIFY2(!note.contains(QStringLiteral("went wrong")) && note.contains(QStringLiteral("speculative")),
                 qPrintable(note));
        QCOMPARE(tasks->index(1, gui::TasksModel::Attempts).data().toInt(), 1);
        const QString detail = w->tasksPanel()->detail()->toPlainText();
        QVERIFY2(detail.contains(QStringLiteral("a speculative copy (not a failure)"))
                     && detail.contains(QStringLiteral("1. ")) && !detail.contains(QStringLiteral("2. ")),
                 qPrintable(detail));
        // Attempt times are clock times, not seconds since the app started.
        QVERIFY2(detail.contains(QRegularExpression(QStringLiteral("started at \\d\\d:\\d\\d:\\d\\d"))),
                 qPrintable(detail));
    }

    /**
     * The app journals its jobs; a session that ends mid-job leaves them in the journal, and the next start
     * resumes the job, running only the missing tasks, into a journal that then holds every task once.
     */
    void journalResumesWhatAQuitLeft()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString journalDir = dir.filePath(QStringLiteral("journal"));
        constexpr int Tasks = 40;
        QString firstPath;
        QString key;
        qint64 earlier = 0;
        {
            auto w = makeJournaledWindow(2, journalDir, gui::MainWindowOptions::Resume::Never);
            firstPath = w->journalPath();
            QVERIFY(firstPath.startsWith(journalDir));
            w->openFiles({writeSleepJob(dir, QStringLiteral("long"), Tasks, 100)});
            // Results the window has (and so has journaled), not the snapshot's count, which runs ahead.
            QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && w->resultsModel()->keptRows(onlyJob(w.get())->id) >= 6, 20000);
            w->quitWithoutAsking();
        } // the window goes mid-job, as at a quit
        QVector<sched::JournaledJob> jobs = appJournal(journalDir);
        QCOMPARE(jobs.size(), 1);
        QVERIFY(!jobs.first().ended);
        earlier = jobs.first().results.size();
        QVERIFY2(earlier >= 6 && earlier < Tasks, qPrintable(QString::number(earlier)));
        key = jobs.first().key;

        auto w = makeJournaledWindow(2, journalDir, gui::MainWindowOptions::Resume::Always);
        QTRY_VERIFY2_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, qPrintable(w->logView()->toPlainText()), 10000);
        QCOMPARE(onlyJob(w.get())->name,
                 QStringLiteral("long (resumed: %1 of %2 tasks left)").arg(Tasks - earlier).arg(Tasks));
        QCOMPARE(onlyJob(w.get())->total, Tasks); // the original job, the tasks done before counted done
        QVERIFY(onlyJob(w.get())->done >= earlier);
        QVERIFY(!QFile::exists(firstPath)); // its job lives on in this session's journal
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QString path;
        QTRY_VERIFY_WITH_TIMEOUT(appJournal(journalDir, &path).value(0).ended, 10000);
        QCOMPARE(path, w->journalPath());
        jobs = appJournal(journalDir);
        QCOMPARE(jobs.first().key, key);
        QCOMPARE(jobs.first().spec.inputs.size(), Tasks);
        QCOMPARE(jobs.first().results.size(), Tasks);
        QCOMPARE(jobs.first().repeatedResults, 0);
        for (const sched::TaskRecord &r : std::as_const(jobs.first().results))
            QCOMPARE(r.status, stats::TaskStatus::Ok);
        // The Tasks view lists the whole job under its original indices, every task done.
        const int id = onlyJob(w.get())->id;
        w->selectJob(id);
        QTRY_COMPARE_WITH_TIMEOUT(w->tasksModel()->rowCount(), Tasks, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(w->tasksModel()->count(id, gui::TasksModel::Done), qint64(Tasks), 5000);
    }

    /** At start the window asks about an ended session's unfinished jobs; Later keeps them, Discard removes them. */
    void startAsksAboutUnfinishedJobs()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString journalDir = dir.filePath(QStringLiteral("journal"));
        {
            auto w = makeJournaledWindow(1, journalDir, gui::MainWindowOptions::Resume::Never);
            w->openFiles({writeSleepJob(dir, QStringLiteral("left"), 50, 100)});
            QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && onlyJob(w.get())->done >= 2, 20000);
            w->quitWithoutAsking();
        }
        QString leftPath;
        QCOMPARE(appJournal(journalDir, &leftPath).size(), 1);
        const auto startAndAnswer = [&](const QString &button, QString *asked) -> std::unique_ptr<MainWindow> {
            QTimer answerer; // answers the modal question from inside its event loop (bounded: 400 x 25 ms)
            int tries = 0;
            std::unique_ptr<MainWindow> w;
            connect(&answerer, &QTimer::timeout, this, [&] {
                if (++tries > 400)
                    answerer.stop();
                auto *box = w ? w->findChild<QMessageBox *>(QStringLiteral("resumeQuestion")) : nullptr;
                if (!box)
                    return;
                *asked = box->text() + QLatin1Char('\n') + box->informativeText();
                for (QAbstractButton *b : box->buttons())
                    if (QString(b->text()).remove(QLatin1Char('&')) == button)
                        b->click();
            });
            answerer.start(25);
            w = makeJournaledWindow(1, journalDir, gui::MainWindowOptions::Resume::Ask);
            (void)QTest::qWaitFor([&] { return !asked->isEmpty(); }, 10000); // the caller checks *asked
            answerer.stop();
            return w;
        };
        QString asked;
        auto later = startAndAnswer(QStringLiteral("Later"), &asked);
        QVERIFY2(asked.startsWith(QStringLiteral("1 job did not finish when Taskfleet last ended. Resume it?"))
                     && asked.contains(QStringLiteral("left: ")),
                 qPrintable(asked));
        QCOMPARE(later->jobsModel()->rowCount(), 0); // nothing resumed ...
        QVERIFY(QFile::exists(leftPath));            // ... and nothing lost
        later.reset();
        asked.clear();
        auto discard = startAndAnswer(QStringLiteral("Discard"), &asked);
        QVERIFY(!asked.isEmpty());
        QVERIFY(!QFile::exists(leftPath));
        QCOMPARE(discard->jobsModel()->rowCount(), 0);
    }

    /**
     * Which journals are leftovers. A job resumed once is in two journals if the app died
     * before the older file went: it is offered once, from the newer one, and the older file (nothing of its
     * own) goes. A live app's journal (locked) is not touched; one whose jobs all ended stays, as history.
     */
    void leftoverJournalsAreReadOnceAndLiveOnesLeftAlone()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        sched::JobSpec spec;
        spec.name = QStringLiteral("twice");
        spec.plugin.name = QStringLiteral("echo");
        spec.inputs = {1, 2, 3, 4};
        const auto write = [&](const QString &name, const QString &key, int results, bool end) {
            sched::JournalWriter writer;
            QString error;
            QVERIFY2(writer.open(dir.filePath(name), &error), qPrintable(error));
            writer.writeJob(key, spec);
            QVector<sched::TaskRecord> records;
            for (int i = 0; i < results; ++i) {
                sched::TaskRecord r;
                r.index = i;
                r.output = i + 1;
                records.append(r);
            }
            writer.writeResults(key, records);
            if (end)
                writer.writeEnd(key);
        };
        write(QStringLiteral("app-20260101-000000-1-1.tfj"), QStringLiteral("k1"), 1, false); // older copy of k1
        write(QStringLiteral("app-20260102-000000-1-1.tfj"), QStringLiteral("k1"), 3, false); // resumed, further on
        write(QStringLiteral("app-20260103-000000-1-1.tfj"), QStringLiteral("k2"), 4, true);  // all done
        write(QStringLiteral("app-20260104-000000-1-1.tfj"), QStringLiteral("k3"), 0, false); // a live app's
        QLockFile live(dir.filePath(QStringLiteral("app-20260104-000000-1-1.tfj.lock")));
        QVERIFY(live.tryLock(0));

        gui::AppJournal journal;
        QString error;
        QVERIFY2(journal.open(dir.filePath(QStringLiteral("own")), &error), qPrintable(error));
        QStringList warnings;
        QVector<gui::AppJournal::Leftover> leftovers = journal.findLeftovers(dir.path(), &warnings);
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(QLatin1Char('\n'))));
        int offered = 0;
        for (const gui::AppJournal::Leftover &l : std::as_const(leftovers)) {
            for (const sched::JournaledJob &job : l.unfinished) {
                ++offered;
                QCOMPARE(job.key, QStringLiteral("k1"));
                QCOMPARE(job.results.size(), 3); // the newer journal's
            }
        }
        QCOMPARE(offered, 1);
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("app-20260101-000000-1-1.tfj")))); // nothing of its own
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("app-20260103-000000-1-1.tfj"))));  // history
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("app-20260104-000000-1-1.tfj"))));  // live: untouched
        for (gui::AppJournal::Leftover &l : leftovers)
            gui::AppJournal::remove(l);
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("app-20260102-000000-1-1.tfj"))));
    }

    /** Resuming a journal's unfinished job keeps the jobs it had finished in the history. */
    void resumeKeepsTheHistoryOfTheOldJournal()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QString error;
        const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
        QVERIFY2(echo, qPrintable(error));
        sched::JobSpec spec;
        spec.plugin = *echo;
        spec.inputs = {1, 2};
        const QString old = dir.filePath(QStringLiteral("app-20260101-000000-1-0001.tfj"));
        {
            sched::JournalWriter writer;
            QVERIFY2(writer.open(old, &error), qPrintable(error));
            spec.name = QStringLiteral("finished then");
            writer.writeJob(QStringLiteral("done"), spec);
            QVector<sched::TaskRecord> records(2);
            records[0].index = 0;
            records[0].output = 1;
            records[1].index = 1;
            records[1].output = 2;
            writer.writeResults(QStringLiteral("done"), records); // complete, its end record never written
            spec.name = QStringLiteral("cut short");
            writer.writeJob(QStringLiteral("cut"), spec);
        }
        auto w = makeJournaledWindow(1, dir.path(), gui::MainWindowOptions::Resume::Always);
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(onlyJob(w.get())->name, QStringLiteral("cut short (resumed: 2 of 2 tasks left)"));
        QVERIFY(!QFile::exists(old));
        gui::HistoryDialog *history = w->showHistory();
        QVERIFY(history);
        QStringList names;
        for (int r = 0; r < history->table()->rowCount(); ++r)
            names << history->table()->item(r, 1)->text();
        names.sort();
        QCOMPARE(names, (QStringList {QStringLiteral("cut short"), QStringLiteral("finished then")}));
        history->close();
    }

    /** File ▸ History lists the jobs ended sessions finished, exports their results, and clears. */
    void historyListsEndedJobsExportsAndClears()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        sched::JobSpec spec;
        spec.name = QStringLiteral("done before");
        spec.plugin.name = QStringLiteral("echo");
        spec.inputs = {10, 20, 30};
        QString error;
        {
            sched::JournalWriter ended; // a session whose job ended: two values and an error
            QVERIFY2(ended.open(dir.filePath(QStringLiteral("app-20260101-000000-1-1.tfj")), &error),
                     qPrintable(error));
            ended.writeJob(QStringLiteral("k1"), spec);
            QVector<sched::TaskRecord> records(3);
            for (int i = 0; i < 3; ++i) {
                records[i].index = i;
                records[i].output = (i + 1) * 10;
            }
            records[2].status = stats::TaskStatus::Error;
            records[2].error = QStringLiteral("no good");
            ended.writeResults(QStringLiteral("k1"), records);
            ended.writeEnd(QStringLiteral("k1"));
            ended.writeJob(QStringLiteral("k3-same-name"), spec); // another job of the same name, ended
            ended.writeResults(QStringLiteral("k3-same-name"), records);
            ended.writeEnd(QStringLiteral("k3-same-name"));
            sched::JournalWriter unfinished; // a session with a job to resume: not history, never cleared
            QVERIFY2(unfinished.open(dir.filePath(QStringLiteral("app-20260102-000000-1-1.tfj")), &error),
                     qPrintable(error));
            unfinished.writeJob(QStringLiteral("k2"), spec);
        }
        gui::AppJournal own;
        QVERIFY2(own.open(dir.path(), &error), qPrintable(error));
        gui::HistoryDialog history(dir.path(), own.path());
        QCOMPARE(history.jobCount(), 2);
        QCOMPARE(history.table()->item(0, 1)->text(), QStringLiteral("done before"));
        QCOMPARE(history.table()->item(1, 1)->text(), QStringLiteral("done before"));
        // Told apart by their ID (the journal key's start).
        const int idColumn = history.table()->columnCount() - 1;
        QCOMPARE(history.table()->horizontalHeaderItem(idColumn)->text(), QStringLiteral("ID"));
        QCOMPARE(
            QSet<QString>({history.table()->item(0, idColumn)->text(), history.table()->item(1, idColumn)->text()}),
            QSet<QString>({QStringLiteral("k1"), QStringLiteral("k3-same-")}));
        QCOMPARE(history.table()->item(0, 4)->data(Qt::DisplayRole).toLongLong(), 2); // done
        QCOMPARE(history.table()->item(0, 5)->data(Qt::DisplayRole).toLongLong(), 1); // errors
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        QVERIFY2(history.exportJob(0, out, &error), qPrintable(error));
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 3);
        QCOMPARE(QJsonDocument::fromJson(lines.at(1)).object().value(QStringLiteral("output")).toInt(), 20);
        QCOMPARE(QJsonDocument::fromJson(lines.at(2)).object().value(QStringLiteral("error")).toString(),
                 QStringLiteral("no good"));
        QCOMPARE(history.clearHistory(), 1);
        QCOMPARE(history.jobCount(), 0);
        QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("app-20260101-000000-1-1.tfj"))));
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("app-20260102-000000-1-1.tfj")))); // to resume
        QVERIFY(QFile::exists(own.path()));                                                  // this session's
    }

    // --help and --version answer without a display (ssh, help2man): the real binary, with no
    // DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM in its environment.
    void helpAndVersionNeedNoDisplay()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
            env.remove(QString::fromLatin1(name));
        for (const QString &option : {QStringLiteral("--help"), QStringLiteral("--version")}) {
            QProcess p;
            p.setProcessEnvironment(env);
            p.start(test::program(QStringLiteral("taskfleet")), {option});
            QVERIFY(p.waitForFinished(30000));
            QCOMPARE(p.exitStatus(), QProcess::NormalExit);
            QCOMPARE(p.exitCode(), 0);
            const QByteArray out = p.readAllStandardOutput();
            QVERIFY2(
                out.contains(option == QStringLiteral("--help") ? QByteArray("--resume") : QByteArray("taskfleet")),
                out.constData());
        }
    }

    /**
     * The journal as a user meets it: the real app killed with SIGKILL mid-job; started again with
     * --resume, it runs the rest, and its journal has every task's result exactly once.
     */
    void killedAppResumesEveryTaskExactlyOnce()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString state = dir.filePath(QStringLiteral("state"));
        const QString journalDir = state + QStringLiteral("/taskfleet/journal");
        const QString config = dir.filePath(QStringLiteral("config"));
        QVERIFY(QDir().mkpath(config + QStringLiteral("/taskfleet")));
        // No discovery: this test must not bind the LAN's discovery port.
        writeFile(dir, QStringLiteral("config/taskfleet/taskfleet.conf"), "[network]\ndiscovery=false\n");
        constexpr int Tasks = 40;
        const QString job = writeSleepJob(dir, QStringLiteral("killed"), Tasks, 100);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_STATE_HOME"), state);
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), config);
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        const QStringList common {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--no-scripts"),
                                  QStringLiteral("--plugin-path"), test::pluginDir()};

        QProcess first;
        first.setProcessEnvironment(env);
        first.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        first.start(test::program(QStringLiteral("taskfleet")), common + QStringList {job});
        QVERIFY(first.waitForStarted(10000));
        QString firstPath;
        QTRY_VERIFY_WITH_TIMEOUT(appJournal(journalDir, &firstPath).value(0).results.size() >= 8, 30000);
        first.kill(); // SIGKILL
        QVERIFY(first.waitForFinished(10000));
        const qint64 earlier = appJournal(journalDir).value(0).results.size();
        QVERIFY2(earlier < Tasks, qPrintable(QString::number(earlier)));

        QProcess second;
        second.setProcessEnvironment(env);
        second.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        second.start(test::program(QStringLiteral("taskfleet")), common + QStringList {QStringLiteral("--resume")});
        QVERIFY(second.waitForStarted(10000));
        QString secondPath;
        QTRY_VERIFY_WITH_TIMEOUT(appJournal(journalDir, &secondPath).value(0).ended, JobTimeoutMs);
        QVERIFY(secondPath != firstPath);
        second.terminate(); // SIGTERM: the app quits without asking
        QVERIFY(second.waitForFinished(15000));
        QCOMPARE(second.exitStatus(), QProcess::NormalExit);

        const QVector<sched::JournaledJob> jobs = appJournal(journalDir);
        QCOMPARE(jobs.size(), 1);
        QCOMPARE(jobs.first().spec.name, QStringLiteral("killed"));
        QCOMPARE(jobs.first().results.size(), Tasks); // every index ...
        QCOMPARE(jobs.first().repeatedResults, 0);    // ... exactly once
        QVERIFY(jobs.first().ended);
    }

    /** Nodes ▸ Drain stops new tasks going to a node (running ones finish); unchecked, it works again. */
    void drainedNodeTakesNoNewTasksFromTheWindow()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = dir.filePath(QStringLiteral("secret"));
        QVERIFY(test::writeSecretFile(secret, "gui-drain-secret-0123456789"));
        test::AgentProcess agent;
        QVERIFY2(
            agent.start(dir.filePath(QStringLiteral("state")), secret, {QStringLiteral("-w"), QStringLiteral("2")}),
            qPrintable(agent.error()));
        auto w = makeWindow(1, {}, secret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), agent.port()));
        const QString id = agent.address();
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::State), QStringLiteral("online"), 20000);

        w->nodesView()->selectRow(w->nodesModel()->rowOf(id));
        QAction *drain = menuAction(w.get(), QStringLiteral("&Drain (Take No New Tasks)"));
        QVERIFY(drain && drain->isEnabled() && drain->isCheckable() && !drain->isChecked());
        drain->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::State), QStringLiteral("draining (0 busy)"), 10000);
        QVERIFY(drain->isChecked());

        const QString job
            = writeFile(dir, QStringLiteral("echo.json"),
                        R"({"name": "while drained", "plugin": "echo", "inputs": {"range": [0, 60, 1]}})");
        QString error;
        QVERIFY2(w->queueJobFile(job, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), QStringLiteral("local"), NodesModel::TasksDone),
                                  QStringLiteral("60"), 10000);
        QCOMPARE(nodeCell(w.get(), id, NodesModel::TasksDone), QStringLiteral("0"));

        w->nodesView()->selectRow(w->nodesModel()->rowOf(id));
        QVERIFY(drain->isChecked());
        drain->trigger(); // unchecked: back to work
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::State), QStringLiteral("online"), 10000);
        const QString more = writeFile(dir, QStringLiteral("more.json"),
                                       R"({"name": "after", "plugin": "sleep", "inputs": {"range": [20, 80, 1]}})");
        QVERIFY2(w->queueJobFile(more, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 1), JobTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::TasksDone).toInt() > 0, 10000);
    }

    void agentWithAnotherSecretIsRefusedWithTheReason()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString agentSecret = dir.filePath(QStringLiteral("agent-secret"));
        const QString mySecret = dir.filePath(QStringLiteral("my-secret"));
        QVERIFY(test::writeSecretFile(agentSecret, "the agent's secret"));
        QVERIFY(test::writeSecretFile(mySecret, "another secret, 0123456789"));
        test::AgentProcess agent;
        QVERIFY2(agent.start(dir.filePath(QStringLiteral("state")), agentSecret,
                             {QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("--no-discovery")}),
                 qPrintable(agent.error()));
        auto w = makeWindow(1, {}, mySecret);
        QVERIFY(w->addRemoteNode(QStringLiteral("127.0.0.1"), agent.port()));
        const QString id = agent.address();
        QTRY_VERIFY_WITH_TIMEOUT(nodeCell(w.get(), id, NodesModel::State).startsWith(QStringLiteral("refused")), 20000);
        QVERIFY2(nodeCell(w.get(), id, NodesModel::State).contains(QStringLiteral("secrets differ")),
                 qPrintable(nodeCell(w.get(), id, NodesModel::State)));
        QCOMPARE(nodeIn(w->host()->lastSnapshot(), id)->state, sched::NodeState::Refused);
    }

    /** Discovery on 127.0.0.1 only: an agent with our secret joins by itself; one with another secret is named in the status bar. */
    void discoveryAddsAgentsAndShowsRejections()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = dir.filePath(QStringLiteral("secret"));
        const QString otherSecret = dir.filePath(QStringLiteral("other"));
        QVERIFY(test::writeSecretFile(secret, "discovery secret 0123456789"));
        QVERIFY(test::writeSecretFile(otherSecret, "some other secret"));
        gui::MainWindowOptions options;
        options.localWorkers = 1;
        options.pluginPaths = {test::pluginDir()};
        options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
        options.useSettings = false;
        options.secretFile = secret;
        net::ListenerConfig config;
        config.bindAddress = QHostAddress(QHostAddress::LocalHost);
        config.port = 0;             // any free port: the window's log says which it holds
        config.probeAtStart = false; // the agents below listen on ports of their own choosing; they announce
        config.probeAddresses = {QHostAddress(QHostAddress::LocalHost)};
        options.discovery = config;
        MainWindow w(options);
        w.show();
        static const QRegularExpression listening(QStringLiteral("discovery: listening on UDP 127\\.0\\.0\\.1:(\\d+)"));
        quint16 listenPort = 0;
        QTRY_VERIFY_WITH_TIMEOUT(
            (listenPort = quint16(listening.match(w.logView()->toPlainText()).captured(1).toUInt())), 10000);
        const QStringList args {QStringLiteral("-w"),
                                QStringLiteral("1"),
                                QStringLiteral("--broadcast"),
                                QStringLiteral("127.0.0.1"),
                                QStringLiteral("--announce-port"),
                                QString::number(listenPort),
                                QStringLiteral("--discovery-port"),
                                QStringLiteral("0")};
        test::AgentProcess good;
        QVERIFY2(good.start(dir.filePath(QStringLiteral("good")), secret, args), qPrintable(good.error()));

        const QString id = good.address();
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(&w, id, NodesModel::State), QStringLiteral("online"), 30000);
        QCOMPARE(nodeCell(&w, id, NodesModel::Workers), QStringLiteral("1"));

        test::AgentProcess stranger;
        QVERIFY2(stranger.start(dir.filePath(QStringLiteral("stranger")), otherSecret, args),
                 qPrintable(stranger.error()));
        QTRY_VERIFY_WITH_TIMEOUT(w.discoveryRejections().contains(QStringLiteral("127.0.0.1")), 30000);
        auto *label = w.findChild<QLabel *>(QStringLiteral("discoveryRejections"));
        QVERIFY(label && label->isVisible());
        QCOMPARE(label->text(), w.discoveryRejections());
        QCOMPARE(w.nodesModel()->rowOf(stranger.address()), -1); // never added

        // One log line per event, and an agent's address written once per line.
        const QStringList lines = w.logView()->toPlainText().split(QLatin1Char('\n'));
        const auto count = [&](const QString &needle) {
            return int(std::count_if(lines.begin(), lines.end(), [&](const QString &l) { return l.contains(needle); }));
        };
        QVERIFY2(count(QStringLiteral("discovery: listening")) == 1, qPrintable(lines.join(QLatin1Char('\n'))));
        QCOMPARE(int(std::count_if(lines.begin(), lines.end(),
                                   [&](const QString &l) {
                                       return l.contains(QStringLiteral("discovery: found")) && l.contains(id);
                                   })),
                 1);
        for (const QString &l : lines)
            QVERIFY2(l.count(id) <= 1, qPrintable(l));
    }

    /** The log follows new lines, also after an error bar took space, until the user scrolls up. */
    void logFollowsUnlessScrolledUp()
    {
        auto w = makeWindow(0);
        w->resize(1024, 700);
        QScrollBar *bar = w->logView()->verticalScrollBar();
        for (int i = 0; i < 200; ++i)
            w->log(QStringLiteral("line %1").arg(i));
        QTRY_VERIFY_WITH_TIMEOUT(bar->maximum() > 0 && bar->value() == bar->maximum(), 5000);
        w->showError(QStringLiteral("an error bar shrinks the view"));
        QCoreApplication::processEvents();
        for (int i = 0; i < 50; ++i)
            w->log(QStringLiteral("after the error %1").arg(i));
        QTRY_VERIFY_WITH_TIMEOUT(bar->value() == bar->maximum(), 5000);
        bar->setValue(10); // the user scrolls up to read
        for (int i = 0; i < 50; ++i)
            w->log(QStringLiteral("while reading %1").arg(i));
        QCoreApplication::processEvents();
        QCOMPARE(bar->value(), 10);
        bar->setValue(bar->maximum()); // back at the end: following again
        w->log(QStringLiteral("one more"));
        QTRY_VERIFY_WITH_TIMEOUT(bar->value() == bar->maximum(), 5000);
    }

    /** --node HOST:PORT and --secret-file: MainWindowOptions::nodes are added at start; a bad address exits 2. */
    void commandLineNodesAreAdded()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = dir.filePath(QStringLiteral("secret"));
        QVERIFY(test::writeSecretFile(secret, "command line secret 0123456789"));
        test::AgentProcess agent;
        QVERIFY2(startAgent(agent, dir.filePath(QStringLiteral("state")), secret, 1), qPrintable(agent.error()));
        gui::MainWindowOptions options;
        options.localWorkers = 0;
        options.pluginPaths = {test::pluginDir()};
        options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
        options.useSettings = false;
        options.secretFile = secret;
        options.nodes = {agent.address()};
        MainWindow w(options);
        w.show();
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(&w, agent.address(), NodesModel::State), QStringLiteral("online"), 20000);
        QTRY_COMPARE_WITH_TIMEOUT(nodeCell(&w, agent.address(), NodesModel::Workers), QStringLiteral("1"), 10000);

        for (const QStringList &args :
             {QStringList {QStringLiteral("--node"), QStringLiteral("127.0.0.1")},
              QStringList {QStringLiteral("--node"), agent.address(), QStringLiteral("--secret-file"),
                           dir.filePath(QStringLiteral("missing"))}}) {
            QProcess app;
            QSignalSpy finished(&app, &QProcess::finished);
            app.start(test::program(QStringLiteral("taskfleet")), args);
            QVERIFY(finished.wait(20000));
            QCOMPARE(app.exitCode(), 2);
            QVERIFY(!app.readAllStandardError().isEmpty());
        }
    }

    void addNodeWithoutSecretOrPortIsExplained()
    {
        const QByteArray saved = qgetenv("TASKFLEET_SECRET");
        qunsetenv("TASKFLEET_SECRET");
        auto w = makeWindow(1);
        QString error;
        QVERIFY(!w->addRemoteNode(QStringLiteral("127.0.0.1"), 45450, 0, &error));
        QVERIFY2(error.contains(QStringLiteral("secret")), qPrintable(error));
        QVERIFY(w->lastError().contains(QStringLiteral("127.0.0.1:45450")));
        if (!saved.isEmpty())
            qputenv("TASKFLEET_SECRET", saved);
        QString host, why;
        quint16 port = 0;
        QVERIFY(!net::parseNodeAddress(QStringLiteral("10.0.0.7"), &host, &port, &why));
        QVERIFY(why.contains(QStringLiteral("port")));
        QVERIFY(net::parseNodeAddress(QStringLiteral("[::1]:45450"), &host, &port, &why));
        QCOMPARE(host, QStringLiteral("::1"));
        QCOMPARE(port, quint16(45450));
        QVERIFY(net::parseNodeAddress(QStringLiteral("node7.lan:9"), &host, &port, &why));
        QCOMPARE(host, QStringLiteral("node7.lan"));
    }

    void droppedPluginOpensInputsDialog()
    {
        auto w = makeWindow(2);
        QVERIFY(dropFiles(w.get(), {test::pluginPath(QStringLiteral("echo"))}));
        gui::PluginInputsDialog *dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = w->findChild<gui::PluginInputsDialog *>()) != nullptr, 5000);
        QString error;
        QVERIFY(!dialog->jobSpec(&error)); // an empty list is refused, with a reason
        QVERIFY(!error.isEmpty());
        auto *kind = dialog->findChild<QComboBox *>();
        QVERIFY(kind);
        kind->setCurrentIndex(1); // range 0..100 by default
        dialog->accept();
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QCOMPARE(onlyJob(w.get())->total, 100);
        QCOMPARE(onlyJob(w.get())->plugin, QStringLiteral("echo"));
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(onlyJob(w.get())->done, 100);
    }

    /**
     * A 50 MB result from a real worker shows as its size and a preview, never whole, and
     * its arrival (records, journal, Results view) never stalls the window's event loop for 100 ms or more.
     */
    void bigResultDoesNotStallTheWindow()
    {
#ifndef TF_HAVE_PYTHON_PLUGIN
        QSKIP("this build has no python plugin (CMake found no Python embedding files)");
#endif
        QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("python"))),
                 "configured with the python plugin: build it");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        constexpr qint64 Size = 50 * 1000 * 1000;
        QVERIFY(!writeFile(dir, QStringLiteral("big.py"), "def big(n):\n    return 'x' * n\n").isEmpty());
        const QString job = writeFile(
            dir, QStringLiteral("big.json"),
            QStringLiteral(
                R"({"name": "big", "plugin": "python", "script": "big.py", "function": "big", "inputs": [%1]})")
                .arg(Size)
                .toUtf8());
        auto w = makeJournaledWindow(1, dir.filePath(QStringLiteral("journal")), gui::MainWindowOptions::Resume::Never);
        QVERIFY(!w->journalPath().isEmpty()); // the result is journaled too, as in the app
        QVERIFY(w->openFiles({job}) == 1);
        QElapsedTimer clock;
        clock.start();
        qint64 last = 0, longest = 0;
        QTimer heartbeat;
        heartbeat.setInterval(5);
        connect(&heartbeat, &QTimer::timeout, &heartbeat, [&] {
            const qint64 now = clock.elapsed();
            longest = std::max(longest, now - last);
            last = now;
        });
        heartbeat.start();
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && jobFinished(w.get(), 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->rowCount(), 1, 10000);
        QTest::qWait(300); // the Results view paints its cell, the tooltip's text is made
        const QModelIndex output = w->resultsModel()->index(0, gui::ResultsModel::Output);
        const QString shown = output.data().toString();
        const QString tip = output.data(Qt::ToolTipRole).toString();
        QTest::qWait(50);
        heartbeat.stop();
        QCOMPARE(onlyJob(w.get())->done, 1);
        QVERIFY2(shown.startsWith(QStringLiteral("<50.0 MB text> xxxx")) && shown.size() < 300,
                 qPrintable(shown.left(300)));
        QVERIFY2(tip.startsWith(QStringLiteral("<50.0 MB text> xxxx")) && tip.size() < 2100, qPrintable(tip.left(300)));
        qInfo("longest event loop stall while a 50 MB result arrived: %lld ms", longest);
        QVERIFY2(longest < 100, qPrintable(QStringLiteral("the event loop stalled %1 ms").arg(longest)));
    }

    /**
     * The Log says each thing once (queued, finished), says pause and resume, counts in
     * the right number; the Jobs table uses the Tasks view's words; Retry Failed Tasks waits for a job with some.
     */
    void logAndWordsSayEachThingOnce()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto w = makeWindow(1);
        const QString started = w->logView()->toPlainText();
        QVERIFY2(started.contains(QStringLiteral("local node with 1 worker"))
                     && !started.contains(QStringLiteral("1 workers")),
                 qPrintable(started));
        w->openFiles({writeSleepJob(dir, QStringLiteral("pausable"), 30, 50)});
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) && onlyJob(w.get())->done > 0, 20000);
        const int id = onlyJob(w.get())->id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), id, 10000);
        menuAction(w.get(), QStringLiteral("&Pause"))->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(int(onlyJob(w.get())->state), int(sched::JobState::Paused), 10000);
        menuAction(w.get(), QStringLiteral("&Resume"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QVERIFY(settle(w.get()));
        QTRY_VERIFY_WITH_TIMEOUT(!w->lastNotification().isEmpty(), 10000);
        const QStringList lines = w->logView()->toPlainText().split(QLatin1Char('\n'));
        const auto count = [&](const QString &what) {
            return std::count_if(lines.cbegin(), lines.cend(), [&](const QString &l) { return l.contains(what); });
        };
        const QString log = lines.join(QLatin1Char('\n'));
        QVERIFY2(count(QStringLiteral("queued")) == 1, qPrintable(log));
        QVERIFY2(count(QStringLiteral("finished")) == 1, qPrintable(log));
        QVERIFY2(count(QStringLiteral("\"pausable\" paused")) == 1, qPrintable(log));
        QVERIFY2(count(QStringLiteral("\"pausable\" resumed")) == 1, qPrintable(log));
        // A clean job has nothing to retry.
        QVERIFY(!menuAction(w.get(), QStringLiteral("Re&try Failed Tasks"))->isEnabled());
        // A job with a plugin error: the Jobs table says "error", as the Tasks view does; now it can be retried.
        w->openFiles({writeFile(dir, QStringLiteral("mixed.json"),
                                R"({"name": "mixed", "plugin": "sleep", "inputs": [10, "bad"]})")});
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowCount(), 2, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 1), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->index(1, JobsModel::State).data().toString(),
                                  QStringLiteral("finished: 1 error"), 10000);
        w->selectJob(w->jobsModel()->jobs().at(1).id);
        QTRY_VERIFY_WITH_TIMEOUT(menuAction(w.get(), QStringLiteral("Re&try Failed Tasks"))->isEnabled(), 5000);
    }

    /**
     * The inputs form reads JSON as job files are read: a key named twice is refused, naming the key
     * and the line; big integers stay exact.
     */
    void inputsFormRefusesDuplicateKeys()
    {
        auto w = makeWindow(1);
        QVERIFY(dropFiles(w.get(), {test::pluginPath(QStringLiteral("echo"))}));
        gui::PluginInputsDialog *dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = w->findChild<gui::PluginInputsDialog *>()) != nullptr, 5000);
        auto *list = dialog->findChild<QPlainTextEdit *>();
        QVERIFY(list);
        list->setPlainText(QStringLiteral("1\n{\"plugin\": \"a\", \"x\": {\"plugin\": 1, \"plugin\": 2}}\n3"));
        QString error;
        QVERIFY(!dialog->jobSpec(&error));
        QVERIFY2(error.contains(QStringLiteral("line 2")) && error.contains(QStringLiteral("duplicate key \"plugin\"")),
                 qPrintable(error));
        list->setPlainText(QStringLiteral("9007199254740993\n{\"a\": 1}"));
        const auto spec = dialog->jobSpec(&error);
        QVERIFY2(spec, qPrintable(error));
        QCOMPARE(spec->inputs.size(), 2);
        QCOMPARE(spec->inputs.at(0).toInteger(), Q_INT64_C(9007199254740993)); // not rounded through a double
        dialog->reject();
    }

    /** A dropped .py asks which function to run and for its inputs, then runs on the workers. */
    void droppedPythonScriptRunsTheChosenFunction()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString script = writeFile(dir, QStringLiteral("arith.py"), R"(import math


def weighted(a, b):
    return a * 1000 + b


def square(n):
    return n * n
)");
        auto w = makeWindow(2);
        QVERIFY(dropFiles(w.get(), {script}));
        gui::PythonJobDialog *dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = w->findChild<gui::PythonJobDialog *>()) != nullptr, 5000);
        QVERIFY2(dialog->problem().isEmpty(), qPrintable(dialog->problem()));
        QVERIFY(dialog->isVisible());
        auto *function = dialog->findChild<QComboBox *>(QStringLiteral("function"));
        QVERIFY(function);
        QCOMPARE(function->count(), 2);
        QCOMPARE(function->itemText(0), QStringLiteral("weighted"));
        QCOMPARE(function->itemText(1), QStringLiteral("square"));
        QCOMPARE(function->currentText(), QStringLiteral("square")); // none is named like the file: the last one

        // Choose the two-argument function; each input is a JSON array of its positional arguments.
        function->setCurrentIndex(0);
        const QVector<QPair<int, int>> args = {{1, 2}, {30, 4}, {-5, 7}, {0, 0}, {12, -345}};
        QStringList lines;
        for (const auto &[a, b] : args)
            lines.append(QStringLiteral("[%1, %2]").arg(a).arg(b));
        dialog->findChild<QPlainTextEdit *>(QStringLiteral("inputList"))->setPlainText(lines.join(QLatin1Char('\n')));
        dialog->findChild<QLineEdit *>(QStringLiteral("modules"))->setText(QStringLiteral("math, os.path"));
        auto *queue = dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok);
        QVERIFY(queue->isEnabled());
        QCOMPARE(grabFor(dialog, QStringLiteral("python-dialog.png")), QString());
        queue->click();

        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QCOMPARE(onlyJob(w.get())->plugin, QStringLiteral("python"));
        QCOMPARE(onlyJob(w.get())->name, QStringLiteral("weighted in arith.py"));
        QCOMPARE(onlyJob(w.get())->total, int(args.size()));
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(onlyJob(w.get())->done, int(args.size()));
        QCOMPARE(onlyJob(w.get())->failed, 0);
        const int jobId = onlyJob(w.get())->id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), jobId, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->rowCount(), int(args.size()), 10000);
        const QMap<int, QString> outputs = shownOutputs(w.get());
        for (int i = 0; i < args.size(); ++i)
            QCOMPARE(outputs.value(i), QString::number(args.at(i).first * 1000 + args.at(i).second));
    }

    void pythonScriptWithSyntaxErrorIsShownAndNotQueued()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString script = writeFile(dir, QStringLiteral("broken.py"),
                                         "def fine(x):\n    return x\n\ndef broken(x)\n    return x\n");
        auto w = makeWindow(1);
        QVERIFY(dropFiles(w.get(), {script}));
        gui::PythonJobDialog *dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = w->findChild<gui::PythonJobDialog *>()) != nullptr, 5000);
        QVERIFY2(dialog->problem().startsWith(QStringLiteral("broken.py:4:")), qPrintable(dialog->problem()));
        auto *shown = dialog->findChild<QLabel *>(QStringLiteral("scriptProblem"));
        QVERIFY(shown && shown->isVisible());
        QVERIFY2(shown->text().contains(QStringLiteral("broken.py:4:")), qPrintable(shown->text()));
        QVERIFY(dialog->functions().isEmpty());
        auto *queue = dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok);
        QVERIFY(!queue->isEnabled());
        QCOMPARE(grabFor(dialog, QStringLiteral("python-dialog-error.png")), QString());
        dialog->findChild<QPlainTextEdit *>(QStringLiteral("inputList"))->setPlainText(QStringLiteral("1\n2"));
        QString error;
        QVERIFY(!dialog->jobSpec(&error));
        QVERIFY2(error.contains(QStringLiteral("broken.py:4")), qPrintable(error));
        dialog->accept(); // refused: the dialog stays open and nothing is queued
        QVERIFY(dialog->isVisible());
        QVERIFY(settle(w.get()));
        QVERIFY(w->host()->lastSnapshot().jobs.isEmpty());
        QCOMPARE(w->jobsModel()->rowCount(), 0);

        // Fixed in an editor, then checked again: the functions are offered.
        QVERIFY(test::writeFile(script, "def fine(x):\n    return x\n\ndef broken(x):\n    return -x\n"));
        dialog->reload();
        QVERIFY2(dialog->problem().isEmpty(), qPrintable(dialog->problem()));
        QCOMPARE(dialog->functions(), QStringList({QStringLiteral("fine"), QStringLiteral("broken")}));
        QVERIFY(queue->isEnabled());
        QVERIFY(!shown->isVisible());
    }

    void pythonDialogWithoutThePluginSaysSo()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString script = writeFile(dir, QStringLiteral("inc.py"), "def inc(x):\n    return x + 1\n");
        gui::PythonJobDialog dialog(script, std::nullopt, QStringLiteral("no plugin named \"python\""));
        QCOMPARE(dialog.function(), QStringLiteral("inc"));
        auto *shown = dialog.findChild<QLabel *>(QStringLiteral("scriptProblem"));
        QVERIFY(shown && !shown->isHidden());
        QVERIFY2(shown->text().contains(QStringLiteral("python plugin is not available")), qPrintable(shown->text()));
        QVERIFY(!dialog.findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok)->isEnabled());
        dialog.findChild<QPlainTextEdit *>(QStringLiteral("inputList"))->setPlainText(QStringLiteral("1"));
        QString error;
        QVERIFY(!dialog.jobSpec(&error));
        QVERIFY2(error.contains(QStringLiteral("python plugin")), qPrintable(error));
    }

    /** The Parallel Python demo from the Examples menu gives the eight sums. */
    void sumPrimesExampleFromTheMenuRuns()
    {
        QVERIFY(MainWindow::exampleJobs().contains(QStringLiteral("sum_primes.json")));
        auto w = makeWindow(2);
        const QString title = MainWindow::exampleTitle(QStringLiteral("sum_primes.json"));
        QCOMPARE(title, QStringLiteral("Sum of primes in Python (Parallel Python demo)"));
        QMenu *examples = nullptr;
        const QList<QAction *> menus = w->menuBar()->actions();
        for (QAction *a : menus)
            if (a->text() == QStringLiteral("&Examples"))
                examples = a->menu();
        QVERIFY(examples);
        QAction *demo = nullptr;
        const QList<QAction *> entries = examples->actions();
        for (QAction *a : entries)
            if (a->text() == title)
                demo = a;
        QVERIFY(demo);
        QCOMPARE(grabFor(w.get(), QStringLiteral("window-welcome.png")),
                 QString()); // the welcome bar's example buttons
        demo->trigger();
        QVERIFY2(w->lastError().isEmpty(), qPrintable(w->lastError()));
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QCOMPARE(onlyJob(w.get())->plugin, QStringLiteral("python"));
        QCOMPARE(onlyJob(w.get())->total, 8);
        QTRY_VERIFY_WITH_TIMEOUT(jobFinished(w.get(), 0), JobTimeoutMs);
        QCOMPARE(onlyJob(w.get())->done, 8);
        QCOMPARE(onlyJob(w.get())->failed, 0);
        w->selectJob(onlyJob(w.get())->id);
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->rowCount(), 8, 10000);
        const QMap<int, QString> outputs = shownOutputs(w.get());
        for (int i = 0; i < 8; ++i)
            QCOMPARE(outputs.value(i), QString::number(test::sumPrimesBelow(100000 + 100 * i)));
    }

    /**
     * A Python script attached to the window (taskfleet.Server(attach=...)) has its job shown
     * with the script's name, and Cancel in the window reaches the script: its waiting tasks end with
     * "cancelled" instead of hanging, and it exits normally.
     */
    void attachedScriptsJobIsShownAndCancelledFromTheWindow()
    {
        if (!QFile::exists(QStringLiteral("/usr/bin/python3"))
            || !QFile::exists(test::pluginPath(QStringLiteral("python"))))
            TF_SKIP_OR_FAIL("needs /usr/bin/python3 and the python plugin");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("run")));
        QFile::setPermissions(dir.filePath(QStringLiteral("run")),
                              QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        gui::MainWindowOptions options;
        options.localWorkers = 2;
        options.pluginPaths = {test::pluginDir()};
        options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
        options.useSettings = false;
        options.scriptSocket = dir.filePath(QStringLiteral("run/app.sock"));
        auto w = std::make_unique<MainWindow>(options);
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(options.scriptSocket), 10000);

        const QString script = writeFile(dir, QStringLiteral("attached_script.py"), R"(
import json, sys, taskfleet as pp
def slow(x):
    import time
    time.sleep(0.25)
    return x
s = pp.Server(attach=sys.argv[1])
jobs = [s.submit(slow, (i,)) for i in range(40)]
ok, cancelled, other = 0, 0, []
for j in jobs:
    try:
        j()
        ok += 1
    except Exception as e:
        if "cancelled" in str(e):
            cancelled += 1
        else:
            other.append(str(e))
s.destroy()
print(json.dumps({"ok": ok, "cancelled": cancelled, "other": other}))
)");
        QProcess python;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PYTHONPATH"), test::sourceDir() + QStringLiteral("/python"));
        env.insert(QStringLiteral("PYTHONDONTWRITEBYTECODE"), QStringLiteral("1"));
        python.setProcessEnvironment(env);
        python.start(QStringLiteral("/usr/bin/python3"), {script, options.scriptSocket});
        QVERIFY(python.waitForStarted(5000));

        // The script's job appears in the Jobs table under the script's name, and the user cancels it there.
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr && onlyJob(w.get())->done >= 2, 20000);
        const sched::JobSnapshot job = *onlyJob(w.get()); // a copy: the model replaces its rows with every snapshot
        QVERIFY2(job.name.contains(QStringLiteral("python: slow"))
                     && job.name.contains(QStringLiteral("attached_script.py (pid ")),
                 qPrintable(job.name));
        QCOMPARE(job.plugin, QStringLiteral("python"));
        QCOMPARE(job.total, 40);
        w->selectJob(job.id);
        QAction *cancel = menuAction(w.get(), QStringLiteral("&Cancel"));
        QVERIFY(cancel);
        QTRY_VERIFY_WITH_TIMEOUT(cancel->isEnabled(), 5000);
        cancel->trigger();

        QVERIFY2(python.waitForFinished(30000), "the attached script hung after its job was cancelled in the window");
        QCOMPARE(python.exitCode(), 0);
        const QByteArray out = python.readAllStandardOutput();
        const QJsonObject result = QJsonDocument::fromJson(out.trimmed().split('\n').last()).object();
        QVERIFY2(!result.isEmpty(), out.constData());
        qInfo("attached script: %s; job shown as \"%s\"", out.trimmed().constData(), qPrintable(job.name));
        QVERIFY2(result.value(QStringLiteral("other")).toArray().isEmpty(), out.constData());
        QVERIFY2(result.value(QStringLiteral("ok")).toInt() >= 2, out.constData());
        QVERIFY2(result.value(QStringLiteral("cancelled")).toInt() >= 1, out.constData());
        QCOMPARE(result.value(QStringLiteral("ok")).toInt() + result.value(QStringLiteral("cancelled")).toInt(), 40);
        QTRY_COMPARE_WITH_TIMEOUT(int(onlyJob(w.get())->state), int(sched::JobState::Cancelled), 10000);
        QCOMPARE(onlyJob(w.get())->done, result.value(QStringLiteral("ok")).toInt());
    }

    void secretIsStoredPrivately()
    {
        QString error;
        QVERIFY2(gui::AppSettings::setSecret(QStringLiteral("correct horse"), &error), qPrintable(error));
        const QString path = gui::AppSettings::secretFilePath();
        QVERIFY2(path.startsWith(m_config.path()), qPrintable(path));
        struct stat st = {};
        QCOMPARE(::stat(QFile::encodeName(path).constData(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0600);
        QCOMPARE(gui::AppSettings::secret(), QStringLiteral("correct horse"));
        gui::AppSettings s;
        s.localWorkers = 3;
        s.pluginFolders = {QStringLiteral("/opt/plugins")};
        s.save();
        const gui::AppSettings loaded = gui::AppSettings::load();
        QCOMPARE(loaded.localWorkers, 3);
        QCOMPARE(loaded.pluginFolders, s.pluginFolders);
    }

    /**
     * Settings' "Shared values" bound is kept, and the local node's workers start with it (their cache of shared
     * values and the python plugin's unpickled values use it): a task reads it from its worker's environment.
     */
    void sharedValuesSettingReachesTheLocalWorkers()
    {
#ifndef TF_HAVE_PYTHON_PLUGIN
        QSKIP("this build has no python plugin (CMake found no Python embedding files)");
#endif
        {
            gui::AppSettings s;
            QCOMPARE(s.valueCacheMb, gui::AppSettings::DefaultValueCacheMb);
            gui::SettingsDialog dialog(s);
            const auto spins = dialog.findChildren<QSpinBox *>(); // local workers, then shared values
            QVERIFY(spins.size() >= 2);
            QCOMPARE(spins.at(1)->value(), gui::AppSettings::DefaultValueCacheMb);
            spins.at(1)->setValue(64);
            QCOMPARE(dialog.settings().valueCacheMb, 64);
            dialog.settings().save();
            QCOMPARE(gui::AppSettings::load().valueCacheMb, 64);
        }
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(!writeFile(dir, QStringLiteral("env.py"),
                           "import os\ndef bound(x):\n    return int(os.environ['TASKFLEET_WORKER_VALUE_CACHE']) + x\n")
                     .isEmpty());
        const QString job = writeFile(
            dir, QStringLiteral("env.json"),
            R"({"name": "env", "plugin": "python", "script": "env.py", "function": "bound", "inputs": [0]})");
        gui::MainWindowOptions options;
        options.pluginPaths = {test::pluginDir()};
        options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
        options.useSettings = true;
        options.localWorkers = 1;
        MainWindow w(options);
        QVERIFY(w.openFiles({job}) == 1);
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(&w) && jobFinished(&w, 0), JobTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.resultsModel()->rowCount(), 1, 10000);
        QCOMPARE(w.resultsModel()->index(0, gui::ResultsModel::Output).data().toString(),
                 QString::number(qint64(64) << 20));
        gui::AppSettings defaults = gui::AppSettings::load(); // the other tests' windows keep the default
        defaults.valueCacheMb = gui::AppSettings::DefaultValueCacheMb;
        defaults.save();
    }

    /** Settings loads the secret from a file (an agent's secret file), saying what is wrong with it. */
    void settingsLoadSecretFromAFile()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        gui::SettingsDialog dialog(gui::AppSettings {});
        QString error;
        QVERIFY(!dialog.loadSecretFile(dir.filePath(QStringLiteral("missing")), &error));
        QVERIFY2(error.contains(QStringLiteral("missing")), qPrintable(error)); // names the file
        const QString before = dialog.secret();
        const QString path = writeFile(dir, QStringLiteral("agent-secret"), "from the agent\n");
        QVERIFY(QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadOther));
        QVERIFY2(dialog.loadSecretFile(path, &error), qPrintable(error));
        QCOMPARE(dialog.secret(), QStringLiteral("from the agent"));
        QVERIFY(dialog.secret() != before && dialog.secretChanged());
        bool warned = false; // the world-readable file is named with the chmod that fixes it
        for (const QLabel *label : dialog.findChildren<QLabel *>())
            warned = warned || label->text().contains(QStringLiteral("chmod 600"));
        QVERIFY(warned);
    }

private:
    QTemporaryDir m_config;
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
