// SPDX-License-Identifier: MIT
// The window's command line (taskfleet), parsed in-process: defaults, every option, the messages for bad values.
#include "guioptions.h"
#include "sched/scriptserver.h"
#include "agentprocess.h"

#include <QtCore/QDir>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;

class TestGuiOptions : public QObject
{
    Q_OBJECT

private slots:
    void defaults()
    {
        gui::GuiCommandLine cl;
        QVERIFY2(gui::parseGuiCommandLine({QStringLiteral("taskfleet")}, &cl), qPrintable(cl.message));
        QCOMPARE(cl.options.localWorkers, -1);
        QVERIFY(cl.options.nodes.isEmpty());
        QVERIFY(cl.options.listen.isEmpty());
        QVERIFY(cl.options.secretFile.isEmpty());
        QVERIFY(cl.options.exitStatisticsPath.isEmpty());
        QCOMPARE(cl.options.scriptSocket, sched::defaultScriptSocketPath());
        QVERIFY(cl.options.resume == gui::MainWindowOptions::Resume::Ask);
        QVERIFY(cl.jobFiles.isEmpty());
        QVERIFY(cl.warnings.isEmpty());
    }

    void everyOption()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString secret = dir.filePath(QStringLiteral("cluster.secret"));
        QVERIFY(test::writeSecretFile(secret, "a cluster secret long enough to be used"));
        QVERIFY(QDir::setCurrent(dir.path()));
        gui::GuiCommandLine cl;
        const bool ok = gui::parseGuiCommandLine({QStringLiteral("taskfleet"),
                                                  QStringLiteral("-n"),
                                                  QStringLiteral("3"),
                                                  QStringLiteral("--node"),
                                                  QStringLiteral("10.0.0.1:45450"),
                                                  QStringLiteral("--node"),
                                                  QStringLiteral("[::1]:7"),
                                                  QStringLiteral("--listen"),
                                                  QStringLiteral("127.0.0.1:0"),
                                                  QStringLiteral("--secret-file"),
                                                  QStringLiteral("cluster.secret"),
                                                  QStringLiteral("--plugin-path"),
                                                  QStringLiteral("plugins"),
                                                  QStringLiteral("--export-stats"),
                                                  QStringLiteral("stats.csv"),
                                                  QStringLiteral("--script-socket"),
                                                  QStringLiteral("s.sock"),
                                                  QStringLiteral("--resume"),
                                                  QStringLiteral("a.json"),
                                                  QStringLiteral("b.json")},
                                                 &cl);
        QVERIFY2(ok, qPrintable(cl.message));
        QCOMPARE(cl.options.localWorkers, 3);
        QCOMPARE(cl.options.nodes, QStringList({QStringLiteral("10.0.0.1:45450"), QStringLiteral("[::1]:7")}));
        QCOMPARE(cl.options.listen, QStringLiteral("127.0.0.1:0"));
        QCOMPARE(cl.options.secretFile, secret);
        QCOMPARE(cl.options.pluginPaths, QStringList {dir.filePath(QStringLiteral("plugins"))});
        QCOMPARE(cl.options.exitStatisticsPath, dir.filePath(QStringLiteral("stats.csv")));
        QCOMPARE(cl.options.scriptSocket, dir.filePath(QStringLiteral("s.sock")));
        QVERIFY(cl.options.resume == gui::MainWindowOptions::Resume::Always);
        QCOMPARE(cl.jobFiles, QStringList({QStringLiteral("a.json"), QStringLiteral("b.json")}));

        gui::GuiCommandLine off;
        QVERIFY(gui::parseGuiCommandLine(
            {QStringLiteral("taskfleet"), QStringLiteral("--no-scripts"), QStringLiteral("--no-resume")}, &off));
        QVERIFY(off.options.scriptSocket.isEmpty());
        QVERIFY(off.options.resume == gui::MainWindowOptions::Resume::Never);
    }

    void badValues_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("workers not a number")
            << QStringList {QStringLiteral("-n"), QStringLiteral("lots")}
            << QStringLiteral("--local-workers: expected a number >= 0, got \"lots\"");
        QTest::newRow("negative workers") << QStringList {QStringLiteral("-n"), QStringLiteral("-1")}
                                          << QStringLiteral("--local-workers: expected a number >= 0");
        QTest::newRow("node without a port") << QStringList {QStringLiteral("--node"), QStringLiteral("10.0.0.7")}
                                             << QStringLiteral("--node 10.0.0.7: ");
        QTest::newRow("bad listen") << QStringList {QStringLiteral("--listen"), QStringLiteral("99999")}
                                    << QStringLiteral("--listen 99999: ");
        QTest::newRow("missing secret file")
            << QStringList {QStringLiteral("--secret-file"), QStringLiteral("/nonexistent/secret")}
            << QStringLiteral("--secret-file: ");
        QTest::newRow("unknown option") << QStringList {QStringLiteral("--frobnicate")} << QStringLiteral("frobnicate");
    }

    void badValues()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        gui::GuiCommandLine cl;
        QVERIFY(!gui::parseGuiCommandLine(QStringList {QStringLiteral("taskfleet")} + args, &cl));
        QCOMPARE(cl.exitCode, 2);
        QVERIFY2(cl.message.contains(message), qPrintable(cl.message));
    }

    void helpAndVersion()
    {
        gui::GuiCommandLine help;
        QVERIFY(!gui::parseGuiCommandLine({QStringLiteral("taskfleet"), QStringLiteral("--help")}, &help));
        QCOMPARE(help.exitCode, 0);
        for (const char *option : {"--local-workers", "--node", "--secret-file", "--listen", "--script-socket",
                                   "--no-scripts", "--resume", "--no-resume", "--plugin-path", "--export-stats"})
            QVERIFY2(help.message.contains(QLatin1String(option)), option);
        gui::GuiCommandLine version;
        QCoreApplication::setApplicationVersion(QStringLiteral("9.8.7"));
        QVERIFY(!gui::parseGuiCommandLine({QStringLiteral("taskfleet"), QStringLiteral("--version")}, &version));
        QCOMPARE(version.exitCode, 0);
        QCOMPARE(version.message, QStringLiteral("taskfleet 9.8.7\n"));
    }

    void textOnlyBeforeTheDoubleDash()
    {
        const auto asks = [](QList<QByteArray> args) {
            std::vector<char *> argv;
            for (QByteArray &a : args)
                argv.push_back(a.data());
            return gui::asksForTextOnly(int(argv.size()), argv.data());
        };
        QVERIFY(asks({"taskfleet", "--help"}));
        QVERIFY(asks({"taskfleet", "job.json", "-v"}));
        QVERIFY(!asks({"taskfleet", "--", "--help"}));
        QVERIFY(!asks({"taskfleet", "job.json"}));
    }
};

QTEST_GUILESS_MAIN(TestGuiOptions)
#include "tst_guioptions.moc"
