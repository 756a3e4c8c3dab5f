// SPDX-License-Identifier: MIT
// The agent's saved settings (agent.ini) through one typed struct, as the app's are.
#include "agent/agentsettings.h"

#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtCore/QUuid>
#include <QtTest/QTest>

using taskfleet::agent::AgentSettings;

class TestAgentSettings : public QObject
{
    Q_OBJECT

private slots:
    void missingFileGivesDefaults()
    {
        QTemporaryDir dir;
        const AgentSettings s = AgentSettings::load(dir.filePath(QStringLiteral("agent.ini")));
        QVERIFY(s.nodeId.isEmpty());
        QCOMPARE(s.workers, -1);
    }

    void roundTrip()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("agent.ini"));
        AgentSettings s;
        s.nodeId = QUuid::createUuid().toString(QUuid::WithoutBraces);
        s.workers = 7;
        QString error;
        QVERIFY2(s.save(path, &error), qPrintable(error));
        const AgentSettings back = AgentSettings::load(path);
        QCOMPARE(back.nodeId, s.nodeId);
        QCOMPARE(back.workers, 7);
        // -1 removes the key: "never set", not a count of -1.
        s.workers = -1;
        QVERIFY2(s.save(path, &error), qPrintable(error));
        QCOMPARE(AgentSettings::load(path).workers, -1);
        QCOMPARE(AgentSettings::load(path).nodeId, s.nodeId);
    }

    // What an older agent, or a hand edit, may have left in the file.
    void badValuesReadAsUnset_data()
    {
        QTest::addColumn<QByteArray>("ini");
        QTest::newRow("id not a UUID") << QByteArray("[node]\nid=my-laptop\n[pool]\nworkers=3\n");
        QTest::newRow("workers not a number") << QByteArray("[node]\nid=\n[pool]\nworkers=many\n");
        QTest::newRow("workers negative") << QByteArray("[pool]\nworkers=-4\n");
        QTest::newRow("workers too many") << QByteArray("[pool]\nworkers=100000\n");
    }

    void badValuesReadAsUnset()
    {
        QFETCH(QByteArray, ini);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("agent.ini"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(ini);
        f.close();
        const AgentSettings s = AgentSettings::load(path);
        QVERIFY(s.nodeId.isEmpty());
        QCOMPARE(s.workers, ini.contains("workers=3") ? 3 : -1);
    }

    void unwritableFileIsAnError()
    {
        // A path below a regular file cannot be written, not even by root (CI runs as root).
        QTemporaryDir dir;
        QFile blocker(dir.filePath(QStringLiteral("blocker")));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        const QString path = dir.filePath(QStringLiteral("blocker/agent.ini"));
        AgentSettings s;
        s.workers = 2;
        QString error;
        QVERIFY(!s.save(path, &error));
        QVERIFY2(error.contains(path), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestAgentSettings)
#include "tst_agentsettings.moc"
