// SPDX-License-Identifier: MIT
// Job files: every documented form parses, and every bad form is refused naming file, field and expectation.
#include "sched/jobfile.h"
#include "testsupport.h"

#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <limits>

#include <sys/stat.h>

using namespace taskfleet;
using namespace taskfleet::sched;

static QStringList words(std::initializer_list<const char *> list)
{
    QStringList out;
    for (const char *w : list)
        out << QString::fromUtf8(w);
    return out;
}

class TestJobFile : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void arrayInputs();
    void rangeInputs_data();
    void rangeInputs();
    void linesInputs();
    void options();
    void pluginByPath();
    void unknownPluginNamesThoseThatExist();
    void rejects_data();
    void rejects();
    void missingFile();
    void exactIntegersAndUnicode();
    void duplicateKeys_data();
    void duplicateKeys();
    void sameKeyInDifferentObjects();
    void nanAndInfinityRefused_data();
    void nanAndInfinityRefused();
    void pluginPathIsADeviceOrFifo();
    void shippedExamplesParse();

private:
    std::optional<JobSpec> parse(const QByteArray &json, QString *error)
    {
        return parseJobJson(json, QStringLiteral("job.json"), m_dir.path(), m_registry, error);
    }

    QTemporaryDir m_dir;
    exec::PluginRegistry m_registry {QStringList {test::pluginDir()}};
};

void TestJobFile::initTestCase()
{
    QVERIFY(m_dir.isValid());
}

void TestJobFile::arrayInputs()
{
    QString error;
    const auto spec = parse(R"({"plugin": "echo", "inputs": [1, "two", {"three": 3}, [4], null, 2.5]})", &error);
    QVERIFY2(spec, qPrintable(error));
    QCOMPARE(spec->inputs.size(), 6);
    QCOMPARE(spec->inputs.at(0), QCborValue(1));
    QCOMPARE(spec->inputs.at(1), QCborValue(QStringLiteral("two")));
    QVERIFY(spec->inputs.at(2).isMap());
    QVERIFY(spec->inputs.at(4).isNull());
    QCOMPARE(spec->plugin.name, QStringLiteral("echo"));
    QCOMPARE(spec->plugin.sha256.size(), 64);
    QCOMPARE(spec->retries, 2);
    QCOMPARE(spec->timeoutMs, 0);
    QCOMPARE(spec->name, QStringLiteral("job"));
}

void TestJobFile::rangeInputs_data()
{
    QTest::addColumn<QByteArray>("range");
    QTest::addColumn<QVector<qint64>>("expected");
    QTest::newRow("start stop") << QByteArray("[0, 4]") << QVector<qint64> {0, 1, 2, 3};
    QTest::newRow("step") << QByteArray("[100000, 100800, 100]")
                          << QVector<qint64> {100000, 100100, 100200, 100300, 100400, 100500, 100600, 100700};
    QTest::newRow("uneven step") << QByteArray("[0, 10, 3]") << QVector<qint64> {0, 3, 6, 9};
    QTest::newRow("negative step") << QByteArray("[5, 0, -2]") << QVector<qint64> {5, 3, 1};
    QTest::newRow("empty") << QByteArray("[5, 5]") << QVector<qint64> {};
    QTest::newRow("backwards is empty") << QByteArray("[5, 0]") << QVector<qint64> {};
    // 64-bit bounds are exact (JSON numbers through a double would round 10^18 + 1 to 10^18).
    QTest::newRow("64-bit bounds") << QByteArray("[1000000000000000001, 1000000000000000004]")
                                   << QVector<qint64> {1000000000000000001LL, 1000000000000000002LL,
                                                       1000000000000000003LL};
    QTest::newRow("int64 extremes") << QByteArray("[9223372036854775806, 9223372036854775807]")
                                    << QVector<qint64> {9223372036854775806LL};
    QTest::newRow("whole int64 span") << QByteArray("[-9223372036854775808, 9223372036854775807, 4611686018427387904]")
                                      << QVector<qint64> {std::numeric_limits<qint64>::min(), -4611686018427387904LL, 0,
                                                          4611686018427387904LL};
}

