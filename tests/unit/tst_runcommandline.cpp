// SPDX-License-Identifier: MIT
// taskfleet-run's command line as a unit (before, main() could only be tested as a process).
#include "runcommandline.h"

#include "agentprocess.h" // test::writeSecretFile

#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

using namespace taskfleet;
using app::RunCommandLine;

namespace {
QStringList args(std::initializer_list<const char *> list)
{
    QStringList out;
    for (const char *a : list)
        out << QString::fromLatin1(a);
    return out;
}

RunCommandLine parse(QStringList args, bool *ok = nullptr)
{
    args.prepend(QStringLiteral("taskfleet-run"));
    RunCommandLine cl;
    const bool parsed = app::parseRunCommandLine(args, &cl);
    if (ok)
        *ok = parsed;
    return cl;
}
} // namespace

class TestRunCommandLine : public QObject
{
    Q_OBJECT

private slots:
    void init() { qunsetenv("TASKFLEET_SECRET"); }

    void plainJob()
    {
        bool ok = false;
        const RunCommandLine cl = parse({QStringLiteral("-n"), QStringLiteral("3"), QStringLiteral("-k"),
                                         QStringLiteral("-o"), QStringLiteral("out.jsonl"), QStringLiteral("job.json")},
                                        &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.jobFiles, QStringList {QStringLiteral("job.json")});
        QCOMPARE(cl.options.localWorkers, 3);
        QVERIFY(cl.options.keepOrder);
        QCOMPARE(cl.options.resultsFile, QStringLiteral("out.jsonl"));
        QVERIFY(cl.options.speculation);
        QVERIFY(!cl.session);
        QVERIFY(cl.options.secret.isEmpty()); // no node: no secret looked up
    }

