// SPDX-License-Identifier: MIT
// Bytes stay bytes: big values come back exactly (compared by SHA-256) through taskfleet-run's job
// file and result file, through local workers and through an agent, also when they span several frames;
// taskfleet-run's peak memory grows with a value's size by a small constant factor, not by the copies and
// conversions it once made of it.
#include "agentprocess.h"
#include "loopbacknodes.h"
#include "testsupport.h"

#include "exec/pluginregistry.h"
#include "protocol/frame.h"
#include "sched/controller.h"
#include "sched/journal.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"
#include "util/cborstring.h"
#include "util/jsontocbor.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QElapsedTimer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

using namespace taskfleet;

namespace {
const QByteArray Secret("big data test secret, long enough for a cluster");
constexpr qsizetype MB = 1000 * 1000;

/** SHA-256 of a string value's bytes (UTF-8 for text), read in place. */
QByteArray hashOf(const QCborValue &v)
{
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(QByteArray(v.isString() ? "s" : v.isByteArray() ? "b" : "?"));
    util::forEachStringChunk(v, [&h](const char *data, qsizetype size) { h.addData(QByteArrayView(data, size)); });
    return h.result().toHex();
}

QByteArray randomBytes(qsizetype size, quint32 seed)
{
    QByteArray b(size, Qt::Uninitialized);
    QRandomGenerator rng(seed);
    rng.fillRange(reinterpret_cast<quint32 *>(b.data()), size / 4);
    for (qsizetype i = size / 4 * 4; i < size; ++i)
        b[i] = char(rng.generate());
    return b;
}

/**
 * JSON text of a string of about \a size bytes: mostly ASCII letters, with a run of non-ASCII UTF-8 and
 * escapes (\n, \", \\, \u00e9, a surrogate pair) every 64 KiB, so the job file's one conversion is tested
 * on every kind of character. *expected gets the UTF-8 the string stands for.
 */
QByteArray jsonText(qsizetype size, quint32 seed, QByteArray *expected)
{
    QByteArray json;
    json.reserve(size + size / 1000 + 2);
    expected->clear();
    expected->reserve(size);
    QRandomGenerator rng(seed);
    json.append('"');
    for (qsizetype at = 0; at < size; at += 64 * 1024) {
        const qsizetype run = std::min<qsizetype>(64 * 1024, size - at);
        QByteArray letters(run, Qt::Uninitialized);
        for (qsizetype i = 0; i < run; ++i)
            letters[i] = char('a' + rng.bounded(26));
        json.append(letters);
        expected->append(letters);
        json.append("\xc3\xa9\xe2\x82\xac\\n\\\"\\\\\\u00e9\\ud83d\\ude00");
        expected->append("\xc3\xa9\xe2\x82\xac\n\"\\\xc3\xa9\xf0\x9f\x98\x80");
    }
    json.append('"');
    return json;
}

QByteArray hashOfText(const QByteArray &utf8)
{
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(QByteArray("s"));
    h.addData(utf8);
    return h.result().toHex();
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
    QEventLoop loop;
    QObject::connect(&c, &sched::Controller::jobFinished, &loop, [&](int jobId) {
        if (jobId == id) {
            *finished = true;
            loop.quit();
        }
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    id = c.submit(std::move(spec));
    if (!c.job(id)->isOver())
        loop.exec();
    else
        *finished = true;
    return byIndex;
}

struct Spawned {
    bool ok = false;
    qint64 maxRssKb = 0;
    double seconds = 0;
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
Spawned spawnAndWait(const QString &program, const QStringList &args, const QString &logPath)
{
    const QString measured = logPath + QStringLiteral(".rss");
    QFile::remove(measured);
    QProcess p;
    p.setStandardOutputFile(logPath);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QCoreApplication::applicationFilePath(),
            QStringList {QStringLiteral("--measure-rss"), measured, program} + args);
    Spawned r;
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
    r.seconds = fields[2].toDouble();
    return r;
}

QString readLog(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll().right(3000)) : QString();
}
} // namespace

class TestBigData : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void fiftyMegabytesThroughTaskfleetRun();
    void valuesSpanningFramesLocally();
    void valuesSpanningFramesThroughAnAgent();
    void peakMemoryGrowsByASmallFactor();

private:
    sched::JobSpec echoJob(const QVector<QCborValue> &inputs) const;
    void checkExact(sched::Controller &c, const QString &where);

