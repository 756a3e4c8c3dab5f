// SPDX-License-Identifier: MIT
// Python tasks through taskfleet-run, beside Parallel Python (ppft) in the same run:
//  - tiny tasks (def inc(x): return x + 1) on the local node and through one loopback agent;
//  - the pure-Python sum-of-primes demo on 1 and 2 workers: parallel efficiency t1 / (2 t2).
// ppft comes from ../shared/peers/ppft (or --ppft DIR); without it those columns say "not run".
#include "benchsupport.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QThread>

#include <cstdio>

using namespace taskfleet;

namespace {

struct RunResult {
    bool ok = false;
    double jobSeconds = 0; ///< the job's wall time as taskfleet-run reports it (submit to last result)
    qint64 tasksOk = 0;
    QString error;
};

/** Runs taskfleet-run (results to /dev/null) and reads the job's summary line from stderr. */
RunResult taskfleetRun(const QStringList &args, int timeoutMs = 600000)
{
    RunResult r;
    QProcess p;
    p.setStandardOutputFile(QProcess::nullDevice());
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("tf.*.info=false"));
    p.setProcessEnvironment(env);
    p.start(QCoreApplication::applicationDirPath() + QStringLiteral("/taskfleet-run"),
            QStringList {QStringLiteral("--no-journal")} + args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(5000);
        r.error = QStringLiteral("taskfleet-run ran past %1 s").arg(timeoutMs / 1000);
        return r;
    }
    const QString err = QString::fromUtf8(p.readAllStandardError());
    static const QRegularExpression re(QStringLiteral("(\\d+) tasks, (\\d+) ok, .* wall time ([0-9.]+) s"));
    const auto m = re.match(err);
    if (p.exitCode() != 0 || !m.hasMatch()) {
        r.error = QStringLiteral("taskfleet-run exit %1: %2").arg(p.exitCode()).arg(err.right(600));
        return r;
    }
    r.tasksOk = m.captured(2).toLongLong();
    r.jobSeconds = m.captured(3).toDouble();
    r.ok = r.tasksOk == m.captured(1).toLongLong();
    if (!r.ok)
        r.error = QStringLiteral("not every task ended ok: ") + err.right(600);
    return r;
}

// Measures ppft the way the taskfleet figures are measured: submit n tasks, then wait for all results;
// the server's start is not timed. Prints tasks/s.
const char PpftTiny[] = R"PY(
import sys, time
import ppft as pp
mode, n = sys.argv[1], int(sys.argv[2])
def inc(x):
    return x + 1
if mode == "local":
    s = pp.Server(ncpus=2)
else:
    s = pp.Server(ncpus=0, ppservers=(sys.argv[3],), secret=sys.argv[4])
s.submit(inc, (1,))()  # warm up: workers started, connection made
t = time.time()
jobs = [s.submit(inc, (i,)) for i in range(n)]
r = [j() for j in jobs]
dt = time.time() - t
assert r == [i + 1 for i in range(n)], "ppft returned wrong results"
print("%.1f" % (n / dt))
s.destroy()
)PY";

// ppft ships functions by their source (inspect.getsource), so its script must be a file, not -c.
double runPpft(const QString &ppftDir, const QString &scriptDir, const QStringList &args, int timeoutMs, QString *error)
{
    const QString script = scriptDir + QStringLiteral("/ppft_tiny.py");
    QFile f(script);
    if (!f.open(QIODevice::WriteOnly) || f.write(PpftTiny) < 0) {
        *error = QStringLiteral("cannot write ") + script;
        return 0;
    }
    f.close();
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("PYTHONPATH"), ppftDir);
    p.setProcessEnvironment(env);
    p.start(QStringLiteral("/usr/bin/python3"), QStringList {script} + args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(5000);
        *error = QStringLiteral("ppft ran past %1 s").arg(timeoutMs / 1000);
        return 0;
    }
    const QByteArray out = p.readAllStandardOutput().trimmed();
    bool ok = false;
    const double rate = out.split('\n').last().toDouble(&ok);
    if (p.exitCode() != 0 || !ok) {
        *error = QStringLiteral("ppft failed: ") + QString::fromUtf8(p.readAllStandardError().right(600));
        return 0;
    }
    return rate;
}

