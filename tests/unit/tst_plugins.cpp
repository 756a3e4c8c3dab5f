// SPDX-License-Identifier: MIT
// Every shipped task plugin loads, describes itself and computes what it promises, in-process.
#include "testsupport.h"

#include <taskfleet/TaskPlugin.h>

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QElapsedTimer>
#include <QtCore/QDir>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QPluginLoader>
#include <QtTest/QtTest>

#include <cmath>
#include <complex>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace taskfleet;

namespace {

const QStringList ShippedPlugins
    = {QStringLiteral("sumprimes"), QStringLiteral("pi"),   QStringLiteral("echo"),       QStringLiteral("sleep"),
       QStringLiteral("crash"),     QStringLiteral("fail"), QStringLiteral("mandelbrot"), QStringLiteral("command")};

// A context that can say "cancelled" from the start or after some time, and records progress.
class TestContext : public TaskContext
{
public:
    explicit TestContext(qint64 cancelAfterMs = -1)
        : m_cancelAfterMs(cancelAfterMs)
    {
        m_clock.start();
    }

    bool isCancelled() const override
    {
        ++m_cancelChecks;
        return m_cancelAfterMs >= 0 && m_clock.elapsed() >= m_cancelAfterMs;
    }

    void reportProgress(double fraction) override
    {
        if (fraction < m_lastProgress || fraction < 0.0 || fraction > 1.0)
            m_progressOutOfOrder = true;
        m_lastProgress = fraction;
        ++m_progressCalls;
    }

    qint64 m_cancelAfterMs;
    QElapsedTimer m_clock;
    mutable int m_cancelChecks = 0;
    int m_progressCalls = 0;
    double m_lastProgress = 0.0;
    bool m_progressOutOfOrder = false;
};

QCborMap tileInput(std::initializer_list<std::pair<const char *, QCborValue>> fields)
{
    QCborMap m;
    for (const auto &f : fields)
        m.insert(QLatin1String(f.first), f.second);
    return m;
}

} // namespace

class TestPlugins : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void metadata_data();
    void metadata();
    void sumprimes_data();
    void sumprimes();
    void sumprimesRejects_data();
    void sumprimesRejects();
    void sumprimesCancelled();
    void piIsDeterministic();
    void piEstimatesPi();
    void piRejects_data();
    void piRejects();
    void echoRoundTrips_data();
    void echoRoundTrips();
    void sleepSleeps();
    void sleepNoticesCancellation_data();
    void sleepNoticesCancellation();
    void sleepRejects_data();
    void sleepRejects();
    void failFails_data();
    void failFails();
    void crashThrows();
    void crashRejectsUnknownMode();
    void mandelbrotTileShape_data();
    void mandelbrotTileShape();
    void mandelbrotKnownPoints();
    void mandelbrotMatchesReference();
    void mandelbrotIsSymmetric();
    void mandelbrotCancelled();
    void mandelbrotRejects_data();
    void mandelbrotRejects();
    void exampleJobsRun_data();
    void exampleJobsRun();

private:
    TaskPlugin *plugin(const QString &name);
    QCborValue run(const QString &name, const QCborValue &input, QString *error, TaskContext *context = nullptr);

    QHash<QString, QPluginLoader *> m_loaders;
};

TaskPlugin *TestPlugins::plugin(const QString &name)
{
    QPluginLoader *loader = m_loaders.value(name);
    if (!loader) {
        loader = new QPluginLoader(test::pluginPath(name), this);
        m_loaders.insert(name, loader);
    }
    auto *p = qobject_cast<TaskPlugin *>(loader->instance());
    if (!p)
        qWarning("cannot load %s: %s", qPrintable(loader->fileName()), qPrintable(loader->errorString()));
    return p;
}

QCborValue TestPlugins::run(const QString &name, const QCborValue &input, QString *error, TaskContext *context)
{
    TestContext fallback;
    TaskPlugin *p = plugin(name);
    if (!p) {
        *error = QStringLiteral("plugin %1 did not load").arg(name);
        return {};
    }
    return p->run(input, context ? *context : fallback, error);
}

