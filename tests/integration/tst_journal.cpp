// SPDX-License-Identifier: MIT
// Durable jobs: the journal survives a torn last record, and taskfleet-run killed with SIGKILL
// resumes with only the missing tasks while its results hold every index exactly once.
#include "sched/journal.h"
#include "testsupport.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <csignal>

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
    void readsVersionOneJournals();
    void killAndResume();
    void resumeRefusesChangedPlugin();

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
    QTemporaryDir m_dir;
};

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

    // Appending after the torn record (a resumed run) keeps working: the reader stops at the tear
    // only if the new data cannot be framed, so a resume always writes to a fresh journal position.
    QVERIFY(f.open(QIODevice::Append));
    f.write("garbage that is not a frame");
    f.close();
    jobs = JournalReader::read(file, &error, &warning);
    QVERIFY(jobs);
    QCOMPARE(jobs->first().results.size(), 3);
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

// Journals of the version before ranges and "in" records (magic taskfleet-journal/1) still resume.
void TestJournal::readsVersionOneJournals()
{
    const QString file = path(QStringLiteral("v1.tfj"));
    {
        JournalWriter w;
        QString error;
        QVERIFY2(w.open(file, &error), qPrintable(error));
        w.writeJob(QStringLiteral("k"), spec(5)); // a small list: a /1 journal wrote it the same way
        w.writeResults(QStringLiteral("k"), {record(0), record(4)});
    }
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QByteArray bytes = f.readAll();
    f.close();
    const qsizetype at = bytes.indexOf("taskfleet-journal/2");
    QVERIFY(at > 0);
    bytes[at + qsizetype(qstrlen("taskfleet-journal/"))] = '1';
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
    f.close();
    QString error;
    const auto jobs = JournalReader::read(file, &error);
    QVERIFY2(jobs, qPrintable(error));
    QCOMPARE(jobs->size(), 1);
    QCOMPARE(jobs->first().spec.inputs.size(), 5);
    QCOMPARE(jobs->first().results.size(), 2);
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

QTEST_GUILESS_MAIN(TestJournal)
#include "tst_journal.moc"
