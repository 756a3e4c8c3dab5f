// SPDX-License-Identifier: MIT
// Real TLS-PSK on 127.0.0.1: authentication both ways, framing, failure reasons, limits, rate limiting, secret files.
#include "net/keyderivation.h"
#include "net/secretstore.h"
#include "net/securechannel.h"
#include "net/secureserver.h"
#include "protocol/frame.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QSslPreSharedKeyAuthenticator>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include "testsupport.h"

#include <QtTest/QtTest>

#include <memory>

#include <sys/stat.h>

using namespace taskfleet;
using namespace taskfleet::net;

namespace {

const QByteArray RightSecret("the right cluster secret, long enough");
const QByteArray WrongSecret("another cluster's secret, long enough");
const QString Localhost = QStringLiteral("127.0.0.1");

QCborMap makeMessage(const QString &type)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), type);
    return m;
}

ServerOptions serverOptions(const QByteArray &secret = RightSecret)
{
    ServerOptions options;
    options.channel = ChannelOptions::fromSecret(secret);
    options.channel.handshakeTimeoutMs = 5000;
    return options;
}

/** A listening server on 127.0.0.1 with a free port. */
std::unique_ptr<SecureServer> startServer(const ServerOptions &options)
{
    auto server = std::make_unique<SecureServer>(options);
    if (!server->listen(QHostAddress::LocalHost, 0))
        return nullptr;
    return server;
}

/**
 * Connects a client with \a secret and waits until both sides are up (or one fails).
 * Returns the server's side of the channel, or nullptr.
 */
SecureChannel *establish(SecureServer &server, SecureChannel *client)
{
    QSignalSpy serverReady(&server, &SecureServer::channelReady);
    QSignalSpy clientReady(client, &SecureChannel::ready);
    QSignalSpy clientClosed(client, &SecureChannel::closed);
    client->connectToHost(Localhost, server.serverPort());
    const bool done = QTest::qWaitFor(
        [&] { return (!clientReady.isEmpty() && !serverReady.isEmpty()) || !clientClosed.isEmpty(); }, 10000);
    if (!done || clientReady.isEmpty() || serverReady.isEmpty()) {
        qWarning() << "no session; client closed with" << clientClosed;
        return nullptr;
    }
    return serverReady.first().first().value<SecureChannel *>();
}

/** A TCP relay between one client and the server that records every byte it forwards. */
class Recorder : public QObject
{
public:
    explicit Recorder(quint16 target)
        : m_target(target)
    {
        m_listener.listen(QHostAddress::LocalHost, 0);
        connect(&m_listener, &QTcpServer::newConnection, this, [this] {
            m_in = m_listener.nextPendingConnection();
            m_out = new QTcpSocket(this);
            connect(m_in, &QIODevice::readyRead, this, [this] { relay(m_in, m_out); });
            connect(m_out, &QIODevice::readyRead, this, [this] { relay(m_out, m_in); });
            connect(m_out, &QAbstractSocket::connected, this, [this] {
                m_out->write(m_early);
                m_early.clear();
            });
            m_out->connectToHost(QHostAddress::LocalHost, m_target);
        });
    }
    quint16 port() const { return m_listener.serverPort(); }
    QByteArray captured;

private:
    void relay(QTcpSocket *from, QTcpSocket *to)
    {
        const QByteArray data = from->readAll();
        captured += data;
        if (to->state() == QAbstractSocket::ConnectedState)
            to->write(data);
        else
            m_early += data;
    }

    QTcpServer m_listener;
    QTcpSocket *m_in = nullptr;
    QTcpSocket *m_out = nullptr;
    QByteArray m_early;
    quint16 m_target;
};

} // namespace

class TestSecureChannel : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    // right secret
    void handshakeAndFramesBothWays();
    void thousandFramesInOrderAndCoalesced();
    void largeFrameIntact();
    void manyMidSizedFramesQueuedIntact();
    void pingPongIsFast();
    void nothingSecretOnTheWire();
    void closeFlushesAndReportsOnce();
    void sendBufferBounded();

    // wrong or no secret
    void wrongSecret();
    void emptySecretRefused();
    void wrongPskIdentityRefused();

    // hostile or confused peers
    void plainTcpGarbageDropped();
    void plainTcpFrameDropped();
    void silentClientDropped();
    void oversizedFrameClosesOnlyThatChannel();
    void rateLimiting();
    void pendingHandshakeLimit();
    void pendingPerAddressLimitAndBusyMessage();

    // client error messages
    void clientConnectionRefused();
    void clientPeerSpeaksNoTls();
    void clientPeerClosesAtOnce();
    void clientHandshakeTimeout();

    // secret store
    void secretGenerate();
    void secretFileTrimmedAndChecked();
    void secretEnvironment();
    void secretCommandLine();
};

void TestSecureChannel::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY2(QSslSocket::supportsSsl(), "OpenSSL is required");
}

