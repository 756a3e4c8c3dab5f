// SPDX-License-Identifier: MIT
// Durable jobs: the journal survives a torn last record, and taskfleet-run killed with SIGKILL
// resumes with only the missing tasks while its results hold every index exactly once. Also:
// damaged journals (flips in every record kind, truncations, FIFOs, empty, header only) either
// resume exactly or exit 2 with a message within a second; a range job resumes lazily; every
// failed write of results, journal or statistics is reported, and a journal that could not be
// written is never offered for a resume.
#include "protocol/frame.h"
#include "sched/journal.h"
#include "testsupport.h"

#include <QtCore/QCborArray>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QtEndian>
#include <QtTest/QtTest>

#include <csignal>

#include <sys/stat.h>
#include <unistd.h>

using namespace taskfleet;
using namespace taskfleet::sched;

class TestJournal : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }
    void roundTripAndTornTail();
    void notAJournal();
    void manyInputsTravelInSeveralRecords();
    void formatThreeRecords();
    void readsFormatsOneAndTwo();
    void unknownFormatsAreRefused();
    void readsAGenuineFormatTwoJournal();
    void appendsToAFormatTwoJournalInItsFormat();
    void tornTailIsCutBeforeAppending();
    void bigInputsSplitByBytes();
    void killAndResume();
    void resumeRefusesChangedPlugin();
    void damagedJournals_data();
    void damagedJournals();
    void rangeResumeRunsOnlyTheMissing();
    void resumeOfARangeStaysLazy();
    void resultsOnAFullDevice();
    void unwritableJournalIsRefused();
    void fullDisk();

private:
    QString path(const QString &name) const { return m_dir.filePath(name); }
    static JobSpec spec(int n)
    {
        JobSpec s;
        s.name = QStringLiteral("j");
        s.plugin.name = QStringLiteral("echo");
        s.plugin.path = test::pluginPath(QStringLiteral("echo"));
        s.plugin.sha256 = QByteArray(64, 'b');
        for (int i = 0; i < n; ++i)
            s.inputs.append(i * 10);
        return s;
    }
    static TaskRecord record(int index)
    {
        TaskRecord r;
        r.index = index;
        r.output = index * 10;
        r.nodeName = QStringLiteral("n");
        r.attempts = 1;
        return r;
    }
    static bool writeBytes(const QString &file, const QByteArray &bytes) { return test::writeFile(file, bytes); }
    static QByteArray readBytes(const QString &file)
    {
        QFile f(file);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }
    /** The journal of a real taskfleet-run run of two jobs (a 70,000-value list and a 3,000-task range). */
    const QByteArray &baseJournal();
    QTemporaryDir m_dir;
    QByteArray m_base;
};