void TestPlugins::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    for (const QString &name : ShippedPlugins)
        QVERIFY2(QFile::exists(test::pluginPath(name)),
                 qPrintable(test::pluginPath(name) + QStringLiteral(" not built")));
}

void TestPlugins::metadata_data()
{
    QTest::addColumn<QString>("name");
    for (const QString &name : ShippedPlugins)
        QTest::newRow(qPrintable(name)) << name;
}

void TestPlugins::metadata()
{
    QFETCH(QString, name);
    QPluginLoader loader(test::pluginPath(name));
    const QJsonObject meta = loader.metaData();
    QCOMPARE(meta.value(QStringLiteral("IID")).toString(), QStringLiteral(TaskfleetTaskPlugin_iid));
    const QJsonObject md = meta.value(QStringLiteral("MetaData")).toObject();
    QCOMPARE(md.value(QStringLiteral("name")).toString(), name);
    for (const char *key : {"version", "description", "input", "output"}) {
        const QJsonValue v = md.value(QLatin1String(key));
        QVERIFY2(v.isString() && !v.toString().trimmed().isEmpty(), key);
    }
    // metadata() is the first test to touch each plugin, so nothing has loaded it yet.
    QVERIFY2(!loader.isLoaded(), "reading metadata must not load the library");

    QVERIFY(plugin(name));
    QObject *instance = m_loaders.value(name)->instance();
    QVERIFY(instance);
    QVERIFY(qobject_cast<TaskPlugin *>(instance));
}

void TestPlugins::sumprimes_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::addColumn<qint64>("expected");
    for (qint64 n : {0, 1, 2, 3, 4, 5, 10, 11, 12, 100, 997, 1000, 9973, 31622})
        QTest::addRow("%lld", n) << QCborValue(n) << test::sumPrimesBelow(n);
    QTest::newRow("pp demo 100000") << QCborValue(100000) << qint64(454396537);
    QTest::newRow("sieve 100100") << QCborValue(100100) << test::sumPrimesBelow(100100);
    QTest::newRow("integral double") << QCborValue(100000.0) << qint64(454396537);
}

void TestPlugins::sumprimes()
{
    QFETCH(QCborValue, input);
    QFETCH(qint64, expected);
    QString error;
    TestContext context;
    const QCborValue out = run(QStringLiteral("sumprimes"), input, &error, &context);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(out.isInteger());
    QCOMPARE(out.toInteger(), expected);
    QVERIFY(!context.m_progressOutOfOrder);
}

void TestPlugins::sumprimesRejects_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::newRow("negative") << QCborValue(-1);
    QTest::newRow("fraction") << QCborValue(2.5);
    QTest::newRow("nan") << QCborValue(std::nan(""));
    QTest::newRow("huge") << QCborValue(1e30);
    QTest::newRow("too large for 64-bit sum") << QCborValue(qint64(1) << 40);
    QTest::newRow("text") << QCborValue(QStringLiteral("100"));
    QTest::newRow("map") << QCborValue(QCborMap {{QStringLiteral("n"), 10}});
    QTest::newRow("null") << QCborValue(nullptr);
}

void TestPlugins::sumprimesRejects()
{
    QFETCH(QCborValue, input);
    QString error;
    run(QStringLiteral("sumprimes"), input, &error);
    QVERIFY(!error.isEmpty());
    QVERIFY2(error.contains(QStringLiteral("sumprimes")), qPrintable(error));
    // The plugin stays usable after an error result.
    error.clear();
    QCOMPARE(run(QStringLiteral("sumprimes"), 10, &error).toInteger(), 17);
    QVERIFY(error.isEmpty());
}

void TestPlugins::sumprimesCancelled()
{
    TestContext cancelled(0);
    QElapsedTimer timer;
    timer.start();
    QString error;
    run(QStringLiteral("sumprimes"), qint64(1) << 32, &error, &cancelled);
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
    QVERIFY2(error.contains(QStringLiteral("cancelled")), qPrintable(error));
}