void TestSecureChannel::handshakeAndFramesBothWays()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    QVERIFY(server->serverPort() != 0);
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QVERIFY(client->send(makeMessage(QStringLiteral("early")))); // queued until TLS is up
    QCOMPARE(client->state(), SecureChannel::State::Idle);
    SecureChannel *serverSide = establish(*server, client);
    QVERIFY(serverSide);
    QSignalSpy early(serverSide, &SecureChannel::messageReceived);
    QVERIFY(early.wait(5000));
    QCOMPARE(early.first().first().value<QCborMap>(), makeMessage(QStringLiteral("early")));

    QVERIFY(client->isEncrypted());
    QVERIFY(serverSide->isEncrypted());
    QCOMPARE(client->mode(), SecureChannel::Mode::Client);
    QCOMPARE(serverSide->mode(), SecureChannel::Mode::Server);
    const QString cipher = client->sessionCipher().name();
    QVERIFY2(cipher.startsWith(QLatin1String("ECDHE-PSK-")), qPrintable(cipher));
    QCOMPARE(serverSide->sessionCipher().name(), cipher);
    QCOMPARE(client->peerAddress(), QStringLiteral("127.0.0.1:%1").arg(server->serverPort()));
    QVERIFY(serverSide->peerAddress().startsWith(QLatin1String("127.0.0.1:")));
    QCOMPARE(server->counters().established, 1u);
    QCOMPARE(server->counters().failedHandshakes, 0u);

    QSignalSpy atServer(serverSide, &SecureChannel::messageReceived);
    QSignalSpy atClient(client, &SecureChannel::messageReceived);
    QCborMap hello = makeMessage(QStringLiteral("hello"));
    hello.insert(QStringLiteral("v"), 1);
    QVERIFY(client->send(hello));
    QVERIFY(atServer.wait(5000));
    QCOMPARE(atServer.first().first().value<QCborMap>(), hello);

    QCborMap reply = makeMessage(QStringLiteral("hello"));
    reply.insert(QStringLiteral("role"), QStringLiteral("agent"));
    QVERIFY(serverSide->send(reply));
    QVERIFY(atClient.wait(5000));
    QCOMPARE(atClient.first().first().value<QCborMap>(), reply);
}

void TestSecureChannel::thousandFramesInOrderAndCoalesced()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    SecureChannel *serverSide = establish(*server, client);
    QVERIFY(serverSide);

    QList<qint64> received;
    connect(serverSide, &SecureChannel::messageReceived, this,
            [&received](const QCborMap &m) { received.append(m.value(QStringLiteral("seq")).toInteger(-1)); });
    constexpr int Count = 1000;
    for (int i = 0; i < Count; ++i) {
        QCborMap m = makeMessage(QStringLiteral("task"));
        m.insert(QStringLiteral("seq"), i);
        QVERIFY(client->send(m));
    }
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), Count, 10000);
    qInfo("%d frames in %llu writes", Count, client->counters().writes);
    for (int i = 0; i < Count; ++i)
        QCOMPARE(received.at(i), qint64(i));
    const ChannelCounters c = client->counters();
    QCOMPARE(c.framesSent, quint64(Count));
    QCOMPARE(serverSide->counters().framesReceived, quint64(Count));
    // The first frame goes out at once; the rest accumulate while that write is pending.
    QVERIFY2(c.writes < 20, qPrintable(QStringLiteral("%1 writes for %2 frames").arg(c.writes).arg(Count)));
}

void TestSecureChannel::largeFrameIntact()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    SecureChannel *serverSide = establish(*server, client);
    QVERIFY(serverSide);

    QByteArray blob(20 * 1024 * 1024, '\0');
    QRandomGenerator generator(42);
    generator.fillRange(reinterpret_cast<quint32 *>(blob.data()), blob.size() / int(sizeof(quint32)));
    QCborMap upload = makeMessage(QStringLiteral("upload"));
    upload.insert(QStringLiteral("data"), blob);

    QSignalSpy atServer(serverSide, &SecureChannel::messageReceived);
    QVERIFY(client->send(upload));
    QTRY_COMPARE_WITH_TIMEOUT(atServer.size(), 1, 30000);
    const QCborMap got = atServer.first().first().value<QCborMap>();
    QCOMPARE(got.value(QStringLiteral("data")).toByteArray().size(), blob.size());
    QVERIFY(got.value(QStringLiteral("data")).toByteArray() == blob);
    QVERIFY(serverSide->isReady());
}