void TestJobFile::rangeInputs()
{
    QFETCH(QByteArray, range);
    QFETCH(QVector<qint64>, expected);
    QString error;
    const auto spec = parse(R"({"plugin": "echo", "inputs": {"range": )" + range + "}}", &error);
    QVERIFY2(spec, qPrintable(error));
    // A range stays three numbers; each value is made when asked for, exactly (no 64-bit overflow).
    QVERIFY(spec->inputs.isRange());
    QCOMPARE(spec->inputs.size(), expected.size());
    QVector<qint64> got;
    for (qsizetype i = 0; i < spec->inputs.size(); ++i)
        got.append(spec->inputs.at(i).toInteger());
    QCOMPARE(got, expected);
    QVERIFY(spec->inputs.value(expected.size()).isUndefined());
    // The same values as a list compare equal to the range, and a slice of the range to the slice of the list.
    const QVector<QCborValue> list = spec->inputs.toList();
    QCOMPARE(list.size(), expected.size());
    QVERIFY(spec->inputs == sched::JobInputs(list));
    QVERIFY(spec->inputs.mid(1) == sched::JobInputs(list.mid(1)));
    QVERIFY(spec->inputs.mid(1).isRange());
    // Appending makes it a list of the same values plus the new one.
    sched::JobInputs grown = spec->inputs;
    grown.append(QCborValue(7));
    QVERIFY(!grown.isRange());
    QCOMPARE(grown.size(), expected.size() + 1);
    QCOMPARE(grown.at(expected.size()).toInteger(), 7);
}

