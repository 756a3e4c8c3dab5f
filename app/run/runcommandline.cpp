// SPDX-License-Identifier: MIT
// taskfleet-run's options: declared in RunOptionSet, read group by group (jobs, local, remote, discovery, secret).
#include "runcommandline.h"

#include "clusteroptions.h"
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

/** taskfleet-run's options, declared in the order --help lists them. */
struct RunOptionSet {
    const QCommandLineOption results {{QStringLiteral("o"), QStringLiteral("results")},
                                      QStringLiteral("Write results (JSON Lines) to FILE instead of stdout."),
                                      QStringLiteral("FILE")};
    const QCommandLineOption stats {QStringLiteral("stats-csv"),
                                    QStringLiteral("Write statistics as CSV: FILE (per node), and beside it "
                                                   "NAME.timeseries.csv (per second) and NAME.tasks.csv (per task)."),
                                    QStringLiteral("FILE")};
    const QCommandLineOption workers {{QStringLiteral("n"), QStringLiteral("local-workers")},
                                      QStringLiteral("Worker processes on this computer (default: logical CPUs; "
                                                     "0 = remote nodes only)."),
                                      QStringLiteral("N")};
    const QCommandLineOption pluginPath {QStringLiteral("plugin-path"),
                                         QStringLiteral("Also look for plugins in DIR (repeatable)."),
                                         QStringLiteral("DIR")};
    const QCommandLineOption progress {QStringLiteral("progress"),
                                       QStringLiteral("Show a progress line with rate and ETA on stderr.")};
    const QCommandLineOption keepOrder {{QStringLiteral("k"), QStringLiteral("keep-order")},
                                        QStringLiteral("Write results in input order instead of completion order.")};
    const QCommandLineOption restart {{QStringLiteral("r"), QStringLiteral("restart-workers")},
                                      QStringLiteral("Start a fresh worker process for every task.")};
    const QCommandLineOption journal {
        QStringLiteral("journal"),
        QStringLiteral("Journal jobs and results to FILE as they finish (default: a new "
                       "file in ~/.local/state/taskfleet/journal, removed once every job has ended)."),
        QStringLiteral("FILE")};
    const QCommandLineOption noJournal {QStringLiteral("no-journal"), QStringLiteral("Keep no journal.")};
    const QCommandLineOption resume {QStringLiteral("resume"),
                                     QStringLiteral("Finish the unfinished jobs of journal FILE after a crash: only "
                                                    "missing tasks run, and the results hold every index once."),
                                     QStringLiteral("FILE")};
    const QCommandLineOption session {QStringLiteral("session"),
                                      QStringLiteral("Serve the Python client (import taskfleet): CBOR frames on "
                                                     "stdin/stdout instead of job files; no journal unless --journal "
                                                     "(docs/python.md).")};
    const QCommandLineOption noSpeculation {
        QStringLiteral("no-speculation"),
        QStringLiteral("Never run duplicate copies of slow tasks at the end of a job.")};
    const QCommandLineOption maxValue {
        QStringLiteral("max-value"),
        QStringLiteral("The largest task input, in MiB (default: an eighth of this machine's memory, at most 256); "
                       "a bigger one fails alone, at once, naming its size. The Python client refuses bigger "
                       "arguments at submit."),
        QStringLiteral("MIB")};
    const QCommandLineOption node = nodeOption();
    const QCommandLineOption secretFile = secretFileOption();
    const QCommandLineOption secret {QStringLiteral("secret"),
                                     QStringLiteral("The cluster secret (visible in ps; prefer --secret-file)."),
                                     QStringLiteral("SECRET")};
    const QCommandLineOption connectTimeout {QStringLiteral("connect-timeout"),
                                             QStringLiteral("With only remote nodes, give up (exit 3) when none is "
                                                            "usable after SECONDS (default 10)."),
                                             QStringLiteral("SECONDS"), QStringLiteral("10")};
    const QCommandLineOption listen {
        QStringLiteral("listen"),
        QStringLiteral(
            "Let agents dial this controller at [ADDR:]PORT (taskfleet-agent --connect: agents behind NAT, a "
            "firewall, or on Slurm nodes; default port 45460; 0 picks one and prints it). They show as "
            "\"dialed in\" beside the --node agents, which this side dials."),
        QStringLiteral("[ADDR:]PORT")};
    const QCommandLineOption listenWait {
        QStringLiteral("listen-wait"),
        QStringLiteral("With --listen and no other node: wait up to SECONDS for the first agent to dial in before "
                       "giving up with exit code 3 (default: --connect-timeout; raise it for agents queued by "
                       "Slurm)."),
        QStringLiteral("SECONDS")};
    // QCommandLineParser has no optional values: "--discover=SECONDS" is rewritten before parsing (withDiscoverWait).
    const QCommandLineOption discover {
        QStringLiteral("discover"), QStringLiteral("Find taskfleet-agents of this cluster by UDP broadcast (probe at "
                                                   "start, keep listening: agents started later join). "
                                                   "--discover=SECONDS also sets --discover-wait.")};
    const QCommandLineOption discoverWait {
        QStringLiteral("discover-wait"),
        QStringLiteral("With --discover and no other node: wait up to SECONDS for an "
                       "agent before giving up with exit code 3 (default 2)."),
        QStringLiteral("SECONDS"), QStringLiteral("2")};
    const QCommandLineOption discoveryPort {QStringLiteral("discovery-port"),
                                            QStringLiteral("UDP discovery port (default 45451)."),
                                            QStringLiteral("PORT"), QStringLiteral("45451")};
    const QCommandLineOption broadcast {QStringLiteral("broadcast"),
                                        QStringLiteral("Send discovery probes to ADDR (repeatable; default "
                                                       "255.255.255.255, e.g. 192.168.1.255 for one LAN)."),
                                        QStringLiteral("ADDR")};

