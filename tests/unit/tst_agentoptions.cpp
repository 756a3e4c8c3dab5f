// SPDX-License-Identifier: MIT
// taskfleet-agent's command line as a unit: pp's short flags, defaults, ranges and the messages
// a user sees for bad values (before, only a process test could reach them).
#include "agentoptions.h"

#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

using namespace taskfleet;
using agent::AgentCommandLine;

namespace {
struct Parsed {
    bool ok = false;
    AgentCommandLine cl;
    QString message;
    int exitCode = -1;
};

Parsed parse(const QStringList &args)
{
    Parsed p;
    p.ok = agent::parseCommandLine(QStringList {QStringLiteral("taskfleet-agent")} + args, &p.cl, &p.message,
                                   &p.exitCode);
    return p;
}
} // namespace

class TestAgentOptions : public QObject
{
    Q_OBJECT

private slots:
    void init() { qputenv("XDG_STATE_HOME", "/tmp/tf-agentoptions-state"); }

    void defaults()
    {
        const Parsed p = parse({});
        QVERIFY2(p.ok, qPrintable(p.message));
        QCOMPARE(p.cl.server.port, quint16(45450));
        QVERIFY(!p.cl.server.workersExplicit);
        QCOMPARE(p.cl.server.socketTimeoutSeconds, 30);
        QVERIFY(!p.cl.server.allowCommand);
        QVERIFY(p.cl.server.allowPython); // as on ppserver
        QCOMPARE(p.cl.server.cacheLimitBytes, qint64(1024) * 1024 * 1024);
        QCOMPARE(p.cl.server.stateDir, QStringLiteral("/tmp/tf-agentoptions-state/taskfleet-agent"));
        QVERIFY(p.cl.server.workerProgram.endsWith(QStringLiteral("/taskfleet-worker")));
        QVERIFY(p.cl.discoveryEnabled);
        QCOMPARE(p.cl.discovery.port, net::DefaultDiscoveryPort);
        QCOMPARE(p.cl.discovery.targetPort, net::DefaultDiscoveryPort);
        QVERIFY(p.cl.secretFile.isEmpty());
        QVERIFY(!p.cl.secretArgSet);
    }

    // Parallel Python's ppserver flags, with the same letters and meanings.
    void ppserverShortFlags()
    {
        QTemporaryDir dir;
        const Parsed p = parse({QStringLiteral("-p"), QStringLiteral("60000"), QStringLiteral("-i"),
                                QStringLiteral("127.0.0.1"), QStringLiteral("-w"), QStringLiteral("3"),
                                QStringLiteral("-s"), QStringLiteral("pp secret"), QStringLiteral("-r"),
                                QStringLiteral("-t"), QStringLiteral("600"), QStringLiteral("-k"), QStringLiteral("90"),
                                QStringLiteral("-P"), dir.filePath(QStringLiteral("pid")), QStringLiteral("-d"),
                                QStringLiteral("-a"), QStringLiteral("-b"), QStringLiteral("127.255.255.255")});
        QVERIFY2(p.ok, qPrintable(p.message));
        QCOMPARE(p.cl.server.port, quint16(60000));
        QCOMPARE(p.cl.server.address, QHostAddress(QStringLiteral("127.0.0.1")));
        QCOMPARE(p.cl.server.workers, 3);
        QVERIFY(p.cl.server.workersExplicit);
        QVERIFY(p.cl.secretArgSet);
        QCOMPARE(p.cl.secretArg, QStringLiteral("pp secret"));
        QVERIFY(p.cl.server.restartWorkers);
        QCOMPARE(p.cl.server.idleExitSeconds, 600);
        QCOMPARE(p.cl.server.socketTimeoutSeconds, 90);
        QCOMPARE(p.cl.pidFile, dir.filePath(QStringLiteral("pid")));
        QVERIFY(p.cl.debug);
        QVERIFY(p.cl.discoveryEnabled); // -a is accepted and changes nothing
        QCOMPARE(p.cl.discovery.broadcastAddresses,
                 QVector<QHostAddress> {QHostAddress(QStringLiteral("127.255.255.255"))});
    }