void TestJobFile::linesInputs()
{
    QFile f(m_dir.filePath(QStringLiteral("inputs.txt")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    // Blank and white-space-only lines are skipped; CRLF line ends and surrounding blanks are trimmed.
    f.write("100000\n\nhello world\r\n  \t \n\"quoted\"\n{\"samples\": 5}\n007");
    f.close();
    QString error;
    const auto spec = parse(R"({"plugin": "echo", "inputs": {"lines": "inputs.txt"}})", &error);
    QVERIFY2(spec, qPrintable(error));
    // Only where each line starts is held; the values are read from the file, in any order.
    QVERIFY(spec->inputs.lineSource());
    QVERIFY(!spec->inputs.isList());
    QCOMPARE(spec->inputs.size(), 5);
    QCOMPARE(spec->inputs.at(4), QCborValue(QStringLiteral("007")));
    QCOMPARE(spec->inputs.at(1), QCborValue(QStringLiteral("hello world")));
    QVERIFY(spec->inputs.value(5).isUndefined());
    // Replacing the file while the job runs does not change its inputs (the job keeps the file it read).
    QVERIFY(QFile::remove(f.fileName()));
    QFile other(f.fileName());
    QVERIFY(other.open(QIODevice::WriteOnly));
    other.write("changed\nchanged\nchanged\nchanged\nchanged\n");
    other.close();
    QCOMPARE(spec->inputs.at(0), QCborValue(100000));
    QCOMPARE(spec->inputs.at(1), QCborValue(QStringLiteral("hello world")));
    QCOMPARE(spec->inputs.at(2), QCborValue(QStringLiteral("quoted")));
    QVERIFY(spec->inputs.at(3).isMap());
    QCOMPARE(spec->inputs.at(4), QCborValue(QStringLiteral("007"))); // not JSON: kept as text
}

void TestJobFile::options()
{
    QString error;
    const auto spec = parse(
        R"({"name": "N", "plugin": "sleep", "inputs": [1], "retries": 5, "timeout": 1.5, "priority": -3})", &error);
    QVERIFY2(spec, qPrintable(error));
    QCOMPARE(spec->name, QStringLiteral("N"));
    QCOMPARE(spec->retries, 5);
    QCOMPARE(spec->timeoutMs, 1500);
    QCOMPARE(spec->priority, -3);
}

void TestJobFile::pluginByPath()
{
    QString error;
    const QByteArray json
        = R"({"plugin": ")" + test::pluginPath(QStringLiteral("sumprimes")).toUtf8() + R"(", "inputs": [10]})";
    const auto spec = parse(json, &error);
    QVERIFY2(spec, qPrintable(error));
    QCOMPARE(spec->plugin.name, QStringLiteral("sumprimes"));
}

// A job naming a plugin that is not there is told the names of those that are (sorted), and the
// folders searched only after them; an empty plugin path says there are none.
void TestJobFile::unknownPluginNamesThoseThatExist()
{
    QString error;
    QVERIFY(!parse(R"({"plugin": "sumprime", "inputs": [1]})", &error));
    const int names = error.indexOf(QStringLiteral("the plugins on the plugin path are: "));
    QVERIFY2(error.contains(QStringLiteral("no plugin named \"sumprime\"")) && names > 0, qPrintable(error));
    const int echo = error.indexOf(QStringLiteral("echo, "), names);
    const int sleep = error.indexOf(QStringLiteral("sleep, "), names);
    const int sumprimes = error.indexOf(QStringLiteral("sumprimes"), names);
    const int folder = error.indexOf(QStringLiteral("(searched: ") + test::pluginDir());
    QVERIFY2(echo > names && sleep > echo && sumprimes > sleep && folder > sumprimes, qPrintable(error));

    QTemporaryDir empty;
    const exec::PluginRegistry none {QStringList {empty.path()}};
    QVERIFY(
        !parseJobJson(R"({"plugin": "echo", "inputs": [1]})", QStringLiteral("job.json"), m_dir.path(), none, &error));
    QVERIFY2(error.contains(QStringLiteral("no plugin named \"echo\": there are no task plugins on the plugin path "
                                           "(searched: %1)")
                                .arg(empty.path())),
             qPrintable(error));
}

void TestJobFile::rejects_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("mustMention");
    QTest::newRow("not JSON") << QByteArray("{plugin: echo") << words({"job.json", "not valid JSON"});
    QTest::newRow("not an object") << QByteArray("[1, 2]") << words({"job.json", "JSON object"});
    QTest::newRow("no plugin") << QByteArray(R"({"inputs": [1]})") << words({"job.json", "\"plugin\"", "nothing"});
    QTest::newRow("plugin not text") << QByteArray(R"({"plugin": 5, "inputs": [1]})")
                                     << words({"\"plugin\"", "the number 5"});
    QTest::newRow("unknown plugin") << QByteArray(R"({"plugin": "nosuch", "inputs": [1]})")
                                    << words({"\"plugin\"", "no plugin named \"nosuch\""});
    QTest::newRow("plugin file missing") << QByteArray(R"({"plugin": "/no/such/libx.so", "inputs": [1]})")
                                         << words({"\"plugin\"", "does not exist"});
    QTest::newRow("not a plugin") << QByteArray(R"({"plugin": "/etc/hostname", "inputs": [1]})")
                                  << words({"\"plugin\"", "not a Qt plugin"});
    QTest::newRow("no inputs") << QByteArray(R"({"plugin": "echo"})")
                               << words({"\"inputs\"", "expected an array", "nothing"});
    QTest::newRow("inputs text") << QByteArray(R"({"plugin": "echo", "inputs": "1,2"})")
                                 << words({"\"inputs\"", "the text"});
    QTest::newRow("inputs bad object") << QByteArray(R"({"plugin": "echo", "inputs": {"from": 1}})")
                                       << words({"\"inputs\"", "range"});
    QTest::newRow("range not array") << QByteArray(R"({"plugin": "echo", "inputs": {"range": 5}})")
                                     << words({"\"inputs.range\"", "[start, stop"});
    QTest::newRow("range fractional") << QByteArray(R"({"plugin": "echo", "inputs": {"range": [0, 2.5]}})")
                                      << words({"\"inputs.range\"", "2.5"});
    QTest::newRow("range step 0") << QByteArray(R"({"plugin": "echo", "inputs": {"range": [0, 5, 0]}})")
                                  << words({"\"inputs.range\"", "step must not be 0"});
    QTest::newRow("range too big") << QByteArray(R"({"plugin": "echo", "inputs": {"range": [0, 1000000000000]}})")
                                   << words({"\"inputs.range\"", "limit"});
    QTest::newRow("lines missing file") << QByteArray(R"({"plugin": "echo", "inputs": {"lines": "nope.txt"}})")
                                        << words({"\"inputs.lines\"", "cannot read"});
    QTest::newRow("lines from a device") << QByteArray(R"({"plugin": "echo", "inputs": {"lines": "/dev/zero"}})")
                                         << words({"\"inputs.lines\"", "not a regular file"});
    QTest::newRow("retries negative") << QByteArray(R"({"plugin": "echo", "inputs": [1], "retries": -1})")
                                      << words({"\"retries\"", "integer from 0 to 100"});
    QTest::newRow("timeout text") << QByteArray(R"({"plugin": "echo", "inputs": [1], "timeout": "5s"})")
                                  << words({"\"timeout\"", "seconds", "the text"});
    QTest::newRow("timeout zero") << QByteArray(R"({"plugin": "echo", "inputs": [1], "timeout": 0})")
                                  << words({"\"timeout\"", "greater than 0"});
    QTest::newRow("priority fractional") << QByteArray(R"({"plugin": "echo", "inputs": [1], "priority": 0.5})")
                                         << words({"\"priority\"", "integer"});
    QTest::newRow("name number") << QByteArray(R"({"plugin": "echo", "inputs": [1], "name": 3})")
                                 << words({"\"name\"", "text"});
    QTest::newRow("unknown field") << QByteArray(R"({"plugin": "echo", "inputs": [1], "retry": 3})")
                                   << words({"unknown field \"retry\""});
}

void TestJobFile::rejects()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, mustMention);
    QString error;
    QVERIFY(!parse(json, &error));
    for (const QString &part : mustMention)
        QVERIFY2(error.contains(part), qPrintable(QStringLiteral("\"%1\" not in: %2").arg(part, error)));
}