    void addTo(QCommandLineParser *parser) const
    {
        parser->addOptions({journal,        noJournal,  resume,       session,       results,    stats,
                            workers,        pluginPath, progress,     keepOrder,     restart,    noSpeculation,
                            maxValue,       node,       listen,       listenWait,    secretFile, secret,
                            connectTimeout, discover,   discoverWait, discoveryPort, broadcast});
    }
};

/** "--discover=SECONDS" as "--discover --discover-wait=SECONDS" (before any "--"). */
QStringList withDiscoverWait(QStringList arguments)
{
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
    return arguments;
}

/** The value of \a option as an int from \a min to \a max into *value; else fails with "--NAME wants WHAT ...". */
bool readInt(const QCommandLineParser &p, const QCommandLineOption &option, int min, int max, const QString &what,
             int *value, RunCommandLine *out)
{
    bool ok = false;
    *value = p.value(option).toInt(&ok);
    if (!ok || *value < min || *value > max)
        return fail(out, QStringLiteral("--%1 wants %2 from %3 to %4, not \"%5\"")
                             .arg(option.names().constLast(), what)
                             .arg(min)
                             .arg(max)
                             .arg(p.value(option)));
    return true;
}

/** What to run: job files, a journal to resume, or a Python session; the journal. */
bool readJobs(const QCommandLineParser &p, const RunOptionSet &o, RunCommandLine *out)
{
    RunOptions &options = out->options;
    options.jobFiles = p.positionalArguments();
    options.resumeFile = p.value(o.resume);
    options.journalFile = p.value(o.journal);
    options.noJournal = p.isSet(o.noJournal);
    const bool session = out->session = p.isSet(o.session);
    if (session && (!options.jobFiles.isEmpty() || !options.resumeFile.isEmpty()))
        return fail(out, QStringLiteral("--session takes its jobs from stdin; give no job file and no --resume"));
    if (!session && options.jobFiles.isEmpty() && options.resumeFile.isEmpty())
        return fail(out, QStringLiteral("no job file given\nTry 'taskfleet-run --help'."));
    if (!options.resumeFile.isEmpty() && (!options.jobFiles.isEmpty() || !options.journalFile.isEmpty()))
        return fail(
            out, QStringLiteral("--resume continues the journal it names; give no job file and no --journal with it"));
    return true;
}