QString writeJob(const QTemporaryDir &dir, const QString &name, const QByteArray &script, const QString &function,
                 const QString &inputs)
{
    QFile py(dir.filePath(name + QStringLiteral(".py")));
    py.open(QIODevice::WriteOnly);
    py.write(script);
    const QString path = dir.filePath(name + QStringLiteral(".json"));
    QFile job(path);
    job.open(QIODevice::WriteOnly);
    job.write(QStringLiteral("{\"plugin\": \"python\", \"script\": \"%1.py\", \"function\": \"%2\", \"inputs\": %3}")
                  .arg(name, function, inputs)
                  .toUtf8());
    return path;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Python tasks through taskfleet-run, beside ppft."));
    parser.addHelpOption();
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    const QCommandLineOption ppftOpt(QStringLiteral("ppft"), QStringLiteral("Where ppft's source is."),
                                     QStringLiteral("DIR"), QStringLiteral(TF_SOURCE_DIR "/../shared/peers/ppft"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"),
                                       QStringLiteral("Runs of each taskfleet figure (best kept)."),
                                       QStringLiteral("N"), QStringLiteral("3"));
    parser.addOptions({quickOpt, ppftOpt, repeatOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());
    const QString ppftDir = QDir(parser.value(ppftOpt)).absolutePath();
    const bool havePpft = QFileInfo::exists(ppftDir + QStringLiteral("/ppft/__init__.py"))
                          && QFileInfo(QStringLiteral("/usr/bin/python3")).isExecutable();

    QTemporaryDir dir;
    const int tiny = quick ? 20000 : 200000;
    const QString incJob = writeJob(dir, QStringLiteral("inc"), "def inc(x):\n    return x + 1\n",
                                    QStringLiteral("inc"), QStringLiteral("{\"range\": [0, %1]}").arg(tiny));
    bench::Agents agents;
    if (!agents.start(1, 2)) {
        std::fprintf(stderr, "cannot start a loopback agent\n");
        return 1;
    }

    auto best = [&](const QStringList &args, RunResult *out) {
        for (int i = 0; i < repeat; ++i) {
            const RunResult r = taskfleetRun(args);
            if (!r.ok) {
                *out = r;
                return false;
            }
            if (!out->ok || r.jobSeconds < out->jobSeconds)
                *out = r;
        }
        return true;
    };
    RunResult local, remote;
    if (!best({QStringLiteral("-n"), QStringLiteral("2"), incJob}, &local)
        || !best({QStringLiteral("-n"), QStringLiteral("0"), QStringLiteral("--node"), agents.address(0),
                  QStringLiteral("--secret-file"), agents.secretFile(), incJob},
                 &remote)) {
        std::fprintf(stderr, "%s\n", qPrintable(local.ok ? remote.error : local.error));
        return 1;
    }
    const double localRate = double(tiny) / std::max(1e-9, local.jobSeconds);
    const double remoteRate = double(tiny) / std::max(1e-9, remote.jobSeconds);

    // ppft beside it: fewer tasks, since it is ~100x slower (its rate does not depend on the count).
    double ppLocal = 0, ppRemote = 0;
    QString ppError;
    if (havePpft) {
        ppLocal = runPpft(ppftDir, dir.path(), {QStringLiteral("local"), QString::number(quick ? 2000 : 20000)}, 300000,
                          &ppError);
        QProcess server;
        server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("PYTHONPATH"), ppftDir);
        server.setProcessEnvironment(env);
        const quint16 port = quint16(20000 + QCoreApplication::applicationPid() % 20000);
        const QString secret = QStringLiteral("bench-ppft-secret");
        server.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral("-m"), QStringLiteral("ppft.server"), QStringLiteral("-p"), QString::number(port),
                      QStringLiteral("-i"), QStringLiteral("127.0.0.1"), QStringLiteral("-w"), QStringLiteral("2"),
                      QStringLiteral("-s"), secret});
        if (server.waitForStarted(10000)) {
            QThread::msleep(1500); // ppft's server has no readiness signal
            ppRemote = runPpft(ppftDir, dir.path(),
                               {QStringLiteral("remote"), QString::number(quick ? 40 : 200),
                                QStringLiteral("127.0.0.1:%1").arg(port), secret},
                               300000, &ppError);
            server.terminate();
            if (!server.waitForFinished(5000)) {
                server.kill();
                server.waitForFinished(5000);
            }
        }
    }

    // Parallel efficiency of the pure-Python demo: equal tasks that keep 2 workers busy for seconds.
    QFile demo(QStringLiteral(TF_SOURCE_DIR "/resources/jobs/sum_primes.py"));
    demo.open(QIODevice::ReadOnly);
    const int demoTasks = quick ? 8 : 80;
    QStringList inputs;
    for (int i = 0; i < demoTasks; ++i)
        inputs << QString::number(100000 + 100 * (i % 8));
    const QString demoJob = writeJob(dir, QStringLiteral("sum_primes"), demo.readAll(), QStringLiteral("sum_primes"),
                                     QLatin1Char('[') + inputs.join(QLatin1Char(',')) + QLatin1Char(']'));
    RunResult one, two;
    if (!best({QStringLiteral("-n"), QStringLiteral("1"), demoJob}, &one)
        || !best({QStringLiteral("-n"), QStringLiteral("2"), demoJob}, &two)) {
        std::fprintf(stderr, "%s\n", qPrintable(one.ok ? two.error : one.error));
        return 1;
    }
    const double efficiency = one.jobSeconds / (2.0 * two.jobSeconds);

    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::printf("%-52s %14s %14s %9s\n", "figure", "taskfleet", "ppft", "ratio");
    std::printf("%-52s %14.0f %14.1f %8.1fx\n",
                qPrintable(QStringLiteral("tiny Python tasks/s, local, 2 workers (%1)").arg(tiny)), localRate, ppLocal,
                ratio(localRate, ppLocal));
    std::printf("%-52s %14.0f %14.1f %8.1fx\n", "tiny Python tasks/s, one loopback agent, 2 workers", remoteRate,
                ppRemote, ratio(remoteRate, ppRemote));
    std::printf("%-52s %14.3f %14s %9s\n",
                qPrintable(QStringLiteral("sum_primes demo (%1 tasks), 1 worker, s").arg(demoTasks)), one.jobSeconds,
                "", "");
    std::printf("%-52s %14.3f %14s %9s\n", "sum_primes demo, 2 workers, s", two.jobSeconds, "", "");
    std::printf("%-52s %14.3f %14s %9s\n", "parallel efficiency t1 / (2 t2)", efficiency, "", "");
    if (!havePpft)
        std::printf("ppft: not found at %s; its columns are 0\n", qPrintable(ppftDir));
    else if (!ppError.isEmpty())
        std::printf("ppft: %s\n", qPrintable(ppError));
    std::printf(
        "{\"bench\":\"python\",\"tiny\":%d,\"local_tasks_per_s\":%.0f,\"agent_tasks_per_s\":%.0f,"
        "\"ppft_local_tasks_per_s\":%.1f,\"ppft_remote_tasks_per_s\":%.1f,\"demo_t1_s\":%.3f,\"demo_t2_s\":%.3f,"
        "\"efficiency\":%.3f}\n",
        tiny, localRate, remoteRate, ppLocal, ppRemote, one.jobSeconds, two.jobSeconds, efficiency);
    return 0;
}
