// SPDX-License-Identifier: MIT
// taskfleet-agent: the node agent daemon; parses options, loads the secret, runs an AgentServer and announces it.
#include "agentoptions.h"

#include "agent/agentserver.h"
#include "net/beacon.h"
#include "net/discoveryannouncer.h"
#include "net/secretstore.h"
#include "util/allocator.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QLoggingCategory>
#include <QtCore/QSocketNotifier>
#include <QtCore/QSysInfo>
#include <QtCore/QUuid>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

using namespace taskfleet;

namespace {
int g_signalPipe[2] = {-1, -1};

void onSignal(int signal)
{
    const int saved = errno;
    const char c = char(signal);
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &c, 1);
    errno = saved;
}

bool installSignalHandlers()
{
    if (::pipe2(g_signalPipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return false;
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int s : {SIGTERM, SIGINT, SIGUSR1})
        if (::sigaction(s, &sa, nullptr) != 0)
            return false;
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}

void printErr(const QString &text)
{
    std::fprintf(stderr, "%s\n", qPrintable(text));
}
} // namespace

int main(int argc, char **argv)
{
    util::tuneAllocatorForBigValues();
    QCoreApplication app(argc, argv);
    util::trimFreeMemoryPeriodically(&app);
    QCoreApplication::setApplicationName(QStringLiteral("taskfleet-agent"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));

    agent::AgentCommandLine options;
    QString message;
    int exitCode = 0;
    if (!agent::parseCommandLine(QCoreApplication::arguments(), &options, &message, &exitCode)) {
        std::fprintf(exitCode == 0 ? stdout : stderr, "%s\n", qPrintable(message));
        return exitCode;
    }
    if (options.debug)
        QLoggingCategory::setFilterRules(QStringLiteral("tf.*.debug=true"));

    // The secret: --secret-file, --secret (warns), TASKFLEET_SECRET, else generated in the state dir.
    net::SecretSources sources;
    sources.file = options.secretFile;
    if (options.secretArgSet)
        sources.commandLine = options.secretArg;
    sources.generateInStateDir = options.server.stateDir;
    const net::SecretResult secret = net::SecretStore::lookup(sources);
    const QString secretSource = secret.source;
    for (const QString &w : std::as_const(secret.warnings))
        printErr(QStringLiteral("taskfleet-agent: warning: ") + w);
    if (!secret.ok()) {
        printErr(QStringLiteral("taskfleet-agent: no usable secret: %1").arg(secret.error));
        return agent::ExitBadUsage;
    }
    options.server.secret = secret.secret;

    if (!installSignalHandlers()) {
        printErr(QStringLiteral("taskfleet-agent: cannot install signal handlers"));
        return 1;
    }

    agent::AgentServer server(options.server);
    if (!server.start()) {
        printErr(QStringLiteral("taskfleet-agent: %1").arg(server.errorString()));
        return 1;
    }
    if (!options.pidFile.isEmpty()) {
        QFile pid(options.pidFile);
        if (!pid.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            printErr(QStringLiteral("taskfleet-agent: cannot write the pid file %1").arg(options.pidFile));
            return 1;
        }
        pid.write(QByteArray::number(qint64(::getpid())) + '\n');
    }

    QSocketNotifier notifier(g_signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &server, [&server] {
        char c = 0;
        while (::read(g_signalPipe[0], &c, 1) == 1) {
            if (c == SIGUSR1) {
                std::fputs(qPrintable(server.statisticsText()), stderr);
                std::fflush(stderr);
            } else {
                server.stop(c == SIGINT ? QStringLiteral("interrupted") : QStringLiteral("terminated"));
            }
        }
    });
    QObject::connect(&server, &agent::AgentServer::stopped, &app, [&app] { app.exit(0); });
    QObject::connect(&server, &agent::AgentServer::idleExpired, &server, [&server, &options] {
        server.stop(QStringLiteral("no controller for %1 s (--idle-exit)").arg(options.server.idleExitSeconds));
    });

    const QString addr = server.address() == QHostAddress::Any || server.address() == QHostAddress::AnyIPv6
                             ? QStringLiteral("*")
                             : server.address().toString();
    if (options.server.listen)
        std::printf("taskfleet-agent listening on %s:%u, %d workers, secret from %s\n", qPrintable(addr),
                    unsigned(server.port()), server.workerCount(), qPrintable(secretSource));
    else
        std::printf("taskfleet-agent not listening (--no-listen), %d workers, secret from %s\n", server.workerCount(),
                    qPrintable(secretSource));
    for (const QString &target : std::as_const(options.server.connectTo))
        std::printf("taskfleet-agent dialing controller %s\n", qPrintable(target));
    std::fflush(stdout);

    // Discovery: announce this agent (signed with the secret's discovery key) and answer probes.
    // With -i ADDR the discovery socket binds ADDR too: bind only what the user configured. (A socket
    // bound to one unicast address does not receive broadcast probes; controllers then find the agent
    // by its periodic announcements.)
    net::DiscoveryAnnouncer announcer(net::beaconKey(secret.secret));
    if (options.discoveryEnabled) {
        net::AnnouncerConfig config = options.discovery;
        if (server.address() != QHostAddress::Any && server.address() != QHostAddress::AnyIPv6
            && server.address() != QHostAddress::AnyIPv4)
            config.bindAddress = server.address();
        announcer.setConfig(config);
        const QUuid nodeId = QUuid::fromString(server.nodeId());
        const QString hostName = QSysInfo::machineHostName();
        announcer.setNodeProvider([&server, nodeId, hostName] {
            net::AnnouncedNode node;
            node.nodeId = nodeId;
            node.hostName = hostName;
            node.tcpPort = server.port();
            node.workersTotal = server.workerCount();
            node.workersBusy = server.busyWorkers();
            return node;
        });
        QString error;
        if (announcer.start(&error)) {
            QStringList targets;
            for (const QHostAddress &a : std::as_const(config.broadcastAddresses))
                targets << a.toString();
            std::printf("taskfleet-agent discovery on UDP %s:%u, announcing to %s port %u\n",
                        qPrintable(config.bindAddress.toString()), unsigned(announcer.boundPort()),
                        qPrintable(targets.join(QStringLiteral(", "))), unsigned(config.targetPort));
        } else {
            printErr(QStringLiteral("taskfleet-agent: warning: cannot bind discovery port %1 (%2); controllers must "
                                    "name this agent with --node")
                         .arg(config.port)
                         .arg(error));
        }
    } else {
        std::printf("taskfleet-agent discovery off (%s)\n", options.server.listen ? "--no-discovery" : "--no-listen");
    }
    std::fflush(stdout);
    QObject::connect(&server, &agent::AgentServer::stopped, &announcer, &net::DiscoveryAnnouncer::stop);

    const int rc = app.exec();
    announcer.stop();
    if (!options.pidFile.isEmpty())
        QFile::remove(options.pidFile);
    return rc;
}
