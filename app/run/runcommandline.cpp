// SPDX-License-Identifier: MIT
#include "runcommandline.h"

#include "net/nodeaddress.h"
#include "net/secretstore.h"

#include <QtCore/QCommandLineParser>
#include <QtNetwork/QHostAddress>

namespace taskfleet::app {

namespace {
bool fail(RunCommandLine *out, const QString &message)
{
    out->message = message;
    out->exitCode = ExitBadUsage;
    return false;
}
} // namespace

bool parseRunCommandLine(const QStringList &argumentList, RunCommandLine *out)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Runs Taskfleet job files without a window and writes one JSON line per task.\n\n"
        "Examples:\n"
        "  taskfleet-run resources/jobs/sumprimes.json\n"
        "  taskfleet-run -n 2 -o results.jsonl --stats-csv stats.csv --progress job.json\n"
        "  taskfleet-run -n 0 --discover=5 --secret-file cluster.secret job.json\n"
        "  taskfleet-run -n 0 --node 192.168.1.20:45450 --node 192.168.1.21:45450 --secret-file cluster.secret job.json\n"
        "  taskfleet-run -k -r --no-speculation --plugin-path ~/myplugins/build --connect-timeout 30 job.json\n"
        "  taskfleet-run --discover --discover-wait 3 --discovery-port 45451 --broadcast 192.168.1.255 job.json\n\n"
        "Exit codes: 0 every task succeeded, 1 some tasks ended in error, 2 bad usage or bad job file,\n"
        "3 no node could be used."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("JOBFILE"), QStringLiteral("Job file(s) to run (JSON)."),
                                 QStringLiteral("JOBFILE..."));
    const QCommandLineOption resultsOpt({QStringLiteral("o"), QStringLiteral("results")},
                                        QStringLiteral("Write results (JSON Lines) to FILE instead of stdout."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption statsOpt(QStringLiteral("stats-csv"),
                                      QStringLiteral("Write statistics as CSV: FILE (per node), and beside it "
                                                     "NAME.timeseries.csv (per second) and NAME.tasks.csv (per task)."),
                                      QStringLiteral("FILE"));
    const QCommandLineOption workersOpt({QStringLiteral("n"), QStringLiteral("local-workers")},
                                        QStringLiteral("Worker processes on this computer (default: logical CPUs; "
                                                       "0 = remote nodes only)."),
                                        QStringLiteral("N"));
    const QCommandLineOption pluginPathOpt(QStringLiteral("plugin-path"),
                                           QStringLiteral("Also look for plugins in DIR (repeatable)."),
                                           QStringLiteral("DIR"));
    const QCommandLineOption progressOpt(QStringLiteral("progress"),
                                         QStringLiteral("Show a progress line with rate and ETA on stderr."));
    const QCommandLineOption keepOrderOpt({QStringLiteral("k"), QStringLiteral("keep-order")},
                                          QStringLiteral("Write results in input order instead of completion order."));
    const QCommandLineOption restartOpt({QStringLiteral("r"), QStringLiteral("restart-workers")},
                                        QStringLiteral("Start a fresh worker process for every task."));
    const QCommandLineOption journalOpt(
        QStringLiteral("journal"),
        QStringLiteral("Journal jobs and results to FILE as they finish (default: a new "
                       "file in ~/.local/state/taskfleet/journal, removed once every job has ended)."),
        QStringLiteral("FILE"));
    const QCommandLineOption noJournalOpt(QStringLiteral("no-journal"), QStringLiteral("Keep no journal."));
    const QCommandLineOption resumeOpt(QStringLiteral("resume"),
                                       QStringLiteral("Finish the unfinished jobs of journal FILE after a crash: only "
                                                      "missing tasks run, and the results hold every index once."),
                                       QStringLiteral("FILE"));
    parser.addOptions({journalOpt, noJournalOpt, resumeOpt});
    const QCommandLineOption sessionOpt(QStringLiteral("session"),
                                        QStringLiteral("Serve the Python client (import taskfleet): CBOR frames on "
                                                       "stdin/stdout instead of job files; no journal unless --journal "
                                                       "(docs/python.md)."));
    parser.addOption(sessionOpt);
    const QCommandLineOption noSpecOpt(QStringLiteral("no-speculation"),
                                       QStringLiteral("Never run duplicate copies of slow tasks at the end of a job."));
    const QCommandLineOption nodeOpt(QStringLiteral("node"),
                                     QStringLiteral("Also run tasks on the taskfleet-agent at HOST:PORT (repeatable; "
                                                    "the port is required)."),
                                     QStringLiteral("HOST:PORT"));
    const QCommandLineOption secretFileOpt(QStringLiteral("secret-file"),
                                           QStringLiteral("Read the cluster secret for --node from FILE "
                                                          "(else --secret, else TASKFLEET_SECRET)."),
                                           QStringLiteral("FILE"));
    const QCommandLineOption secretOpt(QStringLiteral("secret"),
                                       QStringLiteral("The cluster secret (visible in ps; prefer --secret-file)."),
                                       QStringLiteral("SECRET"));
    const QCommandLineOption connectTimeoutOpt(QStringLiteral("connect-timeout"),
                                               QStringLiteral("With only remote nodes, give up (exit 3) when none is "
                                                              "usable after SECONDS (default 10)."),
                                               QStringLiteral("SECONDS"), QStringLiteral("10"));
    parser.addOptions(
        {resultsOpt, statsOpt, workersOpt, pluginPathOpt, progressOpt, keepOrderOpt, restartOpt, noSpecOpt});
    const QCommandLineOption listenOpt(
        QStringLiteral("listen"),
        QStringLiteral(
            "Let agents dial this controller at [ADDR:]PORT (taskfleet-agent --connect: agents behind NAT, a "
            "firewall, or on Slurm nodes; default port 45460; 0 picks one and prints it). They show as "
            "\"dialed in\" beside the --node agents, which this side dials."),
        QStringLiteral("[ADDR:]PORT"));
    const QCommandLineOption listenWaitOpt(
        QStringLiteral("listen-wait"),
        QStringLiteral("With --listen and no other node: wait up to SECONDS for the first agent to dial in before "
                       "giving up with exit code 3 (default: --connect-timeout; raise it for agents queued by "
                       "Slurm)."),
        QStringLiteral("SECONDS"));
    parser.addOptions({nodeOpt, listenOpt, listenWaitOpt, secretFileOpt, secretOpt, connectTimeoutOpt});
    // Discovery (issue 4, docs/discovery.md). QCommandLineParser has no optional values, so
    // "--discover=SECONDS" is rewritten to "--discover --discover-wait SECONDS" before parsing.
    const QCommandLineOption discoverOpt(
        QStringLiteral("discover"), QStringLiteral("Find taskfleet-agents of this cluster by UDP broadcast (probe at "
                                                   "start, keep listening: agents started later join). "
                                                   "--discover=SECONDS also sets --discover-wait."));
    const QCommandLineOption discoverWaitOpt(
        QStringLiteral("discover-wait"),
        QStringLiteral("With --discover and no other node: wait up to SECONDS for an "
                       "agent before giving up with exit code 3 (default 2)."),
        QStringLiteral("SECONDS"), QStringLiteral("2"));
    const QCommandLineOption discoveryPortOpt(QStringLiteral("discovery-port"),
                                              QStringLiteral("UDP discovery port (default 45451)."),
                                              QStringLiteral("PORT"), QStringLiteral("45451"));
    const QCommandLineOption broadcastOpt(QStringLiteral("broadcast"),
                                          QStringLiteral("Send discovery probes to ADDR (repeatable; default "
                                                         "255.255.255.255, e.g. 192.168.1.255 for one LAN)."),
                                          QStringLiteral("ADDR"));
    parser.addOptions({discoverOpt, discoverWaitOpt, discoveryPortOpt, broadcastOpt});

    QStringList arguments = argumentList;
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        if (arguments.at(i) == QLatin1String("--"))
            break;
        if (arguments.at(i).startsWith(QLatin1String("--discover="))) {
            const QString seconds = arguments.at(i).mid(int(sizeof("--discover=")) - 1);
            arguments[i] = QStringLiteral("--discover");
            arguments.insert(i + 1, QStringLiteral("--discover-wait=") + seconds);
            ++i;
        }
    }
    if (!parser.parse(arguments)) {
        return fail(out, parser.errorText() + QStringLiteral("\nTry 'taskfleet-run --help'."));
    }
    if (parser.isSet(QStringLiteral("help"))) {
        out->message = parser.helpText();
        out->exitCode = 0;
        return false;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        out->message = QStringLiteral("taskfleet-run " TASKFLEET_VERSION "\n");
        out->exitCode = 0;
        return false;
    }

    RunOptions &options = out->options;
    options.jobFiles = parser.positionalArguments();
    options.resumeFile = parser.value(resumeOpt);
    options.journalFile = parser.value(journalOpt);
    options.noJournal = parser.isSet(noJournalOpt);
    const bool session = out->session = parser.isSet(sessionOpt);
    if (session && (!options.jobFiles.isEmpty() || !options.resumeFile.isEmpty())) {
        return fail(out, QStringLiteral("--session takes its jobs from stdin; give no job file and no --resume"));
    }
    if (!session && options.jobFiles.isEmpty() && options.resumeFile.isEmpty()) {
        return fail(out, QStringLiteral("no job file given\nTry 'taskfleet-run --help'."));
    }
    if (!options.resumeFile.isEmpty() && (!options.jobFiles.isEmpty() || !options.journalFile.isEmpty())) {
        return fail(
            out, QStringLiteral("--resume continues the journal it names; give no job file and no --journal with it"));
    }
    options.resultsFile = parser.value(resultsOpt);
    options.statsCsv = parser.value(statsOpt);
    if (parser.isSet(workersOpt)) {
        bool ok = false;
        options.localWorkers = parser.value(workersOpt).toInt(&ok);
        if (!ok || options.localWorkers < 0 || options.localWorkers > 4096) {
            return fail(out, QStringLiteral("--local-workers wants a number from 0 to 4096, not \"%1\"")
                                 .arg(parser.value(workersOpt)));
        }
    }
    options.pluginPaths = parser.values(pluginPathOpt);
    options.progress = parser.isSet(progressOpt);
    options.keepOrder = parser.isSet(keepOrderOpt);
    options.restartWorkers = parser.isSet(restartOpt);
    options.speculation = !parser.isSet(noSpecOpt);

    // Remote nodes: HOST:PORT each, the port is required (a node without one would never be reached).
    for (const QString &node : parser.values(nodeOpt)) {
        QString host;
        quint16 port = 0;
        QString why;
        if (!net::parseNodeAddress(node, &host, &port, &why)) {
            return fail(out, QStringLiteral("--node %1: %2").arg(node, why));
        }
        options.nodes.append(node);
    }
    {
        bool ok = false;
        options.connectTimeoutSeconds = parser.value(connectTimeoutOpt).toInt(&ok);
        if (!ok || options.connectTimeoutSeconds < 1 || options.connectTimeoutSeconds > 3600) {
            return fail(out, QStringLiteral("--connect-timeout wants seconds from 1 to 3600, not \"%1\"")
                                 .arg(parser.value(connectTimeoutOpt)));
        }
    }
    if (parser.isSet(listenOpt)) {
        QHostAddress address;
        quint16 port = 0;
        QString why;
        if (!net::parseListenAddress(parser.value(listenOpt), &address, &port, &why))
            return fail(out, QStringLiteral("--listen %1: %2").arg(parser.value(listenOpt), why));
        options.listen = parser.value(listenOpt).trimmed();
    }
    if (parser.isSet(listenWaitOpt)) {
        bool ok = false;
        options.listenWaitSeconds = parser.value(listenWaitOpt).toInt(&ok);
        if (!ok || options.listenWaitSeconds < 0 || options.listenWaitSeconds > 31 * 24 * 3600)
            return fail(out, QStringLiteral("--listen-wait wants seconds from 0 to 2678400, not \"%1\"")
                                 .arg(parser.value(listenWaitOpt)));
    }
    if (options.listenWaitSeconds < 0)
        options.listenWaitSeconds = options.connectTimeoutSeconds;
    options.discover = parser.isSet(discoverOpt);
    {
        bool ok = false;
        options.discoverWaitSeconds = parser.value(discoverWaitOpt).toInt(&ok);
        if (!ok || options.discoverWaitSeconds < 0 || options.discoverWaitSeconds > 3600) {
            return fail(out, QStringLiteral("--discover-wait wants seconds from 0 to 3600, not \"%1\"")
                                 .arg(parser.value(discoverWaitOpt)));
        }
        const uint port = parser.value(discoveryPortOpt).toUInt(&ok);
        if (!ok || port == 0 || port > 65535) {
            return fail(out, QStringLiteral("--discovery-port wants a port from 1 to 65535, not \"%1\"")
                                 .arg(parser.value(discoveryPortOpt)));
        }
        options.discoveryPort = quint16(port);
        for (const QString &a : parser.values(broadcastOpt)) {
            if (QHostAddress(a).isNull()) {
                return fail(out, QStringLiteral("--broadcast wants an IP address, not \"%1\"").arg(a));
            }
            options.broadcast.append(a);
        }
    }
    if (!options.nodes.isEmpty() || options.discover || !options.listen.isEmpty()) {
        taskfleet::net::SecretSources sources;
        sources.file = parser.value(secretFileOpt);
        if (parser.isSet(secretOpt))
            sources.commandLine = parser.value(secretOpt);
        sources.missing
            = QStringLiteral("--node, --listen and --discover need the cluster secret: use --secret-file FILE or "
                             "TASKFLEET_SECRET (the agent prints where its secret is stored)");
        const taskfleet::net::SecretResult secret = taskfleet::net::SecretStore::lookup(sources);
        out->warnings += secret.warnings;
        if (!secret.ok())
            return fail(out, secret.error);
        options.secret = QString::fromUtf8(secret.secret);
    }

    return true;
}

} // namespace taskfleet::app