// Frames of 300 KB sent back to back queue up in several outgoing buffers while the first write is pending,
// with a 70 MB one among them that goes out in slices: buffers behind the front are joined into one write.
// Every frame arrives intact and in order (joining them once corrupted the heap).
void TestSecureChannel::manyMidSizedFramesQueuedIntact()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    SecureChannel *serverSide = establish(*server, client);
    QVERIFY(serverSide);

    QVector<QByteArray> sent;
    QRandomGenerator generator(28);
    for (int i = 0; i < 60; ++i) {
        QByteArray blob((i == 20 ? 70 * 1000 * 1000 : 300 * 1000) + i, '\0');
        generator.fillRange(reinterpret_cast<quint32 *>(blob.data()), blob.size() / int(sizeof(quint32)));
        sent.append(blob);
    }
    QVector<QByteArray> received;
    connect(serverSide, &SecureChannel::messageReceived, this,
            [&received](const QCborMap &m) { received.append(m.value(QStringLiteral("data")).toByteArray()); });
    for (const QByteArray &blob : std::as_const(sent)) {
        QCborMap m = makeMessage(QStringLiteral("upload"));
        m.insert(QStringLiteral("data"), blob);
        QVERIFY(client->send(m));
    }
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), sent.size(), 60000);
    for (int i = 0; i < sent.size(); ++i)
        QVERIFY2(received.at(i) == sent.at(i), qPrintable(QStringLiteral("frame %1 differs").arg(i)));
    QVERIFY(client->isReady() && serverSide->isReady());
}

void TestSecureChannel::pingPongIsFast()
{
    // One frame at a time, each waiting for the answer: shows TCP_NODELAY and send-at-once (no
    // delayed-ACK stall of ~40 ms, no flush timer). ppft needed 88 ms per round trip here.
    auto server = startServer(serverOptions());
    QVERIFY(server);
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    SecureChannel *serverSide = establish(*server, client);
    QVERIFY(serverSide);

    connect(serverSide, &SecureChannel::messageReceived, serverSide,
            [serverSide](const QCborMap &m) { serverSide->send(m); });
    constexpr int RoundTrips = 200;
    int answered = 0;
    connect(client, &SecureChannel::messageReceived, client, [client, &answered](const QCborMap &m) {
        ++answered;
        if (answered < RoundTrips)
            client->send(m);
    });
    QElapsedTimer timer;
    timer.start();
    client->send(makeMessage(QStringLiteral("ping")));
    QTRY_COMPARE_WITH_TIMEOUT(answered, RoundTrips, 20000);
    const qint64 ms = timer.elapsed();
    qInfo("%d round trips in %lld ms (%.3f ms each)", RoundTrips, ms, double(ms) / RoundTrips);
    QVERIFY2(ms < 4000, "round trips are slow: delayed ACK or a flush timer?");
}

void TestSecureChannel::nothingSecretOnTheWire()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    Recorder recorder(server->serverPort());
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QSignalSpy serverReady(server.get(), &SecureServer::channelReady);
    QSignalSpy clientReady(client, &SecureChannel::ready);
    client->connectToHost(Localhost, recorder.port());
    QTRY_VERIFY_WITH_TIMEOUT(!clientReady.isEmpty() && !serverReady.isEmpty(), 10000);
    auto *serverSide = serverReady.first().first().value<SecureChannel *>();

    const QByteArray marker("PLAINTEXT-MARKER-7f3a9c");
    QCborMap m = makeMessage(QStringLiteral("note"));
    m.insert(QStringLiteral("text"), QString::fromLatin1(marker));
    QSignalSpy atServer(serverSide, &SecureChannel::messageReceived);
    client->send(m);
    QVERIFY(atServer.wait(5000));
    QCOMPARE(atServer.first().first().value<QCborMap>(), m);

    QVERIFY(recorder.captured.size() > 200);
    QVERIFY2(!recorder.captured.contains(marker), "payload visible on the wire");
    QVERIFY2(!recorder.captured.contains(RightSecret), "secret visible on the wire");
    QVERIFY2(!recorder.captured.contains(deriveKey(RightSecret, KeyPurpose::TlsPsk)), "PSK visible on the wire");
    QVERIFY(recorder.captured.contains(QByteArray(PskIdentity))); // only the public identity
}

void TestSecureChannel::closeFlushesAndReportsOnce()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    SecureChannel *serverSide = establish(*server, client);
    QVERIFY(serverSide);

    QSignalSpy atServer(serverSide, &SecureChannel::messageReceived);
    QSignalSpy serverClosed(serverSide, &SecureChannel::closed);
    QSignalSpy clientClosed(client, &SecureChannel::closed);
    // Fill the socket first so that the last frame is still in our queue when close() is called.
    QCborMap big = makeMessage(QStringLiteral("bulk"));
    big.insert(QStringLiteral("data"), QByteArray(4 * 1024 * 1024, 'b'));
    client->send(big);
    client->send(makeMessage(QStringLiteral("bye")));
    client->close(QStringLiteral("done"));
    client->close(QStringLiteral("again"));
    QVERIFY(!client->send(makeMessage(QStringLiteral("late"))));
    QCOMPARE(client->state(), SecureChannel::State::Closed);
    QCOMPARE(clientClosed.size(), 0); // queued, never from inside close()
    QTRY_COMPARE_WITH_TIMEOUT(serverClosed.size(), 1, 10000);
    QCOMPARE(serverClosed.first().first().toString(), QStringLiteral("connection closed by the peer"));
    QCOMPARE(atServer.size(), 2);
    QCOMPARE(atServer.last().first().value<QCborMap>().value(QStringLiteral("t")).toString(), QStringLiteral("bye"));
    QCOMPARE(clientClosed.size(), 1);
    QCOMPARE(clientClosed.first().first().toString(), QStringLiteral("done"));
    QCOMPARE(client->closeReason(), QStringLiteral("done"));
}