    QTemporaryDir m_dir;
    exec::PluginInfo m_echo;
};

void TestBigData::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QString error;
    const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY2(echo, qPrintable(error));
    m_echo = *echo;
    qputenv("TASKFLEET_WORKER", test::program(QStringLiteral("taskfleet-worker")).toLocal8Bit());
}

sched::JobSpec TestBigData::echoJob(const QVector<QCborValue> &inputs) const
{
    sched::JobSpec spec;
    spec.name = QStringLiteral("bigdata");
    spec.plugin = m_echo;
    spec.inputs = inputs;
    spec.retries = 1;
    spec.timeoutMs = 120000;
    return spec;
}

// A 50 MB string in a job file (ASCII, other UTF-8 and escapes) through taskfleet-run and one worker: the
// result file's output and the journal's record hash like the input, and the run takes seconds, not tens.
void TestBigData::fiftyMegabytesThroughTaskfleetRun()
{
    QByteArray expected;
    const QByteArray text = jsonText(50 * MB, 28, &expected);
    const QString job = m_dir.filePath(QStringLiteral("fifty.json"));
    QVERIFY(test::writeFile(job, "{\"plugin\": \"echo\", \"inputs\": [" + text + "]}\n"));
    const QString out = m_dir.filePath(QStringLiteral("fifty.jsonl"));
    const QString journal = m_dir.filePath(QStringLiteral("fifty.tfj"));
    const QString log = m_dir.filePath(QStringLiteral("fifty.log"));
    const Spawned r = spawnAndWait(test::program(QStringLiteral("taskfleet-run")),
                                   {QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("--journal"), journal,
                                    QStringLiteral("-o"), out, job},
                                   log);
    QVERIFY2(r.ok, qPrintable(readLog(log)));
    qInfo("taskfleet-run echo of a 50 MB input, with a journal: %.3f s, peak RSS %.1f MiB", r.seconds,
          double(r.maxRssKb) / 1024.0);
    const QByteArray want = hashOfText(expected);

    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray line = f.readAll();
    QCborValue parsed;
    QString error;
    QVERIFY2(util::parseJsonExact(line.trimmed(), &parsed, &error), qPrintable(error));
    QCOMPARE(hashOf(parsed.toMap().value(QStringLiteral("input"))), want);
    QCOMPARE(hashOf(parsed.toMap().value(QStringLiteral("output"))), want);

    QString warning;
    const auto jobs = sched::JournalReader::read(journal, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QCOMPARE(jobs->size(), 1);
    QCOMPARE(hashOf(jobs->first().spec.inputs.at(0)), want);
    QCOMPARE(jobs->first().results.size(), 1);
    QCOMPARE(hashOf(jobs->first().results.value(0).output), want);
}

void TestBigData::checkExact(sched::Controller &c, const QString &where)
{
    // Random bytes: 70 MB spans two frames (64 MiB each at most) both ways; 9 MB and small ones share batches.
    const QVector<QCborValue> inputs {QCborValue(randomBytes(70 * MB, 1)), QCborValue(QByteArray("x")),
                                      QCborValue(randomBytes(9 * MB, 2)), QCborValue(randomBytes(1, 3)),
                                      QCborValue(QString::fromLatin1(randomBytes(3 * MB, 4).toHex()))};
    QVector<QByteArray> want;
    for (const QCborValue &v : inputs)
        want.append(hashOf(v));
    QElapsedTimer clock;
    clock.start();
    bool finished = false;
    const auto records = run(c, echoJob(inputs), 120000, &finished);
    QVERIFY2(finished, "the job did not end");
    QCOMPARE(records.size(), inputs.size());
    for (int i = 0; i < inputs.size(); ++i) {
        QVERIFY2(records[i].status == stats::TaskStatus::Ok, qPrintable(records[i].error));
        QCOMPARE(records[i].attempts, 1);
        QVERIFY2(hashOf(records[i].output) == want[i], qPrintable(QStringLiteral("task %1's output differs").arg(i)));
    }
    qInfo("%s: 82 MB of random bytes echoed exactly in %lld ms", qPrintable(where), clock.elapsed());
}

void TestBigData::valuesSpanningFramesLocally()
{
    sched::Controller c;
    test::addLocalNode(c, 1);
    checkExact(c, QStringLiteral("one local worker"));
}

void TestBigData::valuesSpanningFramesThroughAnAgent()
{
    const QString secret = m_dir.filePath(QStringLiteral("secret"));
    QVERIFY(test::writeSecretFile(secret, Secret));
    test::AgentProcess agent;
    QVERIFY2(agent.start(m_dir.filePath(QStringLiteral("state")), secret, {QStringLiteral("-w"), QStringLiteral("1")}),
             qPrintable(agent.error()));
    sched::Controller c;
    test::addLocalNode(c);
    auto *node = test::startRemoteNode(c, test::loopbackNodeOptions(agent.port(), Secret));
    QVERIFY(QTest::qWaitFor([&] { return node->state() == sched::NodeState::Online; }, 15000));
    checkExact(c, QStringLiteral("one loopback agent"));
}

// taskfleet-run echoes one input of 10 MB, then one of 60 MB, each in a process of its own: the peak RSS
// (wait4's: taskfleet-run's or its worker's, whichever is larger) may grow by at most 2.5 bytes per byte
// of the value (1.7 measured; 3.0 when a job file's input was copied into an array, 8 when values went
// through QString). Every extra copy or conversion of the value on its way shows here.
void TestBigData::peakMemoryGrowsByASmallFactor()
{
    if (test::sanitized())
        QSKIP("AddressSanitizer keeps freed blocks in quarantine and adds shadow memory: peak RSS is measured "
              "in the normal build");
    const qsizetype sizes[] = {10 * MB, 60 * MB};
    qint64 rssKb[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        const QByteArray letters = randomBytes(sizes[i] / 2, quint32(10 + i)).toHex();
        const QString job = m_dir.filePath(QStringLiteral("mem%1.json").arg(i));
        QVERIFY(test::writeFile(job, "{\"plugin\": \"echo\", \"inputs\": [\"" + letters + "\"]}\n"));
        const QString log = m_dir.filePath(QStringLiteral("mem%1.log").arg(i));
        const Spawned r = spawnAndWait(test::program(QStringLiteral("taskfleet-run")),
                                       {QStringLiteral("-n"), QStringLiteral("1"), QStringLiteral("--no-journal"),
                                        QStringLiteral("-o"), m_dir.filePath(QStringLiteral("mem.jsonl")), job},
                                       log);
        QVERIFY2(r.ok, qPrintable(readLog(log)));
        rssKb[i] = r.maxRssKb;
        qInfo("one %lld MB input: peak RSS %.1f MiB, %.3f s", qlonglong(sizes[i] / MB), double(r.maxRssKb) / 1024.0,
              r.seconds);
    }
    const double perByte = double(rssKb[1] - rssKb[0]) * 1024.0 / double(sizes[1] - sizes[0]);
    qInfo("peak RSS grows by %.2f bytes per byte of the value", perByte);
    QVERIFY2(perByte <= 2.5,
             qPrintable(QStringLiteral("peak RSS grows by %1 bytes per byte of the value").arg(perByte)));
}

int main(int argc, char **argv)
{
    if (argc > 3 && std::strcmp(argv[1], "--measure-rss") == 0)
        return measureRssMain(argv + 2);
    QCoreApplication app(argc, argv);
    TestBigData test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}
#include "tst_bigdata.moc"
