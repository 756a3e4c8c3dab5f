// SPDX-License-Identifier: MIT
// The python task plugin in-process: argument and result mapping, tracebacks, output, pickles, per-job namespaces.
#include "testsupport.h"

#include <taskfleet/TaskPlugin.h>

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCryptographicHash>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonObject>
#include <QtCore/QPluginLoader>
#include <QtCore/QProcess>
#include <QtTest/QtTest>

#include <limits>

using namespace taskfleet;

namespace {

const QString Python3 = QStringLiteral(TF_PYTHON3_EXECUTABLE);

// A job's parameters, as the engine hands them to the plugin: with their digest as the id.
class PythonContext : public TaskContext
{
public:
    explicit PythonContext(const QCborValue &params)
        : m_params(params)
        , m_id(QCryptographicHash::hash(params.toCbor(), QCryptographicHash::Sha256))
    {
    }

    bool isCancelled() const override { return false; }
    void reportProgress(double) override { }
    QCborValue jobParameters() const override
    {
        ++m_parameterReads;
        return m_params;
    }
    QByteArray jobParametersId() const override { return m_id; }
    void appendOutput(const QString &text) override
    {
        m_output += text;
        ++m_outputCalls;
    }

    QCborValue m_params;
    QByteArray m_id;
    QString m_output;
    int m_outputCalls = 0;
    mutable int m_parameterReads = 0;
};

QCborMap job(const QString &source, const QString &function, const QStringList &modules = {},
             const QString &filename = QStringLiteral("job.py"))
{
    QCborMap params {{QStringLiteral("source"), source},
                     {QStringLiteral("function"), function},
                     {QStringLiteral("filename"), filename}};
    if (!modules.isEmpty())
        params.insert(QStringLiteral("modules"), QCborArray::fromStringList(modules));
    return params;
}

// The Parallel Python demo (pp's examples/sum_primes.py): isprime helper, math.sqrt from "modules".
const QString SumPrimesSource = QStringLiteral(R"py(def isprime(n):
    """Returns True if n is prime and False otherwise"""
    if not isinstance(n, int):
        raise TypeError("argument passed to is_prime is not of 'int' type")
    if n < 2:
        return False
    if n == 2:
        return True
    max = int(math.ceil(math.sqrt(n)))
    i = 2
    while i <= max:
        if n % i == 0:
            return False
        i += 1
    return True

def sum_primes(n):
    """Calculates sum of all primes below given integer n"""
    return sum([x for x in range(2, n) if isprime(x)])
)py");

const QString PointSource = QStringLiteral(R"py(class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y
    def __repr__(self):
        return "Point(%r, %r)" % (self.x, self.y)
)py");

} // namespace

class TestPythonPlugin : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void metadata();
    void positionalArguments_data();
    void positionalArguments();
    void singleArgument_data();
    void singleArgument();
    void results_data();
    void results();
    void unconvertibleResult_data();
    void unconvertibleResult();
    void exceptionHasTraceback();
    void printedOutputIsCaptured();
    void outputOfAFailedTask();
    void modulesAreImported();
    void extensionModulesLoad();
    void helperAndClassFromSource();
    void pickledInputGivesPickledResult();
    void pickledExceptionIsAnErrorText();
    void mainGuardDoesNotRun();
    void jobsKeepSeparateNamespaces();
    void preparedOncePerJob();
    void syntaxError();
    void badJobs_data();
    void badJobs();
    void sumPrimes_data();
    void sumPrimes();
    void perCallCost();

private:
    QCborValue run(PythonContext &context, const QCborValue &input, QString *error);
    bool runPython(const QString &script, const QByteArray &stdinData, QByteArray *out);

    QPluginLoader *m_loader = nullptr;
    TaskPlugin *m_plugin = nullptr;
};

QCborValue TestPythonPlugin::run(PythonContext &context, const QCborValue &input, QString *error)
{
    return m_plugin->run(input, context, error);
}

// Runs the system python3 (the one the plugin embeds) on a script: makes and reads pickles independently.
bool TestPythonPlugin::runPython(const QString &script, const QByteArray &stdinData, QByteArray *out)
{
    QProcess p;
    p.start(Python3, {QStringLiteral("-c"), script});
    if (!p.waitForStarted(10000))
        return false;
    p.write(stdinData);
    p.closeWriteChannel();
    if (!p.waitForFinished(30000))
        return false;
    *out = p.readAllStandardOutput();
    const QByteArray err = p.readAllStandardError();
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning("python3 failed: %s", err.constData());
        return false;
    }
    return true;
}

