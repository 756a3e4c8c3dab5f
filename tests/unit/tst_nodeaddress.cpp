// SPDX-License-Identifier: MIT
// The one HOST:PORT parser every program uses (taskfleet-run --node, the app's --node and Add Node dialog,
// the deployment files' addresses, and the Python client through the shared table).
#include "net/nodeaddress.h"

#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtTest/QTest>

using namespace taskfleet;

class TestNodeAddress : public QObject
{
    Q_OBJECT

private slots:
    /**
     * Every case of tests/data/node-addresses.jsonl: the table the Python client's test reads too, so
     * --node, Add Node and pp's ppservers accept exactly the same addresses.
     */
    void table_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("defaultPort");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QString>("error");
        QFile file(QStringLiteral(TF_NODE_ADDRESS_TABLE));
        QVERIFY2(file.open(QIODevice::ReadOnly),
                 qPrintable(file.fileName() + QStringLiteral(": ") + file.errorString()));
        int line = 0;
        int failures = 0;
        while (!file.atEnd()) {
            const QByteArray text = file.readLine().trimmed();
            ++line;
            if (text.isEmpty())
                continue;
            QJsonParseError parseError;
            const QJsonObject row = QJsonDocument::fromJson(text, &parseError).object();
            QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(QStringLiteral("line %1").arg(line)));
            const QString error = row.value(QLatin1String("error")).toString();
            failures += error.isEmpty() ? 0 : 1;
            QTest::addRow("line %d", line)
                << row.value(QLatin1String("text")).toString() << row.value(QLatin1String("default_port")).toInt()
                << row.value(QLatin1String("host")).toString() << row.value(QLatin1String("port")).toInt() << error;
        }
        // The table is the specification: a truncated or emptied one must not pass quietly.
        QVERIFY2(line >= 30 && failures >= 15, "the address table is missing cases");
    }
    void table()
    {
        QFETCH(QString, text);
        QFETCH(int, defaultPort);
        QFETCH(QString, error);
        QString host = QStringLiteral("unchanged"), why;
        quint16 port = 7;
        const bool ok = net::parseNodeAddress(text, &host, &port, &why, quint16(defaultPort));
        if (error.isEmpty()) {
            QVERIFY2(ok, qPrintable(why));
            QTEST(host, "host");
            QTEST(int(port), "port");
        } else {
            QVERIFY2(!ok, qPrintable(QStringLiteral("accepted as %1 port %2").arg(host).arg(port)));
            QVERIFY2(why.contains(error), qPrintable(why));
            QCOMPARE(host, QStringLiteral("unchanged")); // nothing written on failure
            QCOMPARE(port, quint16(7));
        }
    }

    /** --listen's [ADDR:]PORT: a port alone means every interface; names are refused (a listener binds an address). */
    void listenAddresses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("address"); // empty: refused
        QTest::addColumn<int>("port");
        QTest::newRow("port") << QStringLiteral("45460") << QStringLiteral("any") << 45460;
        QTest::newRow(":port") << QStringLiteral(":45461") << QStringLiteral("any") << 45461;
        QTest::newRow("*:port") << QStringLiteral("*:7") << QStringLiteral("any") << 7;
        QTest::newRow("any free") << QStringLiteral("127.0.0.1:0") << QStringLiteral("127.0.0.1") << 0;
        QTest::newRow("v4") << QStringLiteral(" 10.1.2.3:45460 ") << QStringLiteral("10.1.2.3") << 45460;
        QTest::newRow("v6") << QStringLiteral("[::1]:45460") << QStringLiteral("::1") << 45460;
        QTest::newRow("name") << QStringLiteral("head.lan:45460") << QString() << 0;
        QTest::newRow("bare v6") << QStringLiteral("::1:45460") << QString() << 0;
        QTest::newRow("too big") << QStringLiteral("65536") << QString() << 0;
        QTest::newRow("sign") << QStringLiteral("+80") << QString() << 0;
        QTest::newRow("empty") << QString() << QString() << 0;
        QTest::newRow("no port") << QStringLiteral("10.1.2.3:") << QString() << 0;
    }

    void listenAddresses()
    {
        QFETCH(QString, text);
        QFETCH(QString, address);
        QFETCH(int, port);
        QHostAddress a;
        quint16 p = 1;
        QString why;
        const bool ok = net::parseListenAddress(text, &a, &p, &why);
        if (address.isEmpty()) {
            QVERIFY2(!ok, qPrintable(text));
            QVERIFY(!why.isEmpty());
            return;
        }
        QVERIFY2(ok, qPrintable(why));
        QCOMPARE(a, address == QLatin1String("any") ? QHostAddress(QHostAddress::Any) : QHostAddress(address));
        QCOMPARE(int(p), port);
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
