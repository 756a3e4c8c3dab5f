// SPDX-License-Identifier: MIT
// Test helper: a real taskfleet-agent process on 127.0.0.1 with a temporary state dir and secret file.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QProcess>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace taskfleet::test {

/** Writes \a secret to \a path with mode 0600. */
bool writeSecretFile(const QString &path, const QByteArray &secret);

/**
 * One taskfleet-agent process started by the test. start() launches it with -i 127.0.0.1 (and -p 0 unless
 * a port is given) and waits (bounded) for its "listening on ...:PORT" line (and, with discovery flags, for its
 * "discovery on UDP ...:PORT" line). The destructor kills it if it
 * still runs: only this process, by its own pid.
 */
class AgentProcess
{
public:
    AgentProcess() = default;
    ~AgentProcess();
    AgentProcess(const AgentProcess &) = delete;
    AgentProcess &operator=(const AgentProcess &) = delete;

    /** Starts the agent; false (see error()) if it does not announce its port within \a timeoutMs. */
    bool start(const QString &stateDir, const QString &secretFile, const QStringList &extraArgs = {}, quint16 port = 0,
               int timeoutMs = 15000);
    /**
     * A program and its arguments that start the agent (for example {"unshare", "--pid", "--fork"});
     * set before start(). pid() is then the launcher's pid.
     */
    void setLauncher(const QStringList &launcher) { m_launcher = launcher; }
    quint16 port() const { return m_port; }
    /** The UDP port its discovery holds (with discovery flags; 0 without), read from its startup output. */
    quint16 discoveryPort() const { return m_discoveryPort; }
    /** "127.0.0.1:PORT". */
    QString address() const;
    qint64 pid() const { return m_process.processId(); }
    bool isRunning() const { return m_process.state() == QProcess::Running; }
    /** The startup line ("taskfleet-agent listening on ..."). */
    QString startupLine() const { return m_startupLine; }
    /** SIGKILL, then wait (bounded) for the process to be gone. */
    void kill9();
    /** SIGTERM and wait up to \a timeoutMs; true if it exited with code 0. */
    bool terminate(int timeoutMs = 10000);
    /** Everything read from stderr so far (reads what is pending). */
    QByteArray stderrText();
    QString error() const { return m_error; }

private:
    QProcess m_process;
    QStringList m_launcher;
    quint16 m_port = 0;
    quint16 m_discoveryPort = 0;
    QString m_startupLine;
    QByteArray m_stderr;
    QString m_error;
};

} // namespace taskfleet::test
