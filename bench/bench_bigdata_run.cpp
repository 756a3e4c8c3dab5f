// SPDX-License-Identifier: MIT
// Big values: taskfleet-run echo of one 50 MB input (wall time, peak RSS above its idle RSS), and
// a stream of 1 MiB values through the echo plugin, locally and through one loopback agent (MB/s).
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtCore/QRandomGenerator>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

using namespace taskfleet;

namespace {

struct RunResult {
    bool ok = false;
    double wallSeconds = 0;
    qint64 maxRssKb = 0; ///< wait4's ru_maxrss: taskfleet-run or its largest worker, as /usr/bin/time -v says
};

/**
 * The measuring helper: runs argv[1..] as a child of this (small, freshly started) process and writes
 * "peak-RSS-kB exit-code seconds" to the file argv[0]. A process's peak RSS starts from the memory of the
 * process it was forked from (the kernel records it at exec), so a big parent cannot measure its child's
 * directly; this helper forks from a process of a few MB. The peak is wait4's: the child's or that of its
 * largest reaped descendant (a worker), as /usr/bin/time reports it.
 */
int measureRssMain(char **argv)
{
    QElapsedTimer clock;
    clock.start();
    const pid_t pid = fork();
    if (pid == 0) {
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    rusage ru {};
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
        return 1;
    FILE *out = std::fopen(argv[0], "w");
    if (!out)
        return 1;
    std::fprintf(out, "%ld %d %.6f\n", ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                 double(clock.nsecsElapsed()) / 1e9);
    std::fclose(out);
    return 0;
}

/** Runs \a program through the measuring helper (output to \a logPath) and waits: exit status, peak RSS, wall time. */
RunResult spawnAndWait(const QString &program, const QStringList &args, const QString &logPath)
{
    const QString measured = logPath + QStringLiteral(".rss");
    QFile::remove(measured);
    QProcess p;
    p.setStandardOutputFile(logPath);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QCoreApplication::applicationFilePath(),
            QStringList {QStringLiteral("--measure-rss"), measured, program} + args);
    RunResult r;
    if (!p.waitForFinished(600000) || p.exitCode() != 0)
        return r;
    QFile f(measured);
    if (!f.open(QIODevice::ReadOnly))
        return r;
    const QList<QByteArray> fields = f.readAll().trimmed().split(' ');
    if (fields.size() != 3)
        return r;
    r.maxRssKb = fields[0].toLongLong();
    r.ok = fields[1].toInt() == 0;
    r.wallSeconds = fields[2].toDouble();
    return r;
}

/** Random printable ASCII (no quote, no backslash): a JSON string that needs no escapes. */
QByteArray randomText(qsizetype size, quint32 seed)
{
    QByteArray text(size, Qt::Uninitialized);
    QRandomGenerator rng(seed);
    for (qsizetype i = 0; i < size; ++i)
        text[i] = char('a' + rng.bounded(26));
    return text;
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

/** 200 values of 1 MiB (distinct byte strings) through echo; returns MB/s of values (10^6 bytes per second). */
double streamMBps(sched::Controller &controller, const exec::PluginInfo &echo, int count, qsizetype size)
{
    sched::JobSpec spec;
    spec.name = QStringLiteral("stream");
    spec.plugin = echo;
    const QByteArray base = randomText(size, 7);
    QVector<QCborValue> inputs;
    for (int i = 0; i < count; ++i) {
        QByteArray v = base;
        std::memcpy(v.data(), &i, sizeof i); // distinct values, none shared
        inputs.append(QCborValue(v));
    }
    spec.inputs = inputs;
    const bench::JobTiming t = bench::runJob(controller, spec);
    if (t.notOk)
        return -1;
    return double(count) * double(size) / 1e6 / t.wallSeconds;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc > 3 && std::strcmp(argv[1], "--measure-rss") == 0)
        return measureRssMain(argv + 2);
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Big values (issue 28). (1) taskfleet-run -n 1 --no-journal of an echo job with one input of --mb MB\n"
        "(results to a file): wall time and peak RSS (wait4, as /usr/bin/time) above the same run with a\n"
        "1-byte input; then the same with --journal FILE. (2) --count values of 1 MiB through echo: an in-process controller with 2 local\n"
        "workers, then through one loopback taskfleet-agent (2 workers, no local workers), in MB/s."));
    parser.addHelpOption();
    const QCommandLineOption mbOpt(QStringLiteral("mb"), QStringLiteral("Size of the big input in MB."),
                                   QStringLiteral("N"), QStringLiteral("50"));
    const QCommandLineOption countOpt(QStringLiteral("count"), QStringLiteral("1 MiB values in the stream."),
                                      QStringLiteral("N"), QStringLiteral("200"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs (best is kept)."),
                                       QStringLiteral("N"), QStringLiteral("3"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({mbOpt, countOpt, repeatOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const qsizetype bigBytes = qsizetype(quick ? 5 : std::max(1, parser.value(mbOpt).toInt())) * 1000 * 1000;
    const int count = quick ? 20 : std::max(1, parser.value(countOpt).toInt());
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());

    // --- (1) taskfleet-run echo of one big input
    QTemporaryDir dir;
    const QString bigJob = dir.filePath(QStringLiteral("big.json"));
    const QString idleJob = dir.filePath(QStringLiteral("idle.json"));
    if (!writeFile(bigJob, "{\"plugin\": \"echo\", \"inputs\": [\"" + randomText(bigBytes, 1) + "\"]}\n")
        || !writeFile(idleJob, QByteArray("{\"plugin\": \"echo\", \"inputs\": [\"x\"]}\n"))) {
        std::fprintf(stderr, "cannot write the job files in %s\n", qPrintable(dir.path()));
        return 1;
    }
    const QString run = QCoreApplication::applicationDirPath() + QStringLiteral("/taskfleet-run");
    auto runJob = [&](const QString &job, bool journal) {
        const QString journalFile = dir.filePath(QStringLiteral("journal.tfj"));
        QFile::remove(journalFile);
        const QStringList journaling = journal ? QStringList {QStringLiteral("--journal"), journalFile}
                                               : QStringList {QStringLiteral("--no-journal")};
        return spawnAndWait(run,
                            QStringList {QStringLiteral("-n"), QStringLiteral("1")} + journaling
                                + QStringList {QStringLiteral("-o"), dir.filePath(QStringLiteral("out.jsonl")), job},
                            dir.filePath(QStringLiteral("log.txt")));
    };
    RunResult idle;
    RunResult big;
    RunResult journaled;
    for (int r = 0; r < repeat; ++r) {
        const RunResult i = runJob(idleJob, false);
        const RunResult b = runJob(bigJob, false);
        const RunResult j = runJob(bigJob, true);
        if (!i.ok || !b.ok || !j.ok) {
            QFile log(dir.filePath(QStringLiteral("log.txt")));
            log.open(QIODevice::ReadOnly);
            std::fprintf(stderr, "taskfleet-run failed:\n%s\n", log.readAll().right(2000).constData());
            return 1;
        }
        if (r == 0 || i.maxRssKb < idle.maxRssKb)
            idle = i;
        if (r == 0 || b.wallSeconds < big.wallSeconds)
            big = b;
        if (r == 0 || j.wallSeconds < journaled.wallSeconds)
            journaled = j;
    }
    QFile out(dir.filePath(QStringLiteral("out.jsonl")));
    const qint64 outBytes = out.size();
    const double mb = double(bigBytes) / 1e6;
    const double rssAboveMb = double(big.maxRssKb - idle.maxRssKb) / 1024.0;

    // --- (2) a stream of 1 MiB values, locally and through one agent
    constexpr qsizetype valueBytes = 1024 * 1024;
    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    double localMBps = 0;
    {
        sched::Controller controller;
        controller.setSpeculation(false);
        bench::addLocalNode(controller, 2);
        streamMBps(controller, echo, 4, valueBytes); // warm-up: workers load the plugin
        for (int r = 0; r < repeat; ++r)
            localMBps = std::max(localMBps, streamMBps(controller, echo, count, valueBytes));
    }
    double agentMBps = 0;
    {
        bench::Agents agents;
        if (!agents.start(1, 2)) {
            std::fprintf(stderr, "taskfleet-agent did not start\n");
            return 1;
        }
        sched::Controller controller;
        controller.setSpeculation(false);
        bench::addLocalNode(controller, 0);
        if (!agents.connect(controller)) {
            std::fprintf(stderr, "the agent did not come online\n");
            return 1;
        }
        streamMBps(controller, echo, 4, valueBytes); // warm-up: plugin upload, workers
        for (int r = 0; r < repeat; ++r)
            agentMBps = std::max(agentMBps, streamMBps(controller, echo, count, valueBytes));
    }

    std::printf("Big values (best of %d)\n", repeat);
    std::printf("  taskfleet-run -n 1 echo, one %.0f MB input:  %8.3f s wall   peak RSS %7.1f MiB (idle %.1f MiB, "
                "%.1f MiB above = %.2f x the value)   result file %.1f MB\n",
                mb, big.wallSeconds, double(big.maxRssKb) / 1024.0, double(idle.maxRssKb) / 1024.0, rssAboveMb,
                rssAboveMb * 1024 * 1024 / double(bigBytes), double(outBytes) / 1e6);
    const double journaledAboveMb = double(journaled.maxRssKb - idle.maxRssKb) / 1024.0;
    std::printf(
        "  the same with its journal (--journal FILE):  %8.3f s wall   peak RSS %7.1f MiB (%.1f MiB above idle = "
        "%.2f x the value)\n",
        journaled.wallSeconds, double(journaled.maxRssKb) / 1024.0, journaledAboveMb,
        journaledAboveMb * 1024 * 1024 / double(bigBytes));
    std::printf("  %d x 1 MiB through echo, 2 local workers:      %8.1f MB/s\n", count, localMBps);
    std::printf("  %d x 1 MiB through echo, one loopback agent:   %8.1f MB/s\n", count, agentMBps);
    std::printf(
        "{\"bench\":\"bigdata_run\",\"big_mb\":%.0f,\"run_wall_s\":%.4f,\"run_peak_rss_mib\":%.1f,"
        "\"idle_rss_mib\":%.1f,\"rss_above_idle_mib\":%.1f,\"journal_wall_s\":%.4f,\"journal_rss_above_idle_mib\":%.1f,"
        "\"stream_values\":%d,\"local_mb_s\":%.1f,\"agent_mb_s\":%.1f}\n",
        mb, big.wallSeconds, double(big.maxRssKb) / 1024.0, double(idle.maxRssKb) / 1024.0, rssAboveMb,
        journaled.wallSeconds, journaledAboveMb, count, localMBps, agentMBps);
    return localMBps > 0 && agentMBps > 0 ? 0 : 1;
}