namespace {
// One record of a format-3 journal: where it is, its size, its kind byte ('H' for the header frame).
struct Rec {
    qsizetype at = 0;
    qsizetype size = 0;
    char kind = 'H';
};

QVector<Rec> records(const QByteArray &j)
{
    QVector<Rec> out;
    const qsizetype header = 4 + qsizetype(qFromBigEndian<quint32>(j.constData()));
    out.append({0, header, 'H'});
    for (qsizetype at = header; at + 16 <= j.size();) {
        if (j.mid(at, 4) != QByteArray("\xFETFJ"))
            break;
        const qsizetype size = 16 + qsizetype(qFromBigEndian<quint32>(j.constData() + at + 4)) + 8;
        out.append({at, size, j.at(at + 8)});
        at += size;
    }
    return out;
}

// A record map in the older formats' framing: the way to build journals of format 1 and 2.
QByteArray frame(const QCborMap &m)
{
    return protocol::encodeFrame(m);
}

QByteArray legacyHeader(int version)
{
    return frame(QCborMap {{QStringLiteral("t"), QStringLiteral("journal")},
                           {QStringLiteral("magic"), QStringLiteral("taskfleet-journal/%1").arg(version)}});
}

QCborMap legacySpec(const exec::PluginInfo &plugin)
{
    return QCborMap {{QStringLiteral("name"), QStringLiteral("old")},
                     {QStringLiteral("plugin"), plugin.name},
                     {QStringLiteral("pluginPath"), plugin.path},
                     {QStringLiteral("sha256"), QString::fromLatin1(plugin.sha256)},
                     {QStringLiteral("retries"), 2}};
}

QByteArray legacyRecord(const QString &type, const QString &key, const QCborMap &extra)
{
    QCborMap m = extra;
    m.insert(QStringLiteral("t"), type);
    m.insert(QStringLiteral("key"), key);
    return frame(m);
}

QByteArray resultRows(const QVector<int> &indices, qint64 factor = 1)
{
    QCborArray rows;
    for (int i : indices)
        rows << i << 0 << qint64(i) * factor << QStringLiteral("n") << 1 << 1;
    return QCborMap {{QStringLiteral("r"), rows}}.toCborValue().toCbor();
}

// Peak RSS (VmHWM) of a live process in kB, or 0.
qint64 peakRssKb(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    return 0;
}

// The results a run wrote: per job label, index -> the line. Duplicates counted.
struct Lines {
    QHash<QString, QHash<int, QJsonObject>> byJob;
    int duplicates = 0;
    int total = 0;
};

Lines readResultLines(const QString &file)
{
    Lines out;
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return out;
    const QByteArray all = f.readAll();
    for (const QByteArray &line : all.split('\n')) {
        if (line.isEmpty())
            continue;
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        ++out.total;
        auto &job = out.byJob[o.value(QStringLiteral("job")).toString()];
        const int index = o.value(QStringLiteral("index")).toInt(-1);
        if (job.contains(index))
            ++out.duplicates;
        job.insert(index, o);
    }
    return out;
}

// Mounts a tmpfs of \a kb kB at \a dir (root only); false if it cannot.
bool mountTmpfs(const QString &dir, int kb)
{
    if (::geteuid() != 0)
        return false;
    QProcess p;
    p.start(QStringLiteral("mount"), {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                                      QStringLiteral("size=%1k").arg(kb), QStringLiteral("tmpfs"), dir});
    return p.waitForFinished(10000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

void unmount(const QString &dir)
{
    QProcess p;
    p.start(QStringLiteral("umount"), {dir});
    p.waitForFinished(10000);
}

// Fills the file system of \a dir: writes until it is full.
void fill(const QString &dir)
{
    QFile f(dir + QStringLiteral("/fill"));
    if (!f.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return;
    const QByteArray block(4096, 'x');
    for (int i = 0; i < 1 << 20 && f.write(block) > 0; ++i) { }
}
} // namespace

void TestJournal::roundTripAndTornTail()
{
    const QString file = path(QStringLiteral("torn.tfj"));
    {
        JournalWriter w;
        QString error;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeJob(QStringLiteral("k1"), spec(10));
        w.writeResults(QStringLiteral("k1"), {record(0), record(1), record(2)});
        w.writeResults(QStringLiteral("k1"), {record(3), record(4)});
    }
    QString error, warning;
    auto jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QCOMPARE(jobs->size(), 1);
    QCOMPARE(jobs->first().spec.inputs.size(), 10);
    QCOMPARE(jobs->first().results.size(), 5);
    QCOMPARE(jobs->first().results.value(4).output.toInteger(), 40);
    QVERIFY(warning.isEmpty());
    QVERIFY(!jobs->first().ended);

    // A writer killed in the middle of its last write leaves a torn record: it is skipped.
    QFile f(file);
    QVERIFY(f.resize(f.size() - 5));
    warning.clear();
    jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QCOMPARE(jobs->first().results.size(), 3);
    QVERIFY2(warning.contains(QStringLiteral("torn")), qPrintable(warning));

    // A resumed run appends after the torn record, and what it appends is read back: results and the end.
    {
        JournalWriter w;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeResults(QStringLiteral("k1"), {record(7)});
        w.writeEnd(QStringLiteral("k1"));
        QVERIFY(!w.hasFailed());
    }
    warning.clear();
    jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QVERIFY2(warning.isEmpty(), qPrintable(warning));
    QCOMPARE(jobs->first().results.size(), 4);
    QCOMPARE(jobs->first().results.value(7).output.toInteger(), 70);
    QVERIFY(jobs->first().ended);
}

// A journal of a format this build does not know (a later Taskfleet's) is neither read nor appended to.
void TestJournal::unknownFormatsAreRefused()
{
    QString error;
    const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY2(echo, qPrintable(error));
    QCborMap spec = legacySpec(*echo);
    spec.insert(QStringLiteral("inputs"), QCborArray {0, 10});
    for (int version : {4, 99}) {
        // Records a format-2 reader would take: only the header's format refuses them.
        const QString file = path(QStringLiteral("v%1.tfj").arg(version));
        const QByteArray bytes
            = legacyHeader(version)
              + legacyRecord(QStringLiteral("job"), QStringLiteral("k"), QCborMap {{QStringLiteral("spec"), spec}});
        QVERIFY(writeBytes(file, bytes));
        QVERIFY(!JournalReader::read(file, &error));
        const QString magic = QStringLiteral("taskfleet-journal/%1").arg(version);
        QVERIFY2(error.contains(magic) && error.contains(QStringLiteral("cannot read")), qPrintable(error));
        error.clear();
        JournalWriter w;
        QVERIFY(!w.open(file, &error));
        QVERIFY2(error.contains(magic), qPrintable(error));
        QCOMPARE(readBytes(file), bytes);
    }
}

// A journal taskfleet-run wrote in format 2 (tests/data/journals: left by a run of resources/jobs/echo-range.json
// on 2026-12-07, before format 3) reads as that job, and a resume appends to it in its format.
void TestJournal::readsAGenuineFormatTwoJournal()
{
    const QString file = path(QStringLiteral("genuine-v2.tfj"));
    QVERIFY(QFile::copy(test::sourceDir() + QStringLiteral("/tests/data/journals/format2-echo-range.tfj"), file));
    QVERIFY(QFile::setPermissions(file, QFile::ReadOwner | QFile::WriteOwner));
    QString error, warning;
    auto jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QVERIFY2(warning.isEmpty(), qPrintable(warning));
    QCOMPARE(jobs->size(), 1);
    const JournaledJob &job = jobs->first();
    QCOMPARE(job.key, QStringLiteral("e38b9a3c-5eaf-4c9d-ba63-5e779b9fbbe5"));
    QCOMPARE(job.spec.name, QStringLiteral("echo-range"));
    QCOMPARE(job.spec.plugin.name, QStringLiteral("echo"));
    QVERIFY(job.spec.inputs.isRange());
    QCOMPARE(job.spec.inputs.size(), 10000);
    QCOMPARE(job.spec.inputs.rangeStart(), 0);
    QCOMPARE(job.spec.inputs.rangeStep(), 1);
    QCOMPARE(job.spec.inputs.at(9999).toInteger(), 9999);
    QVERIFY(job.spec.sourceFile.endsWith(QStringLiteral("/resources/jobs/echo-range.json")));
    QCOMPARE(job.doneCount, 0);
    QVERIFY(!job.ended);

    {
        JournalWriter w;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeResults(job.key, {record(3), record(9999)});
        w.writeEnd(job.key);
        QVERIFY(!w.hasFailed());
    }
    QVERIFY(!readBytes(file).contains("\xFETFJ")); // still format 2: no format-3 record markers
    jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QVERIFY2(warning.isEmpty(), qPrintable(warning));
    QCOMPARE(jobs->first().doneCount, 2);
    QCOMPARE(jobs->first().results.value(9999).output.toInteger(), 99990);
    QVERIFY(jobs->first().ended);
}

// A job of 200,000 inputs is journaled as one "job" record and "in" records of 65,536 values, never as one
// record of them all; read back whole. Cut in the middle of its inputs, the job is left out, with a warning.
void TestJournal::manyInputsTravelInSeveralRecords()
{
    const QString file = path(QStringLiteral("many.tfj"));
    const int n = 200000;
    {
        JournalWriter w;
        QString error;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeJob(QStringLiteral("small"), spec(3));
        w.writeJob(QStringLiteral("many"), spec(n));
        w.writeResults(QStringLiteral("many"), {record(0), record(n - 1)});
    }
    QString error, warning;
    auto jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QVERIFY2(warning.isEmpty(), qPrintable(warning));
    QCOMPARE(jobs->size(), 2);
    const JournaledJob &many = jobs->at(1);
    QCOMPARE(many.spec.inputs.size(), n);
    for (int i : {0, 65535, 65536, 131072, n - 1})
        QCOMPARE(many.spec.inputs.at(i).toInteger(), qint64(i) * 10);
    QCOMPARE(many.results.size(), 2);
    QVERIFY(many.results.contains(n - 1)); // the last index is in range only with every input read

    // The records: the job's first 65,536 inputs, then two "in" records; cut inside the second.
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray all = f.readAll();
    f.close();
    const qsizetype secondIn = all.indexOf("from", all.indexOf("from") + 4);
    QVERIFY(secondIn > 0);
    const QString cut = path(QStringLiteral("cut.tfj"));
    QFile c(cut);
    QVERIFY(c.open(QIODevice::WriteOnly));
    c.write(all.left(secondIn + 100));
    c.close();
    warning.clear();
    jobs = JournalReader::read(cut, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QCOMPARE(jobs->size(), 1); // only the small job: a shorter "many" would resume as a smaller job
    QCOMPARE(jobs->first().key, QStringLiteral("small"));
    QVERIFY2(warning.contains(QStringLiteral("not all journaled")), qPrintable(warning));
}

void TestJournal::notAJournal()
{
    QFile f(path(QStringLiteral("x.tfj")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"plugin\": \"echo\"}");
    f.close();
    QString error;
    QVERIFY(!JournalReader::read(f.fileName(), &error));
    QVERIFY2(error.contains(QStringLiteral("not a Taskfleet journal")), qPrintable(error));
    QVERIFY(!JournalReader::read(path(QStringLiteral("absent.tfj")), &error));
}

// Format 3: the header in the older framing (so their readers read it and refuse the journal by its magic),
// then records of marker, length, kind, checksummed head, map and checksummed tail.
void TestJournal::formatThreeRecords()
{
    const QString file = path(QStringLiteral("three.tfj"));
    {
        JournalWriter w;
        QString error;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeJob(QStringLiteral("k"), spec(3));
        w.writeResults(QStringLiteral("k"), {record(0)});
        w.writeEnd(QStringLiteral("k"));
        QVERIFY(!w.hasFailed());
    }
    const QByteArray bytes = readBytes(file);
    protocol::FrameDecoder old;
    old.append(bytes);
    QCborMap header;
    QCOMPARE(old.next(&header), protocol::FrameDecoder::Status::Frame);
    QCOMPARE(header.value(QStringLiteral("magic")).toString(), QStringLiteral("taskfleet-journal/3"));
    const QVector<Rec> recs = records(bytes);
    QCOMPARE(recs.size(), 4);
    QCOMPARE(recs.at(1).kind, 'J');
    QCOMPARE(recs.at(2).kind, 'R');
    QCOMPARE(recs.at(3).kind, 'E');
    QCOMPARE(recs.last().at + recs.last().size, bytes.size());
}

// Journals of the formats before checksums (1: before ranges and "in" records; 2: before checksums) still
// resume; a job record there with no inputs is an error, not a job of none.
void TestJournal::readsFormatsOneAndTwo()
{
    QString error;
    const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY2(echo, qPrintable(error));
    for (int version : {1, 2}) {
        QCborMap spec = legacySpec(*echo);
        spec.insert(QStringLiteral("inputs"), QCborArray {0, 10, 20, 30, 40});
        const QByteArray bytes
            = legacyHeader(version)
              + legacyRecord(QStringLiteral("job"), QStringLiteral("k"), QCborMap {{QStringLiteral("spec"), spec}})
              + legacyRecord(QStringLiteral("res"), QStringLiteral("k"),
                             QCborValue::fromCbor(resultRows({0, 4}, 10)).toMap());
        const QString file = path(QStringLiteral("v%1.tfj").arg(version));
        QVERIFY(writeBytes(file, bytes));
        QString warning;
        const auto jobs = JournalReader::read(file, &error, &warning);
        QVERIFY2(jobs, qPrintable(error));
        QVERIFY2(warning.isEmpty(), qPrintable(warning));
        QCOMPARE(jobs->size(), 1);
        QCOMPARE(jobs->first().spec.inputs.size(), 5);
        QCOMPARE(jobs->first().results.size(), 2);
        QCOMPARE(jobs->first().doneCount, 2);
        QCOMPARE(jobs->first().results.value(4).output.toInteger(), 40);
    }
    // The issue's "0 of 0 tasks": a job record without inputs.
    const QByteArray noInputs = legacyHeader(2)
                                + legacyRecord(QStringLiteral("job"), QStringLiteral("k"),
                                               QCborMap {{QStringLiteral("spec"), legacySpec(*echo)}});
    QVERIFY(writeBytes(path(QStringLiteral("noinputs.tfj")), noInputs));
    QVERIFY(!JournalReader::read(path(QStringLiteral("noinputs.tfj")), &error));
    QVERIFY2(error.contains(QStringLiteral("record 2")) && error.contains(QStringLiteral("has no inputs")),
             qPrintable(error));
}

// A resume of a format-2 journal appends in format 2: old and new records read back together.
void TestJournal::appendsToAFormatTwoJournalInItsFormat()
{
    QString error;
    const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY(echo);
    QCborMap spec = legacySpec(*echo);
    spec.insert(QStringLiteral("range"), QCborArray {0, 1, 10});
    const QString file = path(QStringLiteral("append-v2.tfj"));
    QVERIFY(writeBytes(
        file, legacyHeader(2)
                  + legacyRecord(QStringLiteral("job"), QStringLiteral("k"), QCborMap {{QStringLiteral("spec"), spec}})
                  + legacyRecord(QStringLiteral("res"), QStringLiteral("k"),
                                 QCborValue::fromCbor(resultRows({0, 1})).toMap())));
    {
        JournalWriter w;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeResults(QStringLiteral("k"), {record(2), record(3)});
        w.writeEnd(QStringLiteral("k"));
        QVERIFY(!w.hasFailed());
    }
    QVERIFY(!readBytes(file).contains("\xFETFJ"));
    QString warning;
    const auto jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QVERIFY2(warning.isEmpty(), qPrintable(warning));
    QCOMPARE(jobs->first().results.size(), 4);
    QVERIFY(jobs->first().ended);

    // Not a journal: never appended to.
    QVERIFY(writeBytes(path(QStringLiteral("notes.txt")), "my notes\n"));
    JournalWriter w;
    QVERIFY(!w.open(path(QStringLiteral("notes.txt")), &error));
    QVERIFY2(error.contains(QStringLiteral("not a Taskfleet journal")), qPrintable(error));
    QCOMPARE(readBytes(path(QStringLiteral("notes.txt"))), QByteArray("my notes\n"));
}

// A writer killed inside a record leaves it torn; the next writer (a resume) cuts it off before appending, so
// nothing it writes follows a torn record.
void TestJournal::tornTailIsCutBeforeAppending()
{
    const QString file = path(QStringLiteral("torn-then-appended.tfj"));
    {
        JournalWriter w;
        QString error;
        QVERIFY(w.open(file, &error));
        w.writeJob(QStringLiteral("k"), spec(10));
        w.writeResults(QStringLiteral("k"), {record(0), record(1)});
        w.writeResults(QStringLiteral("k"), {record(2), record(3)});
    }
    QFile f(file);
    const qint64 whole = f.size();
    QVERIFY(f.resize(whole - 7));
    {
        JournalWriter w;
        QString error;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        QVERIFY(f.size() < whole - 7); // the torn record is gone
        w.writeResults(QStringLiteral("k"), {record(5)});
    }
    QString error, warning;
    const auto jobs = JournalReader::read(file, &error, &warning);
    QVERIFY2(jobs, qPrintable(error));
    QVERIFY2(warning.isEmpty(), qPrintable(warning));
    QCOMPARE(jobs->first().results.size(), 3);
    QVERIFY(jobs->first().results.contains(5));
}

// Inputs close a record at 16 MiB as well as at 65,536 values: 40 inputs of 1 MiB make three records, not
// one of 40 MiB, and read back whole.
void TestJournal::bigInputsSplitByBytes()
{
    const QString file = path(QStringLiteral("bytes.tfj"));
    JobSpec s = spec(0);
    for (int i = 0; i < 40; ++i)
        s.inputs.append(QString(1024 * 1024, QLatin1Char('a' + i % 26)));
    {
        JournalWriter w;
        QString error;
        QVERIFY(w.open(file, &error));
        w.writeJob(QStringLiteral("k"), s);
        QVERIFY(!w.hasFailed());
    }
    const QVector<Rec> recs = records(readBytes(file));
    QCOMPARE(recs.size(), 4);
    QCOMPARE(recs.at(2).kind, 'I');
    QString error;
    const auto jobs = JournalReader::read(file, &error);
    QVERIFY2(jobs, qPrintable(error));
    QCOMPARE(jobs->first().spec.inputs.size(), 40);
    QCOMPARE(jobs->first().spec.inputs.at(39).toString(), s.inputs.at(39).toString());
}

static QVector<QJsonObject> readLines(const QString &file)
{
    QFile f(file);
    f.open(QIODevice::ReadOnly);
    QVector<QJsonObject> out;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (!line.trimmed().isEmpty())
            out.append(QJsonDocument::fromJson(line).object());
    return out;
}

void TestJournal::killAndResume()
{
    const QString job = path(QStringLiteral("sleepy.json"));
    QFile jf(job);
    QVERIFY(jf.open(QIODevice::WriteOnly));
    jf.write(R"({"name": "sleepy", "plugin": "sleep", "inputs": {"range": [20, 220]}})");
    jf.close();
    const QString journal = path(QStringLiteral("run.tfj"));

    QProcess first;
    first.start(test::program(QStringLiteral("taskfleet-run")),
                {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--journal"), journal, QStringLiteral("-o"),
                 path(QStringLiteral("r1.jsonl")), job});
    QVERIFY(first.waitForStarted(10000));
    // Wait until a good part, but not all, of the job is journaled; then kill it without warning.
    QString error;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            const auto jobs = JournalReader::read(journal, &error);
            return jobs && !jobs->isEmpty() && jobs->first().results.size() >= 30;
        }(),
        30000);
    ::kill(pid_t(first.processId()), SIGKILL);
    QVERIFY(first.waitForFinished(10000));
    const auto before = JournalReader::read(journal, &error);
    QVERIFY(before);
    // The range is journaled as its three numbers and read back as the same inputs.
    QVERIFY(before->first().spec.inputs.isRange());
    QCOMPARE(before->first().spec.inputs.size(), 200);
    QCOMPARE(before->first().spec.inputs.at(0).toInteger(), 20);
    QCOMPARE(before->first().spec.inputs.at(199).toInteger(), 219);
    const int journaled = int(before->first().results.size());
    QVERIFY2(journaled >= 30 && journaled < 200, qPrintable(QString::number(journaled)));

    QProcess resume;
    const QString stats = path(QStringLiteral("stats.csv"));
    resume.start(test::program(QStringLiteral("taskfleet-run")),
                 {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--resume"), journal, QStringLiteral("-o"),
                  path(QStringLiteral("r2.jsonl")), QStringLiteral("--stats-csv"), stats});
    QVERIFY(resume.waitForFinished(60000));
    QCOMPARE(resume.exitCode(), 0);
    QVERIFY(resume.readAllStandardError().contains("already done"));

    const QVector<QJsonObject> results = readLines(path(QStringLiteral("r2.jsonl")));
    QCOMPARE(results.size(), 200);
    QSet<int> seen;
    for (const QJsonObject &o : results) {
        const int index = o.value(QStringLiteral("index")).toInt();
        QCOMPARE(o.value(QStringLiteral("input")).toInt(), 20 + index);
        QCOMPARE(o.value(QStringLiteral("output")).toInt(), 20 + index);
        seen.insert(index);
    }
    QCOMPARE(seen.size(), 200);

    // Only the missing tasks ran the second time.
    QFile csv(stats);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> rows = csv.readAll().trimmed().split('\n');
    QCOMPARE(rows.last().split(',').at(2).toInt(), 200 - journaled);

    // The journal now holds the whole job: resuming again runs nothing and still writes everything.
    QProcess again;
    again.start(test::program(QStringLiteral("taskfleet-run")),
                {QStringLiteral("--resume"), journal, QStringLiteral("-o"), path(QStringLiteral("r3.jsonl"))});
    QVERIFY(again.waitForFinished(30000));
    QCOMPARE(again.exitCode(), 0);
    QCOMPARE(readLines(path(QStringLiteral("r3.jsonl"))).size(), 200);
}

void TestJournal::resumeRefusesChangedPlugin()
{
    const QString plugin = path(QStringLiteral("libtaskfleet_echo_copy.so"));
    QVERIFY(QFile::copy(test::pluginPath(QStringLiteral("echo")), plugin));
    const QString journal = path(QStringLiteral("changed.tfj"));
    {
        QString error;
        auto info = exec::PluginRegistry::inspect(plugin, &error);
        QVERIFY2(info, qPrintable(error));
        JobSpec s = spec(5);
        s.plugin = *info;
        JournalWriter w;
        QVERIFY(w.open(journal, &error));
        w.writeJob(QStringLiteral("k"), s);
    }
    QFile f(plugin);
    QVERIFY(f.open(QIODevice::Append));
    f.write("tampered");
    f.close();
    QProcess p;
    p.start(test::program(QStringLiteral("taskfleet-run")), {QStringLiteral("--resume"), journal});
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitCode(), 2);
    QVERIFY2(p.readAllStandardError().contains("has changed since the job started"), "no message");
}

// QVERIFY in a helper that returns a value.
#define QVERIFY_RETURN(cond, value)                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            qWarning(#cond);                                                                                           \
            return value;                                                                                              \
        }                                                                                                              \
    } while (false)