void TestPythonPlugin::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY2(QFile::exists(Python3), qPrintable(Python3));
    m_loader = new QPluginLoader(test::pluginPath(QStringLiteral("python")), this);
    m_plugin = qobject_cast<TaskPlugin *>(m_loader->instance());
    QVERIFY2(m_plugin, qPrintable(m_loader->errorString()));
}

void TestPythonPlugin::metadata()
{
    const QJsonObject md = m_loader->metaData().value(QStringLiteral("MetaData")).toObject();
    QCOMPARE(md.value(QStringLiteral("name")).toString(), QStringLiteral("python"));
    for (const char *key : {"version", "description", "input", "output"})
        QVERIFY2(!md.value(QLatin1String(key)).toString().trimmed().isEmpty(), key);
}

void TestPythonPlugin::positionalArguments_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::addColumn<QCborValue>("expected");
    QTest::newRow("two of three") << QCborValue(QCborArray {1, 2}) << QCborValue(21);
    QTest::newRow("three") << QCborValue(QCborArray {1, 2, 3}) << QCborValue(7);
    QTest::newRow("text") << QCborValue(QCborArray {QStringLiteral("ab"), QStringLiteral("c"), 2})
                          << QCborValue(QStringLiteral("abcc"));
}

void TestPythonPlugin::positionalArguments()
{
    QFETCH(QCborValue, input);
    QFETCH(QCborValue, expected);
    PythonContext context(job(QStringLiteral("def f(a, b, c=10):\n    return a + b * c\n"), QStringLiteral("f")));
    QString error;
    const QCborValue out = run(context, input, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out, expected);
}

void TestPythonPlugin::singleArgument_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::addColumn<QString>("expected"); // repr() of what the function received
    QTest::newRow("int") << QCborValue(42) << QStringLiteral("42");
    QTest::newRow("negative int") << QCborValue(std::numeric_limits<qint64>::min())
                                  << QStringLiteral("-9223372036854775808");
    QTest::newRow("float") << QCborValue(2.5) << QStringLiteral("2.5");
    QTest::newRow("integral float") << QCborValue(3.0) << QStringLiteral("3.0");
    QTest::newRow("str") << QCborValue(QStringLiteral("h\u00e9\U0001F600")) << QStringLiteral("'h\u00e9\U0001F600'");
    QTest::newRow("true") << QCborValue(true) << QStringLiteral("True");
    QTest::newRow("false") << QCborValue(false) << QStringLiteral("False");
    QTest::newRow("null") << QCborValue(nullptr) << QStringLiteral("None");
    QTest::newRow("undefined") << QCborValue(QCborValue::Undefined) << QStringLiteral("None");
    QTest::newRow("map") << QCborValue(QCborMap {{QStringLiteral("a"), QCborArray {1, true, nullptr}},
                                                 {QStringLiteral("b"), QCborMap {{QStringLiteral("c"), 1.5}}}})
                         << QStringLiteral("{'a': [1, True, None], 'b': {'c': 1.5}}");
}

void TestPythonPlugin::singleArgument()
{
    QFETCH(QCborValue, input);
    QFETCH(QString, expected);
    PythonContext context(job(QStringLiteral("def f(x):\n    return repr(x)\n"), QStringLiteral("f")));
    QString error;
    const QCborValue out = run(context, input, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out.toString(), expected);
}