void TestPlugins::piIsDeterministic()
{
    const auto input = [](qint64 samples, qint64 seed) {
        return QCborValue(QCborMap {{QStringLiteral("samples"), samples}, {QStringLiteral("seed"), seed}});
    };
    QString error;
    const QCborValue a = run(QStringLiteral("pi"), input(50000, 7), &error);
    const QCborValue b = run(QStringLiteral("pi"), input(50000, 7), &error);
    const QCborValue c = run(QStringLiteral("pi"), input(50000, 8), &error);
    const QCborValue bare = run(QStringLiteral("pi"), 50000, &error);
    const QCborValue seed0 = run(QStringLiteral("pi"), input(50000, 0), &error);
    const QCborValue fromJson = run(QStringLiteral("pi"), QCborMap {{QStringLiteral("samples"), 50000.0}}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(a.isMap());
    QCOMPARE(a, b);
    QVERIFY2(a != c, "another seed must give another stream");
    QCOMPARE(bare, seed0);
    QCOMPARE(fromJson, seed0);
    QCOMPARE(a[QLatin1String("samples")].toInteger(), 50000);

    const QCborValue none = run(QStringLiteral("pi"), 0, &error);
    QCOMPARE(none[QLatin1String("samples")].toInteger(), 0);
    QCOMPARE(none[QLatin1String("hits")].toInteger(), 0);
}

void TestPlugins::piEstimatesPi()
{
    QString error;
    TestContext context;
    const QCborValue out
        = run(QStringLiteral("pi"), QCborMap {{QStringLiteral("samples"), 200000}, {QStringLiteral("seed"), 1}}, &error,
              &context);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const qint64 samples = out[QLatin1String("samples")].toInteger();
    const qint64 hits = out[QLatin1String("hits")].toInteger();
    QCOMPARE(samples, 200000);
    QVERIFY(hits > 0 && hits <= samples);
    // The standard deviation of 4*hits/samples is about 0.0037 here: 0.02 is over five of them.
    constexpr double Pi = 3.14159265358979323846;
    const double estimate = 4.0 * double(hits) / double(samples);
    QVERIFY2(std::abs(estimate - Pi) < 0.02, qPrintable(QString::number(estimate)));
    QVERIFY(context.m_progressCalls > 0);
    QCOMPARE(context.m_lastProgress, 1.0);
    QVERIFY(!context.m_progressOutOfOrder);
}

void TestPlugins::piRejects_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::newRow("negative samples") << QCborValue(-5);
    QTest::newRow("fractional samples") << QCborValue(QCborMap {{QStringLiteral("samples"), 1.5}});
    QTest::newRow("missing samples") << QCborValue(QCborMap {{QStringLiteral("seed"), 1}});
    QTest::newRow("text seed") << QCborValue(
        QCborMap {{QStringLiteral("samples"), 10}, {QStringLiteral("seed"), QStringLiteral("x")}});
    QTest::newRow("typo key") << QCborValue(QCborMap {{QStringLiteral("sample"), 10}});
    QTest::newRow("text") << QCborValue(QStringLiteral("many"));
}

void TestPlugins::piRejects()
{
    QFETCH(QCborValue, input);
    QString error;
    run(QStringLiteral("pi"), input, &error);
    QVERIFY(!error.isEmpty());
    QVERIFY2(error.startsWith(QStringLiteral("pi")), qPrintable(error));
}

void TestPlugins::echoRoundTrips_data()
{
    QTest::addColumn<QCborValue>("input");
    QCborMap nested;
    nested.insert(QStringLiteral("bytes"), QByteArray("\x00\x01\xff binary", 10));
    nested.insert(QStringLiteral("list"), QCborArray {1, -2, 3.5, QStringLiteral("Grüße"), true, QCborValue(nullptr)});
    nested.insert(QStringLiteral("inner"), QCborMap {{QStringLiteral("deep"), QCborArray {QCborMap {{1, 2}}}}});
    nested.insert(42, QStringLiteral("integer key"));
    QTest::newRow("nested map with bytes") << QCborValue(nested);
    QTest::newRow("integer") << QCborValue(7);
    QTest::newRow("big integer") << QCborValue(std::numeric_limits<qint64>::min());
    QTest::newRow("text") << QCborValue(QStringLiteral("計算"));
    QTest::newRow("null") << QCborValue(nullptr);
    QTest::newRow("undefined") << QCborValue();
    QTest::newRow("1 MiB bytes") << QCborValue(QByteArray(1 << 20, 'x'));
}

