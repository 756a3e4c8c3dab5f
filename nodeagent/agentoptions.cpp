// SPDX-License-Identifier: MIT
// taskfleet-agent's options: declared in AgentOptionSet, read group by group (server, connections, discovery).
#include "agentoptions.h"

#include "net/nodeaddress.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>

namespace taskfleet::agent {

QString defaultStateDir()
{
    const QByteArray xdg = qgetenv("XDG_STATE_HOME");
    const QString base
        = !xdg.isEmpty() ? QString::fromLocal8Bit(xdg) : QDir::homePath() + QStringLiteral("/.local/state");
    return base + QStringLiteral("/taskfleet-agent");
}

namespace {
bool intValue(const QCommandLineParser &p, const QCommandLineOption &o, int min, int max, int *out, QString *message)
{
    bool ok = false;
    const int v = p.value(o).toInt(&ok);
    if (!ok || v < min || v > max) {
        *message = QStringLiteral("taskfleet-agent: --%1 wants a number from %2 to %3, not \"%4\"")
                       .arg(o.names().constLast())
                       .arg(min)
                       .arg(max)
                       .arg(p.value(o));
        return false;
    }
    *out = v;
    return true;
}

/** taskfleet-agent's options, declared in the order --help lists them. */
struct AgentOptionSet {
    const QCommandLineOption port {{QStringLiteral("p"), QStringLiteral("port")},
                                   QStringLiteral("TCP port to listen on (default 45450; 0 = any free port)."),
                                   QStringLiteral("PORT"),
                                   QStringLiteral("45450")};
    const QCommandLineOption iface {{QStringLiteral("i"), QStringLiteral("interface")},
                                    QStringLiteral("Address to listen on (default: all)."),
                                    QStringLiteral("ADDR")};
    const QCommandLineOption workers {{QStringLiteral("w"), QStringLiteral("workers")},
                                      QStringLiteral("Worker processes (default: the saved count, else logical CPUs)."),
                                      QStringLiteral("N")};
    const QCommandLineOption secretFile {QStringLiteral("secret-file"),
                                         QStringLiteral("Read the cluster secret from FILE."), QStringLiteral("FILE")};
    const QCommandLineOption secret {
        {QStringLiteral("s"), QStringLiteral("secret")},
        QStringLiteral("The cluster secret (visible to other users in ps; prefer --secret-file)."),
        QStringLiteral("SECRET")};
    const QCommandLineOption restart {{QStringLiteral("r"), QStringLiteral("restart-workers")},
                                      QStringLiteral("Start a fresh worker process for every task.")};
    const QCommandLineOption idle {
        {QStringLiteral("t"), QStringLiteral("idle-exit")},
        QStringLiteral("Exit after SECONDS without any connected controller (default: never)."),
        QStringLiteral("SECONDS")};
    const QCommandLineOption sockTimeout {
        {QStringLiteral("k"), QStringLiteral("socket-timeout")},
        QStringLiteral("Drop a controller silent for SECONDS (default 30). Task time is not limited by it."),
        QStringLiteral("SECONDS"),
        QStringLiteral("30")};
    const QCommandLineOption pidFile {{QStringLiteral("P"), QStringLiteral("pid-file")},
                                      QStringLiteral("Write the process id to FILE (removed on exit)."),
                                      QStringLiteral("FILE")};
    const QCommandLineOption debug {{QStringLiteral("d"), QStringLiteral("debug")},
                                    QStringLiteral("Log debug messages.")};
    const QCommandLineOption stateDir {QStringLiteral("state-dir"),
                                       QStringLiteral("Directory for agent.ini, the plugin cache and a generated "
                                                      "secret (default %1).")
                                           .arg(defaultStateDir()),
                                       QStringLiteral("DIR")};
    const QCommandLineOption workerProgram {
        QStringLiteral("worker-program"),
        QStringLiteral("The worker executable (default: taskfleet-worker beside this program)."),
        QStringLiteral("FILE")};
    const QCommandLineOption allowCommand {
        QStringLiteral("allow-command"),
        QStringLiteral("Run the command plugin (any program, as this agent's user) for "
                       "controllers that know the secret. Off by default.")};
    const QCommandLineOption noPython {
        QStringLiteral("no-python"), QStringLiteral("Refuse Python tasks (the python plugin). They run by default, as "
                                                    "on Parallel Python's ppserver.")};
    // Least recently used plugins are evicted beyond it.
    const QCommandLineOption cacheLimit {QStringLiteral("cache-limit"),
                                         QStringLiteral("Keep at most MB megabytes of uploaded plugins, evicting the "
                                                        "least recently used (default 1024; 0 = no limit)."),
                                         QStringLiteral("MB"), QStringLiteral("1024")};
    // Values many tasks share (server.share(), job "params") are held once per node; beyond it, the least recently
    // used are evicted and sent again when needed.
    const QCommandLineOption valueCache {QStringLiteral("value-cache"),
                                         QStringLiteral("Hold at most MB megabytes of job parameters and shared values "
                                                        "for all controllers, evicting the least recently used "
                                                        "(default 2048; 0 = no limit). Each worker keeps at most "
                                                        "as much, and at most 1024."),
                                         QStringLiteral("MB"), QStringLiteral("2048")};
    // Discovery: announcements by signed UDP broadcast, on by default.
    const QCommandLineOption noDiscovery {QStringLiteral("no-discovery"),
                                          QStringLiteral("Do not announce this agent by UDP broadcast (controllers "
                                                         "must then name it with --node HOST:PORT).")};
    const QCommandLineOption broadcast {
        {QStringLiteral("b"), QStringLiteral("broadcast")},
        QStringLiteral("Send announcements to ADDR (repeatable; default 255.255.255.255; "
                       "give the LAN's own broadcast address, e.g. 192.168.1.255, on hosts "
                       "without a default route or with several interfaces)."),
        QStringLiteral("ADDR")};
    const QCommandLineOption discoveryPort {QStringLiteral("discovery-port"),
                                            QStringLiteral("UDP discovery port (default 45451): probes are received "
                                                           "on it, announcements are sent to it."),
                                            QStringLiteral("PORT"), QString::number(net::DefaultDiscoveryPort)};
    const QCommandLineOption announcePort {QStringLiteral("announce-port"),
                                           QStringLiteral("Send announcements to this UDP port instead of the "
                                                          "discovery port (controllers listening elsewhere; tests)."),
                                           QStringLiteral("PORT")};
    const QCommandLineOption autoDiscovery {
        QStringLiteral("a"), QStringLiteral("Accepted for Parallel Python (ppserver -a) compatibility; does "
                                            "nothing: discovery is on unless --no-discovery is given.")};
    // Reverse connections: the agent dials controllers that cannot dial it.
    const QCommandLineOption connectTo {
        QStringLiteral("connect"),
        QStringLiteral("Dial the controller at HOST:PORT (repeatable; one started with taskfleet-run --listen or the "
                       "window's \"agents may connect\" port) and keep dialing when the link drops. For agents behind "
                       "NAT, a firewall, or on Slurm nodes."),
        QStringLiteral("HOST:PORT")};
    const QCommandLineOption noListen {QStringLiteral("no-listen"),
                                       QStringLiteral("Open no listening port: only the --connect controllers reach "
                                                      "this agent (implies --no-discovery).")};