// Inputs keep 64-bit integers exactly; beyond 64 bits and invalid Unicode are refused with their position.
void TestJobFile::exactIntegersAndUnicode()
{
    QString error;
    auto spec = parse(R"({"plugin": "echo", "inputs": [9007199254740993, -9223372036854775808, "\ud83d\ude00", 1e3],
                         "params": {"seed": 123456789012345678}})",
                      &error);
    QVERIFY2(spec, qPrintable(error));
    QCOMPARE(spec->inputs.at(0), QCborValue(qint64(9007199254740993LL))); // 2^53 + 1: no double holds it
    QCOMPARE(spec->inputs.at(1), QCborValue(std::numeric_limits<qint64>::min()));
    QCOMPARE(spec->inputs.at(2).toString(), QString::fromUtf8("\xF0\x9F\x98\x80"));
    QVERIFY(spec->inputs.at(3).isDouble());
    QCOMPARE(spec->parameters.toMap().value(QStringLiteral("seed")), QCborValue(qint64(123456789012345678LL)));

    QVERIFY(!parse("{\"plugin\": \"echo\",\n \"inputs\": [1, 18446744073709551616]}", &error));
    QVERIFY2(error.contains(QStringLiteral("line 2, column 16"))
                 && error.contains(QStringLiteral("does not fit in 64 bits")),
             qPrintable(error));
    QVERIFY(!parse(R"({"plugin": "echo", "inputs": ["ok", "\ud800"]})", &error));
    QVERIFY2(error.contains(QStringLiteral("column 38")) && error.contains(QStringLiteral("lone high surrogate")),
             qPrintable(error));
    QVERIFY(!parse(R"({"plugin": "echo", "inputs": ["\udc00x"]})", &error));
    QVERIFY2(error.contains(QStringLiteral("lone low surrogate")), qPrintable(error));
    QVERIFY(!parse("{\"plugin\": \"echo\", \"inputs\": [\"\xff\xfe\"]}", &error));
    QVERIFY2(error.contains(QStringLiteral("not valid UTF-8")), qPrintable(error));
}