void TestPlugins::echoRoundTrips()
{
    QFETCH(QCborValue, input);
    QString error;
    const QCborValue out = run(QStringLiteral("echo"), input, &error);
    QVERIFY(error.isEmpty());
    QCOMPARE(out, input);
    QCOMPARE(out.toCbor(), input.toCbor());
}

void TestPlugins::sleepSleeps()
{
    QString error;
    TestContext context;
    QElapsedTimer timer;
    timer.start();
    const QCborValue out = run(QStringLiteral("sleep"), 30, &error, &context);
    const qint64 elapsed = timer.elapsed();
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out.toInteger(), 30);
    QVERIFY2(elapsed >= 30, qPrintable(QString::number(elapsed)));
    QVERIFY2(elapsed < 5000, qPrintable(QString::number(elapsed)));
    QVERIFY(context.m_cancelChecks > 0);
    QCOMPARE(context.m_lastProgress, 1.0);
    QVERIFY(!context.m_progressOutOfOrder);

    QCOMPARE(run(QStringLiteral("sleep"), 0, &error).toInteger(), 0);
    QCOMPARE(run(QStringLiteral("sleep"), 5.0, &error).toInteger(), 5);
    QVERIFY(error.isEmpty());
}

void TestPlugins::sleepNoticesCancellation_data()
{
    QTest::addColumn<qint64>("cancelAfterMs");
    QTest::newRow("cancelled before it starts") << qint64(0);
    QTest::newRow("cancelled while sleeping") << qint64(50);
}

void TestPlugins::sleepNoticesCancellation()
{
    QFETCH(qint64, cancelAfterMs);
    TestContext context(cancelAfterMs);
    QString error;
    QElapsedTimer timer;
    timer.start();
    run(QStringLiteral("sleep"), 60000, &error, &context);
    const qint64 elapsed = timer.elapsed();
    QVERIFY2(elapsed < cancelAfterMs + 1000, qPrintable(QString::number(elapsed)));
    QVERIFY2(error.contains(QStringLiteral("cancelled")), qPrintable(error));
}

void TestPlugins::sleepRejects_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::newRow("negative") << QCborValue(-5);
    QTest::newRow("more than a day") << QCborValue(qint64(24) * 3600 * 1000 + 1);
    QTest::newRow("fraction") << QCborValue(0.5);
    QTest::newRow("text") << QCborValue(QStringLiteral("30"));
}

void TestPlugins::sleepRejects()
{
    QFETCH(QCborValue, input);
    QString error;
    QElapsedTimer timer;
    timer.start();
    run(QStringLiteral("sleep"), input, &error);
    QVERIFY(!error.isEmpty());
    QVERIFY(timer.elapsed() < 1000);
}

void TestPlugins::failFails_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::addColumn<QString>("expected");
    QTest::newRow("integer") << QCborValue(3) << QStringLiteral("requested failure");
    QTest::newRow("map") << QCborValue(QCborMap {{QStringLiteral("a"), 1}}) << QStringLiteral("requested failure");
    QTest::newRow("text") << QCborValue(QStringLiteral("disk on fire"))
                          << QStringLiteral("requested failure: disk on fire");
}

void TestPlugins::failFails()
{
    QFETCH(QCborValue, input);
    QFETCH(QString, expected);
    for (int i = 0; i < 2; ++i) {
        QString error;
        run(QStringLiteral("fail"), input, &error);
        QCOMPARE(error, expected);
    }
}

void TestPlugins::crashThrows()
{
    // The only crash mode that is safe in-process; the others are tested through worker processes.
    TaskPlugin *p = plugin(QStringLiteral("crash"));
    QVERIFY(p);
    TestContext context;
    QString error;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, p->run(QStringLiteral("throw"), context, &error));
}