    void longOptions()
    {
        const Parsed p = parse({QStringLiteral("--state-dir"), QStringLiteral("relative/state"),
                                QStringLiteral("--secret-file"), QStringLiteral("/etc/taskfleet/secret"),
                                QStringLiteral("--allow-command"), QStringLiteral("--no-python"),
                                QStringLiteral("--cache-limit"), QStringLiteral("0"), QStringLiteral("--no-discovery"),
                                QStringLiteral("--worker-program"), QStringLiteral("/opt/tf/worker")});
        QVERIFY2(p.ok, qPrintable(p.message));
        QVERIFY(QDir::isAbsolutePath(p.cl.server.stateDir)); // made absolute: the agent may chdir
        QVERIFY(p.cl.server.stateDir.endsWith(QStringLiteral("/relative/state")));
        QCOMPARE(p.cl.secretFile, QStringLiteral("/etc/taskfleet/secret"));
        QVERIFY(p.cl.server.allowCommand);
        QVERIFY(!p.cl.server.allowPython);
        QCOMPARE(p.cl.server.cacheLimitBytes, qint64(0));
        QVERIFY(!p.cl.discoveryEnabled);
        QCOMPARE(p.cl.server.workerProgram, QStringLiteral("/opt/tf/worker"));
    }

    void discoveryPorts()
    {
        const Parsed own = parse({QStringLiteral("--discovery-port"), QStringLiteral("40000")});
        QVERIFY2(own.ok, qPrintable(own.message));
        QCOMPARE(own.cl.discovery.port, quint16(40000));
        QCOMPARE(own.cl.discovery.targetPort, quint16(40000)); // announcements go to the same port by default
        const Parsed split = parse({QStringLiteral("--discovery-port"), QStringLiteral("0"),
                                    QStringLiteral("--announce-port"), QStringLiteral("40001")});
        QVERIFY2(split.ok, qPrintable(split.message));
        QCOMPARE(split.cl.discovery.port, quint16(0));
        QCOMPARE(split.cl.discovery.targetPort, quint16(40001));
        // Port 0 (any free port) with nowhere to announce to is refused, unless discovery is off.
        const Parsed nowhere = parse({QStringLiteral("--discovery-port"), QStringLiteral("0")});
        QVERIFY(!nowhere.ok);
        QCOMPARE(nowhere.exitCode, agent::ExitBadUsage);
        QVERIFY2(nowhere.message.contains(QStringLiteral("--announce-port")), qPrintable(nowhere.message));
        QVERIFY(parse({QStringLiteral("--discovery-port"), QStringLiteral("0"), QStringLiteral("--no-discovery")}).ok);
    }

    /** --connect (repeatable) dials controllers; --no-listen needs one, and turns discovery off (no port to announce). */
    void connectAndNoListen()
    {
        const Parsed both
            = parse({QStringLiteral("--connect"), QStringLiteral("head.lan:45460"), QStringLiteral("--connect"),
                     QStringLiteral("[::1]:7"), QStringLiteral("-w"), QStringLiteral("3")});
        QVERIFY2(both.ok, qPrintable(both.message));
        QCOMPARE(both.cl.server.connectTo, (QStringList {QStringLiteral("head.lan:45460"), QStringLiteral("[::1]:7")}));
        QVERIFY(both.cl.server.listen); // dialing as well as listening
        QVERIFY(both.cl.discoveryEnabled);
        const Parsed only
            = parse({QStringLiteral("--connect"), QStringLiteral("10.0.0.1:45460"), QStringLiteral("--no-listen")});
        QVERIFY2(only.ok, qPrintable(only.message));
        QVERIFY(!only.cl.server.listen);
        QVERIFY(!only.cl.discoveryEnabled);
        const Parsed nowhere = parse({QStringLiteral("--no-listen")});
        QVERIFY(!nowhere.ok);
        QVERIFY2(nowhere.message.contains(QStringLiteral("--no-listen needs --connect")), qPrintable(nowhere.message));
    }