void TestSecureChannel::sendBufferBounded()
{
    ChannelOptions options = ChannelOptions::fromSecret(RightSecret);
    options.maxOutgoingBytes = 1024 * 1024;
    auto *client = new SecureChannel(options, this);
    QSignalSpy closed(client, &SecureChannel::closed);
    QCborMap chunk = makeMessage(QStringLiteral("bulk"));
    chunk.insert(QStringLiteral("data"), QByteArray(400 * 1024, 'q'));
    QVERIFY(client->send(chunk)); // nobody reads yet: not connected
    QVERIFY(client->send(chunk));
    QVERIFY(!client->send(chunk)); // over 1 MiB queued
    QCOMPARE(client->state(), SecureChannel::State::Closed);
    QVERIFY(closed.wait(2000));
    const QString reason = closed.first().first().toString();
    QVERIFY2(reason.startsWith(QLatin1String("outgoing buffer of "))
                 && reason.contains(QLatin1String("exceeds the limit of 1048576 bytes")),
             qPrintable(reason));
    client->deleteLater();
}

void TestSecureChannel::wrongSecret()
{
    auto server = startServer(serverOptions(RightSecret));
    QVERIFY(server);
    QSignalSpy serverReady(server.get(), &SecureServer::channelReady);
    QSignalSpy failed(server.get(), &SecureServer::handshakeFailed);

    auto *wrong = new SecureChannel(ChannelOptions::fromSecret(WrongSecret), server.get());
    QSignalSpy wrongReady(wrong, &SecureChannel::ready);
    QSignalSpy wrongClosed(wrong, &SecureChannel::closed);
    wrong->connectToHost(Localhost, server->serverPort());
    QVERIFY(wrongClosed.wait(10000));
    QCOMPARE(wrongClosed.first().first().toString(), QStringLiteral("TLS handshake failed — the secrets differ"));
    QCOMPARE(wrongReady.size(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 5000);
    QCOMPARE(failed.first().at(1).toString(),
             QStringLiteral("TLS handshake failed — the client uses a different secret"));
    QCOMPARE(server->counters().failedHandshakes, 1u);
    QCOMPARE(serverReady.size(), 0);

    // The server still serves clients that know the secret.
    auto *right = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QVERIFY(establish(*server, right));
    QCOMPARE(serverReady.size(), 1);
}

void TestSecureChannel::emptySecretRefused()
{
    auto *client = new SecureChannel(ChannelOptions::fromSecret(QByteArray()), this);
    QSignalSpy closed(client, &SecureChannel::closed);
    client->connectToHost(Localhost, 1);
    QVERIFY(closed.wait(2000));
    QCOMPARE(closed.first().first().toString(), QStringLiteral("no cluster secret configured"));
    client->deleteLater();

    SecureServer server(serverOptions(QByteArray()));
    QVERIFY(!server.listen(QHostAddress::LocalHost, 0));
    QCOMPARE(server.errorString(), QStringLiteral("no cluster secret configured"));
}

void TestSecureChannel::wrongPskIdentityRefused()
{
    // A TLS-PSK client that knows the key but not the identity is refused by the server.
    auto server = startServer(serverOptions());
    QVERIFY(server);
    QSignalSpy serverReady(server.get(), &SecureServer::channelReady);

    QSslSocket socket;
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setProtocol(QSsl::TlsV1_2);
    QList<QSslCipher> psk;
    const QList<QSslCipher> supported = QSslConfiguration::supportedCiphers();
    for (const QSslCipher &c : supported) {
        if (c.name().startsWith(QLatin1String("ECDHE-PSK-")))
            psk.append(c);
    }
    QVERIFY(!psk.isEmpty());
    config.setCiphers(psk);
    config.setPeerVerifyMode(QSslSocket::VerifyNone);
    socket.setSslConfiguration(config);
    connect(&socket, &QSslSocket::preSharedKeyAuthenticationRequired, this, [](QSslPreSharedKeyAuthenticator *a) {
        a->setIdentity("intruder");
        a->setPreSharedKey(deriveKey(RightSecret, KeyPurpose::TlsPsk));
    });
    QSignalSpy encrypted(&socket, &QSslSocket::encrypted);
    socket.connectToHostEncrypted(Localhost, server->serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(server->counters().failedHandshakes, 1u, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(socket.state(), QAbstractSocket::UnconnectedState, 5000);
    QCOMPARE(encrypted.size(), 0);
    QCOMPARE(serverReady.size(), 0);
}

void TestSecureChannel::plainTcpGarbageDropped()
{
    ServerOptions options = serverOptions();
    options.channel.handshakeTimeoutMs = 3000; // in case the garbage looks like the start of a long record
    auto server = startServer(options);
    QVERIFY(server);
    QSignalSpy serverReady(server.get(), &SecureServer::channelReady);

    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(raw.waitForConnected(5000));
    QByteArray garbage(4096, '\0');
    QRandomGenerator generator(7);
    generator.fillRange(reinterpret_cast<quint32 *>(garbage.data()), garbage.size() / int(sizeof(quint32)));
    garbage[0] = 'G'; // not a TLS record type
    raw.write(garbage);
    QTRY_COMPARE_WITH_TIMEOUT(raw.state(), QAbstractSocket::UnconnectedState, 8000);
    QTRY_COMPARE_WITH_TIMEOUT(server->counters().failedHandshakes, 1u, 5000);
    QCOMPARE(serverReady.size(), 0);

    auto *right = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QVERIFY(establish(*server, right));
}

void TestSecureChannel::plainTcpFrameDropped()
{
    ServerOptions options = serverOptions();
    options.channel.handshakeTimeoutMs = 3000;
    auto server = startServer(options);
    QVERIFY(server);
    QSignalSpy serverReady(server.get(), &SecureServer::channelReady);
    QSignalSpy failed(server.get(), &SecureServer::handshakeFailed);

    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(raw.waitForConnected(5000));
    QCborMap hello = makeMessage(QStringLiteral("hello"));
    hello.insert(QStringLiteral("version"), 1);
    raw.write(protocol::encodeFrame(hello));
    QTRY_COMPARE_WITH_TIMEOUT(raw.state(), QAbstractSocket::UnconnectedState, 8000);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 5000);
    qInfo() << "server says:" << failed.first().at(1).toString();
    QCOMPARE(serverReady.size(), 0);

    auto *right = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QVERIFY(establish(*server, right));
}

void TestSecureChannel::silentClientDropped()
{
    ServerOptions options = serverOptions();
    options.channel.handshakeTimeoutMs = 500;
    auto server = startServer(options);
    QVERIFY(server);
    QSignalSpy failed(server.get(), &SecureServer::handshakeFailed);

    QElapsedTimer timer;
    timer.start();
    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(raw.waitForConnected(5000));
    QTRY_COMPARE_WITH_TIMEOUT(raw.state(), QAbstractSocket::UnconnectedState, 5000);
    const qint64 ms = timer.elapsed();
    QVERIFY2(ms >= 400 && ms < 4000, qPrintable(QString::number(ms)));
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 2000);
    // Silent: dropped before any TLS state was made for it.
    QCOMPARE(failed.first().at(1).toString(),
             QStringLiteral("no TLS handshake within 500 ms (the client sent nothing)"));
    QCOMPARE(server->silentConnections(), 0);
    QCOMPARE(server->pendingHandshakes(), 0);
}

void TestSecureChannel::oversizedFrameClosesOnlyThatChannel()
{
    auto server = startServer(serverOptions());
    QVERIFY(server);
    auto *clientA = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    auto *clientB = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    SecureChannel *serverA = establish(*server, clientA);
    SecureChannel *serverB = establish(*server, clientB);
    QVERIFY(serverA && serverB);
    QVERIFY(serverA->setMaxFrameSize(1024));
    QCOMPARE(serverB->maxFrameSize(), protocol::MaxFrameSize);

    QSignalSpy closedA(serverA, &SecureChannel::closed);
    QSignalSpy clientClosedA(clientA, &SecureChannel::closed);
    QSignalSpy atServerA(serverA, &SecureChannel::messageReceived);
    QSignalSpy atServerB(serverB, &SecureChannel::messageReceived);
    QSignalSpy atClientA(clientA, &SecureChannel::messageReceived);
    QCborMap big = makeMessage(QStringLiteral("upload"));
    big.insert(QStringLiteral("data"), QByteArray(4000, 'x'));
    const qsizetype frameSize = protocol::encodeFrame(big).size() - protocol::FrameHeaderSize;

    clientA->send(big);
    QVERIFY(closedA.wait(5000));
    QCOMPARE(closedA.first().first().toString(),
             QStringLiteral("frame of %1 bytes exceeds the limit of 1024 bytes").arg(frameSize));
    QCOMPARE(atServerA.size(), 0);
    QVERIFY(clientClosedA.wait(5000));
    QCOMPARE(clientClosedA.first().first().toString(), QStringLiteral("connection closed by the peer"));
    // Before closing (cleanly, with close_notify), the server said why, as docs/protocol.md promises.
    QCOMPARE(atClientA.size(), 1);
    const QCborMap said = atClientA.first().first().value<QCborMap>();
    QCOMPARE(said.value(QStringLiteral("t")).toString(), QStringLiteral("error"));
    QCOMPARE(said.value(QStringLiteral("text")).toString(),
             QStringLiteral("bad frame: frame of %1 bytes exceeds the limit of 1024 bytes").arg(frameSize));

    // The other channel on the same server is untouched.
    clientB->send(big);
    QVERIFY(atServerB.wait(5000));
    QCOMPARE(atServerB.first().first().value<QCborMap>(), big);
    QVERIFY(serverB->isReady());
    QVERIFY(server->isListening());
}

void TestSecureChannel::rateLimiting()
{
    ServerOptions options = serverOptions();
    options.failureLimit = 3;
    options.failureWindowMs = 30000;
    options.blockMs = 1500;
    auto server = startServer(options);
    QVERIFY(server);
    QSignalSpy blocked(server.get(), &SecureServer::addressBlocked);
    QSignalSpy serverReady(server.get(), &SecureServer::channelReady);

    for (int i = 0; i < options.failureLimit; ++i) {
        auto *wrong = new SecureChannel(ChannelOptions::fromSecret(WrongSecret), server.get());
        QSignalSpy closed(wrong, &SecureChannel::closed);
        wrong->connectToHost(Localhost, server->serverPort());
        QVERIFY(closed.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(server->counters().failedHandshakes, quint64(i + 1), 5000);
    }
    QCOMPARE(blocked.size(), 1);
    QVERIFY(server->isBlocked(QHostAddress::LocalHost));

    // Even the right secret is refused now, at once and without a handshake.
    QElapsedTimer timer;
    timer.start();
    auto *right = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QSignalSpy rightClosed(right, &SecureChannel::closed);
    right->connectToHost(Localhost, server->serverPort());
    QVERIFY(rightClosed.wait(5000));
    QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
    qInfo() << "blocked client sees:" << rightClosed.first().first().toString();
    QVERIFY(rightClosed.first().first().toString().contains(QLatin1String("closed the connection")));
    QCOMPARE(server->counters().rejectedRateLimited, 1u);
    QCOMPARE(server->counters().failedHandshakes, quint64(options.failureLimit));
    QCOMPARE(server->counters().accepted, quint64(options.failureLimit));
    QCOMPARE(serverReady.size(), 0);

    // The block ends.
    QTRY_VERIFY_WITH_TIMEOUT(!server->isBlocked(QHostAddress::LocalHost), 5000);
    auto *later = new SecureChannel(ChannelOptions::fromSecret(RightSecret), server.get());
    QVERIFY(establish(*server, later));
}

void TestSecureChannel::pendingHandshakeLimit()
{
    ServerOptions options = serverOptions();
    options.maxSilent = 2;
    // Long enough that only eviction can end a silent connection here, even on a loaded machine (a CI run
    // once took over 3 s between the first silent connection and the third).
    options.channel.handshakeTimeoutMs = 20000;
    options.handshakeDeadlineMs = 20000;
    auto server = startServer(options);
    QVERIFY(server);

    // Two silent connections fill the silent slots (held without TLS state); a third evicts the oldest, which
    // gets the busy alert.
    QTcpSocket silent1;
    QTcpSocket silent2;
    silent1.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(silent1.waitForConnected(5000));
    QTRY_COMPARE_WITH_TIMEOUT(server->silentConnections(), 1, 5000);
    silent2.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(silent2.waitForConnected(5000));
    QTRY_COMPARE_WITH_TIMEOUT(server->silentConnections(), 2, 5000);
    QCOMPARE(server->pendingHandshakes(), 0); // no TLS state for connections that said nothing
    QByteArray alert1, alert2;
    connect(&silent1, &QIODevice::readyRead, &silent1, [&] { alert1 += silent1.readAll(); });
    connect(&silent2, &QIODevice::readyRead, &silent2, [&] { alert2 += silent2.readAll(); });
    QTcpSocket third;
    third.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(third.waitForConnected(5000));
    // The oldest pending handshake is evicted. Both silent ones may carry the same millisecond stamp, so
    // either may be "oldest": exactly one of them goes, with the busy alert, and the other stays.
    QTRY_VERIFY_WITH_TIMEOUT(silent1.state() == QAbstractSocket::UnconnectedState
                                 || silent2.state() == QAbstractSocket::UnconnectedState,
                             5000 * test::timeScale());
    const bool firstWent = silent1.state() == QAbstractSocket::UnconnectedState;
    QCOMPARE(firstWent ? alert1 : alert2,
             QByteArray("\x15\x03\x03\x00\x02\x02\x50", 7)); // fatal internal_error, in the clear
    QCOMPARE(server->counters().evictedHandshakes, 1u);
    QCOMPARE(server->counters().rejectedBusy, 0u);
    QCOMPARE(server->counters().failedHandshakes, 0u); // eviction is not the evicted address's failure
    QCOMPARE(server->silentConnections(), 2);
    QCOMPARE((firstWent ? silent2 : silent1).state(), QAbstractSocket::ConnectedState);

    // A client with the secret still gets in: it evicts silent2, and its handshake takes milliseconds.
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), this);
    QVERIFY(establish(*server, client));
    QCOMPARE(server->counters().evictedHandshakes, 2u);
    client->deleteLater();
}