void TestPythonPlugin::results_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QCborValue>("expected");
    QTest::newRow("None") << QStringLiteral("None") << QCborValue(nullptr);
    QTest::newRow("True") << QStringLiteral("True") << QCborValue(true);
    QTest::newRow("False") << QStringLiteral("1 > 2") << QCborValue(false);
    QTest::newRow("int") << QStringLiteral("6 * 7") << QCborValue(42);
    QTest::newRow("int64 max") << QStringLiteral("2 ** 63 - 1") << QCborValue(std::numeric_limits<qint64>::max());
    QTest::newRow("int64 min") << QStringLiteral("-2 ** 63") << QCborValue(std::numeric_limits<qint64>::min());
    QTest::newRow("float") << QStringLiteral("1 / 4") << QCborValue(0.25);
    QTest::newRow("str") << QStringLiteral("'caf\\u00e9 ' + chr(0x1F600)")
                         << QCborValue(QStringLiteral("caf\u00e9 \U0001F600"));
    QTest::newRow("empty str") << QStringLiteral("''") << QCborValue(QString());
    QTest::newRow("bytes") << QStringLiteral("b'\\x00\\xffab'")
                           << QCborValue(QByteArray("\x00\xff"
                                                    "ab",
                                                    4));
    QTest::newRow("bytearray") << QStringLiteral("bytearray(b'xy')") << QCborValue(QByteArray("xy"));
    QTest::newRow("list") << QStringLiteral("[1, 'a', None, [2.5]]")
                          << QCborValue(QCborArray {1, QStringLiteral("a"), nullptr, QCborArray {2.5}});
    QTest::newRow("tuple") << QStringLiteral("(1, (2, 3))") << QCborValue(QCborArray {1, QCborArray {2, 3}});
    QTest::newRow("dict") << QStringLiteral("{'n': 3, 'primes': [2, 3, 5], 'ok': True, 'x': {}}")
                          << QCborValue(QCborMap {{QStringLiteral("n"), 3},
                                                  {QStringLiteral("primes"), QCborArray {2, 3, 5}},
                                                  {QStringLiteral("ok"), true},
                                                  {QStringLiteral("x"), QCborMap {}}});
    QTest::newRow("int subclass") << QStringLiteral("__import__('enum').IntEnum('E', 'A B').B") << QCborValue(2);
}

void TestPythonPlugin::results()
{
    QFETCH(QString, expression);
    QFETCH(QCborValue, expected);
    PythonContext context(
        job(QStringLiteral("def f():\n    return ") + expression + QLatin1Char('\n'), QStringLiteral("f")));
    QString error;
    const QCborValue out = run(context, QCborArray {}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out, expected);
}

void TestPythonPlugin::unconvertibleResult_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("expected");
    QTest::newRow("object") << QStringLiteral(
        "object()") << QStringLiteral("cannot convert a result of type 'object' to JSON/CBOR; return plain data");
    QTest::newRow("set") << QStringLiteral("{1, 2}") << QStringLiteral("type 'set' to JSON/CBOR");
    QTest::newRow("class") << QStringLiteral("Thing()") << QStringLiteral("type 'Thing' to JSON/CBOR");
    QTest::newRow("nested") << QStringLiteral("[1, {'a': [2, Thing()]}]")
                            << QStringLiteral("type 'Thing' (at result[1]['a'][1]) to JSON/CBOR");
    QTest::newRow("big int") << QStringLiteral("2 ** 70")
                             << QStringLiteral("type 'int' to JSON/CBOR: the integer needs 71 bits");
    QTest::newRow("int64 max + 1") << QStringLiteral("2 ** 63")
                                   << QStringLiteral("type 'int' to JSON/CBOR: the integer needs 64 bits");
    QTest::newRow("int key") << QStringLiteral("{1: 'one'}")
                             << QStringLiteral("type 'dict' to JSON/CBOR: its key 1 is of type 'int'");
    QTest::newRow("self-containing") << QStringLiteral("(lambda l: (l.append(l), l)[1])([])")
                                     << QStringLiteral("nested deeper than");
}