const QByteArray &TestJournal::baseJournal()
{
    if (!m_base.isEmpty())
        return m_base;
    QByteArray list = "[0";
    for (int i = 1; i < 70000; ++i)
        list += ',' + QByteArray::number(i);
    list += ']';
    QVERIFY_RETURN(
        writeBytes(path(QStringLiteral("a.json")), R"({"name": "A", "plugin": "echo", "inputs": )" + list + "}"),
        m_base);
    QVERIFY_RETURN(writeBytes(path(QStringLiteral("b.json")),
                              R"({"name": "B", "plugin": "echo", "inputs": {"range": [0, 3000]}})"),
                   m_base);
    const QString journal = path(QStringLiteral("base.tfj"));
    const test::ProgramRun r = test::runProgram(QStringLiteral("taskfleet-run"),
                                                {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--journal"),
                                                 journal, QStringLiteral("-o"), path(QStringLiteral("base.jsonl")),
                                                 path(QStringLiteral("a.json")), path(QStringLiteral("b.json"))},
                                                60000 * test::timeScale());
    if (r.exitCode == 0)
        m_base = readBytes(journal);
    return m_base;
}

void TestJournal::damagedJournals_data()
{
    // A mutation of the base journal: "flip" (xor 0x20 at `at`), "cut" (keep `at` bytes), "zero" (`len` bytes
    // from `at`), "append" (garbage), "empty", "fifo", "folder", "device", "absent", "flip2" (at and len).
    QTest::addColumn<QString>("how");
    QTest::addColumn<qint64>("at");
    QTest::addColumn<qint64>("len");
    QTest::addColumn<int>("exitCode");         // 0: resumes exactly; 2: refused
    QTest::addColumn<QStringList>("messages"); // what stderr must say

    const QByteArray &base = baseJournal();
    QVERIFY2(!base.isEmpty(), "taskfleet-run did not write the base journal");
    const QVector<Rec> recs = records(base);
    QCOMPARE(recs.last().at + recs.last().size, base.size());
    // header, job A, A's inputs, job B, results..., ends
    QCOMPARE(recs.at(1).kind, 'J');
    QCOMPARE(recs.at(2).kind, 'I');
    QCOMPARE(recs.at(3).kind, 'J');
    QVector<int> res;
    QVector<int> ends;
    for (int i = 4; i < recs.size(); ++i)
        (recs.at(i).kind == 'R' ? res : ends).append(i);
    QVERIFY2(res.size() >= 6, qPrintable(QString::number(res.size())));
    QCOMPARE(ends.size(), 2);
    QCOMPARE(recs.last().kind, 'E');
    const auto mid = [&](int r) { return qint64(recs.at(r).at + recs.at(r).size / 2); };
    const auto head = [&](int r, int byte) { return qint64(recs.at(r).at + byte); };
    const auto tail = [&](int r) { return qint64(recs.at(r).at + recs.at(r).size - 2); };
    const auto num = [](int r) { return QStringLiteral("record %1").arg(r + 1); };
    // Messages are plain text or QStrings (record numbers).
    struct Msg {
        Msg(const char *text)
            : s(QString::fromUtf8(text))
        {
        }
        Msg(QString text)
            : s(std::move(text))
        {
        }
        QString s;
    };
    const auto row = [](const char *name, const char *how, qint64 at, qint64 len, int exitCode,
                        std::initializer_list<Msg> messages) {
        QStringList list;
        for (const Msg &m : messages)
            list.append(m.s);
        QTest::newRow(name) << QString::fromLatin1(how) << at << len << exitCode << list;
    };
    const int r1 = res.at(0), r3 = res.at(res.size() / 2), rl = res.last();

    row("empty", "empty", 0ll, 0ll, 2, {"is empty"});
    row("fifo", "fifo", 0ll, 0ll, 2, {"a FIFO"});
    row("folder", "folder", 0ll, 0ll, 2, {"a folder"});
    row("device", "device", 0ll, 0ll, 2, {"a device"});
    row("absent", "absent", 0ll, 0ll, 2, {"No such file"});
    row("cut inside the header", "cut", 20ll, 0ll, 2, {"not a Taskfleet journal"});
    row("header only", "cut", qint64(recs.at(1).at), 0ll, 2, {"holds no job"});
    row("flip in the header's magic", "flip", qint64(recs.at(1).at - 3), 0ll, 2, {});
    row("flip in the header's length", "flip", 3ll, 0ll, 2, {});
    row("cut inside job A", "cut", mid(1), 0ll, 2, {"torn", "holds no job"});
    row("cut inside A's inputs", "cut", mid(2), 0ll, 2, {"not all journaled", "holds no job"});
    row("flip in job A", "flip", mid(1), 0ll, 2, {num(1), "a job", "damaged"});
    row("flip in job A's tail", "flip", tail(1), 0ll, 2, {num(1), "damaged"});
    row("flip in A's inputs", "flip", mid(2), 0ll, 2, {num(2), "inputs", "damaged"});
    row("flip in job B", "flip", mid(3), 0ll, 2, {num(3), "damaged"});
    row("flip in job A's head", "flip", head(1, 5), 0ll, 0, {"damaged head"});
    row("flip in the marker of A's inputs", "flip", head(2, 1), 0ll, 0, {"damaged head"});
    row("flip in job B's head checksum", "flip", head(3, 13), 0ll, 0, {"damaged head"});
    row("cut after the jobs", "cut", qint64(recs.at(4).at), 0ll, 0, {});
    row("cut inside the first results", "cut", mid(r1), 0ll, 0, {"torn"});
    row("cut inside middle results", "cut", mid(r3), 0ll, 0, {"torn"});
    row("cut between results", "cut", qint64(recs.at(r3).at), 0ll, 0, {});
    row("cut inside the last end", "cut", mid(recs.size() - 1), 0ll, 0, {"torn"});
    row("flip in the first results", "flip", mid(r1), 0ll, 0, {"skipped 1 damaged record", num(r1)});
    row("flip in middle results", "flip", mid(r3), 0ll, 0, {"skipped 1 damaged record", num(r3)});
    row("flip in the last results", "flip", mid(rl), 0ll, 0, {"skipped 1 damaged record"});
    row("flip in a results tail", "flip", tail(r3), 0ll, 0, {"skipped 1 damaged record"});
    row("flip in a results kind", "flip", head(r3, 8), 0ll, 0, {"damaged head"});
    row("flip in a results length", "flip", head(r1, 6), 0ll, 0, {"damaged head"});
    row("flips in two results", "flip2", mid(r1), mid(rl) - mid(r1), 0, {"skipped 2 damaged record"});
    row("zeros across two results", "zero", tail(r3) - 40, 80ll, 0, {"skipped"});
    row("flip in an end", "flip", mid(ends.first()), 0ll, 0, {"skipped 1 damaged record"});
    row("flip in the last end's head", "flip", head(recs.size() - 1, 2), 0ll, 0, {"damaged head"});
    row("garbage appended", "append", 0ll, 0ll, 0, {"torn"});
}

