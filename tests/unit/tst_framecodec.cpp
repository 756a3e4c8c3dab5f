// SPDX-License-Identifier: MIT
// The frame codec must round-trip every frame and reject every broken stream without crashing.
#include "protocol/frame.h"
#include "protocol/messagereader.h"
#include "util/allocator.h"

#include <QtCore/QCborArray>
#include <QtCore/QFile>
#include <QtCore/QtEndian>
#include <QtTest/QtTest>

#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

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
    void bigMessageTravelsAsContinuedFrames();
    void continuedFramesAreBounded();
    void sizeBounds();
    void bigBuffersAskForHugePages();
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
        tasks.append(QCborArray {i, QStringLiteral("input %1").arg(i), 1.5 * i});
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
    QTest::newRow("truncated CBOR") << rawFrame(
        QCborValue(QCborMap {{QStringLiteral("t"), QStringLiteral("abcdef")}}).toCbor().left(5))
                                    << MaxFrameSize << QStringLiteral("not valid CBOR");
    QTest::newRow("array not map") << rawFrame(QCborValue(QCborArray {1, 2}).toCbor()) << MaxFrameSize
                                   << QStringLiteral("not a CBOR map");
    QTest::newRow("integer") << rawFrame(QCborValue(7).toCbor()) << MaxFrameSize << QStringLiteral("not a CBOR map");
    QTest::newRow("no type") << rawFrame(QCborValue(QCborMap {{QStringLiteral("x"), 1}}).toCbor()) << MaxFrameSize
                             << QStringLiteral("\"t\"");
    QTest::newRow("type not string") << rawFrame(QCborValue(QCborMap {{QStringLiteral("t"), 1}}).toCbor())
                                     << MaxFrameSize << QStringLiteral("\"t\"");
    QTest::newRow("trailing bytes") << rawFrame(
        QCborValue(QCborMap {{QStringLiteral("t"), QStringLiteral("a")}}).toCbor() + "zz")
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

// A message above MaxFrameSize is cut into continued frames, none above the limit, and joined again, also
// when the bytes arrive in odd pieces.
void TestFrameCodec::bigMessageTravelsAsContinuedFrames()
{
    using namespace taskfleet::protocol;
    QCborMap big = makeMessage(QStringLiteral("run"));
    QByteArray blob(qsizetype(MaxFrameSize) + 12345, 'x');
    for (qsizetype i = 0; i < blob.size(); i += 4099)
        blob[i] = char('a' + i % 26);
    big.insert(QStringLiteral("blob"), blob);
    QByteArray stream;
    appendFrame(stream, makeMessage(QStringLiteral("before")));
    appendFrame(stream, big);
    appendFrame(stream, makeMessage(QStringLiteral("after")));
    // Walk the prefixes: every frame within the limit, the big one in two pieces, the first continued.
    QVector<quint32> words;
    for (qsizetype at = 0; at < stream.size();) {
        const quint32 word = qFromBigEndian<quint32>(stream.constData() + at);
        words.append(word);
        QVERIFY((word & ~ContinuedFrameBit) <= MaxFrameSize);
        at += FrameHeaderSize + qsizetype(word & ~ContinuedFrameBit);
    }
    QCOMPARE(words.size(), 4);
    QVERIFY(!(words[0] & ContinuedFrameBit));
    QVERIFY(words[1] & ContinuedFrameBit);
    QVERIFY(!(words[2] & ContinuedFrameBit));

    FrameDecoder decoder;
    QVector<QCborMap> got;
    for (qsizetype at = 0; at < stream.size(); at += 7 * 1024 * 1024 + 3) {
        decoder.append(stream.constData() + at, std::min<qsizetype>(7 * 1024 * 1024 + 3, stream.size() - at));
        QCborMap m;
        FrameDecoder::Status status;
        while ((status = decoder.next(&m)) == FrameDecoder::Status::Frame)
            got.append(m);
        QVERIFY2(status == FrameDecoder::Status::NeedMore, qPrintable(decoder.errorString()));
    }
    QCOMPARE(got.size(), 3);
    QCOMPARE(got[0].value(QStringLiteral("t")).toString(), QStringLiteral("before"));
    QCOMPARE(got[1].value(QStringLiteral("blob")).toByteArray(), blob);
    QCOMPARE(got[2].value(QStringLiteral("t")).toString(), QStringLiteral("after"));
}

