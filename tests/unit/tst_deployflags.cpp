// SPDX-License-Identifier: MIT
// Every flag the systemd unit, the Dockerfile and the swarm stack pass to taskfleet-agent is one it accepts.
#include "testsupport.h"

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtTest/QtTest>

using namespace taskfleet;

namespace {

QString readFile(const QString &relative)
{
    QFile f(test::sourceDir() + QLatin1Char('/') + relative);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

// The agent's argument words in one deployment file (only the lines that start or configure the agent).
QStringList agentArguments(const QString &kind, const QString &text)
{
    QStringList words;
    const QStringList lines = text.split(QLatin1Char('\n'));
    for (const QString &raw : lines) {
        const QString line = raw.trimmed();
        if (kind == QLatin1String("systemd") && line.startsWith(QLatin1String("ExecStart="))) {
            QStringList w = line.mid(int(qstrlen("ExecStart="))).split(QLatin1Char(' '), Qt::SkipEmptyParts);
            w.removeFirst(); // the program
            words << w;
        } else if (kind == QLatin1String("docker")
                   && (line.startsWith(QLatin1String("ENTRYPOINT ")) || line.startsWith(QLatin1String("CMD ")))) {
            const QJsonArray a = QJsonDocument::fromJson(line.mid(line.indexOf(QLatin1Char(' ')) + 1).toUtf8()).array();
            for (const QJsonValue &v : a)
                words << v.toString();
            if (line.startsWith(QLatin1String("ENTRYPOINT ")) && !words.isEmpty())
                words.removeFirst(); // the program
        } else if (kind == QLatin1String("stack") && line.startsWith(QLatin1String("command:"))) {
            const QJsonArray a = QJsonDocument::fromJson(line.mid(int(qstrlen("command:"))).trimmed().toUtf8()).array();
            for (const QJsonValue &v : a)
                words << v.toString();
        }
    }
    return words;
}

QString agentHelp()
{
    QProcess p;
    p.start(test::program(QStringLiteral("taskfleet-agent")), {QStringLiteral("--help")});
    if (!p.waitForFinished(15000)) {
        p.kill();
        p.waitForFinished(5000);
        return {};
    }
    return QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
}

} // namespace

class TestDeployFlags : public QObject
{
    Q_OBJECT

private slots:
    void flagsAreKnown_data();
    void flagsAreKnown();
};

void TestDeployFlags::flagsAreKnown_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("file");
    QTest::newRow("systemd unit") << QStringLiteral("systemd")
                                  << QStringLiteral("resources/systemd/taskfleet-agent.service");
    QTest::newRow("Dockerfile") << QStringLiteral("docker") << QStringLiteral("resources/docker/Dockerfile");
    QTest::newRow("swarm stack") << QStringLiteral("stack") << QStringLiteral("resources/docker/taskfleet-stack.yml");
}

void TestDeployFlags::flagsAreKnown()
{
    QFETCH(QString, kind);
    QFETCH(QString, file);
    const QString text = readFile(file);
    QVERIFY2(!text.isEmpty(), qPrintable(file));
    QStringList args = agentArguments(kind, text);
    if (kind == QLatin1String("stack")) // the stack's command is appended to the image's ENTRYPOINT
        args = agentArguments(QStringLiteral("docker"), readFile(QStringLiteral("resources/docker/Dockerfile")))
                   .mid(0, 4)
               + args;
    QVERIFY2(!args.isEmpty(), qPrintable(file));

    // Each flag word appears in --help.
    const QString help = agentHelp();
    QVERIFY(help.contains(QLatin1String("--secret-file")));
    const QRegularExpression flag(QStringLiteral("^(--[a-z][a-z0-9-]*|-[a-zA-Z])$"));
    int flags = 0;
    for (const QString &word : std::as_const(args)) {
        if (!flag.match(word).hasMatch())
            continue;
        ++flags;
        const QRegularExpression inHelp(QStringLiteral("(^|[ ,])%1([ ,=<]|$)").arg(QRegularExpression::escape(word)),
                                        QRegularExpression::MultilineOption);
        QVERIFY2(inHelp.match(help).hasMatch(),
                 qPrintable(QStringLiteral("%1: %2 is not in taskfleet-agent --help").arg(file, word)));
    }
    QVERIFY2(flags >= 2, qPrintable(args.join(QLatin1Char(' '))));

    // And the whole argument list parses (--help last: it is handled after parsing, so bad flags or
    // missing values still fail with exit code 2).
    QProcess p;
    p.start(test::program(QStringLiteral("taskfleet-agent")), args + QStringList {QStringLiteral("--help")});
    QVERIFY(p.waitForFinished(15000));
    QVERIFY2(p.exitCode() == 0, qPrintable(args.join(QLatin1Char(' ')) + QStringLiteral(": ")
                                           + QString::fromUtf8(p.readAllStandardError())));
}

QTEST_GUILESS_MAIN(TestDeployFlags)
#include "tst_deployflags.moc"