// A key named twice, at any level, is refused with its line and the first one's, never "the last
// one wins" (QJsonDocument's rule, under which the second "plugin" below ran instead of the first).
void TestJobFile::duplicateKeys_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("first");
    QTest::newRow("top level, one line") << QByteArray(R"({"plugin":"echo","plugin":"/etc/passwd","inputs":[1]})")
                                         << QStringLiteral("line 1, column 18") << QStringLiteral("plugin")
                                         << QStringLiteral("line 1, column 2");
    QTest::newRow("top level, lines apart")
        << QByteArray("{\n  \"plugin\": \"echo\",\n  \"inputs\": [1],\n"
                      "  \"plugin\": \"/etc/passwd\"\n}")
        << QStringLiteral("line 4, column 3") << QStringLiteral("plugin") << QStringLiteral("line 2, column 3");
    QTest::newRow("inputs twice") << QByteArray("{\"plugin\": \"echo\",\n \"inputs\": [1, 2],\n \"inputs\": [3]}")
                                  << QStringLiteral("line 3, column 2") << QStringLiteral("inputs")
                                  << QStringLiteral("line 2, column 2");
    QTest::newRow("in an input object") << QByteArray(
        "{\"plugin\": \"echo\", \"inputs\": [\n  {\"a\": 1},\n  {\"a\": 1, \"b\": {\"c\": 2},\n   \"a\": 3}\n]}")
                                        << QStringLiteral("line 4, column 4") << QStringLiteral("a")
                                        << QStringLiteral("line 3, column 4");
    QTest::newRow("deep in an input") << QByteArray(
        "{\"plugin\": \"echo\", \"inputs\": [[{\"x\": {\"y\": 1, \"y\": 2}}]]}")
                                      << QStringLiteral("line 1, column 47") << QStringLiteral("y")
                                      << QStringLiteral("line 1, column 39");
    QTest::newRow("in params") << QByteArray("{\"plugin\": \"echo\", \"inputs\": [1],\n \"params\": {\"seed\": 1,\n"
                                             " \"seed\": 2}}")
                               << QStringLiteral("line 3, column 2") << QStringLiteral("seed")
                               << QStringLiteral("line 2, column 13");
    QTest::newRow("in the range object") << QByteArray(
        R"({"plugin": "echo", "inputs": {"range": [0, 3], "range": [0, 1000]}})")
                                         << QStringLiteral("line 1, column 48") << QStringLiteral("range")
                                         << QStringLiteral("line 1, column 31");
    QTest::newRow("the same key escaped")
        << QByteArray(R"({"plugin": "echo", "inputs": [1], "\u0070lugin": "x"})") << QStringLiteral("line 1, column 35")
        << QStringLiteral("plugin") << QStringLiteral("line 1, column 2");
    QTest::newRow("a key with a quote") << QByteArray(
        R"({"plugin": "echo", "inputs": [{"say \"hi\"": 1, "say \"hi\"": 2}]})")
                                        << QStringLiteral("line 1, column 49") << QStringLiteral(R"(say \"hi\")")
                                        << QStringLiteral("line 1, column 32");
    QTest::newRow("python plugin's script")
        << QByteArray(R"({"plugin": "python", "script": "a.py", "function": "f", "script": "b.py", "inputs": [1]})")
        << QStringLiteral("line 1, column 57") << QStringLiteral("script") << QStringLiteral("line 1, column 22");
}

void TestJobFile::duplicateKeys()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, where);
    QFETCH(QString, key);
    QFETCH(QString, first);
    QString error;
    QVERIFY(!parse(json, &error));
    const QString expected = QStringLiteral("job.json: %1: duplicate key \"%2\" (first at %3)").arg(where, key, first);
    QVERIFY2(error.startsWith(expected),
             qPrintable(QStringLiteral("expected \"%1...\", got: %2").arg(expected, error)));
    QVERIFY2(!error.contains(QStringLiteral("not valid JSON")),
             qPrintable(error)); // it is valid JSON; not allowed here
    QVERIFY2(!error.contains(QStringLiteral("/etc/passwd")),
             qPrintable(error)); // refused before any plugin is looked at
}

void TestJobFile::sameKeyInDifferentObjects()
{
    QString error;
    const auto spec = parse(R"({"plugin": "echo", "inputs": [{"plugin": 1, "a": {"a": {"a": 2}}}, {"plugin": 2}],
                               "params": {"plugin": "x", "inputs": []}})",
                            &error);
    QVERIFY2(spec, qPrintable(error));
    QCOMPARE(spec->inputs.size(), 2);
    QCOMPARE(spec->inputs.at(1).toMap().value(QStringLiteral("plugin")).toInteger(), 2);
    QCOMPARE(spec->parameters.toMap().value(QStringLiteral("plugin")).toString(), QStringLiteral("x"));
}