void TestPythonPlugin::unconvertibleResult()
{
    QFETCH(QString, expression);
    QFETCH(QString, expected);
    PythonContext context(
        job(QStringLiteral("class Thing:\n    pass\n\ndef f():\n    return ") + expression + QLatin1Char('\n'),
            QStringLiteral("f")));
    QString error;
    run(context, QCborArray {}, &error);
    QVERIFY2(error.contains(expected), qPrintable(error));
    // Still usable after an error result.
    PythonContext ok(job(QStringLiteral("def g(x):\n    return x * 2\n"), QStringLiteral("g")));
    error.clear();
    QCOMPARE(run(ok, 21, &error), QCborValue(42));
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestPythonPlugin::exceptionHasTraceback()
{
    const QString source = QStringLiteral("import math\n"                                  // 1
                                          "\n"                                             // 2
                                          "def check(n):\n"                                // 3
                                          "    if n < 0:\n"                                // 4
                                          "        raise ValueError('negative: %d' % n)\n" // 5
                                          "\n"                                             // 6
                                          "def sum_primes(n):\n"                           // 7
                                          "    check(n)\n"                                 // 8
                                          "    return n\n");                               // 9
    PythonContext context(job(source, QStringLiteral("sum_primes"), {}, QStringLiteral("primes.py")));
    QString error;
    const QCborValue out = run(context, -3, &error);
    QVERIFY(out.isUndefined() || out.isNull());
    QVERIFY2(error.startsWith(QStringLiteral("Traceback (most recent call last):\n")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("File \"primes.py\", line 8, in sum_primes\n    check(n)")),
             qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("File \"primes.py\", line 5, in check\n")), qPrintable(error));
    QVERIFY2(error.endsWith(QStringLiteral("ValueError: negative: -3")), qPrintable(error));

    error.clear();
    QCOMPARE(run(context, 4, &error), QCborValue(4));
    QVERIFY2(error.isEmpty(), qPrintable(error));

    // sys.exit() is an exception like any other: the task fails, the worker lives on.
    PythonContext exits(job(QStringLiteral("import sys\ndef f():\n    sys.exit(3)\n"), QStringLiteral("f")));
    run(exits, QCborArray {}, &error);
    QVERIFY2(error.contains(QStringLiteral("SystemExit: 3")), qPrintable(error));
}