void TestPlugins::crashRejectsUnknownMode()
{
    QString error;
    run(QStringLiteral("crash"), QStringLiteral("explode"), &error);
    QVERIFY2(error.contains(QStringLiteral("unknown mode")), qPrintable(error));
}

void TestPlugins::mandelbrotTileShape_data()
{
    QTest::addColumn<QCborMap>("input");
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("iterations");
    QTest::newRow("defaults") << tileInput({{"x", 3}, {"y", 5}}) << 64 << 256;
    QTest::newRow("odd size") << tileInput({{"x", 0}, {"y", 0}, {"size", 7}, {"tiles", 3}, {"iterations", 20}}) << 7
                              << 20;
    QTest::newRow("one pixel") << tileInput({{"x", 0}, {"y", 0}, {"size", 1}, {"tiles", 1}, {"iterations", 1}}) << 1
                               << 1;
    QTest::newRow("json doubles") << tileInput({{"x", 1.0}, {"y", 2.0}, {"size", 16.0}, {"tiles", 4.0}, {"cx", 0}})
                                  << 16 << 256;
}

void TestPlugins::mandelbrotTileShape()
{
    QFETCH(QCborMap, input);
    QFETCH(int, size);
    QFETCH(int, iterations);
    QString error;
    TestContext context;
    const QCborValue out = run(QStringLiteral("mandelbrot"), input, &error, &context);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(out.isMap());
    QVERIFY(out[QLatin1String("x")].isInteger());
    QCOMPARE(out[QLatin1String("x")].toInteger(), input.value(QLatin1String("x")).toInteger());
    QCOMPARE(out[QLatin1String("y")].toInteger(), input.value(QLatin1String("y")).toInteger());
    QCOMPARE(out[QLatin1String("w")].toInteger(), size);
    QCOMPARE(out[QLatin1String("h")].toInteger(), size);
    QCOMPARE(out[QLatin1String("iterations")].toInteger(), iterations);
    QVERIFY(out[QLatin1String("pixels")].isByteArray());
    QCOMPARE(out[QLatin1String("pixels")].toByteArray().size(), qsizetype(size) * size);
    QCOMPARE(context.m_lastProgress, 1.0);
}