// Each damaged journal either resumes exactly (every index of both jobs once, output = input) or is refused
// with exit code 2 and a message naming the file (and the record), within a second.
void TestJournal::damagedJournals()
{
    QFETCH(QString, how);
    QFETCH(qint64, at);
    QFETCH(qint64, len);
    QFETCH(int, exitCode);
    QFETCH(QStringList, messages);
    static int n = 0;
    const QString journal = path(QStringLiteral("damaged-%1.tfj").arg(++n));
    QByteArray bytes = baseJournal();
    if (how == QLatin1String("flip")) {
        bytes[at] = char(bytes.at(at) ^ 0x20);
    } else if (how == QLatin1String("flip2")) {
        bytes[at] = char(bytes.at(at) ^ 0x20);
        bytes[at + len] = char(bytes.at(at + len) ^ 0x20);
    } else if (how == QLatin1String("zero")) {
        bytes.replace(at, len, QByteArray(len, '\0'));
    } else if (how == QLatin1String("cut")) {
        bytes.truncate(at);
    } else if (how == QLatin1String("append")) {
        bytes += QByteArray("\xFETF garbage that is no record at all, and no head either");
    } else if (how == QLatin1String("empty")) {
        bytes.clear();
    }
    QString target = journal;
    if (how == QLatin1String("fifo"))
        QVERIFY(::mkfifo(QFile::encodeName(journal).constData(), 0600) == 0);
    else if (how == QLatin1String("folder"))
        QVERIFY(QDir().mkpath(journal));
    else if (how == QLatin1String("device"))
        target = QStringLiteral("/dev/null");
    else if (how != QLatin1String("absent"))
        QVERIFY(writeBytes(journal, bytes));

    const QString out = path(QStringLiteral("damaged-%1.jsonl").arg(n));
    QElapsedTimer clock;
    clock.start();
    const test::ProgramRun r = test::runProgram(
        QStringLiteral("taskfleet-run"),
        {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--resume"), target, QStringLiteral("-o"), out},
        30000 * test::timeScale());
    const qint64 ms = clock.elapsed();
    const QString err = QString::fromUtf8(r.err);
    QVERIFY2(
        r.exitCode == exitCode,
        qPrintable(QStringLiteral("exit code %1, not %2 (%3 ms): %4").arg(r.exitCode).arg(exitCode).arg(ms).arg(err)));
    for (const QString &m : messages)
        QVERIFY2(err.contains(m), qPrintable(QStringLiteral("no \"%1\" in: %2").arg(m, err)));
    if (exitCode != 0) {
        QVERIFY2(err.contains(target), qPrintable(err));
        QVERIFY2(!err.contains(QStringLiteral("after a crash")), qPrintable(err)); // never offered for a resume
        QVERIFY2(ms <= 1000 * test::timeScale(), qPrintable(QStringLiteral("%1 ms").arg(ms)));
        return;
    }
    const Lines lines = readResultLines(out);
    QCOMPARE(lines.duplicates, 0);
    QCOMPARE(lines.total, 73000);
    const QHash<int, QJsonObject> a = lines.byJob.value(QStringLiteral("A"));
    const QHash<int, QJsonObject> b = lines.byJob.value(QStringLiteral("B"));
    QCOMPARE(a.size(), 70000);
    QCOMPARE(b.size(), 3000);
    for (const auto *job : {&a, &b})
        for (auto it = job->cbegin(); it != job->cend(); ++it) {
            const QJsonObject &o = it.value();
            if (o.value(QStringLiteral("input")).toInt(-1) != it.key()
                || o.value(QStringLiteral("output")).toInt(-2) != it.key())
                QFAIL(QByteArray("wrong line: " + QJsonDocument(o).toJson(QJsonDocument::Compact)).constData());
        }
}

// A range job whose journal holds results with holes in them and a long untouched tail: the resume runs the
// holes and the tail (as a range of its own) and nothing else; every index is written once, in order with -k.
void TestJournal::rangeResumeRunsOnlyTheMissing()
{
    QString error;
    const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
    QVERIFY2(echo, qPrintable(error));
    JobSpec s;
    s.name = QStringLiteral("r");
    s.plugin = *echo;
    s.inputs = JobInputs::range(1000, 3, 20000); // 1000, 1003, ...
    const QString journal = path(QStringLiteral("holes.tfj"));
    QSet<int> done;
    {
        JournalWriter w;
        QVERIFY(w.open(journal, &error));
        w.writeJob(QStringLiteral("k"), s);
        QVector<TaskRecord> batch;
        const auto add = [&](int i) {
            TaskRecord r;
            r.index = i;
            r.output = s.inputs.at(i);
            r.nodeName = QStringLiteral("before");
            r.attempts = 1;
            batch.append(r);
            done.insert(i);
        };
        for (int i = 0; i < 5000; ++i)
            if (i != 17 && i != 300 && i != 4999)
                add(i);
        for (int i = 9000; i < 9100; ++i) // then a run of 4000 missing (scattered), and a tail of 10,900
            add(i);
        w.writeResults(QStringLiteral("k"), batch);
        QVERIFY(!w.hasFailed());
    }
    for (const bool keepOrder : {false, true}) {
        const QString copy = path(QStringLiteral("holes-%1.tfj").arg(keepOrder));
        QVERIFY(QFile::copy(journal, copy));
        const QString out = path(QStringLiteral("holes-%1.jsonl").arg(keepOrder));
        const QString stats = path(QStringLiteral("holes-%1.csv").arg(keepOrder));
        QStringList args {QStringLiteral("-n"),          QStringLiteral("2"),
                          QStringLiteral("--resume"),    copy,
                          QStringLiteral("-o"),          out,
                          QStringLiteral("--stats-csv"), stats};
        if (keepOrder)
            args << QStringLiteral("-k");
        const test::ProgramRun r = test::runProgram(QStringLiteral("taskfleet-run"), args, 60000 * test::timeScale());
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.err.contains("5097 of 20000 tasks already done"), r.err.constData());
        // One summary line for the job, however many pieces it ran in.
        QCOMPARE(QString::fromUtf8(r.err).count(
                     QRegularExpression(QStringLiteral("^job \"r\": "), QRegularExpression::MultilineOption)),
                 1);
        QVERIFY2(r.err.contains("job \"r\": 14903 tasks, 14903 ok"), r.err.constData());
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> all = f.readAll().trimmed().split('\n');
        QCOMPARE(all.size(), 20000);
        QSet<int> seen;
        int previous = -1;
        for (const QByteArray &line : all) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            const int index = o.value(QStringLiteral("index")).toInt(-1);
            QVERIFY(index >= 0 && index < 20000);
            QCOMPARE(o.value(QStringLiteral("input")).toInteger(), 1000 + 3 * index);
            QCOMPARE(o.value(QStringLiteral("output")).toInteger(), 1000 + 3 * index);
            QCOMPARE(o.value(QStringLiteral("node")).toString() == QLatin1String("before"), done.contains(index));
            if (keepOrder)
                QCOMPARE(index, previous + 1);
            previous = index;
            seen.insert(index);
        }
        QCOMPARE(seen.size(), 20000);
        QFile csv(stats);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(csv.readAll().trimmed().split('\n').last().split(',').at(2).toInt(), 20000 - int(done.size()));
        // The journal now holds the whole job, ended.
        const auto jobs = JournalReader::scan(copy, {}, &error);
        QVERIFY2(jobs, qPrintable(error));
        QCOMPARE(jobs->first().doneCount, 20000);
        QVERIFY(jobs->first().ended);
    }
}

