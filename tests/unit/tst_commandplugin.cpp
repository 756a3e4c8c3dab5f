// SPDX-License-Identifier: MIT
// The command plugin in-process: inputs, exit codes, output capture and truncation, templates, timeout, cancel.
#include "testsupport.h"

#include <taskfleet/TaskPlugin.h>

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonObject>
#include <QtCore/QPluginLoader>
#include <QtTest/QtTest>

using namespace taskfleet;

namespace {

class Context : public TaskContext
{
public:
    explicit Context(qint64 cancelAfterMs = -1)
        : m_cancelAfterMs(cancelAfterMs)
    {
        m_clock.start();
    }
    bool isCancelled() const override { return m_cancelAfterMs >= 0 && m_clock.elapsed() >= m_cancelAfterMs; }
    void reportProgress(double) override { }

private:
    qint64 m_cancelAfterMs;
    QElapsedTimer m_clock;
};

QCborMap map(std::initializer_list<std::pair<QString, QCborValue>> items)
{
    QCborMap m;
    for (const auto &[k, v] : items)
        m.insert(k, v);
    return m;
}

} // namespace

class TestCommandPlugin : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void metadata();
    void inputForms_data();
    void inputForms();
    void nonZeroExitIsAnError();
    void badInputs_data();
    void badInputs();
    void stderrCaptured();
    void largeOutputIsTruncatedWithoutBlocking();
    void templateSubstitution_data();
    void templateSubstitution();
    void timeoutKillsTheProgramGroup();
    void cancellationStopsTheProgram();

private:
    QCborValue run(const QCborValue &input, QString *error, qint64 cancelAfterMs = -1)
    {
        Context ctx(cancelAfterMs);
        error->clear();
        return m_plugin->run(input, ctx, error);
    }

    QPluginLoader m_loader;
    TaskPlugin *m_plugin = nullptr;
};

void TestCommandPlugin::initTestCase()
{
    m_loader.setFileName(test::pluginPath(QStringLiteral("command")));
    QVERIFY2(m_loader.load(), qPrintable(m_loader.errorString()));
    m_plugin = qobject_cast<TaskPlugin *>(m_loader.instance());
    QVERIFY(m_plugin);
}

void TestCommandPlugin::metadata()
{
    const QJsonObject md = m_loader.metaData().value(QStringLiteral("MetaData")).toObject();
    QCOMPARE(md.value(QStringLiteral("name")).toString(), QStringLiteral("command"));
    QCOMPARE(md.value(QStringLiteral("runsPrograms")).toBool(), true);
}

void TestCommandPlugin::inputForms_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::addColumn<QString>("stdoutText");
    QTest::newRow("shell string") << QCborValue(QStringLiteral("echo hello | tr a-z A-Z")) << QStringLiteral("HELLO\n");
    QTest::newRow("argv array, no shell") << QCborValue(
        QCborArray {QStringLiteral("printf"), QStringLiteral("%s|"), QStringLiteral("a b"), QStringLiteral("$HOME")})
                                          << QStringLiteral("a b|$HOME|");
    QTest::newRow("map cmd") << QCborValue(map({{QStringLiteral("cmd"), QStringLiteral("printf x")}}))
                             << QStringLiteral("x");
    QTest::newRow("map args") << QCborValue(
        map({{QStringLiteral("args"), QCborArray {QStringLiteral("echo"), QStringLiteral("-n"), QStringLiteral("y")}}}))
                              << QStringLiteral("y");
    QTest::newRow("map stdin") << QCborValue(
        map({{QStringLiteral("cmd"), QStringLiteral("wc -c")}, {QStringLiteral("stdin"), QStringLiteral("12345")}}))
                               << QStringLiteral("5\n");
    QTest::newRow("template") << QCborValue(map({{QStringLiteral("template"), QStringLiteral("printf %s {.}")},
                                                 {QStringLiteral("arg"), QStringLiteral("d/a.jpg")}}))
                              << QStringLiteral("d/a");
}

void TestCommandPlugin::inputForms()
{
    QFETCH(QCborValue, input);
    QFETCH(QString, stdoutText);
    QString error;
    const QCborValue out = run(input, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out.toMap().value(QStringLiteral("exit")).toInteger(), 0);
    QCOMPARE(out.toMap().value(QStringLiteral("stdout")).toString().trimmed(), stdoutText.trimmed());
    QCOMPARE(out.toMap().value(QStringLiteral("stderr")).toString(), QString());
}

void TestCommandPlugin::nonZeroExitIsAnError()
{
    QString error;
    run(QCborValue(QStringLiteral("echo boom-message >&2; exit 3")), &error);
    QVERIFY2(error.contains(QStringLiteral("code 3")), qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("boom-message")), qPrintable(error));

    run(QCborValue(QCborArray {QStringLiteral("/nonexistent/program")}), &error);
    QVERIFY2(error.contains(QStringLiteral("cannot start")), qPrintable(error));
}

void TestCommandPlugin::badInputs_data()
{
    QTest::addColumn<QCborValue>("input");
    QTest::newRow("integer") << QCborValue(42);
    QTest::newRow("empty array") << QCborValue(QCborArray {});
    QTest::newRow("array of numbers") << QCborValue(QCborArray {1, 2});
    QTest::newRow("map with two forms") << QCborValue(
        map({{QStringLiteral("cmd"), QStringLiteral("true")},
             {QStringLiteral("args"), QCborArray {QStringLiteral("true")}}}));
    QTest::newRow("template without arg") << QCborValue(map({{QStringLiteral("template"), QStringLiteral("echo {}")}}));
    QTest::newRow("negative timeout") << QCborValue(
        map({{QStringLiteral("cmd"), QStringLiteral("true")}, {QStringLiteral("timeout"), -1}}));
}