void TestSecureChannel::pendingPerAddressLimitAndBusyMessage()
{
    ServerOptions options = serverOptions();
    options.maxPendingPerAddress = 2;
    auto server = startServer(options);
    QVERIFY(server);

    // Two silent connections from 127.0.0.1 take that address's share ...
    QTcpSocket silent1;
    QTcpSocket silent2;
    silent1.connectToHost(QHostAddress::LocalHost, server->serverPort());
    silent2.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(silent1.waitForConnected(5000) && silent2.waitForConnected(5000));
    QTRY_COMPARE_WITH_TIMEOUT(server->pendingFrom(QHostAddress::LocalHost), 2, 5000);

    // ... so a client with the secret from the same address is turned away with the busy alert, and can tell.
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), this);
    bool busy = false;
    watchForBusyRefusal(client, this, [&busy] { busy = true; });
    QSignalSpy closed(client, &SecureChannel::closed);
    QElapsedTimer timer;
    timer.start();
    client->connectToHost(Localhost, server->serverPort());
    QVERIFY(closed.wait(5000));
    qInfo("turned away after %lld ms; the channel says \"%s\"; the busy alert was %s", timer.elapsed(),
          qPrintable(closed.first().first().toString()), busy ? "seen" : "NOT seen");
    QVERIFY(busy);
    QVERIFY(timer.elapsed() < 2000);
    QCOMPARE(server->counters().rejectedBusy, 1u);
    QCOMPARE(busyRefusalReason(QStringLiteral("127.0.0.1:1")),
             QStringLiteral("TLS handshake refused — the agent at 127.0.0.1:1 is refusing new connections "
                            "(overloaded: at its pending-handshake limit, too many unauthenticated connections at "
                            "once, for this address or in total; a connection flood?)"));
    client->deleteLater();

    // When a share frees up, the client gets in.
    silent1.abort();
    QTRY_COMPARE_WITH_TIMEOUT(server->pendingFrom(QHostAddress::LocalHost), 1, 5000);
    auto *other = new SecureChannel(ChannelOptions::fromSecret(RightSecret), this);
    bool otherBusy = false;
    watchForBusyRefusal(other, this, [&otherBusy] { otherBusy = true; });
    QVERIFY(establish(*server, other));
    QVERIFY(!otherBusy);
    other->deleteLater();
}

