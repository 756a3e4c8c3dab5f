// SPDX-License-Identifier: MIT
// The desktop window for huge jobs: its RSS for a 100 M-task range job, the Tasks model fed 100 M records, and the
// longest stall of the real MainWindow's event loop while a 1 M-task job runs on 3 nodes (docs/scale.md).
//
// Each part runs in a child process of its own (this program with --part), so that each RSS is its own:
//   model N:   TasksModel, the Tasks tab and the task map (shown, offscreen) fed N done records in batches
//   window N S: the real MainWindow (2 local workers) given a job file of an echo range of N tasks; RSS after it is
//              submitted and after S seconds of running (the job is not run to its end)
//   stall N:   the real MainWindow (1 local worker) plus 2 taskfleet-agent processes on 127.0.0.1 (1 worker each)
//              running N echo tasks, the Tasks tab shown; a 5 ms timer records the longest gap of the event loop
// --no-timeline (a diagnosis) gives the Tasks tab's timeline no records, to show what it costs the window;
// --results-tab sorted|unsorted shows the Results tab instead of the Tasks tab.
#include "benchsupport.h"
#include "guitestsupport.h"

#include "agentprocess.h"
#include "jobsmodel.h"
#include "resultsmodel.h"
#include "resultspanel.h"
#include "mainwindow.h"
#include "taskmapview.h"
#include "taskspanel.h"
#include "timelineview.h"
#include "tasksmodel.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>

#include <QtCore/QDir>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

using namespace taskfleet;

namespace {

double mb(qint64 kb)
{
    return double(kb) / 1024.0;
}

/** Records the longest gap between the ticks of a 5 ms timer: how long the event loop could not run. */
class StallMeter : public QObject
{
public:
    static constexpr int IntervalMs = 5;
    StallMeter()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(IntervalMs);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 gap = m_clock.nsecsElapsed() / 1000 - m_lastUs;
            m_lastUs += gap;
            if (gap > m_maxGapUs) {
                m_maxGapUs = gap;
                m_maxAtUs = m_lastUs;
            }
            m_over50 += gap > 50000;
            m_over100 += gap > 100000;
            ++m_ticks;
        });
    }
    void start()
    {
        m_clock.start();
        m_lastUs = 0;
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    /** The longest gap beyond the timer's own interval, in ms. */
    double maxStallMs() const { return std::max<double>(0, double(m_maxGapUs) / 1000.0 - IntervalMs); }
    /** When the longest gap ended, in s since start(). */
    double maxStallAt() const { return double(m_maxAtUs) / 1e6; }
    qint64 over50() const { return m_over50; }
    qint64 over100() const { return m_over100; }
    qint64 ticks() const { return m_ticks; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastUs = 0;
    qint64 m_maxGapUs = 0;
    qint64 m_maxAtUs = 0;
    qint64 m_over50 = 0;
    qint64 m_over100 = 0;
    qint64 m_ticks = 0;
};

/** SIGKILLs the processes this process started (its children, by pid, from /proc). */
void killChildren()
{
    const QByteArray self = QByteArray::number(qint64(getpid()));
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool isPid = false;
        const qint64 pid = entry.toLongLong(&isPid);
        if (!isPid)
            continue;
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray text = stat.readAll();
        // "pid (comm) state ppid ...": the fields after the last ')'.
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 1 && fields.at(1) == self)
            ::kill(pid_t(pid), SIGKILL);
    }
}

/** A JSON object of these keys and values. */
QJsonObject json(std::initializer_list<std::pair<const char *, QJsonValue>> fields)
{
    QJsonObject o;
    for (const auto &[key, value] : fields)
        o.insert(QLatin1String(key), value);
    return o;
}

