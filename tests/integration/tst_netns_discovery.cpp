// SPDX-License-Identifier: MIT
// Discovery across a namespace LAN: a controller finds agents by broadcast and names the one with another secret.
#include "netns.h"
#include "testsupport.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QUuid>
#include <QtTest/QtTest>

using taskfleet::test::NetnsLab;

namespace {

const QString GoodSecret = QStringLiteral("netns good secret");
const QString OtherSecret = QStringLiteral("netns other secret");
constexpr int ProcessStartMs = 10000;
constexpr int ListenerSeconds = 10;

// Host roles inside the lab.
constexpr int GoodHostA = 0;
constexpr int GoodHostB = 1;
constexpr int OtherHost = 2;
constexpr int ControllerHost = 3;

QList<QJsonObject> jsonLines(const QByteArray &output)
{
    QList<QJsonObject> lines;
    const QList<QByteArray> raw = output.split('\n');
    for (const QByteArray &line : raw) {
        const QJsonDocument doc = QJsonDocument::fromJson(line);
        if (doc.isObject())
            lines.append(doc.object());
    }
    return lines;
}

// Waits (bounded) until the process printed a line with "event":"ready"; collects its stdout into *out.
bool waitReady(QProcess *process, QByteArray *out)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < ProcessStartMs) {
        if (process->state() == QProcess::NotRunning)
            break;
        process->waitForReadyRead(200);
        out->append(process->readAllStandardOutput());
        for (const QJsonObject &o : jsonLines(*out)) {
            if (o.value(QLatin1String("event")).toString() == QLatin1String("ready"))
                return true;
        }
    }
    out->append(process->readAllStandardOutput());
    return false;
}

} // namespace

class TestNetnsDiscovery : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void controllerFindsAgentsByBroadcast();
    void controllerFindsQuietAgentsByProbe();

private:
    QProcess *startAnnouncer(NetnsLab &lab, int host, const QString &secret, const QUuid &id, const QString &broadcast,
                             int intervalMs);
    QString m_announcer;
    QString m_listener;
};

void TestNetnsDiscovery::initTestCase()
{
    QString why;
    if (!NetnsLab::available(&why))
        TF_SKIP_OR_FAIL(
            qPrintable(QStringLiteral("needs network namespaces: %1; tst_discovery_loopback covers discovery "
                                      "on loopback")
                           .arg(why)));
    m_announcer = taskfleet::test::program(QStringLiteral("tf_test_announcer"));
    m_listener = taskfleet::test::program(QStringLiteral("tf_test_listener"));
    QVERIFY2(QFileInfo(m_announcer).isExecutable(), qPrintable(m_announcer));
    QVERIFY2(QFileInfo(m_listener).isExecutable(), qPrintable(m_listener));
}

QProcess *TestNetnsDiscovery::startAnnouncer(NetnsLab &lab, int host, const QString &secret, const QUuid &id,
                                             const QString &broadcast, int intervalMs)
{
    return lab.startIn(host, m_announcer,
                       {QStringLiteral("--secret"), secret, QStringLiteral("--broadcast"), broadcast,
                        QStringLiteral("--interval"), QString::number(intervalMs), QStringLiteral("--tcp-port"),
                        QString::number(46000 + host), QStringLiteral("--node-id"), id.toString(),
                        QStringLiteral("--host-name"), QStringLiteral("agent-%1").arg(host),
                        QStringLiteral("--max-seconds"), QStringLiteral("40")});
}