void TestSecureChannel::clientConnectionRefused()
{
    const quint16 port = test::unusedPort();
    QVERIFY(port != 0);

    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), this);
    QSignalSpy closed(client, &SecureChannel::closed);
    QElapsedTimer timer;
    timer.start();
    client->connectToHost(Localhost, port);
    QVERIFY(closed.wait(5000));
    QCOMPARE(closed.first().first().toString(),
             QStringLiteral("connection refused — nothing listens on 127.0.0.1:%1").arg(port));
    QVERIFY(timer.elapsed() < 2000);
    client->deleteLater();
}

void TestSecureChannel::clientPeerSpeaksNoTls()
{
    QTcpServer http;
    QVERIFY(http.listen(QHostAddress::LocalHost, 0));
    connect(&http, &QTcpServer::newConnection, &http, [&http] {
        QTcpSocket *s = http.nextPendingConnection();
        s->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), this);
    QSignalSpy closed(client, &SecureChannel::closed);
    client->connectToHost(Localhost, http.serverPort());
    QVERIFY(closed.wait(5000));
    QCOMPARE(closed.first().first().toString(),
             QStringLiteral("TLS handshake failed — the peer is not a Taskfleet agent (or speaks no TLS)"));
    client->deleteLater();
}

void TestSecureChannel::clientPeerClosesAtOnce()
{
    QTcpServer closer;
    QVERIFY(closer.listen(QHostAddress::LocalHost, 0));
    connect(&closer, &QTcpServer::newConnection, &closer, [&closer] {
        QTcpSocket *s = closer.nextPendingConnection();
        s->close();
    });
    auto *client = new SecureChannel(ChannelOptions::fromSecret(RightSecret), this);
    QSignalSpy closed(client, &SecureChannel::closed);
    client->connectToHost(Localhost, closer.serverPort());
    QVERIFY(closed.wait(5000));
    QCOMPARE(closed.first().first().toString(),
             QStringLiteral("TLS handshake failed — 127.0.0.1:%1 closed the connection (the agent is refusing new "
                            "connections: overloaded, or it refuses this address after repeated failed handshakes; "
                            "or it is not a Taskfleet agent)")
                 .arg(closer.serverPort()));
    client->deleteLater();
}

