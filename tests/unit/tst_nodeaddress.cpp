// SPDX-License-Identifier: MIT
// Issue 16: the one HOST:PORT parser every program uses (taskfleet-run --node, the app's --node and
// Add Node dialog, the deployment files' addresses).
#include "net/nodeaddress.h"

#include <QtTest/QTest>

using namespace taskfleet;

class TestNodeAddress : public QObject
{
    Q_OBJECT

private slots:
    void parses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::newRow("ipv4") << QString::fromLatin1("192.168.1.20:45450") << QString::fromLatin1("192.168.1.20")
                              << 45450;
        QTest::newRow("name") << QString::fromLatin1("node7.lan:9") << QString::fromLatin1("node7.lan") << 9;
        QTest::newRow("ipv6") << QString::fromLatin1("[::1]:45450") << QString::fromLatin1("::1") << 45450;
        QTest::newRow("spaces") << QString::fromLatin1("  10.0.0.7:1 \n") << QString::fromLatin1("10.0.0.7") << 1;
        QTest::newRow("highest port") << QString::fromLatin1("h:65535") << QString::fromLatin1("h") << 65535;
    }
    void parses()
    {
        QFETCH(QString, text);
        QString host, why;
        quint16 port = 0;
        QVERIFY2(net::parseNodeAddress(text, &host, &port, &why), qPrintable(why));
        QTEST(host, "host");
        QTEST(int(port), "port");
    }

    void refusesWithAReason_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("reason");
        QTest::newRow("no port") << QString::fromLatin1("10.0.0.7") << QString::fromLatin1("port is missing");
        QTest::newRow("empty port") << QString::fromLatin1("10.0.0.7:") << QString::fromLatin1("port is missing");
        QTest::newRow("no host") << QString::fromLatin1(":45450") << QString::fromLatin1("host is missing");
        QTest::newRow("empty") << QString::fromLatin1("") << QString::fromLatin1("host is missing");
        QTest::newRow("port zero") << QString::fromLatin1("h:0") << QString::fromLatin1("not a port number");
        QTest::newRow("port too big") << QString::fromLatin1("h:65536") << QString::fromLatin1("not a port number");
        QTest::newRow("port not a number") << QString::fromLatin1("h:http") << QString::fromLatin1("not a port number");
        QTest::newRow("bare ipv6") << QString::fromLatin1("::1:45450") << QString::fromLatin1("[ADDRESS]:PORT");
        QTest::newRow("unterminated ipv6") << QString::fromLatin1("[::1:45450") << QString::fromLatin1("unterminated");
        QTest::newRow("ipv6 without port") << QString::fromLatin1("[::1]") << QString::fromLatin1("port is missing");
        QTest::newRow("junk after ipv6") << QString::fromLatin1("[::1]x45450") << QString::fromLatin1("[ADDRESS]:PORT");
    }
    void refusesWithAReason()
    {
        QFETCH(QString, text);
        QFETCH(QString, reason);
        QString host = QStringLiteral("unchanged"), why;
        quint16 port = 7;
        QVERIFY(!net::parseNodeAddress(text, &host, &port, &why));
        QVERIFY2(why.contains(reason), qPrintable(why));
        QCOMPARE(host, QStringLiteral("unchanged")); // nothing written on failure
        QCOMPARE(port, quint16(7));
    }

    /** formatNodeAddress() writes what parseNodeAddress() reads back (the node ids the window keys on). */
    void formatsWhatItParses()
    {
        for (const auto &[host, port] :
             {std::pair {QStringLiteral("10.0.0.7"), quint16(45450)},
              std::pair {QStringLiteral("node7.lan"), quint16(9)}, std::pair {QStringLiteral("::1"), quint16(1)}}) {
            const QString text = net::formatNodeAddress(host, port);
            QString h, why;
            quint16 p = 0;
            QVERIFY2(net::parseNodeAddress(text, &h, &p, &why), qPrintable(text + QStringLiteral(": ") + why));
            QCOMPARE(h, host);
            QCOMPARE(p, port);
        }
        QCOMPARE(net::formatNodeAddress(QStringLiteral("::1"), 45450), QStringLiteral("[::1]:45450"));
    }
};

QTEST_GUILESS_MAIN(TestNodeAddress)
#include "tst_nodeaddress.moc"