// A 5-million-task range job killed half-way resumes in about the memory of a fresh run: the journal's results
// are not held (one bit per task), and the missing tasks stay a range. Before: 1.3 GB against 23 MB.
void TestJournal::resumeOfARangeStaysLazy()
{
    const qint64 n = test::sanitized() ? 500000 : 5000000;
    const QString job = path(QStringLiteral("lazy.json"));
    QVERIFY(writeBytes(
        job, QStringLiteral(R"({"name": "lazy", "plugin": "echo", "inputs": {"range": [0, %1]}})").arg(n).toUtf8()));
    const QString journal = path(QStringLiteral("lazy.tfj"));
    QProcess first;
    first.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    first.start(test::program(QStringLiteral("taskfleet-run")),
                {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--journal"), journal, QStringLiteral("-o"),
                 QStringLiteral("/dev/null"), job});
    QVERIFY(first.waitForStarted(10000));
    // About 17 bytes of journal per result: kill at about 45 %.
    const qint64 killAt = n * 17 * 45 / 100;
    QElapsedTimer clock;
    clock.start();
    qint64 freshKb = 0;
    while (QFileInfo(journal).size() < killAt && first.state() == QProcess::Running
           && clock.elapsed() < 120000 * test::timeScale()) {
        freshKb = std::max(freshKb, peakRssKb(first.processId()));
        QThread::msleep(20);
    }
    QVERIFY2(first.state() == QProcess::Running, "the first run ended before it was killed");
    freshKb = std::max(freshKb, peakRssKb(first.processId()));
    ::kill(pid_t(first.processId()), SIGKILL);
    QVERIFY(first.waitForFinished(10000));

    QProcess resume;
    resume.start(test::program(QStringLiteral("taskfleet-run")),
                 {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--resume"), journal, QStringLiteral("-o"),
                  QStringLiteral("/dev/null")});
    QVERIFY(resume.waitForStarted(10000));
    qint64 resumeKb = 0;
    clock.restart();
    while (!resume.waitForFinished(20) && clock.elapsed() < 180000 * test::timeScale())
        resumeKb = std::max(resumeKb, peakRssKb(resume.processId()));
    QCOMPARE(resume.state(), QProcess::NotRunning);
    const QByteArray err = resume.readAllStandardError();
    QVERIFY2(resume.exitCode() == 0, err.constData());
    QVERIFY2(err.contains("already done"), err.constData());
    qInfo("%lld tasks: the first run peaked at %.1f MB when killed, the resume at %.1f MB", qlonglong(n),
          double(freshKb) / 1024.0, double(resumeKb) / 1024.0);
    QVERIFY(freshKb > 0 && resumeKb > 0);
    if (test::sanitized())
        return; // the sanitizer's allocator keeps freed memory: the bound means nothing there
    QVERIFY2(resumeKb <= 3 * freshKb,
             qPrintable(QStringLiteral("resume %1 kB, fresh run %2 kB").arg(resumeKb).arg(freshKb)));
}