void TestPlugins::mandelbrotKnownPoints()
{
    // Default view: 8 tiles of 64 pixels over [-2, 1] x [-1.5, 1.5], 3/512 per pixel.
    // c = -0.5 + 0i lies at the corner of pixel column 256, row 256: tile (4, 4), pixel (0, 0).
    QString error;
    QCborValue out = run(QStringLiteral("mandelbrot"), tileInput({{"x", 4}, {"y", 4}}), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QByteArray pixels = out[QLatin1String("pixels")].toByteArray();
    QCOMPARE(quint8(pixels.at(0)), quint8(255));
    // c = -1 + 0i (period-2 bulb) is inside too: column 170.67 -> tile 2, pixel 42 of row 256.
    out = run(QStringLiteral("mandelbrot"), tileInput({{"x", 2}, {"y", 4}}), &error);
    pixels = out[QLatin1String("pixels")].toByteArray();
    QCOMPARE(quint8(pixels.at(42)), quint8(255));
    // The top-left corner of the view, about -2 + 1.5i, escapes after one iteration.
    out = run(QStringLiteral("mandelbrot"), tileInput({{"x", 0}, {"y", 0}}), &error);
    pixels = out[QLatin1String("pixels")].toByteArray();
    QCOMPARE(quint8(pixels.at(0)), quint8(0));

    // A view over [-2.5, 2.5]^2 with 0.05 per pixel: c = 2 + 2i is pixel (90, 10) and escapes at once.
    out = run(QStringLiteral("mandelbrot"),
              tileInput({{"x", 0}, {"y", 0}, {"tiles", 1}, {"size", 100}, {"cx", 0}, {"cy", 0}, {"scale", 5}}), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    pixels = out[QLatin1String("pixels")].toByteArray();
    QCOMPARE(quint8(pixels.at(10 * 100 + 90)), quint8(0));
    QCOMPARE(quint8(pixels.at(50 * 100 + 50)), quint8(255)); // about 0 + 0i
    // Points near the edge of the set take a few iterations: neither 0 nor 255 somewhere in the image.
    bool sawMiddle = false;
    for (char b : pixels)
        sawMiddle = sawMiddle || (quint8(b) > 0 && quint8(b) < 255);
    QVERIFY(sawMiddle);
}

void TestPlugins::mandelbrotMatchesReference()
{
    // An independent rendering of the documented mapping: pixel centres, row 0 at the top.
    const int tiles = 3, size = 24, iterations = 60, tx = 1, ty = 2;
    const double cx = -0.75, cy = 0.1, scale = 2.5;
    QString error;
    const QCborValue out = run(QStringLiteral("mandelbrot"),
                               tileInput({{"x", tx},
                                          {"y", ty},
                                          {"tiles", tiles},
                                          {"size", size},
                                          {"iterations", iterations},
                                          {"cx", cx},
                                          {"cy", cy},
                                          {"scale", scale}}),
                               &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const QByteArray pixels = out[QLatin1String("pixels")].toByteArray();
    QCOMPARE(pixels.size(), size * size);
    const double step = scale / (tiles * size);
    int insideCount = 0, mismatches = 0;
    for (int row = 0; row < size; ++row) {
        for (int col = 0; col < size; ++col) {
            const std::complex<double> c(cx - scale / 2 + (tx * size + col + 0.5) * step,
                                         cy + scale / 2 - (ty * size + row + 0.5) * step);
            std::complex<double> z = 0;
            int escapedAt = 0;
            for (int k = 1; k <= iterations && escapedAt == 0; ++k) {
                z = z * z + c;
                if (std::norm(z) > 4.0)
                    escapedAt = k;
            }
            const int expected = escapedAt == 0 ? 255 : 255 * (escapedAt - 1) / iterations;
            insideCount += expected == 255 ? 1 : 0;
            if (quint8(pixels.at(row * size + col)) != expected && ++mismatches <= 5)
                qWarning("pixel (%d, %d): got %d, expected %d", col, row, quint8(pixels.at(row * size + col)),
                         expected);
        }
    }
    QCOMPARE(mismatches, 0);
    QVERIFY2(insideCount > 0 && insideCount < size * size, "the reference tile should cross the boundary of the set");
}

void TestPlugins::mandelbrotIsSymmetric()
{
    // The set is symmetric about the real axis; with the default view (cy = 0) tile row y is tile
    // row 7 - y upside down. A wrong row mapping or an off-by-half-pixel breaks this.
    QString error;
    for (int x : {1, 3, 6}) {
        const QByteArray top
            = run(QStringLiteral("mandelbrot"), tileInput({{"x", x}, {"y", 2}}), &error)[QLatin1String("pixels")]
                  .toByteArray();
        const QByteArray bottom
            = run(QStringLiteral("mandelbrot"), tileInput({{"x", x}, {"y", 5}}), &error)[QLatin1String("pixels")]
                  .toByteArray();
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(top.size(), 64 * 64);
        for (int row = 0; row < 64; ++row)
            QCOMPARE(top.mid(row * 64, 64), bottom.mid((63 - row) * 64, 64));
    }
}

void TestPlugins::mandelbrotCancelled()
{
    TestContext cancelled(0);
    QString error;
    run(QStringLiteral("mandelbrot"), tileInput({{"x", 0}, {"y", 0}, {"size", 1024}, {"iterations", 100000}}), &error,
        &cancelled);
    QVERIFY2(error.contains(QStringLiteral("cancelled")), qPrintable(error));
}

void TestPlugins::mandelbrotRejects_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("not a map") << QCborValue(5) << QStringLiteral("expects a map");
    QTest::newRow("missing x") << QCborValue(tileInput({{"y", 0}})) << QStringLiteral("\"x\"");
    QTest::newRow("x past tiles") << QCborValue(tileInput({{"x", 8}, {"y", 0}})) << QStringLiteral("\"x\"");
    QTest::newRow("negative y") << QCborValue(tileInput({{"x", 0}, {"y", -1}})) << QStringLiteral("\"y\"");
    QTest::newRow("size 0") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"size", 0}})) << QStringLiteral("\"size\"");
    QTest::newRow("size 1025") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"size", 1025}}))
                               << QStringLiteral("\"size\"");
    QTest::newRow("size fraction") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"size", 2.5}}))
                                   << QStringLiteral("\"size\"");
    QTest::newRow("tiles 0") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"tiles", 0}}))
                             << QStringLiteral("\"tiles\"");
    QTest::newRow("tiles 257") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"tiles", 257}}))
                               << QStringLiteral("\"tiles\"");
    QTest::newRow("iterations 0") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"iterations", 0}}))
                                  << QStringLiteral("\"iterations\"");
    QTest::newRow("iterations 100001") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"iterations", 100001}}))
                                       << QStringLiteral("\"iterations\"");
    QTest::newRow("scale 0") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"scale", 0}}))
                             << QStringLiteral("\"scale\"");
    QTest::newRow("scale negative") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"scale", -1.0}}))
                                    << QStringLiteral("\"scale\"");
    QTest::newRow("cx infinite") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"cx", qInf()}}))
                                 << QStringLiteral("\"cx\"");
    QTest::newRow("cy text") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"cy", QStringLiteral("0")}}))
                             << QStringLiteral("\"cy\"");
    QTest::newRow("unknown key") << QCborValue(tileInput({{"x", 0}, {"y", 0}, {"zoom", 2}})) << QStringLiteral("zoom");
}

