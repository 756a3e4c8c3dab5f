// SPDX-License-Identifier: MIT
// Starting, parsing and stopping taskfleet-agent processes for integration tests.
#include "agentprocess.h"

#include "testsupport.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QRegularExpression>

#include <algorithm>

#include <csignal>
#include <sys/types.h>

namespace taskfleet::test {

bool writeSecretFile(const QString &path, const QByteArray &secret)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return f.write(secret + '\n') == secret.size() + 1;
}

AgentProcess::~AgentProcess()
{
    if (m_process.state() != QProcess::NotRunning) {
        m_process.kill();
        m_process.waitForFinished(5000);
    }
}

bool AgentProcess::start(const QString &stateDir, const QString &secretFile, const QStringList &extraArgs, quint16 port,
                         int timeoutMs)
{
    QStringList args {QStringLiteral("-p"),
                      QString::number(port),
                      QStringLiteral("-i"),
                      QStringLiteral("127.0.0.1"),
                      QStringLiteral("--state-dir"),
                      stateDir,
                      QStringLiteral("--secret-file"),
                      secretFile};
    args += extraArgs;
    // Tests stay on loopback: no discovery broadcasts unless the test configures discovery itself.
    static const QStringList discoveryFlags {QStringLiteral("--no-discovery"), QStringLiteral("-b"),
                                             QStringLiteral("--broadcast"), QStringLiteral("--discovery-port")};
    const bool discoveryFlagsGiven = std::any_of(extraArgs.cbegin(), extraArgs.cend(),
                                                 [](const QString &a) { return discoveryFlags.contains(a); });
    if (!discoveryFlagsGiven)
        args << QStringLiteral("--no-discovery");
    const bool discovery = discoveryFlagsGiven && !extraArgs.contains(QStringLiteral("--no-discovery"));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("TASKFLEET_SECRET"));
    m_process.setProcessEnvironment(env);
    if (m_launcher.isEmpty()) {
        m_process.start(program(QStringLiteral("taskfleet-agent")), args);
    } else {
        args.prepend(program(QStringLiteral("taskfleet-agent")));
        m_process.start(m_launcher.first(), m_launcher.mid(1) + args);
    }
    if (!m_process.waitForStarted(timeoutMs)) {
        m_error = QStringLiteral("taskfleet-agent did not start: ") + m_process.errorString();
        return false;
    }
    // The TCP port, and with discovery on the UDP port it holds (both may be 0 = any free port): the
    // test then knows ports the agent has bound, instead of guessing ports that were free a moment ago.
    static const QRegularExpression tcpLine(QStringLiteral("taskfleet-agent listening on (\\S+):(\\d+),"));
    static const QRegularExpression udpLine(QStringLiteral("taskfleet-agent discovery on UDP (\\S+):(\\d+),"));
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        if (!m_process.canReadLine() && !m_process.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime()))))
            break;
        while (m_process.canReadLine()) {
            const QString line = QString::fromUtf8(m_process.readLine()).trimmed();
            if (const auto m = tcpLine.match(line); m.hasMatch()) {
                m_port = quint16(m.captured(2).toUInt());
                m_startupLine = line;
            } else if (const auto u = udpLine.match(line); u.hasMatch()) {
                m_discoveryPort = quint16(u.captured(2).toUInt());
            }
            if (m_port != 0 && (!discovery || m_discoveryPort != 0))
                return true;
        }
    }
    m_stderr += m_process.readAllStandardError();
    m_error = QStringLiteral("taskfleet-agent announced no %1; stderr: %2")
                  .arg(m_port == 0 ? QStringLiteral("port") : QStringLiteral("discovery port"),
                       QString::fromUtf8(m_stderr));
    return false;
}

QString AgentProcess::address() const
{
    return QStringLiteral("127.0.0.1:%1").arg(m_port);
}

void AgentProcess::kill9()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    ::kill(pid_t(m_process.processId()), SIGKILL);
    m_process.waitForFinished(10000);
}

bool AgentProcess::terminate(int timeoutMs)
{
    if (m_process.state() == QProcess::NotRunning)
        return false;
    m_process.terminate();
    if (!m_process.waitForFinished(timeoutMs))
        return false;
    return m_process.exitStatus() == QProcess::NormalExit && m_process.exitCode() == 0;
}

QByteArray AgentProcess::stderrText()
{
    m_stderr += m_process.readAllStandardError();
    return m_stderr;
}

} // namespace taskfleet::test
