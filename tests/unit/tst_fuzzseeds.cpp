// SPDX-License-Identifier: MIT
// The fuzz seeds reach the code. Every seed decodes with the decoder of its type (a seed
// rejected at its first field would only fuzz that check), and every message type has a seed.
#include "fuzzseeds.h"
#include "testsupport.h"

#include "protocol/messages.h"

#include <QtCore/QCborMap>
#include <QtCore/QSet>
#include <QtTest/QTest>

using namespace taskfleet;

class TestFuzzSeeds : public QObject
{
    Q_OBJECT

private slots:
    void everySeedDecodes()
    {
        const QString jobs = test::sourceDir() + QStringLiteral("/resources/jobs");
        const auto seeds = fuzz::makeSeeds(jobs);
        QSet<QString> targets;
        for (const fuzz::Seed &s : seeds) {
            QString error;
            QVERIFY2(fuzz::seedDecodes(s, test::pluginDir(), jobs, &error),
                     qPrintable(QStringLiteral("%1/%2: %3").arg(s.target, s.name, error)));
            targets.insert(s.target);
        }
        QCOMPARE(targets, (QSet<QString> {QStringLiteral("frame"), QStringLiteral("messages"), QStringLiteral("beacon"),
                                          QStringLiteral("jobfile"), QStringLiteral("journal")}));
    }

    void everyMessageTypeHasASeed()
    {
        QSet<int> seen;
        for (const fuzz::Seed &s : fuzz::makeSeeds(QString())) {
            if (s.target != QLatin1String("messages") || s.name.startsWith(QStringLiteral("worker-")))
                continue;
            QString error;
            seen.insert(int(protocol::messageType(QCborValue::fromCbor(s.data).toMap(), &error)));
        }
        for (int t = int(protocol::MessageType::Hello); t <= int(protocol::MessageType::Bye); ++t)
            QVERIFY2(
                seen.contains(t),
                qPrintable(
                    QStringLiteral("no seed for \"%1\"").arg(protocol::messageTypeName(protocol::MessageType(t)))));
    }

    /** A seed that does not decode is caught: the check above is not vacuous. */
    void brokenSeedIsCaught()
    {
        QString error;
        QVERIFY(
            !fuzz::seedDecodes({QStringLiteral("messages"), QStringLiteral("hello"),
                                QCborMap {{QStringLiteral("t"), QStringLiteral("hello")}, {QStringLiteral("node"), 1}}
                                    .toCborValue()
                                    .toCbor()},
                               test::pluginDir(), QString(), &error));
        QVERIFY(!error.isEmpty());
        QByteArray beacon;
        for (const fuzz::Seed &s : fuzz::makeSeeds(QString()))
            if (s.target == QLatin1String("beacon") && s.name == QLatin1String("probe"))
                beacon = s.data;
        QVERIFY(!beacon.isEmpty());
        beacon[beacon.size() - 1] = char(beacon.at(beacon.size() - 1) ^ 1);
        error.clear();
        QVERIFY(!fuzz::seedDecodes({QStringLiteral("beacon"), QStringLiteral("probe"), beacon}, test::pluginDir(),
                                   QString(), &error));
    }
};

QTEST_GUILESS_MAIN(TestFuzzSeeds)
#include "tst_fuzzseeds.moc"
