// SPDX-License-Identifier: MIT
// The JSON helpers every result and job file goes through (core/util): values are written exactly or not at all
// (NaN and infinities had once become null), and a key named twice is refused where that is asked for.
#include "util/cborstring.h"
#include "util/jsontocbor.h"
#include "util/jsonwriter.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtTest/QtTest>

#include <cmath>
#include <limits>

using namespace taskfleet;

namespace {

QByteArray json(const QCborValue &v)
{
    QByteArray out;
    util::appendJson(out, v);
    return out;
}

constexpr double Inf = std::numeric_limits<double>::infinity();

} // namespace

class TestJsonValues : public QObject
{
    Q_OBJECT

private slots:
    void nonFiniteWrittenExactly_data();
    void nonFiniteWrittenExactly();
    void finiteDoublesRoundTrip_data();
    void finiteDoublesRoundTrip();
    void nanInsideATag();
    void parserRefusesNonFiniteTokens_data();
    void parserRefusesNonFiniteTokens();
    void duplicateKeysLastWinsByDefault();
    void duplicateKeysRefusedWhenAsked();
    void findJsonSpecialMatchesAByteLoop();
};

// What a C++ plugin (echo returns its input) or a Python task returns reaches taskfleet-run's -o through this.
void TestJsonValues::nonFiniteWrittenExactly_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("nan") << QCborValue(std::nan("")) << QByteArray("NaN");
    QTest::newRow("negative nan") << QCborValue(-std::nan("")) << QByteArray("NaN");
    QTest::newRow("inf") << QCborValue(Inf) << QByteArray("Infinity");
    QTest::newRow("-inf") << QCborValue(-Inf) << QByteArray("-Infinity");
    QTest::newRow("-0.0") << QCborValue(-0.0) << QByteArray("-0.0");
    QTest::newRow("0.0") << QCborValue(0.0) << QByteArray("0.0");
    QTest::newRow("in a list") << QCborValue(QCborArray {std::nan(""), 1.5, -Inf, Inf, 2})
                               << QByteArray("[NaN,1.5,-Infinity,Infinity,2]");
    QTest::newRow("in a map") << QCborValue(QCborMap {{QStringLiteral("x"), Inf}, {QStringLiteral("y"), std::nan("")}})
                              << QByteArray(R"({"x":Infinity,"y":NaN})");
    // The text "NaN" stays text: the tokens are never quoted, so the two cannot be confused.
    QTest::newRow("1e15 stays a double") << QCborValue(1e15) << QByteArray("1000000000000000.0");
    QTest::newRow("the text NaN") << QCborValue(QStringLiteral("NaN")) << QByteArray(R"("NaN")");
}

void TestJsonValues::nonFiniteWrittenExactly()
{
    QFETCH(QCborValue, value);
    QFETCH(QByteArray, expected);
    QCOMPARE(json(value), expected);
}

void TestJsonValues::finiteDoublesRoundTrip_data()
{
    QTest::addColumn<double>("d");
    QTest::newRow("-0.0") << -0.0;
    QTest::newRow("0.1") << 0.1;
    QTest::newRow("-1e15") << -1e15;
    QTest::newRow("2^53 + 2") << 9007199254740994.0;
    QTest::newRow("max") << std::numeric_limits<double>::max();
    QTest::newRow("denormal min") << std::numeric_limits<double>::denorm_min();
    QTest::newRow("-12.0") << -12.0;
    QTest::newRow("1e16") << 1e16;
    QTest::newRow("1e300") << 1e300;
}

// Written and read back by the project's own reader: the same bits (the sign of zero included).
void TestJsonValues::finiteDoublesRoundTrip()
{
    QFETCH(double, d);
    QCborValue back;
    QString error;
    QVERIFY2(util::parseJsonExact(json(QCborValue(d)), &back, &error), qPrintable(error));
    QVERIFY(back.isDouble());
    QCOMPARE(back.toDouble(), d);
    QCOMPARE(std::signbit(back.toDouble()), std::signbit(d));
}

// QCborValue::toJsonValue() turns a NaN under a tag into null; the writer converts the tagged value itself.
void TestJsonValues::nanInsideATag()
{
    QCOMPARE(json(QCborValue(QCborTag(1234), QCborArray {1, std::nan(""), QByteArray("ab")})),
             QByteArray(R"([1,NaN,"YWI"])"));
    QCOMPARE(json(QCborValue(QCborKnownTags::UnixTime_t, QCborValue(-Inf))), QByteArray("-Infinity"));
    // Tags 21-23 over bytes keep Qt's encoding hints (22: base64 with padding).
    QCOMPARE(json(QCborValue(QCborKnownTags::ExpectedBase64, QCborValue(QByteArray("ab")))), QByteArray(R"("YWI=")"));
}