void TestFrameCodec::continuedFramesAreBounded()
{
    using namespace taskfleet::protocol;
    // A decoder with a small frame limit joins no more than that in continued frames either.
    FrameDecoder small(4096);
    QByteArray stream;
    for (int i = 0; i < 3; ++i) {
        char head[FrameHeaderSize];
        qToBigEndian<quint32>(2000u | ContinuedFrameBit, head);
        stream.append(head, FrameHeaderSize);
        stream.append(2000, 'z');
    }
    small.append(stream);
    QCborMap m;
    QCOMPARE(small.next(&m), FrameDecoder::Status::Error);
    QVERIFY2(small.errorString().contains(QStringLiteral("continued frames exceeds the limit")),
             qPrintable(small.errorString()));

    // Joined pieces that are not one CBOR map are refused like a single bad frame.
    FrameDecoder d;
    QByteArray junk;
    char head[FrameHeaderSize];
    qToBigEndian<quint32>(3u | ContinuedFrameBit, head);
    junk.append(head, FrameHeaderSize).append("\xa1\x61t", 3);
    qToBigEndian<quint32>(1u, head);
    junk.append(head, FrameHeaderSize).append("\x05", 1); // {"t": 5}: a map whose "t" is no string
    d.append(junk);
    QCOMPARE(d.next(&m), FrameDecoder::Status::Error);
    QVERIFY2(d.errorString().contains(QStringLiteral("\"t\"")), qPrintable(d.errorString()));
}

void TestFrameCodec::sizeBounds()
{
    using namespace taskfleet::protocol;
    const QCborValue values[]
        = {QCborValue(42), QCborValue(QStringLiteral("h\u00e9llo")), QCborValue(QByteArray(1000, 'b')),
           QCborValue(QCborArray {1, QStringLiteral("two"), QCborMap {{QStringLiteral("k"), 2.5}}}),
           QCborValue(QCborMap {{QStringLiteral("nested"), QCborArray {QByteArray(70000, 'q')}}})};
    for (const QCborValue &v : values) {
        const qint64 exact = v.toCbor().size();
        QVERIFY2(cborSizeBound(v) >= exact, qPrintable(QString::number(exact)));
        QCOMPARE(cborSizeIfOver(v, 0) >= exact, true);
        QVERIFY(cborSizeIfOver(v, 0) <= exact + 8);
    }
}

QTEST_GUILESS_MAIN(TestFrameCodec)
// Big frame payloads are advised for huge pages before they are filled (FrameDecoder, the pool's run frames):
// where transparent huge pages are offered on request, a buffer so advised and then written is backed by them.
void TestFrameCodec::bigBuffersAskForHugePages()
{
#if defined(__linux__)
    QFile mode(QStringLiteral("/sys/kernel/mm/transparent_hugepage/enabled"));
    if (!mode.open(QIODevice::ReadOnly) || mode.readAll().contains("[never]"))
        QSKIP("transparent huge pages are off here");
    // Not on the heap: a mapping of its own, so that smaps tells its huge pages apart from everything else's.
    constexpr qint64 Size = 16 * 1024 * 1024;
    void *map = mmap(nullptr, size_t(Size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    QVERIFY(map != MAP_FAILED);
    char *data = static_cast<char *>(map) + 4096; // unaligned on purpose: only whole huge pages inside count
    taskfleet::util::adviseHugePages(data, Size - 4096);
    std::memset(data, 1, size_t(Size - 4096));
    qint64 hugeKb = 0;
    QFile smaps(QStringLiteral("/proc/self/smaps"));
    QVERIFY(smaps.open(QIODevice::ReadOnly));
    bool inside = false;
    const quintptr begin = quintptr(map), end = begin + quintptr(Size);
    for (const QByteArray &line : smaps.readAll().split('\n')) {
        const int dash = line.indexOf('-');
        const int space = line.indexOf(' ');
        bool startOk = false, endOk = false;
        const quintptr from = dash > 0 ? line.left(dash).toULongLong(&startOk, 16) : 0;
        const quintptr to = dash > 0 && space > dash ? line.mid(dash + 1, space - dash - 1).toULongLong(&endOk, 16) : 0;
        if (startOk && endOk)
            inside = from >= begin && to <= end;
        else if (inside && line.startsWith("AnonHugePages:"))
            hugeKb += line.mid(14).trimmed().split(' ').first().toLongLong();
    }
    munmap(map, size_t(Size));
    qInfo("a 16 MiB buffer advised and written: %lld KiB in huge pages", hugeKb);
    // With defrag "always", "madvise" or "defer+madvise" a fault in an advised range compacts memory for a huge
    // page if none is free; with "defer" or "never" it may fall back to small pages, and then nothing is asserted.
    QFile defrag(QStringLiteral("/sys/kernel/mm/transparent_hugepage/defrag"));
    const QByteArray policy = defrag.open(QIODevice::ReadOnly) ? defrag.readAll() : QByteArray();
    if (policy.contains("[always]") || policy.contains("[madvise]") || policy.contains("[defer+madvise]"))
        QVERIFY2(hugeKb >= 2048, "no huge page backs the advised buffer");
    // Small buffers are left alone: no advice, no split mappings.
    char small[4096];
    taskfleet::util::adviseHugePages(small, sizeof(small));
#else
    QSKIP("Linux only");
#endif
}

#include "tst_framecodec.moc"
