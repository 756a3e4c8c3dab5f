// SPDX-License-Identifier: MIT
#include "agentdaemon.h"

#include "agent/agentserver.h"
#include "net/beacon.h"
#include "net/discoveryannouncer.h"
#include "net/secretstore.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QSocketNotifier>
#include <QtCore/QSysInfo>
#include <QtCore/QUuid>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace taskfleet::agent {

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
    std::fprintf(stderr, "taskfleet-agent: %s\n", qPrintable(text));
}

/** The secret: --secret-file, --secret (warns), TASKFLEET_SECRET, else generated in the state dir. */
net::SecretResult lookUpSecret(const AgentCommandLine &options)
{
    net::SecretSources sources;
    sources.file = options.secretFile;
    if (options.secretArgSet)
        sources.commandLine = options.secretArg;
    sources.generateInStateDir = options.server.stateDir;
    net::SecretResult secret = net::SecretStore::lookup(sources);
    for (const QString &w : std::as_const(secret.warnings))
        printErr(QStringLiteral("warning: ") + w);
    return secret;
}

bool writePidFile(const QString &path)
{
    QFile pid(path);
    if (!pid.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return pid.write(QByteArray::number(qint64(::getpid())) + '\n') > 0;
}

/** SIGUSR1 prints the statistics; SIGTERM and SIGINT stop the server. */
void handleSignals(QSocketNotifier *notifier, AgentServer *server)
{
    QObject::connect(notifier, &QSocketNotifier::activated, server, [server] {
        char c = 0;
        while (::read(g_signalPipe[0], &c, 1) == 1) {
            if (c == SIGUSR1) {
                std::fputs(qPrintable(server->statisticsText()), stderr);
                std::fflush(stderr);
            } else {
                server->stop(c == SIGINT ? QStringLiteral("interrupted") : QStringLiteral("terminated"));
            }
        }
    });
}

void printListening(const AgentServer &server, const AgentCommandLine &options, const QString &secretSource)
{
    const bool any = server.address() == QHostAddress::Any || server.address() == QHostAddress::AnyIPv6;
    const QString addr = any ? QStringLiteral("*") : server.address().toString();
    if (options.server.listen)
        std::printf("taskfleet-agent listening on %s:%u, %d workers, secret from %s\n", qPrintable(addr),
                    unsigned(server.port()), server.workerCount(), qPrintable(secretSource));
    else
        std::printf("taskfleet-agent not listening (--no-listen), %d workers, secret from %s\n", server.workerCount(),
                    qPrintable(secretSource));
    for (const QString &target : std::as_const(options.server.connectTo))
        std::printf("taskfleet-agent dialing controller %s\n", qPrintable(target));
    std::fflush(stdout);
}

/**
 * Announces the agent (signed with the secret's discovery key) and answers probes. With -i ADDR the discovery
 * socket binds ADDR too: only what the user configured. (A socket bound to one unicast address does not
 * receive broadcast probes; controllers then find the agent by its periodic announcements.)
 */
void startDiscovery(net::DiscoveryAnnouncer *announcer, AgentServer *server, const AgentCommandLine &options)
{
    if (!options.discoveryEnabled) {
        std::printf("taskfleet-agent discovery off (%s)\n", options.server.listen ? "--no-discovery" : "--no-listen");
        return;
    }
    net::AnnouncerConfig config = options.discovery;
    if (server->address() != QHostAddress::Any && server->address() != QHostAddress::AnyIPv6
        && server->address() != QHostAddress::AnyIPv4)
        config.bindAddress = server->address();
    announcer->setConfig(config);
    const QUuid nodeId = QUuid::fromString(server->nodeId());
    const QString hostName = QSysInfo::machineHostName();
    announcer->setNodeProvider([server, nodeId, hostName] {
        net::AnnouncedNode node;
        node.nodeId = nodeId;
        node.hostName = hostName;
        node.tcpPort = server->port();
        node.workersTotal = server->workerCount();
        node.workersBusy = server->busyWorkers();
        return node;
    });
    QString error;
    if (!announcer->start(&error)) {
        printErr(QStringLiteral("warning: cannot bind discovery port %1 (%2); controllers must name this agent with "
                                "--node")
                     .arg(config.port)
                     .arg(error));
        return;
    }
    QStringList targets;
    for (const QHostAddress &a : std::as_const(config.broadcastAddresses))
        targets << a.toString();
    std::printf("taskfleet-agent discovery on UDP %s:%u, announcing to %s port %u\n",
                qPrintable(config.bindAddress.toString()), unsigned(announcer->boundPort()),
                qPrintable(targets.join(QStringLiteral(", "))), unsigned(config.targetPort));
}
} // namespace

int runAgent(AgentCommandLine options)
{
    const net::SecretResult secret = lookUpSecret(options);
    if (!secret.ok()) {
        printErr(QStringLiteral("no usable secret: %1").arg(secret.error));
        return ExitBadUsage;
    }
    options.server.secret = secret.secret;
    if (!installSignalHandlers()) {
        printErr(QStringLiteral("cannot install signal handlers"));
        return 1;
    }
    AgentServer server(options.server);
    if (!server.start()) {
        printErr(server.errorString());
        return 1;
    }
    if (!options.pidFile.isEmpty() && !writePidFile(options.pidFile)) {
        printErr(QStringLiteral("cannot write the pid file %1").arg(options.pidFile));
        return 1;
    }
    QSocketNotifier notifier(g_signalPipe[0], QSocketNotifier::Read);
    handleSignals(&notifier, &server);
    QObject::connect(&server, &AgentServer::stopped, qApp, [] { QCoreApplication::exit(0); });
    QObject::connect(&server, &AgentServer::idleExpired, &server, [&server, &options] {
        server.stop(QStringLiteral("no controller for %1 s (--idle-exit)").arg(options.server.idleExitSeconds));
    });
    printListening(server, options, secret.source);
    net::DiscoveryAnnouncer announcer(net::beaconKey(secret.secret));
    startDiscovery(&announcer, &server, options);
    std::fflush(stdout);
    QObject::connect(&server, &AgentServer::stopped, &announcer, &net::DiscoveryAnnouncer::stop);

    const int rc = QCoreApplication::exec();
    announcer.stop();
    if (!options.pidFile.isEmpty())
        QFile::remove(options.pidFile);
    return rc;
}

} // namespace taskfleet::agent
