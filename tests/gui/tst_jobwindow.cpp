// SPDX-License-Identifier: MIT
// The window's jobs as a user sees them: an attached script's loop, a resumed job, History's times.
#include "appjournal.h"
#include "historydialog.h"
#include "jobnotifier.h"
#include "jobsmodel.h"
#include "mainwindow.h"
#include "nodesmodel.h"
#include "resultsmodel.h"
#include "tasksmodel.h"

#include "sched/clientsession.h"
#include "sched/journal.h"
#include "guitestsupport.h"
#include "testsupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtGui/QAction>
#include <QtWidgets/QMainWindow>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QSystemTrayIcon>
#include <QtWidgets/QTableView>
#include <QtWidgets/QTableWidget>

#include <memory>

using namespace taskfleet;
using taskfleet::gui::MainWindow;

namespace {
constexpr int TimeoutMs = 60000;

using guitest::windowOptions;

const sched::JobSnapshot *onlyJob(MainWindow *w)
{
    const auto &jobs = w->jobsModel()->jobs();
    return jobs.size() == 1 ? &jobs.first() : nullptr;
}

/** The jobs of attached scripts in the window (named "python: …"). */
QVector<sched::JobSnapshot> scriptJobs(MainWindow *w)
{
    QVector<sched::JobSnapshot> found;
    for (const sched::JobSnapshot &j : w->jobsModel()->jobs())
        if (j.name.startsWith(QStringLiteral("python: ")))
            found.append(j);
    return found;
}

QAction *action(MainWindow *w, const QString &text)
{
    const QList<QAction *> all = w->findChildren<QAction *>();
    for (QAction *a : all)
        if (a->text() == text)
            return a;
    return nullptr;
}

QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content)
{
    const QString path = dir.filePath(name);
    return test::writeFile(path, content) ? path : QString();
}

sched::JobSpec echoJob(const QString &name, int tasks)
{
    sched::JobSpec spec;
    QString error;
    if (const auto plugin = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error))
        spec.plugin = *plugin;
    spec.name = name;
    for (int i = 0; i < tasks; ++i)
        spec.inputs.append(QCborValue(i));
    return spec;
}
} // namespace

