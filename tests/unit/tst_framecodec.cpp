// SPDX-License-Identifier: MIT
// The frame codec must round-trip every frame and reject every broken stream without crashing.
#include "protocol/frame.h"
#include "protocol/messagereader.h"

#include <QtCore/QCborArray>
#include <QtCore/QtEndian>
#include <QtTest/QtTest>

using namespace taskfleet::protocol;

class TestFrameCodec : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void byteByByte();
    void manyFramesInOneBuffer();
    void rejects_data();
    void rejects();
    void errorIsSticky();
    void messageReader();
};

static QCborMap makeMessage(const QString &type)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), type);
    return m;
}

void TestFrameCodec::roundTrip_data()
{
    QTest::addColumn<QCborMap>("message");
    QCborMap empty = makeMessage(QStringLiteral("hello"));
    QTest::newRow("type only") << empty;

    QCborMap nested = makeMessage(QStringLiteral("run"));
    QCborArray tasks;
    for (int i = 0; i < 100; ++i)
        tasks.append(QCborArray{i, QStringLiteral("input %1").arg(i), 1.5 * i});
    nested.insert(QStringLiteral("tasks"), tasks);
    QTest::newRow("nested arrays") << nested;

    QCborMap big = makeMessage(QStringLiteral("upload"));
    big.insert(QStringLiteral("data"), QByteArray(3 * 1024 * 1024, 'x'));
    QTest::newRow("3 MiB bytes") << big;

    QCborMap unicode = makeMessage(QStringLiteral("text"));
    unicode.insert(QStringLiteral("s"), QStringLiteral("Grüße — 計算"));
    unicode.insert(QStringLiteral("neg"), -42);
    unicode.insert(QStringLiteral("null"), QCborValue(nullptr));
    QTest::newRow("unicode and scalars") << unicode;
}

void TestFrameCodec::roundTrip()
{
    QFETCH(QCborMap, message);
    FrameDecoder decoder;
    decoder.append(encodeFrame(message));
    QCborMap out;
    QCOMPARE(decoder.next(&out), FrameDecoder::Status::Frame);
    QCOMPARE(out, message);
    QCOMPARE(decoder.next(&out), FrameDecoder::Status::NeedMore);
    QCOMPARE(decoder.bufferedBytes(), 0);
}

void TestFrameCodec::byteByByte()
{
    QCborMap message = makeMessage(QStringLiteral("res"));
    message.insert(QStringLiteral("v"), QStringLiteral("payload"));
    const QByteArray frame = encodeFrame(message) + encodeFrame(message);
    FrameDecoder decoder;
    int frames = 0;
    for (char c : frame) {
        decoder.append(&c, 1);
        QCborMap out;
        while (decoder.next(&out) == FrameDecoder::Status::Frame) {
            QCOMPARE(out, message);
            ++frames;
        }
    }
    QCOMPARE(frames, 2);
    QVERIFY(!decoder.hasError());
}

void TestFrameCodec::manyFramesInOneBuffer()
{
    QByteArray stream;
    for (int i = 0; i < 10000; ++i) {
        QCborMap m = makeMessage(QStringLiteral("n"));
        m.insert(QStringLiteral("i"), i);
        appendFrame(stream, m);
    }
    FrameDecoder decoder;
    decoder.append(stream);
    QCborMap out;
    for (int i = 0; i < 10000; ++i) {
        QCOMPARE(decoder.next(&out), FrameDecoder::Status::Frame);
        QCOMPARE(out.value(QStringLiteral("i")).toInteger(), i);
    }
    QCOMPARE(decoder.next(&out), FrameDecoder::Status::NeedMore);
}

static QByteArray rawFrame(const QByteArray &payload)
{
    QByteArray out(4, '\0');
    qToBigEndian<quint32>(quint32(payload.size()), out.data());
    return out + payload;
}