// JSON has no NaN or infinity: the reader refuses them naming the token (not "expected a JSON value"), so a job
// file written by Python's json.dump with a NaN in it says what is wrong.
void TestJsonValues::parserRefusesNonFiniteTokens_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("NaN") << QByteArray("[1,\n NaN]") << QStringLiteral("line 2, column 2: NaN is not a JSON value");
    QTest::newRow("Infinity") << QByteArray("Infinity")
                              << QStringLiteral("line 1, column 1: Infinity is not a JSON value");
    QTest::newRow("-Infinity") << QByteArray(R"({"a": -Infinity})")
                               << QStringLiteral("line 1, column 7: -Infinity is not a JSON value");
    QTest::newRow("nan") << QByteArray("[nan]") << QStringLiteral("line 1, column 2: nan is not a JSON value");
    QTest::newRow("+inf") << QByteArray("[+inf]") << QStringLiteral("line 1, column 2: +inf is not a JSON value");
    QTest::newRow("not a token") << QByteArray("[nul]") << QStringLiteral("line 1, column 2: expected a JSON value");
    QTest::newRow("longer word") << QByteArray("[Infinityx]")
                                 << QStringLiteral("line 1, column 2: expected a JSON value");
    QTest::newRow("minus alone") << QByteArray("[-]") << QStringLiteral("line 1, column 2: expected a JSON value");
}

void TestJsonValues::parserRefusesNonFiniteTokens()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, message);
    QCborValue v;
    QString error;
    util::JsonRefusal refusal = util::JsonRefusal::DuplicateKey;
    util::JsonReadOptions options;
    options.refusal = &refusal;
    QVERIFY(!util::parseJsonExact(text, &v, &error, options));
    QVERIFY2(error.startsWith(message), qPrintable(error));
    QCOMPARE(refusal, util::JsonRefusal::NotJson);
}

// Lines files (LineSource) read each line with the plain reader: there the last key still wins, as before.
void TestJsonValues::duplicateKeysLastWinsByDefault()
{
    QCborValue v;
    QString error;
    QVERIFY2(util::parseJsonExact(R"({"a": 1, "b": 2, "a": 3})", &v, &error), qPrintable(error));
    QCOMPARE(v.toMap().size(), 2);
    QCOMPARE(v.toMap().value(QStringLiteral("a")).toInteger(), 3);
}

void TestJsonValues::duplicateKeysRefusedWhenAsked()
{
    util::JsonRefusal refusal = util::JsonRefusal::NotJson;
    util::JsonReadOptions options;
    options.uniqueKeys = true;
    options.refusal = &refusal;
    QCborValue v;
    QString error;
    QVERIFY(
        !util::parseJsonExact("[{\"a\": 1},\n {\"b\": [], \"a\": {}, \"c\": 0,\n  \"a\": 2}]", &v, &error, options));
    QCOMPARE(error,
             QStringLiteral("line 3, column 3: duplicate key \"a\" (first at line 2, column 12): a key may appear "
                            "only once in an object"));
    QCOMPARE(refusal, util::JsonRefusal::DuplicateKey);

    // Many keys: found by the map's own lookup, whichever key repeats.
    QByteArray many = "{";
    for (int i = 0; i < 500; ++i)
        many += "\"k" + QByteArray::number(i) + "\": " + QByteArray::number(i) + ", ";
    QVERIFY2(util::parseJsonExact(many + "\"last\": 0}", &v, &error, options), qPrintable(error));
    QCOMPARE(v.toMap().size(), 501);
    QVERIFY(!util::parseJsonExact(many + "\"k250\": 0}", &v, &error, options));
    QVERIFY2(error.contains(QStringLiteral("duplicate key \"k250\" (first at line 1, column ")), qPrintable(error));

    // A syntax error after a repeated key is still the duplicate (the first problem in the text).
    QVERIFY(!util::parseJsonExact(R"({"a": 1, "a": 2, })", &v, &error, options));
    QVERIFY2(error.contains(QStringLiteral("duplicate key \"a\"")), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestJsonValues)
void TestJsonValues::findJsonSpecialMatchesAByteLoop()
{
    // Every length up to a few vector steps, every special byte at every place (and bytes around the edges
    // that are not special: a vector compare of signed bytes would take 0x80-0xff for controls).
    const auto byteLoop = [](const char *p, const char *end) {
        while (p < end && uchar(*p) >= 0x20 && *p != '"' && *p != '\\')
            ++p;
        return p;
    };
    const char plain[] = {'a', ' ', '\x7f', '\x80', '\xff', '!', '#', '[', ']', '~'};
    const char special[] = {'\0', '\x01', '\n', '\x1f', '"', '\\'};
    for (int length = 0; length <= 100; ++length) {
        QByteArray text(length, 'x');
        for (int i = 0; i < length; ++i)
            text[i] = plain[(i * 7 + length) % int(sizeof(plain))];
        const char *begin = text.constData();
        QCOMPARE(util::findJsonSpecial(begin, begin + length), begin + length);
        for (int at = 0; at < length; ++at) {
            for (char c : special) {
                QByteArray t = text;
                t[at] = c;
                const char *b = t.constData();
                QCOMPARE(util::findJsonSpecial(b, b + length) - b, byteLoop(b, b + length) - b);
                QCOMPARE(util::findJsonSpecial(b, b + length) - b, qsizetype(at));
                if (at >= 1) // from an odd start too
                    QCOMPARE(util::findJsonSpecial(b + 1, b + length) - b, qsizetype(at));
            }
        }
    }
}

#include "tst_jsonvalues.moc"