    void discoverWithSecondsIsRewritten()
    {
        qputenv("TASKFLEET_SECRET", "from the environment");
        bool ok = false;
        const RunCommandLine cl = parse({QStringLiteral("--discover=7"), QStringLiteral("job.json")}, &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QVERIFY(cl.options.discover);
        QCOMPARE(cl.options.discoverWaitSeconds, 7);
        QCOMPARE(cl.options.secret, QStringLiteral("from the environment"));
        // After "--", "--discover=7" is a job file name, not an option.
        const RunCommandLine after = parse({QStringLiteral("--"), QStringLiteral("--discover=7")}, &ok);
        QVERIFY(ok);
        QCOMPARE(after.options.jobFiles, QStringList {QStringLiteral("--discover=7")});
        QVERIFY(!after.options.discover);
    }

    void nodesNeedAValidAddressAndASecret()
    {
        QTemporaryDir dir;
        const QString secret = dir.filePath(QStringLiteral("s"));
        QVERIFY(test::writeSecretFile(secret, "file secret"));
        bool ok = false;
        RunCommandLine cl
            = parse({QStringLiteral("--node"), QStringLiteral("10.0.0.7"), QStringLiteral("job.json")}, &ok);
        QVERIFY(!ok);
        QCOMPARE(cl.exitCode, int(app::ExitBadUsage));
        QVERIFY2(cl.message.contains(QStringLiteral("--node 10.0.0.7: the port is missing")), qPrintable(cl.message));
        cl = parse({QStringLiteral("--node"), QStringLiteral("10.0.0.7:45450"), QStringLiteral("job.json")}, &ok);
        QVERIFY(!ok);
        QVERIFY2(cl.message.contains(QStringLiteral("need the cluster secret")), qPrintable(cl.message));
        cl = parse({QStringLiteral("--node"), QStringLiteral("10.0.0.7:45450"), QStringLiteral("--secret-file"), secret,
                    QStringLiteral("job.json")},
                   &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.nodes, QStringList {QStringLiteral("10.0.0.7:45450")});
        QCOMPARE(cl.options.secret, QStringLiteral("file secret"));
        cl = parse({QStringLiteral("--node"), QStringLiteral("h:1"), QStringLiteral("--secret"),
                    QStringLiteral("typed"), QStringLiteral("job.json")},
                   &ok);
        QVERIFY(ok);
        QCOMPARE(cl.options.secret, QStringLiteral("typed"));
        QVERIFY(!cl.warnings.isEmpty()); // a secret on the command line is visible in ps
    }

    /** --listen needs the secret too; --listen-wait defaults to --connect-timeout. */
    void listenNeedsASecretAndWaitsConnectTimeout()
    {
        QTemporaryDir dir;
        const QString secret = dir.filePath(QStringLiteral("s"));
        QVERIFY(test::writeSecretFile(secret, "file secret"));
        bool ok = false;
        RunCommandLine cl
            = parse({QStringLiteral("--listen"), QStringLiteral("45460"), QStringLiteral("job.json")}, &ok);
        QVERIFY(!ok);
        QVERIFY2(cl.message.contains(QStringLiteral("--listen")) && cl.message.contains(QStringLiteral("secret")),
                 qPrintable(cl.message));
        cl = parse({QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--connect-timeout"),
                    QStringLiteral("7"), QStringLiteral("--secret-file"), secret, QStringLiteral("job.json")},
                   &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.listen, QStringLiteral("127.0.0.1:0"));
        QCOMPARE(cl.options.listenWaitSeconds, 7);
        cl = parse({QStringLiteral("--listen"), QStringLiteral("0"), QStringLiteral("--listen-wait"),
                    QStringLiteral("900"), QStringLiteral("--secret-file"), secret, QStringLiteral("job.json")},
                   &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.listenWaitSeconds, 900);
    }

    void badValuesAreRefusedWithTheirName_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("workers") << args({"-n", "many", "j.json"})
                                 << QString::fromLatin1("--local-workers wants a number");
        QTest::newRow("workers range") << args({"-n", "5000", "j.json"})
                                       << QString::fromLatin1("--local-workers wants a number");
        QTest::newRow("timeout") << args({"--connect-timeout", "0", "j.json"})
                                 << QString::fromLatin1("--connect-timeout wants seconds");
        QTest::newRow("wait") << args({"--discover-wait", "-1", "j.json"})
                              << QString::fromLatin1("--discover-wait wants seconds");
        QTest::newRow("port") << args({"--discovery-port", "70000", "j.json"})
                              << QString::fromLatin1("--discovery-port wants a port");
        QTest::newRow("listen") << args({"--listen", "head.lan:45460", "j.json"})
                                << QString::fromLatin1("--listen head.lan:45460");
        QTest::newRow("listen wait") << args({"--listen", "0", "--listen-wait", "x", "j.json"})
                                     << QString::fromLatin1("--listen-wait wants seconds");
        QTest::newRow("broadcast") << args({"--broadcast", "lan", "j.json"})
                                   << QString::fromLatin1("--broadcast wants an IP address");
        QTest::newRow("max value 0") << args({"--max-value", "0", "j.json"})
                                     << QString::fromLatin1("--max-value wants MiB from 0.001 to 256");
        QTest::newRow("max value over the protocol")
            << args({"--max-value", "300", "j.json"}) << QString::fromLatin1("--max-value wants MiB");
        QTest::newRow("no job") << args({}) << QString::fromLatin1("no job file given");
        QTest::newRow("session and job") << args({"--session", "j.json"})
                                         << QString::fromLatin1("--session takes its jobs from stdin");
        QTest::newRow("resume and job") << args({"--resume", "x.journal", "j.json"})
                                        << QString::fromLatin1("--resume continues");
        QTest::newRow("unknown option") << args({"--frobnicate", "j.json"}) << QString::fromLatin1("Unknown option");
    }
    void badValuesAreRefusedWithTheirName()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        bool ok = true;
        const RunCommandLine cl = parse(args, &ok);
        QVERIFY(!ok);
        QCOMPARE(cl.exitCode, int(app::ExitBadUsage));
        QVERIFY2(cl.message.contains(message), qPrintable(cl.message));
    }

    void helpAndVersionExitZero()
    {
        bool ok = true;
        RunCommandLine cl = parse({QStringLiteral("--help")}, &ok);
        QVERIFY(!ok);
        QCOMPARE(cl.exitCode, 0);
        QVERIFY(cl.message.contains(QStringLiteral("--discover-wait")));
        cl = parse({QStringLiteral("--version")}, &ok);
        QVERIFY(!ok);
        QCOMPARE(cl.exitCode, 0);
        QVERIFY(cl.message.startsWith(QStringLiteral("taskfleet-run ")));
    }

    void maxValueIsInMiB()
    {
        bool ok = false;
        RunCommandLine cl
            = parse({QStringLiteral("--max-value"), QStringLiteral("1.5"), QStringLiteral("j.json")}, &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.maxValueBytes, qint64(1.5 * 1024 * 1024));
        cl = parse({QStringLiteral("j.json")}, &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.maxValueBytes, qint64(0)); // the controller's default
    }

    void sessionNeedsNoJobFile()
    {
        bool ok = false;
        const RunCommandLine cl = parse({QStringLiteral("--session"), QStringLiteral("-n"), QStringLiteral("0")}, &ok);
        QVERIFY2(ok, qPrintable(cl.message));
        QVERIFY(cl.session);
        QCOMPARE(cl.options.localWorkers, 0);
    }
};

QTEST_GUILESS_MAIN(TestRunCommandLine)
#include "tst_runcommandline.moc"