    void addTo(QCommandLineParser *p) const
    {
        p->addOptions({port,          iface,        workers,       secretFile, secret,      restart,
                       idle,          sockTimeout,  pidFile,       debug,      stateDir,    workerProgram,
                       allowCommand,  noPython,     cacheLimit,    valueCache, noDiscovery, broadcast,
                       discoveryPort, announcePort, autoDiscovery, connectTo,  noListen});
    }
};

/** Where it listens, its workers, plugins and state; the secret's sources, the pid file. */
bool readServer(const QCommandLineParser &p, const AgentOptionSet &o, AgentCommandLine *out, QString *message)
{
    agent::AgentOptions &s = out->server;
    int n = 0;
    if (!intValue(p, o.port, 0, 65535, &n, message))
        return false;
    s.port = quint16(n);
    if (p.isSet(o.iface)) {
        const QHostAddress a(p.value(o.iface));
        if (a.isNull()) {
            *message
                = QStringLiteral("taskfleet-agent: --interface wants an IP address, not \"%1\"").arg(p.value(o.iface));
            return false;
        }
        s.address = a;
    }
    if (p.isSet(o.workers)) {
        if (!intValue(p, o.workers, 0, 4096, &s.workers, message))
            return false;
        s.workersExplicit = true;
    }
    if (p.isSet(o.idle) && !intValue(p, o.idle, 0, 100000000, &s.idleExitSeconds, message))
        return false;
    if (!intValue(p, o.sockTimeout, 1, 100000000, &s.socketTimeoutSeconds, message))
        return false;
    s.restartWorkers = p.isSet(o.restart);
    s.stateDir = p.isSet(o.stateDir) ? QFileInfo(p.value(o.stateDir)).absoluteFilePath() : defaultStateDir();
    s.workerProgram = p.value(o.workerProgram);
    if (s.workerProgram.isEmpty())
        s.workerProgram = QCoreApplication::applicationDirPath() + QStringLiteral("/taskfleet-worker");
    out->secretFile = p.value(o.secretFile);
    out->secretArgSet = p.isSet(o.secret);
    out->secretArg = p.value(o.secret);
    out->pidFile = p.value(o.pidFile);
    out->debug = p.isSet(o.debug);
    s.allowCommand = p.isSet(o.allowCommand);
    s.allowPython = !p.isSet(o.noPython);
    int cacheMb = 0;
    if (!intValue(p, o.cacheLimit, 0, 100000000, &cacheMb, message))
        return false;
    s.cacheLimitBytes = qint64(cacheMb) * 1024 * 1024;
    int valueMb = 0;
    if (!intValue(p, o.valueCache, 0, 100000000, &valueMb, message))
        return false;
    s.valueCacheLimitBytes = qint64(valueMb) * 1024 * 1024;
    return true;
}

/** Controllers it dials (--connect), and whether it listens at all. */
bool readConnections(const QCommandLineParser &p, const AgentOptionSet &o, AgentCommandLine *out, QString *message)
{
    agent::AgentOptions &s = out->server;
    for (const QString &target : p.values(o.connectTo)) {
        QString host, why;
        quint16 controllerPort = 0;
        if (!net::parseNodeAddress(target, &host, &controllerPort, &why)) {
            *message = QStringLiteral("taskfleet-agent: --connect \"%1\": %2").arg(target, why);
            return false;
        }
        s.connectTo.append(net::formatNodeAddress(host, controllerPort));
    }
    s.listen = !p.isSet(o.noListen);
    if (!s.listen && s.connectTo.isEmpty()) {
        *message = QStringLiteral("taskfleet-agent: --no-listen needs --connect HOST:PORT (else no controller can "
                                  "reach this agent)");
        return false;
    }
    return true;
}

/** Announcements by UDP: on unless --no-discovery or --no-listen (an agent that does not listen has no port). */
bool readDiscovery(const QCommandLineParser &p, const AgentOptionSet &o, AgentCommandLine *out, QString *message)
{
    out->discoveryEnabled = !p.isSet(o.noDiscovery) && out->server.listen;
    int n = 0;
    if (!intValue(p, o.discoveryPort, 0, 65535, &n, message))
        return false;
    out->discovery.port = quint16(n);
    out->discovery.targetPort = quint16(n);
    if (p.isSet(o.announcePort)) {
        if (!intValue(p, o.announcePort, 1, 65535, &n, message))
            return false;
        out->discovery.targetPort = quint16(n);
    } else if (out->discovery.targetPort == 0 && out->discoveryEnabled) {
        *message = QStringLiteral(
            "taskfleet-agent: --discovery-port 0 needs --announce-port PORT (where controllers listen)");
        return false;
    }
    if (p.isSet(o.broadcast)) {
        out->discovery.broadcastAddresses.clear();
        for (const QString &text : p.values(o.broadcast)) {
            const QHostAddress a(text);
            if (a.isNull()) {
                *message = QStringLiteral("taskfleet-agent: --broadcast wants an IP address, not \"%1\"").arg(text);
                return false;
            }
            out->discovery.broadcastAddresses.append(a);
        }
    }
    return true;
}
} // namespace

bool parseCommandLine(const QStringList &arguments, AgentCommandLine *out, QString *message, int *exitCode)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "The Taskfleet node agent: runs tasks for Taskfleet controllers (taskfleet, taskfleet-run --node)\n"
        "that know the cluster secret. All traffic is TLS with a pre-shared key derived from the secret.\n\n"
        "Secret, first found: --secret-file, --secret (visible in ps; warns), TASKFLEET_SECRET, else\n"
        "<state-dir>/secret (generated on first start, mode 0600).\n\n"
        "Signals: SIGUSR1 prints statistics to stderr; SIGTERM/SIGINT stop cleanly.\n\n"
        "Examples:\n"
        "  taskfleet-agent                                  all interfaces, port 45450, generated secret\n"
        "  taskfleet-agent -i 192.168.1.20 -w 4 --secret-file /etc/taskfleet/secret\n"
        "  taskfleet-agent -p 0 --state-dir /tmp/agent1 -t 600 --no-discovery   any free port, exit when idle\n"
        "  taskfleet-agent -b 192.168.1.255 --discovery-port 45451 -P /run/taskfleet-agent.pid -d\n"
        "  taskfleet-agent --allow-command -r -k 60 --worker-program /usr/bin/taskfleet-worker\n"
        "  TASKFLEET_SECRET=... taskfleet-agent --announce-port 45452   (or -s SECRET: warns)\n"
        "  taskfleet-agent --connect head.example.org:45460 --no-listen --secret-file ~/.taskfleet/secret\n"
        "                                                   behind NAT or a firewall, or on a Slurm node:\n"
        "                                                   the agent dials the controller (taskfleet-run --listen)"));
    p.addHelpOption();
    p.addVersionOption();
    const AgentOptionSet options;
    options.addTo(&p);
    *exitCode = ExitBadUsage;
    if (!p.parse(arguments)) {
        *message = QStringLiteral("taskfleet-agent: %1\nTry 'taskfleet-agent --help'.").arg(p.errorText());
        return false;
    }
    if (p.isSet(QStringLiteral("help"))) {
        *message = p.helpText();
        *exitCode = 0;
        return false;
    }
    if (p.isSet(QStringLiteral("version"))) {
        *message = QStringLiteral("taskfleet-agent %1").arg(QCoreApplication::applicationVersion());
        *exitCode = 0;
        return false;
    }
    if (!p.positionalArguments().isEmpty()) {
        *message
            = QStringLiteral("taskfleet-agent: unexpected argument \"%1\"").arg(p.positionalArguments().constFirst());
        return false;
    }
    if (!readServer(p, options, out, message) || !readConnections(p, options, out, message)
        || !readDiscovery(p, options, out, message))
        return false;
    *exitCode = 0;
    return true;
}

} // namespace taskfleet::agent