class TestJobWindow : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    /**
     * An attached script's loop of submits is ONE job in the window, whatever frames the
     * client cut it into (it writes what has queued up, so a loop with a pause in it arrives in two); the new
     * job is selected, and Cancel stops every task of the loop.
     */
    void attachedLoopIsOneJob()
    {
        if (!QFile::exists(QStringLiteral("/usr/bin/python3"))
            || !QFile::exists(test::pluginPath(QStringLiteral("python"))))
            TF_SKIP_OR_FAIL("needs /usr/bin/python3 and the python plugin");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("run")));
        QFile::setPermissions(dir.filePath(QStringLiteral("run")),
                              QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        gui::MainWindowOptions o = windowOptions(2);
        o.scriptSocket = dir.filePath(QStringLiteral("run/app.sock"));
        auto w = std::make_unique<MainWindow>(o);
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(o.scriptSocket), 10000);
        // The user's own jobs first, more than the Jobs table shows at 1024 x 700, the first one selected.
        w->resize(1024, 700);
        for (int i = 0; i < 12; ++i)
            w->lifecycle()->submit(echoJob(QStringLiteral("mine %1").arg(i), 1));
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->jobs().size(), 12, 10000);
        const int mine = w->jobsModel()->jobs().first().id;
        w->selectJob(mine);
        QCOMPARE(w->selectedJob(), mine);

        // The pause after 300 submits lets the client's writer send them alone: the loop arrives in two frames.
        const QString script = writeFile(dir, QStringLiteral("loop_script.py"), R"(
import json, sys, time, taskfleet as pp
def slow(x):
    import time
    time.sleep(0.01)
    return x
s = pp.Server(attach=sys.argv[1])
jobs = []
for i in range(1000):
    jobs.append(s.submit(slow, (i,)))
    if i == 299:
        time.sleep(0.5)
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
print(json.dumps({"ok": ok, "cancelled": cancelled, "other": other[:3]}))
)");
        QProcess python;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PYTHONPATH"), test::sourceDir() + QStringLiteral("/python"));
        env.insert(QStringLiteral("PYTHONDONTWRITEBYTECODE"), QStringLiteral("1"));
        python.setProcessEnvironment(env);
        python.start(QStringLiteral("/usr/bin/python3"), {script, o.scriptSocket});
        QVERIFY(python.waitForStarted(5000));

        // One job, of every task of the loop (two jobs of 300 + 700 before), selected as it appears.
        QTRY_VERIFY2_WITH_TIMEOUT(scriptJobs(w.get()).size() == 1 && scriptJobs(w.get()).first().total == 1000,
                                  qPrintable(w->logView()->toPlainText()), 20000);
        const int id = scriptJobs(w.get()).first().id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), id, 5000); // the user's selection gives way to it
        QCOMPARE(w->tasksModel()->currentJob(), id);
        // and it is in view, below the user's twelve (more rows than the table shows)
        QVERIFY(w->jobsView()->verticalScrollBar()->maximum() > 0);
        const QRect row = w->jobsView()->visualRect(w->jobsModel()->index(w->jobsModel()->rowOf(id), 0));
        QVERIFY2(w->jobsView()->viewport()->rect().contains(row.center()),
                 qPrintable(QStringLiteral("row at y %1, viewport height %2")
                                .arg(row.center().y())
                                .arg(w->jobsView()->viewport()->height())));
        QTRY_COMPARE_WITH_TIMEOUT(w->tasksModel()->rowCount(), 1000, 5000);
        QAction *cancel = action(w.get(), QStringLiteral("&Cancel"));
        QVERIFY(cancel);
        QTRY_VERIFY_WITH_TIMEOUT(cancel->isEnabled(), 5000);
        cancel->trigger();

        QVERIFY2(python.waitForFinished(30000), "the attached script hung after its job was cancelled");
        const QByteArray out = python.readAllStandardOutput();
        const QJsonObject result = QJsonDocument::fromJson(out.trimmed().split('\n').last()).object();
        QVERIFY2(!result.isEmpty(), QByteArray(out + python.readAllStandardError()).constData());
        QVERIFY2(result.value(QStringLiteral("other")).toArray().isEmpty(), out.constData());
        QCOMPARE(result.value(QStringLiteral("ok")).toInt() + result.value(QStringLiteral("cancelled")).toInt(), 1000);
        QVERIFY2(result.value(QStringLiteral("cancelled")).toInt() > 0, out.constData()); // nothing ran on
        QTRY_COMPARE_WITH_TIMEOUT(int(scriptJobs(w.get()).value(0).state), int(sched::JobState::Cancelled), 10000);
        QCOMPARE(scriptJobs(w.get()).size(), 1);
    }

    /**
     * An attached loop slower than its tasks (it waits for each batch's results, then sleeps: its job runs out
     * of tasks between frames) is still one job, announced finished once; a loop after a pause longer than
     * the job's wait for more (ClientSession::JoinGraceMs) is a new job.
     */
    void attachedSlowLoopIsOneJobAnnouncedOnce()
    {
        if (!QFile::exists(QStringLiteral("/usr/bin/python3"))
            || !QFile::exists(test::pluginPath(QStringLiteral("python"))))
            TF_SKIP_OR_FAIL("needs /usr/bin/python3 and the python plugin");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("run")));
        QFile::setPermissions(dir.filePath(QStringLiteral("run")),
                              QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        gui::MainWindowOptions o = windowOptions(2);
        o.scriptSocket = dir.filePath(QStringLiteral("run/app.sock"));
        auto w = std::make_unique<MainWindow>(o);
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(o.scriptSocket), 10000);
        const QString script = writeFile(dir, QStringLiteral("slow_loop.py"), R"(
import json, sys, time, taskfleet as pp
def quick(x):
    return x
s = pp.Server(attach=sys.argv[1])
got = []
for r in range(3):
    batch = [s.submit(quick, (r * 10 + i,)) for i in range(10)]
    got += [j() for j in batch]
    time.sleep(0.4)
time.sleep(float(sys.argv[2]))
batch = [s.submit(quick, (i,)) for i in range(5)]
got += [j() for j in batch]
s.destroy()
print(json.dumps({"n": len(got), "sum": sum(got)}))
)");
        QProcess python;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PYTHONPATH"), test::sourceDir() + QStringLiteral("/python"));
        env.insert(QStringLiteral("PYTHONDONTWRITEBYTECODE"), QStringLiteral("1"));
        python.setProcessEnvironment(env);
        const double pause = (sched::ClientSession::JoinGraceMs + 800) / 1000.0;
        python.start(QStringLiteral("/usr/bin/python3"), {script, o.scriptSocket, QString::number(pause)});
        QVERIFY(python.waitForStarted(5000));
        // Between its batches the job waits for more, and says so; quitting then would lose nothing, so the quit
        // prompt does not count it.
        const auto waiting = [&w] {
            for (const sched::JobSnapshot &j : scriptJobs(w.get()))
                if (w->jobsModel()->index(w->jobsModel()->rowOf(j.id), gui::JobsModel::State).data().toString()
                    == QStringLiteral("waiting for more tasks"))
                    return w->unfinishedJobs() == 0;
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(waiting(), 20000);
        QVERIFY2(python.waitForFinished(TimeoutMs), "the attached script hung");
        const QByteArray out = python.readAllStandardOutput();
        const QJsonObject result = QJsonDocument::fromJson(out.trimmed().split('\n').last()).object();
        QVERIFY2(result.value(QStringLiteral("n")).toInt() == 35,
                 QByteArray(out + python.readAllStandardError()).constData());
        QCOMPARE(result.value(QStringLiteral("sum")).toInt(), 435 + 10);

        // Two jobs: the three slow batches, and the loop after the long pause; both ended, each announced once.
        QTRY_VERIFY_WITH_TIMEOUT(scriptJobs(w.get()).size() == 2
                                     && int(scriptJobs(w.get()).last().state) == int(sched::JobState::Finished),
                                 10000);
        const QVector<sched::JobSnapshot> jobs = scriptJobs(w.get());
        QCOMPARE(jobs.first().total, 30);
        QCOMPARE(jobs.first().done, 30);
        QCOMPARE(int(jobs.first().state), int(sched::JobState::Finished));
        QCOMPARE(jobs.last().total, 5);
        QTest::qWait(500); // a second announcement would come with the next snapshots
        const QString log = w->logView()->toPlainText();
        for (const sched::JobSnapshot &j : jobs) {
            const QRegularExpression finished(QStringLiteral("job %1 \"[^\\n]*\" finished").arg(j.id));
            QCOMPARE(log.count(finished), 1);
        }
    }

    /**
     * A resumed job is the original job: as many tasks, those done before shown done from
     * the start, its results (and export) under the original indices, earlier ones included.
     */
    void resumedJobIsTheOriginalJob()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        constexpr int Tasks = 30;
        {
            // A session that ended with tasks 0..9 done and 20 left (written as the window's journal writes it).
            gui::AppJournal journal;
            QString error;
            QVERIFY2(journal.open(dir.path(), &error), qPrintable(error));
            journal.addJob(1, echoJob(QStringLiteral("long"), Tasks));
            QVector<sched::TaskRecord> records;
            for (int i = 0; i < 10; ++i) {
                sched::TaskRecord r;
                r.index = i;
                r.output = i;
                r.nodeName = QStringLiteral("local");
                r.attempts = 1;
                records.append(r);
            }
            journal.addResults(1, records);
            journal.close();
        }
        gui::MainWindowOptions o = windowOptions(2);
        o.journalDir = dir.path();
        o.resume = gui::MainWindowOptions::Resume::Always;
        auto w = std::make_unique<MainWindow>(o);
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(onlyJob(w.get()) != nullptr, 10000);
        QCOMPARE(onlyJob(w.get())->name, QStringLiteral("long (resumed: 20 of 30 tasks left)"));
        QCOMPARE(onlyJob(w.get())->total, Tasks);
        QVERIFY(onlyJob(w.get())->done >= 10); // the earlier ones, from the first snapshot
        const int id = onlyJob(w.get())->id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), id, 5000);
        QCOMPARE(w->tasksModel()->rowCount(), Tasks);
        QVERIFY(w->tasksModel()->count(id, gui::TasksModel::Done) >= 10);
        QTRY_COMPARE_WITH_TIMEOUT(int(onlyJob(w.get())->state), int(sched::JobState::Finished), TimeoutMs);
        QCOMPARE(onlyJob(w.get())->done, Tasks);
        QTRY_COMPARE_WITH_TIMEOUT(w->resultsModel()->keptRows(id), Tasks, 5000);
        // The export has the original indices 0..29, each once, each with its own input echoed.
        const QString path = dir.filePath(QStringLiteral("results.jsonl"));
        QString error;
        QVERIFY2(w->resultsModel()->exportJsonLines(path, &error), qPrintable(error));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QSet<int> indices;
        for (const QByteArray &line : f.readAll().split('\n')) {
            if (line.isEmpty())
                continue;
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            const int index = o.value(QStringLiteral("index")).toInt(-1);
            QCOMPARE(o.value(QStringLiteral("output")).toInt(-1), index);
            indices.insert(index);
        }
        QCOMPARE(indices.size(), Tasks);
        QCOMPARE(*std::min_element(indices.begin(), indices.end()), 0);
        QCOMPARE(*std::max_element(indices.begin(), indices.end()), Tasks - 1);
    }

    /** History says when each job ran (not when its journal was written), so jobs of one name differ. */
    void historySaysWhenEachJobRan()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QDateTime first(QDate(2026, 3, 1), QTime(9, 15, 7));
        const QDateTime second(QDate(2026, 3, 2), QTime(17, 40, 31));
        {
            sched::JournalWriter writer;
            QString error;
            QVERIFY2(writer.open(dir.filePath(QStringLiteral("app-20260302-174100-1-0.tfj")), &error),
                     qPrintable(error));
            const sched::JobSpec spec = echoJob(QStringLiteral("same name"), 1);
            sched::TaskRecord r;
            r.output = 0;
            writer.writeJob(QStringLiteral("k1"), spec, first.toMSecsSinceEpoch());
            writer.writeResults(QStringLiteral("k1"), {r});
            writer.writeEnd(QStringLiteral("k1"), first.addSecs(75).toMSecsSinceEpoch());
            writer.writeJob(QStringLiteral("k2"), spec, second.toMSecsSinceEpoch());
            writer.writeResults(QStringLiteral("k2"), {r});
            writer.writeEnd(QStringLiteral("k2"), second.addSecs(2).toMSecsSinceEpoch());
        }
        gui::HistoryDialog history(dir.path(), QString());
        QCOMPARE(history.jobCount(), 2);
        QStringList when;
        for (int row = 0; row < 2; ++row) {
            when << history.table()->item(row, 0)->text();
            QVERIFY2(history.table()->item(row, 0)->toolTip().contains(QStringLiteral("ended")),
                     qPrintable(history.table()->item(row, 0)->toolTip()));
        }
        when.sort();
        QCOMPARE(when, QStringList({QStringLiteral("2026-03-01 09:15:07"), QStringLiteral("2026-03-02 17:40:31")}));
    }

    /** The window's common actions have shortcuts, the standard ones where there is one, none shared. */
    void actionsHaveShortcuts()
    {
        auto w = std::make_unique<MainWindow>(windowOptions(1));
        const QStringList wanted = {QStringLiteral("&Open Job…"),
                                    QStringLiteral("Export &Statistics…"),
                                    QStringLiteral("Export Results as &JSON Lines…"),
                                    QStringLiteral("&History…"),
                                    QStringLiteral("Se&ttings…"),
                                    QStringLiteral("&Quit"),
                                    QStringLiteral("&Pause"),
                                    QStringLiteral("&Resume"),
                                    QStringLiteral("&Cancel"),
                                    QStringLiteral("Re&try Failed Tasks"),
                                    QStringLiteral("Re&run Job"),
                                    QStringLiteral("Re&move Job"),
                                    QStringLiteral("&Add Node…"),
                                    QStringLiteral("&Manual")};
        QHash<QKeySequence, QString> taken;
        for (const QString &text : wanted) {
            QAction *a = action(w.get(), text);
            QVERIFY2(a, qPrintable(text));
            QVERIFY2(!a->shortcut().isEmpty(), qPrintable(text));
            for (const QKeySequence &key : a->shortcuts()) {
                QVERIFY2(!taken.contains(key), qPrintable(text + QStringLiteral(" and ") + taken.value(key)));
                taken.insert(key, text);
            }
        }
        QCOMPARE(action(w.get(), QStringLiteral("&Open Job…"))->shortcut(), QKeySequence(QKeySequence::Open));
        QVERIFY(action(w.get(), QStringLiteral("&Open Job…"))->shortcuts().contains(QKeySequence(QKeySequence::New)));
    }

    /** Delete removes the selected finished job when the Jobs table has the focus, and nothing elsewhere. */
    void deleteRemovesAJobFromTheJobsTableOnly()
    {
        auto w = std::make_unique<MainWindow>(windowOptions(1));
        w->show();
        w->activateWindow();
        if (!QTest::qWaitForWindowActive(w.get(), 5000))
            QSKIP("this platform does not activate windows");
        w->lifecycle()->submit(echoJob(QStringLiteral("first"), 1), true);
        w->lifecycle()->submit(echoJob(QStringLiteral("second"), 1));
        QTRY_VERIFY_WITH_TIMEOUT(w->jobsModel()->jobs().size() == 2 && w->unfinishedJobs() == 0, TimeoutMs);
        const int first = w->jobsModel()->jobs().first().id;
        QTRY_COMPARE_WITH_TIMEOUT(w->selectedJob(), first, 5000);
        w->nodesView()->setFocus();
        QTRY_VERIFY(w->nodesView()->hasFocus());
        QTest::keyClick(w->nodesView(), Qt::Key_Delete);
        QVERIFY(w->lifecycle()->spec(first)); // not from the Nodes table (a removed job is forgotten at once)
        w->jobsView()->setFocus();
        QTRY_VERIFY(w->jobsView()->hasFocus());
        QTest::keyClick(w->jobsView(), Qt::Key_Delete);
        QVERIFY(!w->lifecycle()->spec(first));
        QTRY_COMPARE_WITH_TIMEOUT(w->jobsModel()->rowOf(first), -1, 5000);
        QCOMPARE(w->jobsModel()->jobs().size(), 1);
    }

    /**
     * A job that ends while the window is not the active one is told outside it (a tray message where
     * there is a system tray, else the status bar and the taskbar's attention); while the user looks at the
     * window, only its text is kept.
     */
    void jobEndIsNotifiedWhenTheWindowIsNotActive()
    {
        QMainWindow window;
        gui::JobNotifier notifier(&window);
        sched::JobSnapshot job;
        job.id = 7;
        job.name = QStringLiteral("sleepers");
        job.state = sched::JobState::Finished;
        job.total = job.done = 3;
        notifier.notify(job); // never shown, so not active
        QCOMPARE(notifier.lastText(), QStringLiteral("Job 7 \"sleepers\": finished"));
        if (QSystemTrayIcon::isSystemTrayAvailable()) {
            QCOMPARE(notifier.lastChannel(), QStringLiteral("tray"));
        } else {
            QCOMPARE(notifier.lastChannel(), QStringLiteral("status bar"));
            QCOMPARE(window.statusBar()->currentMessage(), notifier.lastText());
        }
        window.statusBar()->clearMessage();
        window.show();
        window.activateWindow();
        if (!QTest::qWaitForWindowActive(&window, 5000))
            QSKIP("this platform does not activate windows");
        job.id = 8;
        notifier.notify(job);
        QCOMPARE(notifier.lastText(), QStringLiteral("Job 8 \"sleepers\": finished"));
        QCOMPARE(notifier.lastChannel(), QString()); // the user sees the Jobs table
        QVERIFY(window.statusBar()->currentMessage().isEmpty());
    }

    /** One worker is "1 worker", in the log of a worker-count change as at start. */
    void oneWorkerIsSingular()
    {
        auto w = std::make_unique<MainWindow>(windowOptions(2));
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(w->nodesModel()->rowCount() > 0, 10000);
        w->host()->setNodeWorkerCount(QStringLiteral("local"), 1);
        QTRY_VERIFY_WITH_TIMEOUT(w->logView()->toPlainText().contains(QRegularExpression(
                                     QStringLiteral(": 1 worker$"), QRegularExpression::MultilineOption)),
                                 10000);
        QVERIFY2(!w->logView()->toPlainText().contains(QStringLiteral("1 workers")),
                 qPrintable(w->logView()->toPlainText()));
    }

    /**
     * A job file naming a plugin that is not there is refused with the names of the plugins
     * that are, the folders searched only after them (it listed five build paths and no plugin), and the window
     * says what taskfleet-run says, word for word, on the same plugin path.
     */
    void missingPluginNamesThePluginsThatExist()
    {
        QTemporaryDir dir;
        const QString job = writeFile(dir, QStringLiteral("typo.json"), R"({"plugin": "sumprime", "inputs": [1, 2]})");
        auto w = std::make_unique<MainWindow>(windowOptions(1));
        QSignalSpy shown(w.get(), &MainWindow::errorShown);
        QCOMPARE(w->openFiles({job}), 0);
        QCOMPARE(shown.size(), 1);
        const QString error = shown.at(0).at(0).toString();
        QCOMPARE(error, w->lastError());
        QVERIFY(w->jobsModel()->jobs().isEmpty());
        const int names
            = error.indexOf(QStringLiteral("no plugin named \"sumprime\"; the plugins on the plugin path are: "));
        QVERIFY2(names > 0, qPrintable(error));
        for (const QString &plugin : {QStringLiteral("echo"), QStringLiteral("sleep"), QStringLiteral("sumprimes")}) {
            const int at = error.indexOf(plugin, names);
            QVERIFY2(at > names && at < error.indexOf(QStringLiteral("(searched: ")), qPrintable(error));
        }
        QVERIFY2(!error.contains(QStringLiteral("/../")), qPrintable(error)); // folders as a user writes them

        QProcess run;
        run.start(test::program(QStringLiteral("taskfleet-run")),
                  {QStringLiteral("--plugin-path"), test::pluginDir(), job});
        QVERIFY(run.waitForFinished(30000));
        QCOMPARE(run.exitCode(), 2);
        QCOMPARE(QString::fromUtf8(run.readAllStandardError()).trimmed(), QStringLiteral("taskfleet-run: ") + error);
    }
};

QTEST_MAIN(TestJobWindow)
#include "tst_jobwindow.moc"
