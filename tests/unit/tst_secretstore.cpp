// SPDX-License-Identifier: MIT
// The one secret lookup every program uses, in its documented order: --secret-file, --secret,
// the app's stored secret, TASKFLEET_SECRET, then (the agent) a secret generated in its state directory.
#include "net/secretstore.h"
#include "agentprocess.h" // test::writeSecretFile
#include "testsupport.h"

#include <QtCore/QDir>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

using namespace taskfleet;

class TestSecretStore : public QObject
{
    Q_OBJECT

private slots:
    void init()
    {
        QVERIFY(m_dir.isValid());
        qunsetenv(net::SecretStore::EnvironmentVariable);
        QVERIFY(test::writeSecretFile(file(QStringLiteral("flag")), "from the file flag"));
        QVERIFY(test::writeSecretFile(file(QStringLiteral("stored")), "from the app's settings"));
    }

    void eachSourceInTurn()
    {
        qputenv(net::SecretStore::EnvironmentVariable, "from the environment");
        net::SecretSources s;
        s.file = file(QStringLiteral("flag"));
        s.commandLine = QStringLiteral("from the command line");
        s.storedFile = file(QStringLiteral("stored"));
        s.generateInStateDir = m_dir.filePath(QStringLiteral("state"));
        QCOMPARE(lookup(s), QByteArray("from the file flag"));
        s.file.clear();
        QCOMPARE(lookup(s), QByteArray("from the command line"));
        s.commandLine.reset();
        QCOMPARE(lookup(s), QByteArray("from the app's settings"));
        s.storedFile = file(QStringLiteral("no-such-file")); // a stored secret that is not there is skipped
        QCOMPARE(lookup(s), QByteArray("from the environment"));
        qunsetenv(net::SecretStore::EnvironmentVariable);
        const QByteArray generated = lookup(s);
        QCOMPARE(generated.size(), net::SecretStore::GeneratedBytes * 2); // hex
        QCOMPARE(lookup(s), generated);                                   // generated once, then read back
        QVERIFY(QFile::exists(net::SecretStore::secretFilePath(s.generateInStateDir)));
    }

    void namesItsSourceAndWarnsForTheCommandLine()
    {
        net::SecretSources s;
        s.commandLine = QStringLiteral("typed");
        const net::SecretResult r = net::SecretStore::lookup(s);
        QCOMPARE(r.source, QStringLiteral("the command line"));
        QVERIFY(!r.warnings.isEmpty());
        s.commandLine.reset();
        s.file = file(QStringLiteral("flag"));
        QCOMPARE(net::SecretStore::lookup(s).source, QStringLiteral("file ") + s.file);
    }

    void nothingSetIsTheCallersError()
    {
        net::SecretSources s;
        s.missing = QStringLiteral("say where to put it");
        const net::SecretResult r = net::SecretStore::lookup(s);
        QVERIFY(!r.ok());
        QCOMPARE(r.error, s.missing);
        s.environment = false;
        qputenv(net::SecretStore::EnvironmentVariable, "ignored");
        QVERIFY(!net::SecretStore::lookup(s).ok()); // a program that does not read the environment
        qunsetenv(net::SecretStore::EnvironmentVariable);
    }

    void unreadableFileIsAnErrorNotAFallThrough()
    {
        qputenv(net::SecretStore::EnvironmentVariable, "from the environment");
        net::SecretSources s;
        s.file = file(QStringLiteral("missing"));
        const net::SecretResult r = net::SecretStore::lookup(s);
        QVERIFY(!r.ok()); // --secret-file names a file: its absence is an error, not a reason to use another secret
        QVERIFY2(r.error.contains(s.file), qPrintable(r.error));
        qunsetenv(net::SecretStore::EnvironmentVariable);
    }

private:
    QString file(const QString &name) const { return m_dir.filePath(name); }
    static QByteArray lookup(const net::SecretSources &s)
    {
        const net::SecretResult r = net::SecretStore::lookup(s);
        return r.ok() ? r.secret : QByteArray("error: " + r.error.toUtf8());
    }
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestSecretStore)
#include "tst_secretstore.moc"