// JSON has no NaN or infinity; a job file that holds one (as Python's json.dump writes them) is
// refused naming the token and its place, never read as null or as text.
void TestJobFile::nanAndInfinityRefused_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("token");
    QTest::newRow("NaN input") << QByteArray("{\"plugin\": \"echo\",\n \"inputs\": [1, NaN]}")
                               << QStringLiteral("line 2, column 16") << QStringLiteral("NaN");
    QTest::newRow("Infinity in a list") << QByteArray("{\"plugin\": \"echo\",\n \"inputs\": [[1.5, Infinity]]}")
                                        << QStringLiteral("line 2, column 19") << QStringLiteral("Infinity");
    QTest::newRow("-Infinity in an object") << QByteArray(R"({"plugin": "echo", "inputs": [{"x": -Infinity}]})")
                                            << QStringLiteral("line 1, column 37") << QStringLiteral("-Infinity");
    QTest::newRow("nan in params") << QByteArray(R"({"plugin": "echo", "inputs": [1], "params": nan})")
                                   << QStringLiteral("line 1, column 45") << QStringLiteral("nan");
    QTest::newRow("-inf") << QByteArray(R"({"plugin": "echo", "inputs": [-inf]})")
                          << QStringLiteral("line 1, column 31") << QStringLiteral("-inf");
    QTest::newRow("timeout Infinity") << QByteArray(R"({"plugin": "echo", "inputs": [1], "timeout": Infinity})")
                                      << QStringLiteral("line 1, column 46") << QStringLiteral("Infinity");
}

void TestJobFile::nanAndInfinityRefused()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, where);
    QFETCH(QString, token);
    QString error;
    QVERIFY(!parse(json, &error));
    const QString expected = QStringLiteral("job.json: not valid JSON: %1: %2 is not a JSON value: JSON has no NaN or "
                                            "infinity")
                                 .arg(where, token);
    QVERIFY2(error.startsWith(expected),
             qPrintable(QStringLiteral("expected \"%1...\", got: %2").arg(expected, error)));
}

void TestJobFile::pluginPathIsADeviceOrFifo()
{
    QString error;
    QVERIFY(!parse(R"({"plugin": "/dev/zero", "inputs": [1]})", &error));
    QVERIFY2(error.contains(QStringLiteral("/dev/zero is a device, FIFO or socket")), qPrintable(error));
    const QString fifo = m_dir.filePath(QStringLiteral("plugin.fifo"));
    QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
    QVERIFY(!parse(QStringLiteral(R"({"plugin": "%1", "inputs": [1]})").arg(fifo).toUtf8(), &error));
    QVERIFY2(error.contains(QStringLiteral("is a device, FIFO or socket")), qPrintable(error));
    QVERIFY(!parse(QStringLiteral(R"({"plugin": "%1", "inputs": [1]})").arg(m_dir.path()).toUtf8(), &error));
    QVERIFY2(error.contains(QStringLiteral("is a folder")), qPrintable(error));
}

void TestJobFile::missingFile()
{
    QString error;
    QVERIFY(!parseJobFile(m_dir.filePath(QStringLiteral("absent.json")), m_registry, &error));
    QVERIFY(error.contains(QStringLiteral("absent.json")));
    QVERIFY(error.contains(QStringLiteral("cannot read")));
}

void TestJobFile::shippedExamplesParse()
{
    const QDir jobs(test::sourceDir() + QStringLiteral("/resources/jobs"));
    const QStringList files = jobs.entryList({QStringLiteral("*.json")});
    QVERIFY(files.contains(QStringLiteral("sumprimes.json")));
    for (const QString &file : files) {
        QString error;
        const auto spec = parseJobFile(jobs.filePath(file), m_registry, &error);
        QVERIFY2(spec, qPrintable(error));
        QVERIFY(!spec->inputs.isEmpty());
    }
    QString error;
    const auto pp = parseJobFile(jobs.filePath(QStringLiteral("sumprimes.json")), m_registry, &error);
    QCOMPARE(pp->inputs.size(), 8);
    QCOMPARE(pp->inputs.first().toInteger(), 100000);
    QCOMPARE(pp->inputs.at(pp->inputs.size() - 1).toInteger(), 100700);
}

QTEST_GUILESS_MAIN(TestJobFile)
#include "tst_jobfile.moc"