void TestSecureChannel::clientHandshakeTimeout()
{
    QTcpServer mute; // accepts, never answers
    QVERIFY(mute.listen(QHostAddress::LocalHost, 0));
    ChannelOptions options = ChannelOptions::fromSecret(RightSecret);
    options.handshakeTimeoutMs = 500;
    auto *client = new SecureChannel(options, this);
    QSignalSpy closed(client, &SecureChannel::closed);
    client->connectToHost(Localhost, mute.serverPort());
    QVERIFY(closed.wait(5000));
    QCOMPARE(closed.first().first().toString(),
             QStringLiteral("timed out — 127.0.0.1:%1 did not complete the TLS handshake within 0.5 s")
                 .arg(mute.serverPort()));
    client->deleteLater();
}

void TestSecureChannel::secretGenerate()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString stateDir = tmp.filePath(QStringLiteral("state/agent"));
    const SecretResult generated = SecretStore::generateAndStore(stateDir);
    QVERIFY2(generated.ok(), qPrintable(generated.error));
    QCOMPARE(generated.path, stateDir + QStringLiteral("/secret"));
    QCOMPARE(generated.secret.size(), 2 * SecretStore::GeneratedBytes);
    QVERIFY(!QByteArray::fromHex(generated.secret).isEmpty());

    struct stat st {
    };
    QCOMPARE(::stat(QFile::encodeName(generated.path).constData(), &st), 0);
    QCOMPARE(st.st_mode & 0777, 0600u);
    QCOMPARE(::stat(QFile::encodeName(stateDir).constData(), &st), 0);
    QCOMPARE(st.st_mode & 0777, 0700u);

    const SecretResult loaded = SecretStore::loadFile(generated.path);
    QVERIFY2(loaded.ok(), qPrintable(loaded.error));
    QCOMPARE(loaded.secret, generated.secret);
    QVERIFY(loaded.warnings.isEmpty());

    // Never overwritten; loadOrGenerate() returns the existing one.
    const SecretResult again = SecretStore::generateAndStore(stateDir);
    QVERIFY(!again.ok());
    QVERIFY(again.error.contains(QLatin1String("already exists")));
    QCOMPARE(SecretStore::loadOrGenerate(stateDir).secret, generated.secret);

    // Two generations differ.
    const SecretResult other = SecretStore::generateAndStore(tmp.filePath(QStringLiteral("other")));
    QVERIFY(other.ok());
    QVERIFY(other.secret != generated.secret);
}