void TestPlugins::mandelbrotRejects()
{
    QFETCH(QCborValue, input);
    QFETCH(QString, mentions);
    QString error;
    run(QStringLiteral("mandelbrot"), input, &error);
    QVERIFY2(error.startsWith(QStringLiteral("mandelbrot")), qPrintable(error));
    QVERIFY2(error.contains(mentions), qPrintable(error));
}

void TestPlugins::exampleJobsRun_data()
{
    QTest::addColumn<QString>("file");
    const QDir dir(test::sourceDir() + QStringLiteral("/resources/jobs"));
    const QStringList files = dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    QVERIFY2(files.size() >= 5, qPrintable(dir.path()));
    for (const QString &f : files) {
        // Python examples need their script as job parameters: tst_python_jobs runs them through taskfleet-run.
        QFile job(dir.filePath(f));
        if (job.open(QIODevice::ReadOnly)
            && QJsonDocument::fromJson(job.readAll()).object().value(QStringLiteral("plugin"))
                   == QLatin1String("python"))
            continue;
        QTest::newRow(qPrintable(f)) << dir.filePath(f);
    }
}

void TestPlugins::exampleJobsRun()
{
    // The shipped examples must be inputs the plugins accept, converted from JSON the way a job file is.
    QFETCH(QString, file);
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QJsonParseError parseError;
    const QJsonObject job = QJsonDocument::fromJson(f.readAll(), &parseError).object();
    QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
    const QString name = job.value(QStringLiteral("plugin")).toString();
    QVERIFY2(ShippedPlugins.contains(name), qPrintable(name));
    QVector<QCborValue> samples;
    const QJsonValue inputs = job.value(QStringLiteral("inputs"));
    if (inputs.isArray()) {
        const QJsonArray a = inputs.toArray();
        QVERIFY(!a.isEmpty());
        samples << QCborValue::fromJsonValue(a.first()) << QCborValue::fromJsonValue(a.last());
    } else {
        const QJsonArray range = inputs.toObject().value(QStringLiteral("range")).toArray();
        QVERIFY(range.size() >= 2);
        samples << QCborValue::fromJsonValue(range.at(0));
    }
    for (const QCborValue &input : std::as_const(samples)) {
        QString error;
        run(name, input, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }
}

QTEST_GUILESS_MAIN(TestPlugins)
#include "tst_plugins.moc"
