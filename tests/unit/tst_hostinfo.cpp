// SPDX-License-Identifier: MIT
// What a node reports about its machine (Nodes table's Load and Memory, the name's tooltip).
#include "util/hostinfo.h"

#include <QtCore/QFile>
#include <QtCore/QRegularExpression>
#include <QtCore/QSysInfo>
#include <QtTest/QTest>

#include <sched.h>

using namespace taskfleet;

namespace {
/** The value of \a field in /proc/meminfo, in kB, read with no help from util. */
bool memInfoKb(const char *field, qint64 *kb)
{
    QFile f(QStringLiteral("/proc/meminfo"));
    if (!f.open(QIODevice::ReadOnly))
        return false;
    const QRegularExpression re(QStringLiteral("^%1:\\s+(\\d+) kB$").arg(QLatin1String(field)),
                                QRegularExpression::MultilineOption);
    const QRegularExpressionMatch m = re.match(QString::fromLatin1(f.readAll()));
    bool ok = false;
    *kb = m.captured(1).toLongLong(&ok);
    return m.hasMatch() && ok;
}
} // namespace

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

    // Against /proc read here, field by field, not through parseMemInfo (the function under test above).
    void thisMachine()
    {
        qint64 before = 0, after = 0, total = 0;
        QVERIFY(memInfoKb("MemTotal", &total));
        QVERIFY(memInfoKb("MemAvailable", &before));
        const util::HostInfo h = util::readHostInfo();
        QVERIFY(memInfoKb("MemAvailable", &after));
        QCOMPARE(h.memTotal, total * 1024);
        // Used is total minus available, read between the two reads here (the machine may move between them).
        const qint64 slack = 64 << 20;
        const qint64 usedLow = (total - std::max(before, after)) * 1024 - slack;
        const qint64 usedHigh = (total - std::min(before, after)) * 1024 + slack;
        QVERIFY2(h.memUsed >= usedLow && h.memUsed <= usedHigh,
                 qPrintable(QStringLiteral("used %1, expected %2 to %3").arg(h.memUsed).arg(usedLow).arg(usedHigh)));
        QFile loadavg(QStringLiteral("/proc/loadavg"));
        QVERIFY(loadavg.open(QIODevice::ReadOnly));
        bool ok = false;
        const double load = loadavg.readAll().split(' ').value(0).toDouble(&ok);
        QVERIFY(ok);
        QVERIFY2(qAbs(h.load - load) < 0.5,
                 qPrintable(QStringLiteral("load %1, /proc/loadavg %2").arg(h.load).arg(load)));
        // The CPUs this process may run on (taskset, a container's cpuset), which is what its workers get.
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        QCOMPARE(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
        QCOMPARE(h.cores, CPU_COUNT(&cpus));
        QVERIFY2(h.os.contains(QSysInfo::prettyProductName()), qPrintable(h.os));
        QVERIFY2(h.os.contains(QSysInfo::kernelVersion()), qPrintable(h.os));
        QCOMPARE(h.version, QStringLiteral(TASKFLEET_VERSION));
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