void TestNetnsDiscovery::controllerFindsAgentsByBroadcast()
{
    NetnsLab lab; // destroyed (processes killed, namespaces deleted) on every return path
    QString error;
    QVERIFY2(lab.create(4, &error), qPrintable(error));

    const QUuid idA = QUuid::createUuid();
    const QUuid idB = QUuid::createUuid();
    const QUuid idOther = QUuid::createUuid();
    // One agent uses the limited broadcast (needs the default route), one the subnet's broadcast address.
    QProcess *a = startAnnouncer(lab, GoodHostA, GoodSecret, idA, QStringLiteral("255.255.255.255"), 300);
    QProcess *b = startAnnouncer(lab, GoodHostB, GoodSecret, idB, lab.broadcastAddress(), 300);
    QProcess *other = startAnnouncer(lab, OtherHost, OtherSecret, idOther, lab.broadcastAddress(), 300);
    for (QProcess *p : {a, b, other}) {
        QByteArray out;
        QVERIFY2(waitReady(p, &out), qPrintable(QString::fromLocal8Bit(out + p->readAllStandardError())));
    }

    // --no-probe: everything the listener learns comes from the agents' periodic broadcasts.
    QProcess *listener
        = lab.startIn(ControllerHost, m_listener,
                      {QStringLiteral("--secret"), GoodSecret, QStringLiteral("--no-probe"),
                       QStringLiteral("--seconds"), QString::number(ListenerSeconds), QStringLiteral("--until-nodes"),
                       QStringLiteral("2"), QStringLiteral("--until-rejected"), QStringLiteral("1")});
    QVERIFY(listener);
    QVERIFY(listener->waitForFinished((ListenerSeconds + 10) * 1000));
    const QByteArray out = listener->readAllStandardOutput();
    const QByteArray err = listener->readAllStandardError();
    QCOMPARE(listener->exitCode(), 0);

    QHash<QString, QJsonObject> nodes;
    QJsonObject summary;
    for (const QJsonObject &o : jsonLines(out)) {
        const QString event = o.value(QLatin1String("event")).toString();
        if (event == QLatin1String("node"))
            nodes.insert(o.value(QLatin1String("nodeId")).toString(), o);
        else if (event == QLatin1String("summary"))
            summary = o;
    }
    const QString context = QString::fromLocal8Bit(out + err);
    QVERIFY2(!summary.isEmpty(), qPrintable(context));
    QCOMPARE(nodes.size(), 2);
    const QJsonObject nodeA = nodes.value(idA.toString(QUuid::WithoutBraces));
    const QJsonObject nodeB = nodes.value(idB.toString(QUuid::WithoutBraces));
    QCOMPARE(nodeA.value(QLatin1String("address")).toString(), lab.hostAddress(GoodHostA));
    QCOMPARE(nodeA.value(QLatin1String("tcpPort")).toInt(), 46000 + GoodHostA);
    QCOMPARE(nodeA.value(QLatin1String("host")).toString(), QStringLiteral("agent-0"));
    QCOMPARE(nodeB.value(QLatin1String("address")).toString(), lab.hostAddress(GoodHostB));
    QVERIFY(!nodes.contains(idOther.toString(QUuid::WithoutBraces)));
    // Within 2 s of the listener starting (the agents announce every 300 ms).
    QVERIFY2(nodeA.value(QLatin1String("elapsedMs")).toInt() < 2000, qPrintable(context));
    QVERIFY2(nodeB.value(QLatin1String("elapsedMs")).toInt() < 2000, qPrintable(context));

    QCOMPARE(summary.value(QLatin1String("summary")).toString(),
             QStringLiteral("1 agent at %1 answers with another secret").arg(lab.hostAddress(OtherHost)));
}

void TestNetnsDiscovery::controllerFindsQuietAgentsByProbe()
{
    NetnsLab lab;
    QString error;
    QVERIFY2(lab.create(3, &error), qPrintable(error));

    // The agents announce once at start (before the controller runs) and then not for minutes:
    // the controller can find them only through its probe broadcast and their unicast answers.
    // Agent C runs on the controller's own host and shares its discovery port (GUI machine with a local agent).
    const QUuid idA = QUuid::createUuid();
    const QUuid idB = QUuid::createUuid();
    const QUuid idC = QUuid::createUuid();
    QProcess *a = startAnnouncer(lab, 0, GoodSecret, idA, QStringLiteral("255.255.255.255"), 600000);
    QProcess *b = startAnnouncer(lab, 1, GoodSecret, idB, lab.broadcastAddress(), 600000);
    QProcess *c = startAnnouncer(lab, 2, GoodSecret, idC, lab.broadcastAddress(), 600000);
    for (QProcess *p : {a, b, c}) {
        QByteArray out;
        QVERIFY2(waitReady(p, &out), qPrintable(QString::fromLocal8Bit(out + p->readAllStandardError())));
    }

    QProcess *listener
        = lab.startIn(2, m_listener,
                      {QStringLiteral("--secret"), GoodSecret, QStringLiteral("--probe"), lab.broadcastAddress(),
                       QStringLiteral("--seconds"), QString::number(ListenerSeconds), QStringLiteral("--until-nodes"),
                       QStringLiteral("3")});
    QVERIFY(listener);
    QVERIFY(listener->waitForFinished((ListenerSeconds + 10) * 1000));
    const QByteArray out = listener->readAllStandardOutput();
    const QString context = QString::fromLocal8Bit(out + listener->readAllStandardError());

    QSet<QString> seen;
    for (const QJsonObject &o : jsonLines(out)) {
        if (o.value(QLatin1String("event")).toString() == QLatin1String("node")) {
            seen.insert(o.value(QLatin1String("nodeId")).toString());
            QVERIFY2(o.value(QLatin1String("elapsedMs")).toInt() < 2000, qPrintable(context));
        }
    }
    QCOMPARE(seen, (QSet<QString> {idA.toString(QUuid::WithoutBraces), idB.toString(QUuid::WithoutBraces),
                                   idC.toString(QUuid::WithoutBraces)}));

    // Every agent says it answered a probe.
    for (QProcess *p : {a, b, c}) {
        QByteArray agentOut;
        QTRY_VERIFY_WITH_TIMEOUT((agentOut += p->readAllStandardOutput()).contains("\"probe-answered\""), 5000);
    }
}

QTEST_GUILESS_MAIN(TestNetnsDiscovery)
#include "tst_netns_discovery.moc"