void TestPythonPlugin::printedOutputIsCaptured()
{
    PythonContext context(job(QStringLiteral("import sys\n"
                                             "def f(x):\n"
                                             "    if x:\n"
                                             "        print('got', x)\n"
                                             "        print('careful', file=sys.stderr)\n"
                                             "        sys.stdout.write('end')\n"
                                             "    return x\n"),
                              QStringLiteral("f")));
    QString error;
    QCOMPARE(run(context, 7, &error), QCborValue(7));
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(context.m_output, QStringLiteral("got 7\ncareful\nend"));
    QCOMPARE(context.m_outputCalls, 1);

    // Each task gets only its own output; a task that prints nothing adds none.
    context.m_output.clear();
    QCOMPARE(run(context, 0, &error), QCborValue(0));
    QCOMPARE(context.m_outputCalls, 1);
    QCOMPARE(run(context, 8, &error), QCborValue(8));
    QCOMPARE(context.m_output, QStringLiteral("got 8\ncareful\nend"));

    // Printing at the top level of the source goes to the task that prepared the job.
    PythonContext loud(job(QStringLiteral("print('loading')\ndef f():\n    return 1\n"), QStringLiteral("f")));
    QCOMPARE(run(loud, QCborArray {}, &error), QCborValue(1));
    QCOMPARE(loud.m_output, QStringLiteral("loading\n"));

    // A task that closes sys.stdout loses its own output, not the next task's.
    PythonContext closes(job(QStringLiteral("import sys\ndef f(x):\n    print(x)\n    if x == 1:\n"
                                            "        sys.stdout.close()\n    return x\n"),
                             QStringLiteral("f")));
    QCOMPARE(run(closes, 1, &error), QCborValue(1));
    QCOMPARE(run(closes, 2, &error), QCborValue(2));
    QCOMPARE(closes.m_output, QStringLiteral("2\n"));
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestPythonPlugin::outputOfAFailedTask()
{
    PythonContext context(job(QStringLiteral("def f(x):\n    print('before', x)\n    return 1 // x\n"),
                              QStringLiteral("f"), {}, QStringLiteral("div.py")));
    QString error;
    run(context, 0, &error);
    QCOMPARE(context.m_output, QStringLiteral("before 0\n"));
    QVERIFY2(error.contains(QStringLiteral("File \"div.py\", line 3, in f")), qPrintable(error));
    QVERIFY2(error.endsWith(QStringLiteral("ZeroDivisionError: integer division or modulo by zero")),
             qPrintable(error));
}

void TestPythonPlugin::modulesAreImported()
{
    PythonContext context(job(QStringLiteral("def f(x):\n"
                                             "    return [math.sqrt(x), os.path.basename('/a/b.txt'), "
                                             "xml.dom.minidom.parseString('<a/>').documentElement.tagName]\n"),
                              QStringLiteral("f"),
                              {QStringLiteral("math"), QStringLiteral("os.path"), QStringLiteral("xml.dom.minidom")}));
    QString error;
    const QCborValue out = run(context, 16, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out, QCborValue(QCborArray {4.0, QStringLiteral("b.txt"), QStringLiteral("a")}));

    PythonContext missing(
        job(QStringLiteral("def f():\n    return 1\n"), QStringLiteral("f"), {QStringLiteral("no_such_module_xyz")}));
    run(missing, QCborArray {}, &error);
    QVERIFY2(error.contains(QStringLiteral("cannot import \"no_such_module_xyz\"")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("ModuleNotFoundError")), qPrintable(error));
}

void TestPythonPlugin::extensionModulesLoad()
{
    // _decimal, _json, _datetime, ... live in lib-dynload: they need libpython's symbols made global.
    PythonContext context(job(QStringLiteral("import math, json, pickle, datetime, decimal, struct, hashlib, sys\n"
                                             "def f():\n"
                                             "    return [json.dumps({'a': [1, 2]}), str(decimal.Decimal(1) / 8),\n"
                                             "            datetime.date(2024, 2, 29).isoformat(), math.factorial(10),\n"
                                             "            struct.pack('<I', 1), pickle.loads(pickle.dumps([1, 'x'])),\n"
                                             "            hashlib.sha256(b'').hexdigest()[:8], sys.executable]\n"),
                              QStringLiteral("f")));
    QString error;
    const QCborValue out = run(context, QCborArray {}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out, QCborValue(QCborArray {QStringLiteral("{\"a\": [1, 2]}"), QStringLiteral("0.125"),
                                         QStringLiteral("2024-02-29"), 3628800, QByteArray("\x01\x00\x00\x00", 4),
                                         QCborArray {1, QStringLiteral("x")}, QStringLiteral("e3b0c442"),
                                         Python3})); // the interpreter it embeds, not pyenv's first python3 on PATH
}

void TestPythonPlugin::helperAndClassFromSource()
{
    PythonContext context(
        job(QStringLiteral("class Point:\n"
                           "    def __init__(self, x, y):\n"
                           "        self.x, self.y = x, y\n"
                           "    def norm2(self):\n"
                           "        return square(self.x) + square(self.y)\n"
                           "\n"
                           "def square(v):\n"
                           "    return v * v\n"
                           "\n"
                           "def far(points):\n"
                           "    return [i for i, (x, y) in enumerate(points) if Point(x, y).norm2() > 25]\n"),
            QStringLiteral("far")));
    QString error;
    const QCborArray points {QCborArray {1, 1}, QCborArray {3, 4}, QCborArray {6, 0}, QCborArray {-4, -4}};
    // One argument, the list of points. Not "QCborArray {points}": for a single QCborArray, clang takes
    // that as a copy of points (four arguments) and GCC as a one-element list.
    QCborArray args;
    args.append(points);
    const QCborValue got = run(context, args, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(got, QCborValue(QCborArray {2, 3}));
}

void TestPythonPlugin::pickledInputGivesPickledResult()
{
    const QString source = PointSource + QStringLiteral("\ndef scale(p, k):\n    return Point(p.x * k, p.y * k)\n");
    PythonContext context(job(source, QStringLiteral("scale")));

    // The client's side: __main__.Point defined in its own script, pickled with the highest protocol.
    QByteArray pickled;
    QVERIFY(runPython(QStringLiteral("import pickle, sys\n") + PointSource
                          + QStringLiteral("sys.stdout.buffer.write(pickle.dumps((Point(1, 2), 3), "
                                           "protocol=pickle.HIGHEST_PROTOCOL))\n"),
                      {}, &pickled));
    QVERIFY(!pickled.isEmpty());
    QString error;
    const QCborValue out = run(context, pickled, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(out.isByteArray());

    QByteArray shown;
    QVERIFY(runPython(QStringLiteral("import pickle, sys\n") + PointSource
                          + QStringLiteral("p = pickle.loads(sys.stdin.buffer.read())\n"
                                           "print(type(p).__module__, repr(p))\n"),
                      out.toByteArray(), &shown));
    QCOMPARE(shown, QByteArray("__main__ Point(3, 6)\n"));

    // Plain values too, and results that have no JSON form (a set) travel as pickles.
    PythonContext sets(job(QStringLiteral("def f(a, b):\n    return {a, b}, a + b\n"), QStringLiteral("f")));
    QVERIFY(
        runPython(QStringLiteral("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps((2, 3)))\n"), {}, &pickled));
    const QCborValue setOut = run(sets, pickled, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(runPython(QStringLiteral("import pickle, sys\nprint(pickle.loads(sys.stdin.buffer.read()))\n"),
                      setOut.toByteArray(), &shown));
    QCOMPARE(shown, QByteArray("({2, 3}, 5)\n"));

    // Bytes that are no pickle of a tuple are the task's error.
    run(sets, QByteArray("not a pickle"), &error);
    QVERIFY2(error.startsWith(QStringLiteral("cannot unpickle the input")), qPrintable(error));
    QVERIFY(runPython(QStringLiteral("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps(5))\n"), {}, &pickled));
    run(sets, pickled, &error);
    QVERIFY2(error.contains(QStringLiteral("tuple of arguments, not a 'int'")), qPrintable(error));

    // An out-of-band buffer named by the key of a job's shared value (tag 0x74660006) that the job does not have
    // is the task's clear error, not a crash nor a wrong value.
    QVERIFY(runPython(QStringLiteral("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps((pickle.PickleBuffer("
                                     "bytearray(1 << 20)), 1), protocol=5, buffer_callback=lambda b: False))\n"),
                      {}, &pickled));
    const QCborValue missing(QCborTag(0x74660005),
                             QCborArray {pickled, QCborValue(QCborTag(0x74660006), QStringLiteral("buffer-abc"))});
    run(sets, missing, &error);
    QVERIFY2(error.contains(QStringLiteral("shared buffer buffer-abc, which is not among the job's shared values")),
             qPrintable(error));
}

void TestPythonPlugin::pickledExceptionIsAnErrorText()
{
    PythonContext context(job(QStringLiteral("def f(x):\n    print('x is', x)\n    return x['missing']\n"),
                              QStringLiteral("f"), {}, QStringLiteral("lookup.py")));
    QByteArray pickled;
    QVERIFY(
        runPython(QStringLiteral("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps(({},)))\n"), {}, &pickled));
    QString error;
    const QCborValue out = run(context, pickled, &error);
    QVERIFY(!out.isByteArray());
    QVERIFY2(error.contains(QStringLiteral("File \"lookup.py\", line 3, in f")), qPrintable(error));
    QVERIFY2(error.endsWith(QStringLiteral("KeyError: 'missing'")), qPrintable(error));
    QCOMPARE(context.m_output, QStringLiteral("x is {}\n"));
}

// A whole script is shipped (the job file's "script"): its `if __name__ == "__main__":` block must not run on the
// workers, yet what it defines is __main__.X for pickles, as in the client's own script.
void TestPythonPlugin::mainGuardDoesNotRun()
{
    const QString source = PointSource
                           + QStringLiteral("\ndef make(x):\n    return Point(x, __name__)\n"
                                            "\nif __name__ == '__main__':\n    print('the main block ran')\n");
    PythonContext context(job(source, QStringLiteral("make")));
    QByteArray pickled;
    QVERIFY(
        runPython(QStringLiteral("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps((7,)))\n"), {}, &pickled));
    QString error;
    const QCborValue out = run(context, pickled, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(context.m_output, QString()); // the guard's print never ran
    QByteArray shown;
    QVERIFY(runPython(QStringLiteral("import pickle, sys\n") + PointSource
                          + QStringLiteral("p = pickle.loads(sys.stdin.buffer.read())\n"
                                           "print(type(p).__module__, repr(p))\n"),
                      out.toByteArray(), &shown));
    QCOMPARE(shown, QByteArray("__main__ Point(7, '__main__')\n"));
}

void TestPythonPlugin::jobsKeepSeparateNamespaces()
{
    const auto source = [](const QString &name) {
        return QStringLiteral("NAME = '%1'\ncalls = 0\n"
                              "class Point:\n    kind = '%1'\n"
                              "def who():\n"
                              "    global calls\n"
                              "    calls += 1\n"
                              "    import __main__\n"
                              "    return [NAME, calls, __main__.NAME, __name__, Point.__module__, Point.kind]\n")
            .arg(name);
    };
    PythonContext a(job(source(QStringLiteral("a")), QStringLiteral("who")));
    PythonContext b(job(source(QStringLiteral("b")), QStringLiteral("who")));
    QVERIFY(a.m_id != b.m_id);
    QString error;
    const auto expected = [](const char *name, int calls) {
        const QString n = QLatin1String(name);
        return QCborValue(QCborArray {n, calls, n, QStringLiteral("__main__"), QStringLiteral("__main__"), n});
    };
    QCOMPARE(run(a, QCborArray {}, &error), expected("a", 1));
    QCOMPARE(run(b, QCborArray {}, &error), expected("b", 1));
    QCOMPARE(run(a, QCborArray {}, &error), expected("a", 2));
    QCOMPARE(run(b, QCborArray {}, &error), expected("b", 2));
    QCOMPARE(run(b, QCborArray {}, &error), expected("b", 3));
    QCOMPARE(run(a, QCborArray {}, &error), expected("a", 3));
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestPythonPlugin::preparedOncePerJob()
{
    const auto source = [](int i) {
        return QStringLiteral("prepared = 0\nprepared += 1\ndef f():\n    return [%1, prepared]\n").arg(i);
    };
    PythonContext first(job(source(0), QStringLiteral("f")));
    QString error;
    for (int i = 0; i < 5; ++i)
        QCOMPARE(run(first, QCborArray {}, &error), QCborValue(QCborArray {0, 1}));
    QCOMPARE(first.m_parameterReads, 1);

    // The 8 most recently used jobs stay prepared: 7 others keep the first one, an 8th other evicts it.
    std::vector<std::unique_ptr<PythonContext>> others;
    for (int i = 1; i <= 8; ++i)
        others.push_back(std::make_unique<PythonContext>(job(source(i), QStringLiteral("f"))));
    for (int i = 0; i < 7; ++i)
        QCOMPARE(run(*others[size_t(i)], QCborArray {}, &error), QCborValue(QCborArray {i + 1, 1}));
    QCOMPARE(run(first, QCborArray {}, &error), QCborValue(QCborArray {0, 1}));
    QCOMPARE(first.m_parameterReads, 1);
    QCOMPARE(run(*others[7], QCborArray {}, &error), QCborValue(QCborArray {8, 1}));
    QCOMPARE(run(*others[0], QCborArray {}, &error), QCborValue(QCborArray {1, 1})); // the least recently used: evicted
    QCOMPARE(others[0]->m_parameterReads, 2);
    QCOMPARE(run(first, QCborArray {}, &error), QCborValue(QCborArray {0, 1}));
    QCOMPARE(first.m_parameterReads, 1);
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestPythonPlugin::syntaxError()
{
    PythonContext context(job(QStringLiteral("def ok():\n    return 1\n\ndef f(x):\n    return x +\n"),
                              QStringLiteral("f"), {}, QStringLiteral("broken.py")));
    QString error;
    run(context, 1, &error);
    QVERIFY2(error.startsWith(QStringLiteral("syntax error in broken.py, line 5: invalid syntax")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("File \"broken.py\", line 5")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("SyntaxError: invalid syntax")), qPrintable(error));
    // Every task of the job gets the same error, without compiling again.
    QString again;
    run(context, 2, &again);
    QCOMPARE(again, error);
    QCOMPARE(context.m_parameterReads, 1);
}

void TestPythonPlugin::badJobs_data()
{
    QTest::addColumn<QCborValue>("params");
    QTest::addColumn<QString>("expected");
    const QString f = QStringLiteral("def f():\n    return 1\n");
    QTest::newRow("no params") << QCborValue() << QStringLiteral("needs job parameters");
    QTest::newRow("not a map") << QCborValue(QStringLiteral("def f(): pass")) << QStringLiteral("must be a map");
    QTest::newRow("no source") << QCborValue(QCborMap {{QStringLiteral("function"), QStringLiteral("f")}})
                               << QStringLiteral("need \"source\"");
    QTest::newRow("no function") << QCborValue(QCborMap {{QStringLiteral("source"), f}})
                                 << QStringLiteral("need \"function\"");
    QTest::newRow("modules not an array") << QCborValue(QCborMap {{QStringLiteral("source"), f},
                                                                  {QStringLiteral("function"), QStringLiteral("f")},
                                                                  {QStringLiteral("modules"), QStringLiteral("math")}})
                                          << QStringLiteral("\"modules\" must be an array");
    QTest::newRow("missing function") << QCborValue(job(f, QStringLiteral("g"), {}, QStringLiteral("m.py")))
                                      << QStringLiteral("m.py defines no function \"g\"");
    QTest::newRow("not callable") << QCborValue(
        job(QStringLiteral("g = 3\n"), QStringLiteral("g"), {}, QStringLiteral("m.py")))
                                  << QStringLiteral("\"g\" in m.py is of type 'int', not a function");
    QTest::newRow("default filename") << QCborValue(
        QCborMap {{QStringLiteral("source"), f}, {QStringLiteral("function"), QStringLiteral("g")}})
                                      << QStringLiteral("<job> defines no function \"g\"");
    QTest::newRow("top-level raise")
        << QCborValue(job(QStringLiteral("x = 1\ny = x / 0\n"), QStringLiteral("f"), {}, QStringLiteral("top.py")))
        << QStringLiteral(
               "running top.py failed:\nTraceback (most recent call last):\n  File \"top.py\", line 2, in <module>");
}

void TestPythonPlugin::badJobs()
{
    QFETCH(QCborValue, params);
    QFETCH(QString, expected);
    PythonContext context(params);
    QString error;
    run(context, 1, &error);
    QVERIFY2(error.contains(expected), qPrintable(error));
}

void TestPythonPlugin::sumPrimes_data()
{
    QTest::addColumn<qint64>("n");
    for (qint64 n : {0, 2, 3, 10, 100, 997, 1000, 100000, 100100})
        QTest::addRow("%lld", n) << n;
}

void TestPythonPlugin::sumPrimes()
{
    QFETCH(qint64, n);
    PythonContext context(
        job(SumPrimesSource, QStringLiteral("sum_primes"), {QStringLiteral("math")}, QStringLiteral("sum_primes.py")));
    QString error;
    const QCborValue out = run(context, n, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out, QCborValue(test::sumPrimesBelow(n)));
    if (n == 100000)
        QCOMPARE(out.toInteger(), 454396537);
}

void TestPythonPlugin::perCallCost()
{
    // Prints the in-process cost of a tiny task; asserts only the results (timing depends on the machine).
    PythonContext context(job(QStringLiteral("def inc(x):\n    return x + 1\n"), QStringLiteral("inc")));
    constexpr int Calls = 200000;
    QString error;
    qint64 sum = 0;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < Calls; ++i)
        sum += m_plugin->run(QCborValue(i), context, &error).toInteger();
    const qint64 ns = timer.nsecsElapsed();
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(sum, qint64(Calls) * (Calls + 1) / 2);
    qInfo("python plugin: %d inc calls in %.1f ms: %.0f ns per call, %.0f calls/s", Calls, ns / 1e6, double(ns) / Calls,
          Calls / (ns / 1e9));

    // The same call with a pickled argument tuple and a pickled result (the Python client's way).
    QByteArray pickled;
    QVERIFY(runPython(QStringLiteral("import pickle, sys\nsys.stdout.buffer.write(pickle.dumps((41,), protocol=5))\n"),
                      {}, &pickled));
    constexpr int PickledCalls = 50000;
    QCborValue out;
    timer.restart();
    for (int i = 0; i < PickledCalls; ++i)
        out = m_plugin->run(QCborValue(pickled), context, &error);
    const qint64 pickledNs = timer.nsecsElapsed();
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QByteArray shown;
    QVERIFY(runPython(QStringLiteral("import pickle, sys\nprint(pickle.loads(sys.stdin.buffer.read()))\n"),
                      out.toByteArray(), &shown));
    QCOMPARE(shown, QByteArray("42\n"));
    qInfo("python plugin: %d pickled inc calls: %.0f ns per call", PickledCalls, double(pickledNs) / PickledCalls);
}

QTEST_GUILESS_MAIN(TestPythonPlugin)
#include "tst_pythonplugin.moc"