// Results that cannot be written (/dev/full: a full disk, for a file or for standard output) are said with the
// path and the reason, and the exit code is 1.
void TestJournal::resultsOnAFullDevice()
{
    const QString job = path(QStringLiteral("small.json"));
    QVERIFY(writeBytes(job, R"({"name": "small", "plugin": "echo", "inputs": {"range": [0, 300]}})"));
    test::ProgramRun r = test::runProgram(QStringLiteral("taskfleet-run"),
                                          {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--no-journal"),
                                           QStringLiteral("-o"), QStringLiteral("/dev/full"), job});
    QVERIFY2(r.exitCode == 1,
             qPrintable(QStringLiteral("exit code %1: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err))));
    QVERIFY2(r.err.contains("taskfleet-run: cannot write results to /dev/full: No space left on device"),
             r.err.constData());

    QProcess p;
    p.setStandardOutputFile(QStringLiteral("/dev/full"));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_STATE_HOME"), path(QStringLiteral("state")));
    p.setProcessEnvironment(env);
    p.start(test::program(QStringLiteral("taskfleet-run")), {QStringLiteral("-n"), QStringLiteral("2"), job});
    QVERIFY(p.waitForFinished(30000 * test::timeScale()));
    const QByteArray err = p.readAllStandardError();
    QCOMPARE(p.exitCode(), 1);
    QVERIFY2(err.contains("cannot write results to standard output: No space left on device"), err.constData());
    // The default journal is then the only copy of the results: kept, and named.
    QVERIFY2(err.contains("the journal") && err.contains("--resume"), err.constData());
}

// A journal that is a FIFO, a device or a folder is refused at once, never opened and waited on.
void TestJournal::unwritableJournalIsRefused()
{
    const QString job = path(QStringLiteral("small.json"));
    QVERIFY(writeBytes(job, R"({"name": "small", "plugin": "echo", "inputs": {"range": [0, 300]}})"));
    const QString fifo = path(QStringLiteral("journal.fifo"));
    QVERIFY(::mkfifo(QFile::encodeName(fifo).constData(), 0600) == 0);
    for (const QString &journal : {fifo, QStringLiteral("/dev/full"), m_dir.path()}) {
        QElapsedTimer clock;
        clock.start();
        const test::ProgramRun r = test::runProgram(
            QStringLiteral("taskfleet-run"),
            {QStringLiteral("--journal"), journal, QStringLiteral("-o"), path(QStringLiteral("x.jsonl")), job},
            10000 * test::timeScale());
        QVERIFY2(r.exitCode == 2, r.err.constData());
        QVERIFY2(r.err.contains(QFile::encodeName(journal)) && r.err.contains("not a regular file"), r.err.constData());
        QVERIFY(!r.err.contains("after a crash"));
        QVERIFY(clock.elapsed() < 1000 * test::timeScale());
    }
}

// Full disks (a small tmpfs; root only): a journal whose header cannot be written is refused, not offered; one
// that fills up during the run is said once and the run ends with 1, the results whole; results and statistics
// that cannot be written are said with the path and the reason.
void TestJournal::fullDisk()
{
    const QString mnt = path(QStringLiteral("tmpfs"));
    QVERIFY(QDir().mkpath(mnt));
    if (!mountTmpfs(mnt, 64))
        TF_SKIP_OR_FAIL("needs root to mount a small tmpfs");
    struct Unmount {
        QString dir;
        ~Unmount() { unmount(dir); }
    } unmountAtEnd {mnt};
    const QString job = path(QStringLiteral("small.json"));
    QVERIFY(writeBytes(job, R"({"name": "small", "plugin": "echo", "inputs": {"range": [0, 300]}})"));
    fill(mnt);

    // --journal on a full disk: exit 2, the path and the reason, no file left, no resume offered.
    const QString journal = mnt + QStringLiteral("/j.tfj");
    test::ProgramRun r
        = test::runProgram(QStringLiteral("taskfleet-run"), {QStringLiteral("--journal"), journal, QStringLiteral("-o"),
                                                             path(QStringLiteral("full1.jsonl")), job});
    QVERIFY2(r.exitCode == 2, r.err.constData());
    QVERIFY2(r.err.contains(QStringLiteral("cannot write journal %1: No space left on device").arg(journal).toUtf8()),
             r.err.constData());
    QVERIFY2(!r.err.contains("--resume"), r.err.constData());
    QVERIFY(!QFile::exists(journal));

    // --no-journal -o on a full disk: exit 1 with the path and the reason.
    const QString results = mnt + QStringLiteral("/r.jsonl");
    r = test::runProgram(QStringLiteral("taskfleet-run"),
                         {QStringLiteral("--no-journal"), QStringLiteral("-o"), results, job});
    QVERIFY2(r.exitCode == 1, r.err.constData());
    QVERIFY2(
        r.err.contains(QStringLiteral("cannot write results to %1: No space left on device").arg(results).toUtf8()),
        r.err.constData());

    // --stats-csv on a full disk.
    const QString stats = mnt + QStringLiteral("/s.csv");
    r = test::runProgram(QStringLiteral("taskfleet-run"),
                         {QStringLiteral("--no-journal"), QStringLiteral("-o"), QStringLiteral("/dev/null"),
                          QStringLiteral("--stats-csv"), stats, job});
    QVERIFY2(r.exitCode == 1, r.err.constData());
    QVERIFY2(r.err.contains(QStringLiteral("cannot write %1: No space left on device").arg(stats).toUtf8()),
             r.err.constData());

    // A journal that fills up during the run: said once, the run goes on (every result written), exit 1.
    QVERIFY(QFile::remove(mnt + QStringLiteral("/fill")));
    const QString bigJob = path(QStringLiteral("fills.json"));
    QVERIFY(writeBytes(bigJob, R"({"name": "fills", "plugin": "echo", "inputs": {"range": [0, 20000]}})"));
    const QString out = path(QStringLiteral("fills.jsonl"));
    r = test::runProgram(QStringLiteral("taskfleet-run"),
                         {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("--journal"), journal,
                          QStringLiteral("-o"), out, bigJob},
                         60000 * test::timeScale());
    QVERIFY2(r.exitCode == 1, r.err.constData());
    QCOMPARE(r.err.count("cannot write journal"), 1);
    QVERIFY2(r.err.contains(QStringLiteral("cannot write journal %1: No space left on device; the run goes on without "
                                           "a journal and cannot be resumed from %1")
                                .arg(journal)
                                .toUtf8()),
             r.err.constData());
    QCOMPARE(readResultLines(out).total, 20000);
}

QTEST_GUILESS_MAIN(TestJournal)
#include "tst_journal.moc"
