// SPDX-License-Identifier: MIT
// The agent daemon (nodeagent/agentdaemon.cpp) run in this process, as taskfleet-agent's main runs it: the pid file
// holds this process's pid while it runs and is gone after, SIGUSR1 prints statistics that count the tasks a real
// controller ran on it, SIGINT and SIGTERM stop it with exit code 0 (and say which to the controller), --idle-exit
// ends it alone, and a missing secret or an unwritable pid file are refused with their exit codes. Signals are real
// ones, raised in this process and caught by the daemon's handlers; every run is bounded by a timer.
#include "agentdaemon.h"
#include "agentoptions.h"
#include "agentprocess.h" // writeSecretFile
#include "loopbacknodes.h"
#include "testsupport.h"

#include "exec/pluginregistry.h"
#include "sched/controller.h"
#include "sched/remotenode.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtTest/QTest>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

using namespace taskfleet;

namespace {

const QByteArray Secret("agent daemon test secret, long enough for a cluster");

/** Sends what this process writes to \a fd (stdout or stderr) to a file while it lives; restores it after. */
class Capture
{
public:
    Capture(int fd, const QString &path)
        : m_fd(fd)
        , m_path(path)
    {
        std::fflush(nullptr);
        m_saved = ::dup(fd);
        const int file = ::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (file >= 0) {
            ::dup2(file, fd);
            ::close(file);
        }
    }
    ~Capture() { restore(); }
    void restore()
    {
        if (m_saved < 0)
            return;
        std::fflush(nullptr);
        ::dup2(m_saved, m_fd);
        ::close(m_saved);
        m_saved = -1;
    }
    QByteArray text() const
    {
        std::fflush(nullptr);
        QFile f(m_path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }

private:
    int m_fd;
    QString m_path;
    int m_saved = -1;
};

/** The pids of this process's children that run \a program (from /proc). */
QList<qint64> childrenRunning(const QString &program)
{
    QList<qint64> pids;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool number = false;
        const qint64 pid = entry.toLongLong(&number);
        if (!number)
            continue;
        QFile status(QStringLiteral("/proc/%1/status").arg(pid));
        if (!status.open(QIODevice::ReadOnly))
            continue;
        const QString text = QString::fromUtf8(status.readAll());
        const QRegularExpressionMatch ppid = QRegularExpression(QStringLiteral("\nPPid:\\s+(\\d+)")).match(text);
        if (ppid.hasMatch() && ppid.captured(1).toLongLong() == qint64(::getpid())
            && text.startsWith(QStringLiteral("Name:\t") + program.left(15)))
            pids << pid;
    }
    return pids;
}

/** Every state reason *node took, polled every 10 ms while it lives (a reconnect soon replaces the last one). */
class ReasonLog : public QObject
{
public:
    explicit ReasonLog(sched::RemoteNode *const *node)
    {
        QObject::connect(&m_poll, &QTimer::timeout, this, [this, node] {
            if (*node && (m_reasons.isEmpty() || m_reasons.last() != (*node)->stateReason()))
                m_reasons << (*node)->stateReason();
        });
        m_poll.start(10);
    }
    QString all() const { return m_reasons.join(QStringLiteral(" | ")); }

private:
    QTimer m_poll;
    QStringList m_reasons;
};

} // namespace

