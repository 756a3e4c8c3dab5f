// SPDX-License-Identifier: MIT
// Issue 14: what a node reports about its machine (Nodes table's Load and Memory, the name's tooltip).
#include "util/hostinfo.h"

#include <QtCore/QFile>
#include <QtCore/QSysInfo>
#include <QtTest/QTest>

using namespace taskfleet;

class TestHostInfo : public QObject
{
    Q_OBJECT

private slots:
    void parsesMemInfo()
    {
        const QByteArray text("MemTotal:       16314572 kB\n"
                              "MemFree:         1000000 kB\n"
                              "MemAvailable:   12000000 kB\n"
                              "Buffers:          200000 kB\n");
        qint64 total = 0, available = 0;
        QVERIFY(util::parseMemInfo(text, &total, &available));
        QCOMPARE(total, qint64(16314572) * 1024);
        QCOMPARE(available, qint64(12000000) * 1024);
    }

    void refusesIncompleteOrImpossibleMemInfo_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("no available (kernels before 3.14)") << QByteArray("MemTotal: 100 kB\nMemFree: 50 kB\n");
        QTest::newRow("available above total") << QByteArray("MemTotal: 100 kB\nMemAvailable: 200 kB\n");
        QTest::newRow("not a number") << QByteArray("MemTotal: lots kB\nMemAvailable: 1 kB\n");
    }

    void refusesIncompleteOrImpossibleMemInfo()
    {
        QFETCH(QByteArray, text);
        qint64 total = -5, available = -5;
        QVERIFY(!util::parseMemInfo(text, &total, &available));
        QCOMPARE(total, qint64(-5)); // untouched
    }

    void thisMachine()
    {
        const util::HostInfo h = util::readHostInfo();
        QFile f(QStringLiteral("/proc/meminfo"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        qint64 total = 0, available = 0;
        QVERIFY(util::parseMemInfo(f.readAll(), &total, &available));
        QCOMPARE(h.memTotal, total);
        QVERIFY(h.memUsed > 0 && h.memUsed < h.memTotal);
        QVERIFY(h.load >= 0);
        QVERIFY(h.cores >= 1);
        QVERIFY2(h.os.contains(QSysInfo::prettyProductName()), qPrintable(h.os));
        QVERIFY(!h.version.isEmpty());
    }

    void formatsMemory()
    {
        constexpr qint64 GiB = qint64(1) << 30;
        QCOMPARE(util::formatMemory(3 * GiB + GiB / 10, 16 * GiB), QStringLiteral("3.1 / 16.0 GB"));
        QCOMPARE(util::formatMemory(-1, 16 * GiB), QString());
        QCOMPARE(util::formatMemory(1, 0), QString());
    }
};

QTEST_GUILESS_MAIN(TestHostInfo)
#include "tst_hostinfo.moc"