void TestSecureChannel::secretFileTrimmedAndChecked()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    auto write = [&tmp](const QString &name, const QByteArray &content, QFileDevice::Permissions perms) {
        const QString path = tmp.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(content) != content.size())
            return QString();
        f.close();
        QFile::setPermissions(path, perms);
        return path;
    };
    const QFileDevice::Permissions ownerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

    const QString good = write(QStringLiteral("good"), "  s3cret-with-enough-length \n\n", ownerOnly);
    SecretResult r = SecretStore::loadFile(good);
    QVERIFY(r.ok());
    QCOMPARE(r.secret, QByteArray("s3cret-with-enough-length"));
    QVERIFY(r.warnings.isEmpty());

    const QString open = write(QStringLiteral("open"), "s3cret-with-enough-length\n",
                               ownerOnly | QFileDevice::ReadGroup | QFileDevice::ReadOther);
    r = SecretStore::loadFile(open);
    QVERIFY(r.ok());
    QCOMPARE(r.warnings.size(), 1);
    QVERIFY(r.warnings.first().contains(QLatin1String("chmod 600")));

    r = SecretStore::loadFile(write(QStringLiteral("empty"), "", ownerOnly));
    QVERIFY(!r.ok());
    QVERIFY(r.secret.isEmpty());
    QVERIFY(r.error.contains(QLatin1String("empty")));
    r = SecretStore::loadFile(write(QStringLiteral("blank"), " \n\t \n", ownerOnly));
    QVERIFY(!r.ok());
    QVERIFY(r.error.contains(QLatin1String("empty")));

    r = SecretStore::loadFile(tmp.filePath(QStringLiteral("missing")));
    QVERIFY(!r.ok());
    QVERIFY(r.error.contains(QLatin1String("does not exist")));

    r = SecretStore::loadFile(write(QStringLiteral("short"), "abc", ownerOnly));
    QVERIFY(r.ok());
    QCOMPARE(r.warnings.size(), 1); // short secret
}

void TestSecureChannel::secretEnvironment()
{
    const char *name = "TASKFLEET_SECRET_TEST_ONLY";
    qunsetenv(name);
    SecretResult r = SecretStore::fromEnvironment(name);
    QVERIFY(!r.ok());
    QVERIFY(r.error.contains(QLatin1String("not set")));

    qputenv(name, QByteArray(" from-the-environment-123 "));
    r = SecretStore::fromEnvironment(name);
    QVERIFY(r.ok());
    QCOMPARE(r.secret, QByteArray("from-the-environment-123"));

    qputenv(name, QByteArray("   "));
    r = SecretStore::fromEnvironment(name);
    QVERIFY(!r.ok());
    QVERIFY(r.error.contains(QLatin1String("empty")));
    qunsetenv(name);
    QCOMPARE(QLatin1String(SecretStore::EnvironmentVariable), QLatin1String("TASKFLEET_SECRET"));
}

void TestSecureChannel::secretCommandLine()
{
    SecretResult r = SecretStore::fromString(QStringLiteral("given-on-the-command-line"));
    QVERIFY(r.ok());
    QCOMPARE(r.secret, QByteArray("given-on-the-command-line"));
    QVERIFY(!r.warnings.isEmpty());
    QCOMPARE(r.warnings.first(), SecretStore::commandLineWarning());
    QVERIFY(!SecretStore::fromString(QString()).ok());
    QVERIFY(!SecretStore::fromString(QStringLiteral("  ")).ok());
}

QTEST_GUILESS_MAIN(TestSecureChannel)
#include "tst_securechannel.moc"