class TestAgentDaemon : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_secretFile;

    /** The daemon's options as its command line gives them: 127.0.0.1, any port, no discovery, this test's files. */
    agent::AgentCommandLine options(const QStringList &extra)
    {
        agent::AgentCommandLine cl;
        QString message;
        int exitCode = -1;
        const QStringList args = QStringList {QStringLiteral("taskfleet-agent"),
                                              QStringLiteral("-i"),
                                              QStringLiteral("127.0.0.1"),
                                              QStringLiteral("-p"),
                                              QStringLiteral("0"),
                                              QStringLiteral("--no-discovery"),
                                              QStringLiteral("--state-dir"),
                                              m_dir.filePath(QStringLiteral("state")),
                                              QStringLiteral("--worker-program"),
                                              test::program(QStringLiteral("taskfleet-worker"))}
                                 + extra;
        if (!agent::parseCommandLine(args, &cl, &message, &exitCode))
            qWarning("%s", qPrintable(message));
        return cl;
    }

    /** Runs the daemon here until it returns, or \a limitMs pass (then it is told to exit with 99). */
    static int runBounded(agent::AgentCommandLine cl, int limitMs)
    {
        QTimer limit;
        limit.setSingleShot(true);
        QObject::connect(&limit, &QTimer::timeout, qApp, [] { QCoreApplication::exit(99); });
        limit.start(limitMs);
        return agent::runAgent(std::move(cl));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_secretFile = m_dir.filePath(QStringLiteral("secret"));
        QVERIFY(test::writeSecretFile(m_secretFile, Secret));
        QVERIFY2(QFile::exists(test::program(QStringLiteral("taskfleet-worker"))), "build taskfleet-worker first");
        QVERIFY2(QFile::exists(test::pluginPath(QStringLiteral("echo"))), "build the plugins first");
    }

    void cleanup()
    {
        // The daemon's handlers stay installed after it returns: give the signals back their defaults.
        for (int s : {SIGTERM, SIGINT, SIGUSR1})
            std::signal(s, SIG_DFL);
    }

    void pidFileStatisticsAndSigint()
    {
        const QString pidFile = m_dir.filePath(QStringLiteral("agent.pid"));
        QFile::remove(pidFile);
        QString error;
        const auto echo = exec::PluginRegistry::inspect(test::pluginPath(QStringLiteral("echo")), &error);
        QVERIFY2(echo, qPrintable(error));
        constexpr int Tasks = 25;

        // The controller lives in this thread too: the daemon's event loop runs it.
        sched::Controller controller;
        test::addLocalNode(controller, 0); // every task goes to the agent
        sched::RemoteNode *node = nullptr;
        int jobId = -1;
        bool finished = false;
        qint64 done = 0;
        QObject::connect(&controller, &sched::Controller::resultsRecorded, &controller,
                         [&](int id, const QVector<sched::TaskRecord> &records) {
                             if (id == jobId)
                                 for (const sched::TaskRecord &r : records)
                                     done += r.status == stats::TaskStatus::Ok;
                         });
        QObject::connect(&controller, &sched::Controller::jobFinished, &controller,
                         [&](int id) { finished = finished || id == jobId; });

        const ReasonLog reasons(&node);
        QString problem;         // what the driver found wrong, checked once the daemon returned
        QString pidWhileRunning; // the pid file's content while it ran
        QString statistics;      // what SIGUSR1 printed
        Capture out(STDOUT_FILENO, m_dir.filePath(QStringLiteral("stdout")));
        Capture err(STDERR_FILENO, m_dir.filePath(QStringLiteral("stderr")));
        // Runs inside the daemon's event loop once it is up.
        QTimer::singleShot(0, &controller, [&] {
            QFile pid(pidFile);
            if (pid.open(QIODevice::ReadOnly))
                pidWhileRunning = QString::fromLatin1(pid.readAll());
            const QRegularExpressionMatch listening
                = QRegularExpression(QStringLiteral("taskfleet-agent listening on 127\\.0\\.0\\.1:(\\d+), 2 workers"))
                      .match(QString::fromUtf8(out.text()));
            if (!listening.hasMatch()) {
                problem = QStringLiteral("no listening line");
                ::raise(SIGTERM);
                return;
            }
            node = test::startRemoteNode(controller,
                                         test::loopbackNodeOptions(quint16(listening.captured(1).toUInt()), Secret));
            sched::JobSpec spec;
            spec.name = QStringLiteral("through the daemon");
            spec.plugin = *echo;
            for (int i = 0; i < Tasks; ++i)
                spec.inputs.append(i);
            jobId = controller.submit(std::move(spec));
            if (!QTest::qWaitFor([&] { return finished; }, 30000)) {
                problem = QStringLiteral("the job did not finish: %1 of %2 done").arg(done).arg(Tasks);
                ::raise(SIGTERM);
                return;
            }
            // SIGUSR1: the statistics, on stderr, with the tasks the agent ran.
            const qsizetype before = err.text().size();
            ::raise(SIGUSR1);
            if (!QTest::qWaitFor([&] { return err.text().mid(before).contains("plugin uploads"); }, 10000))
                problem = QStringLiteral("SIGUSR1 printed no statistics");
            statistics = QString::fromUtf8(err.text().mid(before));
            ::raise(SIGINT); // the daemon stops; its event loop ends and runAgent() returns
        });
        QElapsedTimer clock;
        clock.start();
        const int rc = runBounded(options({QStringLiteral("-w"), QStringLiteral("2"), QStringLiteral("-P"), pidFile,
                                           QStringLiteral("--secret-file"), m_secretFile}),
                                  60000);
        const qint64 ms = clock.elapsed();
        out.restore();
        err.restore();
        const QByteArray log = "stdout:\n" + out.text() + "\nstderr:\n" + err.text();
        QVERIFY2(problem.isEmpty(), qPrintable(problem + QStringLiteral("\n") + QString::fromUtf8(log)));
        QVERIFY2(
            rc == 0,
            qPrintable(QStringLiteral("exit code %1 after %2 ms\n%3").arg(rc).arg(ms).arg(QString::fromUtf8(log))));
        QCOMPARE(pidWhileRunning, QStringLiteral("%1\n").arg(::getpid()));
        QVERIFY2(!QFile::exists(pidFile), "the pid file stays after the daemon ended");
        QCOMPARE(done, qint64(Tasks));
        QVERIFY2(statistics.contains(QStringLiteral("tasks              %1 received, %1 done, 0 failed").arg(Tasks)),
                 qPrintable(statistics));
        QVERIFY2(statistics.contains(QStringLiteral("1 connected, 1 accepted, 0 refused")), qPrintable(statistics));
        // The controller was told why the agent went, and the agent's workers went with it.
        QVERIFY(node);
        QTRY_VERIFY2_WITH_TIMEOUT(reasons.all().contains(QStringLiteral("the agent is stopping (interrupted)")),
                                  qPrintable(reasons.all()), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(childrenRunning(QStringLiteral("taskfleet-worker")), QList<qint64>(), 5000);
    }

    void sigtermEndsItAndSaysSo()
    {
        sched::Controller controller;
        sched::RemoteNode *node = nullptr;
        const ReasonLog reasons(&node);
        Capture out(STDOUT_FILENO, m_dir.filePath(QStringLiteral("stdout")));
        QTimer::singleShot(0, &controller, [&] {
            const QRegularExpressionMatch listening
                = QRegularExpression(QStringLiteral("listening on 127\\.0\\.0\\.1:(\\d+)"))
                      .match(QString::fromUtf8(out.text()));
            node = test::startRemoteNode(controller,
                                         test::loopbackNodeOptions(quint16(listening.captured(1).toUInt()), Secret));
            (void)QTest::qWaitFor([&] { return node->state() == sched::NodeState::Online; }, 15000);
            ::raise(SIGTERM);
        });
        const int rc = runBounded(
            options({QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("--secret-file"), m_secretFile}), 30000);
        out.restore();
        QCOMPARE(rc, 0);
        QVERIFY(node);
        QTRY_VERIFY2_WITH_TIMEOUT(reasons.all().contains(QStringLiteral("the agent is stopping (terminated)")),
                                  qPrintable(reasons.all()), 5000);
    }

    void idleExitEndsItAlone()
    {
        const QString pidFile = m_dir.filePath(QStringLiteral("idle.pid"));
        Capture out(STDOUT_FILENO, m_dir.filePath(QStringLiteral("stdout")));
        QElapsedTimer clock;
        clock.start();
        const int rc
            = runBounded(options({QStringLiteral("-w"), QStringLiteral("1"), QStringLiteral("-t"), QStringLiteral("1"),
                                  QStringLiteral("-P"), pidFile, QStringLiteral("--secret-file"), m_secretFile}),
                         20000);
        const qint64 ms = clock.elapsed();
        out.restore();
        QCOMPARE(rc, 0);
        QVERIFY2(ms >= 900 && ms < 10000, qPrintable(QStringLiteral("%1 ms").arg(ms)));
        QVERIFY(!QFile::exists(pidFile));
    }

    void refusalsHaveTheirExitCodes()
    {
        // No usable secret: bad usage, and nothing started (no pid file).
        const QString pidFile = m_dir.filePath(QStringLiteral("refused.pid"));
        {
            Capture err(STDERR_FILENO, m_dir.filePath(QStringLiteral("stderr")));
            const int rc = runBounded(options({QStringLiteral("-P"), pidFile, QStringLiteral("--secret-file"),
                                               m_dir.filePath(QStringLiteral("no-such-secret"))}),
                                      20000);
            err.restore();
            QCOMPARE(rc, agent::ExitBadUsage);
            QVERIFY2(err.text().contains("no usable secret") && err.text().contains("no-such-secret"),
                     err.text().constData());
            QVERIFY(!QFile::exists(pidFile));
        }
        // A pid file that cannot be written: exit code 1, naming it.
        {
            const QString unwritable = m_dir.filePath(QStringLiteral("no-such-dir/agent.pid"));
            Capture err(STDERR_FILENO, m_dir.filePath(QStringLiteral("stderr")));
            Capture out(STDOUT_FILENO, m_dir.filePath(QStringLiteral("stdout")));
            const int rc = runBounded(
                options({QStringLiteral("-P"), unwritable, QStringLiteral("--secret-file"), m_secretFile}), 20000);
            err.restore();
            out.restore();
            QCOMPARE(rc, 1);
            QVERIFY2(err.text().contains(QFile::encodeName(unwritable)), err.text().constData());
        }
    }
};

QTEST_GUILESS_MAIN(TestAgentDaemon)
#include "tst_agentdaemon.moc"