void TestCommandPlugin::badInputs()
{
    QFETCH(QCborValue, input);
    QString error;
    run(input, &error);
    QVERIFY(error.startsWith(QStringLiteral("command")));
}

void TestCommandPlugin::stderrCaptured()
{
    QString error;
    const QCborValue out = run(QCborValue(QStringLiteral("echo out; echo err >&2")), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out.toMap().value(QStringLiteral("stdout")).toString(), QStringLiteral("out\n"));
    QCOMPARE(out.toMap().value(QStringLiteral("stderr")).toString(), QStringLiteral("err\n"));
}

void TestCommandPlugin::largeOutputIsTruncatedWithoutBlocking()
{
    // 3 MiB on each stream: more than any pipe buffer, so a reader that stopped reading would hang.
    QString error;
    QElapsedTimer clock;
    clock.start();
    const QCborValue out = run(QCborValue(QStringLiteral("head -c 3145728 /dev/zero | tr '\\0' a; "
                                                         "head -c 3145728 /dev/zero | tr '\\0' b >&2")),
                               &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(clock.elapsed() < 30000);
    for (const QString &stream : {QStringLiteral("stdout"), QStringLiteral("stderr")}) {
        const QString text = out.toMap().value(stream).toString();
        QVERIFY(text.size() < 1024 * 1024 + 200);
        QVERIFY(text.size() >= 1024 * 1024);
        QVERIFY2(text.endsWith(QStringLiteral("[taskfleet: output truncated, 2097152 more bytes not kept]")),
                 qPrintable(text.right(80)));
    }
}

void TestCommandPlugin::templateSubstitution_data()
{
    QTest::addColumn<QString>("tmpl");
    QTest::addColumn<QString>("arg");
    QTest::addColumn<QString>("expected");
    const QString a = QStringLiteral("dir.d/sub/photo.tar.jpg");
    QTest::newRow("{}") << QStringLiteral("{}") << a << a;
    QTest::newRow("{.}") << QStringLiteral("{.}") << a << QStringLiteral("dir.d/sub/photo.tar");
    QTest::newRow("{/}") << QStringLiteral("{/}") << a << QStringLiteral("photo.tar.jpg");
    QTest::newRow("{//}") << QStringLiteral("{//}") << a << QStringLiteral("dir.d/sub");
    QTest::newRow("{/.}") << QStringLiteral("{/.}") << a << QStringLiteral("photo.tar");
    QTest::newRow("{//} of a bare name") << QStringLiteral("{//}") << QStringLiteral("a.jpg") << QStringLiteral(".");
    QTest::newRow("{.} keeps dots in directories")
        << QStringLiteral("{.}") << QStringLiteral("v1.2/readme") << QStringLiteral("v1.2/readme");
    QTest::newRow("{.} keeps a leading dot")
        << QStringLiteral("{.}") << QStringLiteral("a/.bashrc") << QStringLiteral("a/.bashrc");
    QTest::newRow("several") << QStringLiteral("{//}:{/.}.png") << a << QStringLiteral("dir.d/sub:photo.tar.png");
    QTest::newRow("no placeholder: appended") << QStringLiteral("") << QStringLiteral("x y") << QStringLiteral("x y");
    QTest::newRow("quotes are safe") << QStringLiteral("{}") << QStringLiteral("it's $(rm -rf /) `x` \"q\"")
                                     << QStringLiteral("it's $(rm -rf /) `x` \"q\"");
    QTest::newRow("spaces kept") << QStringLiteral("{/}") << QStringLiteral("a b/c  d.txt")
                                 << QStringLiteral("c  d.txt");
}

void TestCommandPlugin::templateSubstitution()
{
    QFETCH(QString, tmpl);
    QFETCH(QString, arg);
    QFETCH(QString, expected);
    // printf '%s' REPLACED: the shell sees exactly one quoted word per placeholder.
    QString error;
    const QCborValue out
        = run(QCborValue(map({{QStringLiteral("template"), QString(QStringLiteral("printf '%s' ") + tmpl)},
                              {QStringLiteral("arg"), arg}})),
              &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(out.toMap().value(QStringLiteral("stdout")).toString(), expected);
}

void TestCommandPlugin::timeoutKillsTheProgramGroup()
{
    // The shell starts a background sleep that keeps stdout open: only killing the group ends it.
    QString error;
    QElapsedTimer clock;
    clock.start();
    run(QCborValue(map({{QStringLiteral("cmd"), QStringLiteral("sleep 30 & sleep 30; echo never")},
                        {QStringLiteral("timeout"), 0.3}})),
        &error);
    QVERIFY2(error.contains(QStringLiteral("timed out after 0.3 s")), qPrintable(error));
    QVERIFY2(clock.elapsed() < 10000, qPrintable(QString::number(clock.elapsed())));
}

void TestCommandPlugin::cancellationStopsTheProgram()
{
    QString error;
    QElapsedTimer clock;
    clock.start();
    run(QCborValue(QStringLiteral("sleep 30")), &error, 200);
    QVERIFY2(error.contains(QStringLiteral("cancelled")), qPrintable(error));
    QVERIFY(clock.elapsed() < 10000);
}

QTEST_GUILESS_MAIN(TestCommandPlugin)
#include "tst_commandplugin.moc"