    void badValues_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("port too big") << QStringList {QStringLiteral("-p"), QStringLiteral("70000")}
                                      << QStringLiteral("--port wants a number from 0 to 65535, not \"70000\"");
        QTest::newRow("port not a number")
            << QStringList {QStringLiteral("-p"), QStringLiteral("http")} << QStringLiteral("--port wants a number");
        QTest::newRow("workers negative") << QStringList {QStringLiteral("-w"), QStringLiteral("-1")}
                                          << QStringLiteral("--workers wants a number from 0 to 4096");
        QTest::newRow("workers too many") << QStringList {QStringLiteral("-w"), QStringLiteral("5000")}
                                          << QStringLiteral("--workers wants a number from 0 to 4096");
        QTest::newRow("socket timeout zero") << QStringList {QStringLiteral("-k"), QStringLiteral("0")}
                                             << QStringLiteral("--socket-timeout wants a number from 1");
        QTest::newRow("interface a name") << QStringList {QStringLiteral("-i"), QStringLiteral("eth0")}
                                          << QStringLiteral("--interface wants an IP address, not \"eth0\"");
        QTest::newRow("broadcast a name") << QStringList {QStringLiteral("-b"), QStringLiteral("lan")}
                                          << QStringLiteral("--broadcast wants an IP address, not \"lan\"");
        QTest::newRow("cache limit negative") << QStringList {QStringLiteral("--cache-limit"), QStringLiteral("-5")}
                                              << QStringLiteral("--cache-limit wants a number");
        QTest::newRow("announce port zero") << QStringList {QStringLiteral("--announce-port"), QStringLiteral("0")}
                                            << QStringLiteral("--announce-port wants a number from 1");
        QTest::newRow("unknown option") << QStringList {QStringLiteral("--turbo")}
                                        << QStringLiteral("Unknown option 'turbo'");
        QTest::newRow("stray argument") << QStringList {QStringLiteral("job.json")}
                                        << QStringLiteral("unexpected argument \"job.json\"");
        QTest::newRow("missing value") << QStringList {QStringLiteral("-w")} << QStringLiteral("Missing value after");
        QTest::newRow("connect without port") << QStringList {QStringLiteral("--connect"), QStringLiteral("head.lan")}
                                              << QStringLiteral("--connect \"head.lan\": the port is missing");
        QTest::newRow("connect bad port") << QStringList {QStringLiteral("--connect"), QStringLiteral("head:99999")}
                                          << QStringLiteral("is not a port number");
    }

    void badValues()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, messagePart);
        const Parsed p = parse(args);
        QVERIFY(!p.ok);
        QCOMPARE(p.exitCode, agent::ExitBadUsage);
        QVERIFY2(p.message.contains(messagePart), qPrintable(p.message));
        QVERIFY2(p.message.startsWith(QStringLiteral("taskfleet-agent: ")), qPrintable(p.message));
    }

    void helpAndVersionExitZero()
    {
        const Parsed help = parse({QStringLiteral("--help")});
        QVERIFY(!help.ok);
        QCOMPARE(help.exitCode, 0);
        for (const char *flag :
             {"--port", "--workers", "--secret-file", "--restart-workers", "--idle-exit", "--socket-timeout",
              "--pid-file", "--allow-command", "--no-python", "--no-discovery", "--connect", "--no-listen"})
            QVERIFY2(help.message.contains(QLatin1String(flag)), flag);
        const Parsed version = parse({QStringLiteral("--version")});
        QVERIFY(!version.ok);
        QCOMPARE(version.exitCode, 0);
        QVERIFY(version.message.startsWith(QStringLiteral("taskfleet-agent ")));
    }
};

QTEST_GUILESS_MAIN(TestAgentOptions)
#include "tst_agentoptions.moc"