void printJson(const QJsonObject &o)
{
    std::printf("%s\n", QJsonDocument(o).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
}

/** The Tasks model, its tab and the task map fed \a n done records (3 nodes), as the controller sends them. */
int partModel(int n)
{
    const qint64 before = bench::procStatusKb("VmRSS");
    gui::TasksModel model;
    gui::TasksPanel panel(&model);
    gui::TaskMapView map(&model);
    panel.resize(900, 600);
    map.resize(400, 400);
    panel.show();
    map.show();
    QCoreApplication::processEvents();
    model.addJob(1, n);
    model.setCurrentJob(1);
    const QString nodes[] = {QStringLiteral("local"), QStringLiteral("127.0.0.1:1"), QStringLiteral("127.0.0.1:2")};
    constexpr int Batch = 4096;
    QVector<sched::TaskRecord> batch(Batch);
    QElapsedTimer clock;
    clock.start();
    qint64 maxBatchUs = 0;
    for (int first = 0; first < n; first += Batch) {
        const int count = std::min(Batch, n - first);
        batch.resize(count);
        for (int k = 0; k < count; ++k) {
            sched::TaskRecord &r = batch[k];
            r.index = first + k;
            r.nodeName = nodes[(r.index / 256) % 3];
            r.startUs = qint64(r.index) * 5;
            r.runtimeUs = 20;
            r.attempts = 1;
        }
        QElapsedTimer t;
        t.start();
        model.addRecords(1, batch);
        maxBatchUs = std::max(maxBatchUs, t.nsecsElapsed() / 1000);
        if ((first / Batch) % 256 == 0)
            QCoreApplication::processEvents(); // the views repaint as they would while the job runs
    }
    const double feedSeconds = double(clock.nsecsElapsed()) / 1e9;
    QCoreApplication::processEvents();
    clock.restart();
    map.grab();
    const double mapPaintMs = double(clock.nsecsElapsed()) / 1e6;
    clock.restart();
    panel.setStateFilter(gui::TasksModel::Done);
    panel.selectTask(n - 1);
    const double lastPageMs = double(clock.nsecsElapsed()) / 1e6;
    const qint64 after = bench::procStatusKb("VmRSS");
    std::printf(
        "model: %d records in %.1f s (%.0f/s, longest batch of %d: %.1f ms); RSS %.1f -> %.1f MB (%.2f B a task), "
        "peak %.1f MB; task map paint %.1f ms; Done filter + last task selected %.1f ms; model accounts %.1f MB\n",
        n, feedSeconds, n / feedSeconds, Batch, double(maxBatchUs) / 1000, mb(before), mb(after),
        double(after - before) * 1024.0 / n, mb(bench::procStatusKb("VmHWM")), mapPaintMs, lastPageMs,
        double(model.memoryBytes()) / 1e6);
    printJson(json({{"part", QLatin1String("model")},
                    {"tasks", n},
                    {"rss_before_mb", mb(before)},
                    {"rss_after_mb", mb(after)},
                    {"peak_mb", mb(bench::procStatusKb("VmHWM"))},
                    {"bytes_per_task", double(after - before) * 1024.0 / n},
                    {"records_per_s", n / feedSeconds},
                    {"longest_batch_ms", double(maxBatchUs) / 1000},
                    {"map_paint_ms", mapPaintMs},
                    {"last_page_ms", lastPageMs}}));
    return model.count(1, gui::TasksModel::Done) == n ? 0 : 1;
}

QString writeRangeJob(const QTemporaryDir &dir, int n)
{
    return guitest::writeFile(
        dir, QStringLiteral("huge.json"),
        QStringLiteral(R"({"name": "huge", "plugin": "echo", "inputs": {"range": [0, %1]}})").arg(n).toUtf8());
}

/** --no-timeline (diagnosis): the timeline gets no records, to show what it costs the window. */
bool g_noTimeline = false;
/** --results-tab sorted|unsorted: the Results tab is shown (sorted by time, or not) instead of the Tasks tab. */
QString g_resultsTab;

/** Selects the window's first job and shows the Tasks tab, as a user watching it would. */
void watchTasks(gui::MainWindow *w)
{
    if (g_noTimeline)
        QObject::disconnect(w->tasksModel(), nullptr, w->tasksPanel()->timeline(), nullptr);
    auto *tabs = w->findChild<QTabWidget *>();
    if (tabs && !g_resultsTab.isEmpty()) {
        tabs->setCurrentWidget(w->resultsPanel());
        if (auto *view = w->resultsPanel()->findChild<QTableView *>())
            if (g_resultsTab == QLatin1String("sorted"))
                view->sortByColumn(gui::ResultsModel::Time, Qt::DescendingOrder);
    } else if (tabs) {
        tabs->setCurrentWidget(w->tasksPanel());
    }
}

/** The real window given a range job of \a n tasks: RSS once submitted and after \a seconds of running. */
int partWindow(int n, int seconds)
{
    QTemporaryDir dir;
    auto w = guitest::makeWindow(2);
    w->resize(1600, 1000);
    QTest::qWait(500);
    const qint64 idle = bench::procStatusKb("VmRSS");
    StallMeter stall;
    stall.start();
    QElapsedTimer clock;
    clock.start();
    w->openFiles({writeRangeJob(dir, n)});
    if (!QTest::qWaitFor([&] { return guitest::onlyJob(w.get()) != nullptr; }, 120000)) {
        std::fprintf(stderr, "the job did not appear\n");
        return 1;
    }
    const double submitSeconds = double(clock.nsecsElapsed()) / 1e9;
    watchTasks(w.get());
    QTest::qWait(300);
    const qint64 submitted = bench::procStatusKb("VmRSS");
    QTest::qWait(seconds * 1000);
    const qint64 running = bench::procStatusKb("VmRSS");
    const qint64 done = w->tasksModel()->count(guitest::onlyJob(w.get())->id, gui::TasksModel::Done);
    stall.stop();
    std::printf(
        "window: %d-task range job; RSS idle %.1f MB, after submission %.1f MB (%.1f s), after %d s "
        "running %.1f MB (%lld tasks done), peak %.1f MB; longest event-loop stall %.0f ms (ending %.2f s after the "
        "job file was opened; %lld gaps > 100 ms)\n",
        n, mb(idle), mb(submitted), submitSeconds, seconds, mb(running), done, mb(bench::procStatusKb("VmHWM")),
        stall.maxStallMs(), stall.maxStallAt(), stall.over100());
    printJson(json({{"part", QLatin1String("window")},
                    {"tasks", n},
                    {"rss_idle_mb", mb(idle)},
                    {"rss_submitted_mb", mb(submitted)},
                    {"rss_running_mb", mb(running)},
                    {"peak_mb", mb(bench::procStatusKb("VmHWM"))},
                    {"done", done},
                    {"seconds_running", seconds},
                    {"max_stall_ms", stall.maxStallMs()}}));
    // Not run to its end (a cancel would build a record for each of its tasks): this process's own worker
    // processes are killed by their pids and the process leaves at once.
    killChildren();
    std::_Exit(0);
}

/** The real window and 2 loopback agents running \a n echo tasks: the event loop's longest stall. */
int partStall(int n)
{
    QTemporaryDir dir;
    const QString secret = guitest::writeAgentSecret(dir);
    test::AgentProcess agents[2];
    for (int i = 0; i < 2; ++i)
        if (!guitest::startAgent(agents[i], dir.filePath(QStringLiteral("agent%1").arg(i)), secret, 1)) {
            std::fprintf(stderr, "agent %d: %s\n", i, qPrintable(agents[i].error()));
            return 1;
        }
    auto w = guitest::makeWindow(1, {}, secret);
    w->resize(1600, 1000);
    for (auto &a : agents)
        w->addRemoteNode(QStringLiteral("127.0.0.1"), a.port());
    for (auto &a : agents)
        if (!guitest::waitForNodeState(w.get(), a.address(), QStringLiteral("online"))) {
            std::fprintf(stderr, "agent %s not online\n", qPrintable(a.address()));
            return 1;
        }
    StallMeter stall;
    stall.start();
    QElapsedTimer clock;
    clock.start();
    w->openFiles({writeRangeJob(dir, n)});
    if (!QTest::qWaitFor([&] { return guitest::onlyJob(w.get()) != nullptr; }, 60000))
        return 1;
    watchTasks(w.get());
    const bool finished = guitest::waitForJobFinished(w.get(), 0, 1800000);
    const double seconds = double(clock.nsecsElapsed()) / 1e9;
    stall.stop();
    const sched::JobSnapshot *job = guitest::onlyJob(w.get());
    const qint64 done = job ? job->done : 0;
    std::printf(
        "stall: %d echo tasks on 3 nodes (1 local worker, 2 agents x 1 worker) in %.1f s (%.0f tasks/s), "
        "%s; longest event-loop stall %.0f ms (ending %.2f s after the job file was opened); %lld gaps > 50 ms, "
        "%lld > 100 ms of %lld ticks; peak RSS %.1f MB\n",
        n, seconds, done / seconds, finished ? "finished" : "NOT finished", stall.maxStallMs(), stall.maxStallAt(),
        stall.over50(), stall.over100(), stall.ticks(), mb(bench::procStatusKb("VmHWM")));
    printJson(json({{"part", QLatin1String("stall")},
                    {"tasks", n},
                    {"finished", finished},
                    {"seconds", seconds},
                    {"tasks_per_s", done / seconds},
                    {"max_stall_ms", stall.maxStallMs()},
                    {"gaps_over_50ms", stall.over50()},
                    {"gaps_over_100ms", stall.over100()},
                    {"peak_mb", mb(bench::procStatusKb("VmHWM"))}}));
    w.reset(); // the job is over (or is cancelled now); then the agents end, each by its own pid
    return finished ? 0 : 1;
}

/** Runs this program with \a args; its output lines; false when it failed. */
bool runPart(const QStringList &args, QStringList *json)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(QCoreApplication::applicationFilePath(), args);
    if (!p.waitForFinished(3600000)) {
        p.kill();
        p.waitForFinished();
        return false;
    }
    const QByteArray out = p.readAllStandardOutput();
    for (const QByteArray &line : out.split('\n')) {
        if (line.startsWith('{'))
            *json << QString::fromUtf8(line);
        else if (!line.isEmpty())
            std::printf("%s\n", line.constData());
    }
    return p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption quick(QStringLiteral("quick"), QStringLiteral("Small sizes (a smoke run)."));
    const QCommandLineOption part(QStringLiteral("part"), QStringLiteral("Run one part here: model, window, stall."),
                                  QStringLiteral("PART"));
    const QCommandLineOption tasks(QStringLiteral("tasks"), QStringLiteral("Tasks for --part."), QStringLiteral("N"));
    const QCommandLineOption modelTasks(QStringLiteral("model-tasks"),
                                        QStringLiteral("Records fed to the model (default 100000000)."),
                                        QStringLiteral("N"));
    const QCommandLineOption windowTasks(QStringLiteral("window-tasks"),
                                         QStringLiteral("Tasks of the window's range job (default 100000000)."),
                                         QStringLiteral("N"));
    const QCommandLineOption seconds(QStringLiteral("seconds"),
                                     QStringLiteral("How long the window's range job runs (default 5)."),
                                     QStringLiteral("S"));
    const QCommandLineOption stallTasks(QStringLiteral("stall-tasks"),
                                        QStringLiteral("Tasks of the 3-node job the stall is measured on (default "
                                                       "1000000)."),
                                        QStringLiteral("N"));
    const QCommandLineOption noTimeline(QStringLiteral("no-timeline"),
                                        QStringLiteral("Diagnosis: the Tasks tab's timeline gets no records."));
    const QCommandLineOption resultsTab(QStringLiteral("results-tab"),
                                        QStringLiteral("The window shows the Results tab (sorted by time, or "
                                                       "unsorted) instead of the Tasks tab."),
                                        QStringLiteral("sorted|unsorted"));
    parser.addOptions({quick, part, tasks, modelTasks, windowTasks, seconds, stallTasks, noTimeline, resultsTab});
    parser.process(app);
    g_noTimeline = parser.isSet(noTimeline);
    g_resultsTab = parser.value(resultsTab);

    if (parser.isSet(part)) {
        const int n = parser.value(tasks).toInt();
        const QString which = parser.value(part);
        if (which == QLatin1String("model"))
            return partModel(n);
        if (which == QLatin1String("window"))
            return partWindow(n, parser.value(seconds).toInt());
        if (which == QLatin1String("stall"))
            return partStall(n);
        std::fprintf(stderr, "unknown part %s\n", qPrintable(which));
        return 2;
    }

    const bool q = parser.isSet(quick);
    const auto size = [&](const QCommandLineOption &o, int full, int small) {
        return parser.isSet(o) ? parser.value(o).toInt() : q ? small : full;
    };
    const int nModel = size(modelTasks, 100000000, 1000000);
    const int nWindow = size(windowTasks, 100000000, 1000000);
    const int nStall = size(stallTasks, 1000000, 20000);
    const int s = parser.isSet(seconds) ? parser.value(seconds).toInt() : q ? 1 : 5;
    QStringList lines;
    QStringList extra;
    if (g_noTimeline)
        extra << QStringLiteral("--no-timeline");
    if (!g_resultsTab.isEmpty())
        extra << QStringLiteral("--results-tab") << g_resultsTab;
    bool ok = runPart(
        {QStringLiteral("--part"), QStringLiteral("model"), QStringLiteral("--tasks"), QString::number(nModel)},
        &lines);
    ok &= runPart(QStringList {QStringLiteral("--part"), QStringLiteral("window"), QStringLiteral("--tasks"),
                               QString::number(nWindow), QStringLiteral("--seconds"), QString::number(s)}
                      + extra,
                  &lines);
    ok &= runPart(QStringList {QStringLiteral("--part"), QStringLiteral("stall"), QStringLiteral("--tasks"),
                               QString::number(nStall)}
                      + extra,
                  &lines);
    QJsonObject all = json({{"bench", QLatin1String("window_scale")}});
    for (const QString &line : lines) {
        const QJsonObject o = QJsonDocument::fromJson(line.toUtf8()).object();
        const QString prefix = o.value(QStringLiteral("part")).toString() + QLatin1Char('_');
        for (auto it = o.begin(); it != o.end(); ++it)
            if (it.key() != QLatin1String("part"))
                all.insert(prefix + it.key(), it.value());
    }
    printJson(all);
    return ok ? 0 : 1;
}
