// SPDX-License-Identifier: MIT
#include "testsupport.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QProcess>
#include <QtNetwork/QTcpServer>

#include <vector>

namespace taskfleet::test {

QString binDir()
{
    return QStringLiteral(TF_BIN_DIR);
}

QString program(const QString &name)
{
    return binDir() + QLatin1Char('/') + name;
}

QString pluginDir()
{
    return QStringLiteral(TF_PLUGIN_DIR);
}

QString pluginPath(const QString &name)
{
    return pluginDir() + QStringLiteral("/libtaskfleet_") + name + QStringLiteral(".so");
}

QString sourceDir()
{
    return QStringLiteral(TF_SOURCE_DIR);
}

int timeScale()
{
#ifdef TF_SANITIZED
    return 3;
#else
    return 1;
#endif
}

bool sanitized()
{
#ifdef TF_SANITIZED
    return true;
#else
    return false;
#endif
}

bool rootTestsRequired()
{
    return qEnvironmentVariableIsSet("TASKFLEET_REQUIRE_ROOT_TESTS");
}

QVector<QJsonObject> ProgramRun::jsonLines() const
{
    QVector<QJsonObject> objects;
    for (const QByteArray &line : out.split('\n'))
        if (!line.trimmed().isEmpty())
            objects.append(QJsonDocument::fromJson(line).object());
    return objects;
}

ProgramRun runProgram(const QString &name, const QStringList &args, int timeoutMs)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::SeparateChannels);
    p.start(program(name), args);
    ProgramRun r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(5000);
        r.exitCode = -1;
    } else {
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    }
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

bool writeFile(const QString &path, const QByteArray &text)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(text) == text.size();
}

qint64 sumPrimesBelow(qint64 n)
{
    if (n < 3)
        return 0;
    std::vector<bool> composite(size_t(n), false);
    qint64 sum = 0;
    for (qint64 i = 2; i < n; ++i) {
        if (composite[size_t(i)])
            continue;
        sum += i;
        for (qint64 j = i * i; j < n; j += i)
            composite[size_t(j)] = true;
    }
    return sum;
}

quint16 unusedPort()
{
    // Start at a place set by the process id so suites running side by side try different ports first.
    constexpr int First = 20000;
    constexpr int Count = 12000;
    const int start = int(QCoreApplication::applicationPid() % Count);
    for (int i = 0; i < Count; ++i) {
        const auto candidate = quint16(First + (start + i) % Count);
        QTcpServer probe;
        if (probe.listen(QHostAddress::LocalHost, candidate))
            return candidate;
    }
    return 0;
}

} // namespace taskfleet::test