/** Where results go and how this computer runs tasks. */
bool readLocal(const QCommandLineParser &p, const RunOptionSet &o, RunCommandLine *out)
{
    RunOptions &options = out->options;
    options.resultsFile = p.value(o.results);
    options.statsCsv = p.value(o.stats);
    if (p.isSet(o.workers) && !readInt(p, o.workers, 0, 4096, QStringLiteral("a number"), &options.localWorkers, out))
        return false;
    options.pluginPaths = p.values(o.pluginPath);
    options.progress = p.isSet(o.progress);
    options.keepOrder = p.isSet(o.keepOrder);
    options.restartWorkers = p.isSet(o.restart);
    options.speculation = !p.isSet(o.noSpeculation);
    if (p.isSet(o.maxValue)) {
        bool ok = false;
        const double mib = p.value(o.maxValue).toDouble(&ok);
        if (!ok || !(mib >= 0.001) || mib > 256)
            return fail(out, QStringLiteral("--max-value wants MiB from 0.001 to 256 (the protocol's largest value), "
                                            "not \"%1\"")
                                 .arg(p.value(o.maxValue)));
        options.maxValueBytes = qint64(mib * 1024 * 1024);
    }
    return true;
}

/** Agents this side dials (--node), agents that dial it (--listen), and how long to wait for them. */
bool readRemote(const QCommandLineParser &p, const RunOptionSet &o, RunCommandLine *out)
{
    RunOptions &options = out->options;
    QString error;
    if (!readNodes(p.values(o.node), &options.nodes, &error))
        return fail(out, error);
    if (!readInt(p, o.connectTimeout, 1, 3600, QStringLiteral("seconds"), &options.connectTimeoutSeconds, out))
        return false;
    if (p.isSet(o.listen) && !readListen(p.value(o.listen), &options.listen, &error))
        return fail(out, error);
    if (p.isSet(o.listenWait)
        && !readInt(p, o.listenWait, 0, 31 * 24 * 3600, QStringLiteral("seconds"), &options.listenWaitSeconds, out))
        return false;
    if (options.listenWaitSeconds < 0)
        options.listenWaitSeconds = options.connectTimeoutSeconds;
    return true;
}

/** UDP discovery of agents (docs/discovery.md). */
bool readDiscovery(const QCommandLineParser &p, const RunOptionSet &o, RunCommandLine *out)
{
    RunOptions &options = out->options;
    options.discover = p.isSet(o.discover);
    if (!readInt(p, o.discoverWait, 0, 3600, QStringLiteral("seconds"), &options.discoverWaitSeconds, out))
        return false;
    int port = 0;
    if (!readInt(p, o.discoveryPort, 1, 65535, QStringLiteral("a port"), &port, out))
        return false;
    options.discoveryPort = quint16(port);
    for (const QString &a : p.values(o.broadcast)) {
        if (QHostAddress(a).isNull())
            return fail(out, QStringLiteral("--broadcast wants an IP address, not \"%1\"").arg(a));
        options.broadcast.append(a);
    }
    return true;
}

/** The cluster secret, when some agent is to be reached (net::SecretStore::lookup). */
bool readSecret(const QCommandLineParser &p, const RunOptionSet &o, RunCommandLine *out)
{
    RunOptions &options = out->options;
    if (options.nodes.isEmpty() && !options.discover && options.listen.isEmpty())
        return true;
    net::SecretSources sources;
    sources.file = p.value(o.secretFile);
    if (p.isSet(o.secret))
        sources.commandLine = p.value(o.secret);
    sources.missing = QStringLiteral("--node, --listen and --discover need the cluster secret: use --secret-file FILE "
                                     "or TASKFLEET_SECRET (the agent prints where its secret is stored)");
    const net::SecretResult secret = net::SecretStore::lookup(sources);
    out->warnings += secret.warnings;
    if (!secret.ok())
        return fail(out, secret.error);
    options.secret = QString::fromUtf8(secret.secret);
    return true;
}
} // namespace

bool parseRunCommandLine(const QStringList &arguments, RunCommandLine *out)
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
    const RunOptionSet options;
    options.addTo(&parser);
    if (!parser.parse(withDiscoverWait(arguments)))
        return fail(out, parser.errorText() + QStringLiteral("\nTry 'taskfleet-run --help'."));
    if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("version"))) {
        out->message = parser.isSet(QStringLiteral("help")) ? parser.helpText()
                                                            : QStringLiteral("taskfleet-run " TASKFLEET_VERSION "\n");
        out->exitCode = 0;
        return false;
    }
    return readJobs(parser, options, out) && readLocal(parser, options, out) && readRemote(parser, options, out)
           && readDiscovery(parser, options, out) && readSecret(parser, options, out);
}

} // namespace taskfleet::app
