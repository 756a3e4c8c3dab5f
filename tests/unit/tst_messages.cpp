// SPDX-License-Identifier: MIT
// Controller <-> agent messages: round trips of every message and rejection of malformed forms.
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "protocol/version.h"

#include <QtCore/QCborArray>
#include <QtCore/QtEndian>
#include <QtTest/QtTest>

#include <functional>

using namespace taskfleet::protocol;

namespace {
const QByteArray Sha = QByteArray(64, 'a');

QCborMap with(QCborMap m, const char *key, const QCborValue &value)
{
    if (value.isUndefined())
        m.remove(QLatin1String(key));
    else
        m.insert(QLatin1String(key), value);
    return m;
}

Hello sampleHello()
{
    Hello h;
    h.major = ProtocolMajor;
    h.minor = ProtocolMinor;
    h.role = QStringLiteral("agent");
    h.nodeId = QStringLiteral("{0f8fad5b-d9cb-469f-a165-70867728950e}");
    h.hostName = QStringLiteral("box");
    h.abi = QStringLiteral("x86_64-little_endian-lp64");
    h.qtVersion = QStringLiteral("6.4.2");
    h.cores = 8;
    h.workers = 4;
    h.os = QStringLiteral("Debian GNU/Linux 12 (bookworm), linux 6.1.0");
    h.version = QStringLiteral("0.9.0");
    return h;
}

/** Decodes with the decoder for the message's type; returns the error ("" when accepted). */
QString decodeAny(const QCborMap &m)
{
    QString error;
    const MessageType type = messageType(m, &error);
    bool ok = false;
    switch (type) {
    case MessageType::Unknown:
        return error;
    case MessageType::Hello: {
        Hello x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::Run: {
        Run x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::Results: {
        Results x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::Cancel: {
        Cancel x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::Status: {
        Status x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::SetWorkers: {
        SetWorkers x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::PluginQuery: {
        PluginQuery x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::PluginHave: {
        PluginHave x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::PluginUpload: {
        PluginUpload x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::PluginStored: {
        PluginStored x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::PluginRejected: {
        PluginRejected x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::Heartbeat: {
        Heartbeat x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::ParametersEvicted: {
        ParametersEvicted x;
        ok = decode(m, &x, &error);
        break;
    }
    case MessageType::Error:
    case MessageType::Bye: {
        ErrorMessage x;
        ok = decode(m, &x, &error);
        break;
    }
    }
    return ok ? QString() : (error.isEmpty() ? QStringLiteral("(no reason)") : error);
}
} // namespace

class TestMessages : public QObject
{
    Q_OBJECT

private slots:
    void roundTripHello()
    {
        const Hello h = sampleHello();
        Hello back;
        QString error;
        // Through the frame codec too, as on the wire.
        FrameDecoder decoder;
        decoder.append(encodeFrame(encode(h)));
        QCborMap m;
        QCOMPARE(decoder.next(&m), FrameDecoder::Status::Frame);
        QVERIFY2(decode(m, &back, &error), qPrintable(error));
        QCOMPARE(back.role, h.role);
        QCOMPARE(back.nodeId, h.nodeId);
        QCOMPARE(back.abi, h.abi);
        QCOMPARE(back.workers, 4);
        QCOMPARE(back.cores, 8);
        QCOMPARE(back.os, h.os);
        QCOMPARE(back.version, h.version);
        QVERIFY(checkCompatible(back, QStringLiteral("agent")).isEmpty());
        QVERIFY(!checkCompatible(back, QStringLiteral("controller")).isEmpty());
    }

    void versionMismatchIsReadableAndRefused()
    {
        Hello h = sampleHello();
        h.major = ProtocolMajor + 1;
        QCborMap m = encode(h);
        m.remove(QStringLiteral("abi")); // a future version may drop fields
        Hello back;
        QString error;
        QVERIFY2(decode(m, &back, &error), qPrintable(error));
        const QString why = checkCompatible(back, QStringLiteral("agent"));
        QVERIFY(why.contains(QStringLiteral("protocol version")));
    }

    // Protocol 1.4: the agent names the job parameters it evicted; anything but SHA-256s is refused.
    void parametersEvictedRoundTripAndValidation()
    {
        ParametersEvicted e;
        e.ids = {Sha, QByteArray(64, 'b')};
        ParametersEvicted back;
        QString error;
        QVERIFY2(decode(encode(e), &back, &error), qPrintable(error));
        QCOMPARE(back.ids, e.ids);
        QCOMPARE(messageType(encode(e), &error), MessageType::ParametersEvicted);
        QCborMap bad = encode(e);
        bad.insert(QStringLiteral("ps"), QCborArray {QStringLiteral("../../etc/passwd")});
        QVERIFY(!decode(bad, &back, &error));
        QVERIFY2(error.contains(QStringLiteral("SHA-256")), qPrintable(error));
        bad.insert(QStringLiteral("ps"), QCborArray {42});
        QVERIFY(!decode(bad, &back, &error));
        bad.remove(QStringLiteral("ps"));
        QVERIFY(!decode(bad, &back, &error));
        // The status's value cache fields: optional, absent from an older agent.
        Status st;
        st.valueCacheBytes = 40 << 20;
        st.valueCacheLimit = 30 << 20;
        st.valueCacheFull = true;
        Status stBack;
        QVERIFY2(decode(encode(st), &stBack, &error), qPrintable(error));
        QCOMPARE(stBack.valueCacheBytes, st.valueCacheBytes);
        QCOMPARE(stBack.valueCacheLimit, st.valueCacheLimit);
        QVERIFY(stBack.valueCacheFull);
        QVERIFY2(decode(encode(Status {}), &stBack, &error), qPrintable(error));
        QCOMPARE(stBack.valueCacheLimit, -1);
        QVERIFY(!stBack.valueCacheFull);
    }

    // The agent streams results frames (writeResults) instead of building them (encode): the same bytes.
    void streamedResultsAreByteForByteTheEncodedOnes()
    {
        for (bool withLogs : {false, true}) {
            Results res;
            res.results.append(TaskResult {7, 0, QCborValue(QByteArray(3 << 20, 'v')), 1234, {}});
            res.results.append(TaskResult {quint64(1) << 40, 1, QCborValue(QStringLiteral("boom")), 0,
                                           withLogs ? QStringLiteral("printed") : QString()});
            res.results.append(TaskResult {9, 0, QCborValue(QCborMap {{QStringLiteral("k"), 1.5}}), 5, {}});
            QByteArray streamed;
            QCborStreamWriter w(&streamed);
            writeResults(w, res);
            QCOMPARE(streamed.size(), encode(res).toCborValue().toCbor().size());
            QVERIFY(streamed == encode(res).toCborValue().toCbor());
            Results back;
            QString error;
            QVERIFY2(decode(QCborValue::fromCbor(streamed).toMap(), &back, &error), qPrintable(error));
            QCOMPARE(back.results.size(), 3);
            QCOMPARE(back.results.at(1).log, res.results.at(1).log);
        }
    }

    void roundTripRunAndResults()
    {
        Run run;
        run.sha256 = Sha;
        run.timeoutMs = 1500;
        for (int i = 0; i < 100; ++i)
            run.tasks.append(TaskItem {quint64(i * 3), QCborValue(i)});
        Run back;
        QString error;
        QVERIFY2(decode(encode(run), &back, &error), qPrintable(error));
        QCOMPARE(back.sha256, Sha);
        QCOMPARE(back.timeoutMs, 1500);
        QCOMPARE(back.tasks.size(), 100);
        QCOMPARE(back.tasks.at(7).id, quint64(21));
        QCOMPARE(back.tasks.at(7).input, QCborValue(7));

        Results res;
        res.results.append(TaskResult {1, 0, QCborValue(42), 10, {}});
        res.results.append(TaskResult {2, 1, QCborValue(QStringLiteral("bad input")), 20, {}});
        Results rb;
        QVERIFY2(decode(encode(res), &rb, &error), qPrintable(error));
        QCOMPARE(rb.results.size(), 2);
        QCOMPARE(rb.results.at(0).value, QCborValue(42));
        QCOMPARE(rb.results.at(1).outcome, 1);
        QCOMPARE(rb.results.at(1).value.toString(), QStringLiteral("bad input"));
        QCOMPARE(rb.results.at(1).runtimeUs, 20);
    }

    void roundTripSmallMessages()
    {
        QString error;
        Cancel c {{1, 2, 3}};
        Cancel cb;
        QVERIFY(decode(encode(c), &cb, &error));
        QCOMPARE(cb.ids, c.ids);

        Status s {4, 2, 10, 12, 1000, 3, 0.5, 1, 3000, 16000, 77};
        Status sb;
        QVERIFY2(decode(encode(s), &sb, &error), qPrintable(error));
        QCOMPARE(sb.memUsed, 3000);
        QCOMPARE(sb.memTotal, 16000);
        QCOMPARE(sb.uptimeSeconds, 77);
        Status older; // a 1.0 agent sends none of the machine fields: unknown, not zero
        QVERIFY(decode(encode(Status {4, 2, 10, 12, 1000, 3, 0.5, 1}), &older, &error));
        QCOMPARE(older.memTotal, -1);
        QCOMPARE(older.memUsed, -1);
        QCOMPARE(older.uptimeSeconds, -1);
        QCOMPARE(sb.workers, 4);
        QCOMPARE(sb.capacity, 12);
        QCOMPARE(sb.tasksDone, 1000);
        QCOMPARE(sb.load, 0.5);
        QCOMPARE(sb.uploads, 1);

        SetWorkers w {7};
        SetWorkers wb;
        QVERIFY(decode(encode(w), &wb, &error));
        QCOMPARE(wb.count, 7);

        PluginHave h {Sha, true};
        PluginHave hb;
        QVERIFY(decode(encode(h), &hb, &error));
        QVERIFY(hb.have);

        PluginUpload u {Sha, QStringLiteral("echo"),
                        QByteArray("\x7f"
                                   "ELF",
                                   4)};
        PluginUpload ub;
        QVERIFY(decode(encode(u), &ub, &error));
        QCOMPARE(ub.bytes, u.bytes);
        QCOMPARE(ub.name, u.name);

        PluginRejected r {Sha, QStringLiteral("hash mismatch")};
        PluginRejected rb;
        QVERIFY(decode(encode(r), &rb, &error));
        QCOMPARE(rb.reason, r.reason);

        ErrorMessage e;
        QVERIFY(decode(encodeBye(QStringLiteral("agent stopping")), &e, &error));
        QCOMPARE(e.text, QStringLiteral("agent stopping"));
        QCOMPARE(messageType(encodeHeartbeat(), &error), MessageType::Heartbeat);
        Heartbeat plain;
        QVERIFY(decode(encodeHeartbeat(), &plain, &error));
        QCOMPARE(plain.ping, -1);
        QCOMPARE(plain.pong, -1);
        Heartbeat ping;
        QVERIFY(decode(encodeHeartbeat(Heartbeat {42, -1}), &ping, &error));
        QCOMPARE(ping.ping, 42);
        QCOMPARE(ping.pong, -1);
        Heartbeat pong;
        QVERIFY(decode(encodeHeartbeat(Heartbeat {-1, 42}), &pong, &error));
        QCOMPARE(pong.pong, 42);
        QCOMPARE(messageType(encodeError(QStringLiteral("x")), &error), MessageType::Error);
    }

    void malformed_data()
    {
        QTest::addColumn<QCborMap>("message");
        QTest::addColumn<QString>("reasonPart");

        const QCborMap hello = encode(sampleHello());
        Run run;
        run.sha256 = Sha;
        run.tasks.append(TaskItem {1, QCborValue(1)});
        const QCborMap runMsg = encode(run);
        Results res;
        res.results.append(TaskResult {1, 0, QCborValue(1), 5, {}});
        const QCborMap resMsg = encode(res);

        QTest::newRow("no type") << QCborMap() << QStringLiteral("without a type");
        QTest::newRow("type not a string") << with(QCborMap(), "t", 5) << QStringLiteral("must be a string");
        QTest::newRow("unknown type") << with(QCborMap(), "t", QStringLiteral("exec"))
                                      << QStringLiteral("unknown message type");
        QTest::newRow("hello without major") << with(hello, "major", QCborValue()) << QStringLiteral("\"major\"");
        QTest::newRow("hello major not int")
            << with(hello, "major", QStringLiteral("1")) << QStringLiteral("\"major\"");
        QTest::newRow("hello bad role") << with(hello, "role", QStringLiteral("king")) << QStringLiteral("\"role\"");
        QTest::newRow("hello no abi") << with(hello, "abi", QCborValue()) << QStringLiteral("\"abi\"");
        QTest::newRow("hello workers negative") << with(hello, "workers", -1) << QStringLiteral("\"workers\"");
        QTest::newRow("hello host too long")
            << with(hello, "host", QString(1000, QLatin1Char('h'))) << QStringLiteral("longer");
        QTest::newRow("run bad sha") << with(runMsg, "sha", QStringLiteral("xyz")) << QStringLiteral("SHA-256");
        QTest::newRow("run sha uppercase")
            << with(runMsg, "sha", QString(64, QLatin1Char('A'))) << QStringLiteral("SHA-256");
        QTest::newRow("run no tasks") << with(runMsg, "tasks", QCborValue()) << QStringLiteral("\"tasks\"");
        QTest::newRow("run odd tasks") << with(runMsg, "tasks", QCborArray {1, 2, 3}) << QStringLiteral("pairs");
        QTest::newRow("run id not int") << with(runMsg, "tasks", QCborArray {QStringLiteral("a"), 2})
                                        << QStringLiteral("id");
        QTest::newRow("run negative timeout") << with(runMsg, "timeout", -5) << QStringLiteral("\"timeout\"");
        QTest::newRow("results not array") << with(resMsg, "r", 5) << QStringLiteral("\"r\"");
        QTest::newRow("results not groups of 4") << with(resMsg, "r", QCborArray {1, 0, 1}) << QStringLiteral("groups");
        QTest::newRow("results bad outcome")
            << with(resMsg, "r", QCborArray {1, 9, 1, 5}) << QStringLiteral("malformed");
        QTest::newRow("results error not text") << with(resMsg, "r", QCborArray {1, 2, 7, 5}) << QStringLiteral("text");
        // A log id as a huge double: QCborValue::toInteger() on it is undefined behaviour (found by fuzz_messages).
        QTest::newRow("results log id a huge double")
            << with(resMsg, "logs", QCborArray {1e300, QStringLiteral("x")}) << QStringLiteral("log 0");
        QTest::newRow("results log id NaN")
            << with(resMsg, "logs", QCborArray {qQNaN(), QStringLiteral("x")}) << QStringLiteral("log 0");
        QTest::newRow("heartbeat ping not an integer")
            << with(encodeHeartbeat(), "ping", QStringLiteral("1")) << QStringLiteral("\"ping\"");
        QTest::newRow("heartbeat pong negative") << with(encodeHeartbeat(), "pong", -5) << QStringLiteral("\"pong\"");
        QTest::newRow("cancel ids not ints")
            << with(encode(Cancel {{1}}), "ids", QCborArray {QStringLiteral("x")}) << QStringLiteral("\"ids\"");
        QTest::newRow("status no load") << with(encode(Status {}), "load", QCborValue()) << QStringLiteral("\"load\"");
        QTest::newRow("status memory used above total")
            << with(encode(Status {4, 2, 10, 12, 1000, 3, 0.5, 1, 3000, 16000, 77}), "memUsed", 20000)
            << QStringLiteral("\"memUsed\"");
        QTest::newRow("status memory negative")
            << with(encode(Status {4, 2, 10, 12, 1000, 3, 0.5, 1, 3000, 16000, 77}), "memTotal", -1)
            << QStringLiteral("\"memTotal\"");
        QTest::newRow("hello os not text") << with(encode(sampleHello()), "os", 5) << QStringLiteral("\"os\"");
        QTest::newRow("set-workers too many")
            << with(encode(SetWorkers {1}), "count", 100000) << QStringLiteral("\"count\"");
        QTest::newRow("plugin-have not bool")
            << with(encode(PluginHave {Sha, true}), "have", 1) << QStringLiteral("\"have\"");
        QTest::newRow("plugin-upload bytes as text")
            << with(encode(PluginUpload {Sha, QStringLiteral("x"), QByteArray("a")}), "bytes", QStringLiteral("a"))
            << QStringLiteral("\"bytes\"");
        QTest::newRow("plugin-query no sha")
            << with(encode(PluginQuery {Sha}), "sha", QCborValue()) << QStringLiteral("\"sha\"");
        QTest::newRow("error no text") << with(encodeError(QStringLiteral("x")), "text", QCborValue())
                                       << QStringLiteral("\"text\"");
    }

    void malformed()
    {
        QFETCH(QCborMap, message);
        QFETCH(QString, reasonPart);
        const QString error = decodeAny(message);
        QVERIFY2(!error.isEmpty(), "malformed message was accepted");
        QVERIFY2(error.contains(reasonPart), qPrintable(error));
    }

    // Protocol 1.3: an agent's hello lists its cached plugins, so a controller skips plugin-query.
    void helloListsCachedPlugins()
    {
        Hello h = sampleHello();
        h.plugins = {QByteArray(64, 'a'), QByteArray(64, 'b')};
        h.pluginsComplete = true;
        Hello back;
        QString error;
        QVERIFY2(decode(encode(h), &back, &error), qPrintable(error));
        QCOMPARE(back.plugins, h.plugins);
        QVERIFY(back.pluginsComplete);
        // Absent (an agent before 1.3): nothing listed and not complete, so the controller asks as before.
        QVERIFY(decode(encode(sampleHello()), &back, &error));
        QVERIFY(back.plugins.isEmpty());
        QVERIFY(!back.pluginsComplete);
        // A longer list than MaxHelloPlugins is cut and then not complete; a received one that long is refused.
        for (int i = 0; i < MaxHelloPlugins + 5; ++i)
            h.plugins.append(QByteArray::number(i).rightJustified(64, '0'));
        QVERIFY(decode(encode(h), &back, &error));
        QCOMPARE(back.plugins.size(), MaxHelloPlugins);
        QVERIFY(!back.pluginsComplete);
        QCborMap m = encode(sampleHello());
        QCborArray tooMany;
        for (int i = 0; i <= MaxHelloPlugins; ++i)
            tooMany.append(QString(64, QLatin1Char('c')));
        m.insert(QStringLiteral("plugins"), tooMany);
        QVERIFY(!decode(m, &back, &error));
        m.insert(QStringLiteral("plugins"), QCborArray {QStringLiteral("not a sha")});
        QVERIFY(!decode(m, &back, &error));
        QVERIFY2(error.contains(QLatin1String("SHA-256")), qPrintable(error));
    }

    // Protocol 1.3: a compressed upload arrives as the plugin's own bytes; its declared size is checked first.
    void compressedUploadInflates()
    {
        QByteArray plugin;
        for (int i = 0; i < 20000; ++i)
            plugin.append(QByteArray::number(i % 97));
        PluginUpload up {Sha, QStringLiteral("echo"), plugin, true};
        const QCborMap wire = encode(up);
        QVERIFY(wire.value(QStringLiteral("zlib")).toBool());
        QVERIFY(wire.value(QStringLiteral("bytes")).toByteArray().size() < plugin.size() / 2);
        PluginUpload back;
        QString error;
        QVERIFY2(decode(wire, &back, &error), qPrintable(error));
        QCOMPARE(back.bytes, plugin);
        QVERIFY(back.compressed);
        // Compressed once for many agents: the given form is sent as is.
        PluginUpload pre {Sha, QStringLiteral("echo"), {}, true, compressPlugin(plugin)};
        QVERIFY2(decode(encode(pre), &back, &error), qPrintable(error));
        QCOMPARE(back.bytes, plugin);
        // A bomb: declares more than MaxPluginSize; refused before inflating.
        QByteArray bomb = compressPlugin(QByteArray(1000, 'x'));
        qToBigEndian<quint32>(quint32(MaxPluginSize + 1), bomb.data());
        QCborMap m = wire;
        m.insert(QStringLiteral("bytes"), bomb);
        QVERIFY(!decode(m, &back, &error));
        QVERIFY2(error.contains(QLatin1String("larger than")), qPrintable(error));
        // A size that does not match what the data inflates to.
        QByteArray lie = compressPlugin(plugin);
        qToBigEndian<quint32>(quint32(plugin.size() - 1), lie.data());
        m.insert(QStringLiteral("bytes"), lie);
        QVERIFY(!decode(m, &back, &error));
        m.insert(QStringLiteral("bytes"), QByteArray("ab"));
        QVERIFY(!decode(m, &back, &error));
    }
};

QTEST_GUILESS_MAIN(TestMessages)
#include "tst_messages.moc"