void TestFrameCodec::rejects_data()
{
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<quint32>("limit");
    QTest::addColumn<QString>("reason");

    QByteArray oversized(4, '\0');
    qToBigEndian<quint32>(1000, oversized.data());
    QTest::newRow("oversized") << oversized << quint32(999) << QStringLiteral("exceeds the limit");
    QByteArray huge(4, '\xff');
    QTest::newRow("4 GiB length") << huge << MaxFrameSize << QStringLiteral("exceeds the limit");
    QTest::newRow("empty frame") << QByteArray(4, '\0') << MaxFrameSize << QStringLiteral("empty frame");
    QTest::newRow("not CBOR") << rawFrame(QByteArray("\xff\xff\xff\xff", 4)) << MaxFrameSize
                              << QStringLiteral("not valid CBOR");
    QTest::newRow("truncated CBOR") << rawFrame(QCborValue(QCborMap{{QStringLiteral("t"), QStringLiteral("abcdef")}}).toCbor().left(5))
                                    << MaxFrameSize << QStringLiteral("not valid CBOR");
    QTest::newRow("array not map") << rawFrame(QCborValue(QCborArray{1, 2}).toCbor()) << MaxFrameSize
                                   << QStringLiteral("not a CBOR map");
    QTest::newRow("integer") << rawFrame(QCborValue(7).toCbor()) << MaxFrameSize << QStringLiteral("not a CBOR map");
    QTest::newRow("no type") << rawFrame(QCborValue(QCborMap{{QStringLiteral("x"), 1}}).toCbor()) << MaxFrameSize
                             << QStringLiteral("\"t\"");
    QTest::newRow("type not string") << rawFrame(QCborValue(QCborMap{{QStringLiteral("t"), 1}}).toCbor())
                                     << MaxFrameSize << QStringLiteral("\"t\"");
    QTest::newRow("trailing bytes") << rawFrame(QCborValue(QCborMap{{QStringLiteral("t"), QStringLiteral("a")}}).toCbor() + "zz")
                                    << MaxFrameSize << QStringLiteral("after its CBOR value");
}

void TestFrameCodec::rejects()
{
    QFETCH(QByteArray, stream);
    QFETCH(quint32, limit);
    QFETCH(QString, reason);
    FrameDecoder decoder(limit);
    decoder.append(stream);
    QCborMap out;
    QCOMPARE(decoder.next(&out), FrameDecoder::Status::Error);
    QVERIFY2(decoder.errorString().contains(reason), qPrintable(decoder.errorString()));
}

void TestFrameCodec::errorIsSticky()
{
    FrameDecoder decoder;
    decoder.append(QByteArray(4, '\0'));
    QCborMap out;
    QCOMPARE(decoder.next(&out), FrameDecoder::Status::Error);
    decoder.append(encodeFrame(makeMessage(QStringLiteral("ok"))));
    QCOMPARE(decoder.next(&out), FrameDecoder::Status::Error);
}

void TestFrameCodec::messageReader()
{
    QCborMap m = makeMessage(QStringLiteral("x"));
    m.insert(QStringLiteral("n"), 5);
    m.insert(QStringLiteral("s"), QStringLiteral("str"));
    MessageReader good(m);
    QCOMPARE(good.integer("n", 0, 10), 5);
    QCOMPARE(good.string("s"), QStringLiteral("str"));
    QVERIFY(good.ok());

    MessageReader missing(m);
    missing.integer("absent");
    QVERIFY(!missing.ok());
    QVERIFY(missing.error().contains(QStringLiteral("absent")));

    MessageReader wrong(m);
    wrong.integer("s");
    QVERIFY(wrong.error().contains(QStringLiteral("integer")));

    MessageReader range(m);
    range.integer("n", 6, 10);
    QVERIFY(range.error().contains(QStringLiteral("outside")));
}

QTEST_GUILESS_MAIN(TestFrameCodec)
#include "tst_framecodec.moc"
