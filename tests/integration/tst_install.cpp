// SPDX-License-Identifier: MIT
// cmake --install into a temporary prefix, an out-of-tree plugin built against it, run by the installed taskfleet-run.
#include "testsupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace taskfleet;

class TestInstall : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void installedLayout();
    void outOfTreePluginBuilds();
    void installedRunFindsShippedPlugins();
    void installedRunUsesOutOfTreePlugin_data();
    void installedRunUsesOutOfTreePlugin();

private:
    struct Result {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
    };
    // Runs a program to completion (bounded); the environment has no TASKFLEET_PLUGIN_PATH, so the
    // installed programs must find plugins through their own default search path.
    Result exec(const QString &program, const QStringList &args, int timeoutMs)
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("TASKFLEET_PLUGIN_PATH"));
        env.insert(QStringLiteral("HOME"), m_dir.filePath(QStringLiteral("home")));
        p.setProcessEnvironment(env);
        p.start(program, args);
        Result r;
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished(5000);
            r.err = "timed out: " + program.toUtf8();
            return r;
        }
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    }
    QString prefix() const { return m_dir.filePath(QStringLiteral("prefix")); }
    QString writeJob(const QByteArray &json)
    {
        const QString path = m_dir.filePath(QStringLiteral("job-%1.json").arg(++m_jobs));
        QFile f(path);
        if (f.open(QIODevice::WriteOnly))
            f.write(json);
        return path;
    }
    static QVector<QJsonObject> lines(const QByteArray &jsonl)
    {
        QVector<QJsonObject> out;
        for (const QByteArray &line : jsonl.split('\n'))
            if (!line.trimmed().isEmpty())
                out.append(QJsonDocument::fromJson(line).object());
        return out;
    }

    QTemporaryDir m_dir;
    int m_jobs = 0;
    bool m_pluginBuilt = false;
};

void TestInstall::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(QDir().mkpath(m_dir.filePath(QStringLiteral("home"))));
    const Result r = exec(
        QStringLiteral(TF_CMAKE_COMMAND),
        {QStringLiteral("--install"), QStringLiteral(TF_BUILD_DIR), QStringLiteral("--prefix"), prefix()}, 90000);
    QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
}

void TestInstall::installedLayout()
{
    const QStringList expected = {
        QStringLiteral("bin/taskfleet-agent"),
        QStringLiteral("bin/taskfleet-run"),
        QStringLiteral("bin/taskfleet-worker"),
        QStringLiteral("lib/taskfleet/plugins/libtaskfleet_sumprimes.so"),
        QStringLiteral("lib/taskfleet/plugins/libtaskfleet_command.so"),
        QStringLiteral("include/taskfleet/TaskPlugin.h"),
        QStringLiteral("lib/cmake/Taskfleet/TaskfleetConfig.cmake"),
        QStringLiteral("lib/cmake/Taskfleet/TaskfleetConfigVersion.cmake"),
        QStringLiteral("lib/cmake/Taskfleet/TaskfleetTargets.cmake"),
        QStringLiteral("lib/cmake/Taskfleet/TaskfleetPluginHelpers.cmake"),
        QStringLiteral("share/taskfleet/systemd/taskfleet-agent.service"),
        QStringLiteral("share/taskfleet/docker/Dockerfile"),
        QStringLiteral("share/taskfleet/docker/taskfleet-stack.yml"),
    };
    for (const QString &file : expected)
        QVERIFY2(QFile::exists(QDir(prefix()).filePath(file)), qPrintable(file));
#ifdef TF_WITH_GUI
    for (const QString &file : {QStringLiteral("bin/taskfleet"), QStringLiteral("share/applications/taskfleet.desktop"),
                                QStringLiteral("share/icons/hicolor/128x128/apps/taskfleet.png"),
                                QStringLiteral("share/icons/hicolor/scalable/apps/taskfleet.svg")})
        QVERIFY2(QFile::exists(QDir(prefix()).filePath(file)), qPrintable(file));
#endif
}

void TestInstall::outOfTreePluginBuilds()
{
    const QString src = test::sourceDir() + QStringLiteral("/tests/data/outoftree");
    const QString build = m_dir.filePath(QStringLiteral("square-build"));
    Result r = exec(QStringLiteral(TF_CMAKE_COMMAND),
                    {QStringLiteral("-S"), src, QStringLiteral("-B"), build, QStringLiteral("-G"),
                     QStringLiteral(TF_CMAKE_GENERATOR), QStringLiteral("-DCMAKE_BUILD_TYPE=Release"),
                     QStringLiteral("-DCMAKE_PREFIX_PATH=") + prefix(),
                     QStringLiteral("-DCMAKE_INSTALL_PREFIX=") + prefix()},
                    60000);
    QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
    r = exec(QStringLiteral(TF_CMAKE_COMMAND), {QStringLiteral("--build"), build, QStringLiteral("-j2")}, 90000);
    QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
    QVERIFY(QFile::exists(build + QStringLiteral("/libtaskfleet_square.so")));
    r = exec(QStringLiteral(TF_CMAKE_COMMAND), {QStringLiteral("--install"), build}, 30000);
    QVERIFY2(r.exitCode == 0, QByteArray(r.out + r.err).constData());
    QVERIFY(QFile::exists(prefix() + QStringLiteral("/lib/taskfleet/plugins/libtaskfleet_square.so")));
    m_pluginBuilt = true;
}

void TestInstall::installedRunFindsShippedPlugins()
{
    const QString job = writeJob(R"({"plugin": "sumprimes", "inputs": [10, 100]})");
    const Result r = exec(prefix() + QStringLiteral("/bin/taskfleet-run"),
                          {QStringLiteral("-n"), QStringLiteral("2"), job}, 60000);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QVector<QJsonObject> results = lines(r.out);
    QCOMPARE(results.size(), 2);
    for (const QJsonObject &o : results) {
        const int n = o.value(QStringLiteral("input")).toInt();
        QCOMPARE(qint64(o.value(QStringLiteral("output")).toDouble()), n == 10 ? 17 : 1060);
    }
}

void TestInstall::installedRunUsesOutOfTreePlugin_data()
{
    QTest::addColumn<bool>("viaPluginPath");
    QTest::newRow("installed into the prefix") << false;
    QTest::newRow("--plugin-path to its build dir") << true;
}

void TestInstall::installedRunUsesOutOfTreePlugin()
{
    QFETCH(bool, viaPluginPath);
    QVERIFY2(m_pluginBuilt, "the out-of-tree plugin did not build (see outOfTreePluginBuilds)");
    QStringList args {QStringLiteral("-n"), QStringLiteral("2"), QStringLiteral("-k")};
    if (viaPluginPath) {
        QVERIFY(QFile::remove(prefix() + QStringLiteral("/lib/taskfleet/plugins/libtaskfleet_square.so")));
        args << QStringLiteral("--plugin-path") << m_dir.filePath(QStringLiteral("square-build"));
    }
    args << writeJob(R"({"plugin": "square", "inputs": {"range": [0, 50, 1]}})");
    const Result r = exec(prefix() + QStringLiteral("/bin/taskfleet-run"), args, 60000);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QVector<QJsonObject> results = lines(r.out);
    QCOMPARE(results.size(), 50);
    for (int i = 0; i < results.size(); ++i) {
        QCOMPARE(results[i].value(QStringLiteral("index")).toInt(), i);
        QCOMPARE(qint64(results[i].value(QStringLiteral("output")).toDouble()), qint64(i) * i);
    }
}

QTEST_GUILESS_MAIN(TestInstall)
#include "tst_install.moc"
