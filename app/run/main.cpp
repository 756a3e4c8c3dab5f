// SPDX-License-Identifier: MIT
// taskfleet-run: runs job files on the local node (and agents) without a window.
#include "runner.h"
#include "session.h"

#include "net/secretstore.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtNetwork/QHostAddress>

#include <cstdio>

using namespace taskfleet::app;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("taskfleet-run"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));

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
    const QCommandLineOption journalOpt(QStringLiteral("journal"),
                                        QStringLiteral("Journal jobs and results to FILE as they finish (default: a new "
                                                       "file in ~/.local/state/taskfleet/journal)."),
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
    parser.addOptions({resultsOpt, statsOpt, workersOpt, pluginPathOpt, progressOpt, keepOrderOpt, restartOpt, noSpecOpt});
    parser.addOptions({nodeOpt, secretFileOpt, secretOpt, connectTimeoutOpt});
    // Discovery (issue 4, docs/discovery.md). QCommandLineParser has no optional values, so
    // "--discover=SECONDS" is rewritten to "--discover --discover-wait SECONDS" before parsing.
    const QCommandLineOption discoverOpt(QStringLiteral("discover"),
                                         QStringLiteral("Find taskfleet-agents of this cluster by UDP broadcast (probe at "
                                                        "start, keep listening: agents started later join). "
                                                        "--discover=SECONDS also sets --discover-wait."));
    const QCommandLineOption discoverWaitOpt(QStringLiteral("discover-wait"),
                                             QStringLiteral("With --discover and no other node: wait up to SECONDS for an "
                                                            "agent before giving up with exit code 3 (default 2)."),
                                             QStringLiteral("SECONDS"), QStringLiteral("2"));
    const QCommandLineOption discoveryPortOpt(QStringLiteral("discovery-port"),
                                              QStringLiteral("UDP discovery port (default 45451)."), QStringLiteral("PORT"),
                                              QStringLiteral("45451"));
    const QCommandLineOption broadcastOpt(QStringLiteral("broadcast"),
                                          QStringLiteral("Send discovery probes to ADDR (repeatable; default "
                                                         "255.255.255.255, e.g. 192.168.1.255 for one LAN)."),
                                          QStringLiteral("ADDR"));
    parser.addOptions({discoverOpt, discoverWaitOpt, discoveryPortOpt, broadcastOpt});

    QStringList arguments = QCoreApplication::arguments();
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
        std::fprintf(stderr, "taskfleet-run: %s\nTry 'taskfleet-run --help'.\n", qPrintable(parser.errorText()));
        return ExitBadUsage;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(qPrintable(parser.helpText()), stdout);
        return 0;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        std::printf("taskfleet-run %s\n", TASKFLEET_VERSION);
        return 0;
    }

    RunOptions options;
    options.jobFiles = parser.positionalArguments();
    options.resumeFile = parser.value(resumeOpt);
    options.journalFile = parser.value(journalOpt);
    options.noJournal = parser.isSet(noJournalOpt);
    const bool session = parser.isSet(sessionOpt);
    if (session && (!options.jobFiles.isEmpty() || !options.resumeFile.isEmpty())) {
        std::fputs("taskfleet-run: --session takes its jobs from stdin; give no job file and no --resume\n", stderr);
        return ExitBadUsage;
    }
    if (!session && options.jobFiles.isEmpty() && options.resumeFile.isEmpty()) {
        std::fputs("taskfleet-run: no job file given\nTry 'taskfleet-run --help'.\n", stderr);
        return ExitBadUsage;
    }
    if (!options.resumeFile.isEmpty() && (!options.jobFiles.isEmpty() || !options.journalFile.isEmpty())) {
        std::fputs("taskfleet-run: --resume continues the journal it names; give no job file and no --journal with it\n",
                   stderr);
        return ExitBadUsage;
    }
    options.resultsFile = parser.value(resultsOpt);
    options.statsCsv = parser.value(statsOpt);
    if (parser.isSet(workersOpt)) {
        bool ok = false;
        options.localWorkers = parser.value(workersOpt).toInt(&ok);
        if (!ok || options.localWorkers < 0 || options.localWorkers > 4096) {
            std::fprintf(stderr, "taskfleet-run: --local-workers wants a number from 0 to 4096, not \"%s\"\n",
                         qPrintable(parser.value(workersOpt)));
            return ExitBadUsage;
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
        if (!parseNodeAddress(node, &host, &port, &why)) {
            std::fprintf(stderr, "taskfleet-run: --node %s: %s\n", qPrintable(node), qPrintable(why));
            return ExitBadUsage;
        }
        options.nodes.append(node);
    }
    {
        bool ok = false;
        options.connectTimeoutSeconds = parser.value(connectTimeoutOpt).toInt(&ok);
        if (!ok || options.connectTimeoutSeconds < 1 || options.connectTimeoutSeconds > 3600) {
            std::fprintf(stderr, "taskfleet-run: --connect-timeout wants seconds from 1 to 3600, not \"%s\"\n",
                         qPrintable(parser.value(connectTimeoutOpt)));
            return ExitBadUsage;
        }
    }
    options.discover = parser.isSet(discoverOpt);
    {
        bool ok = false;
        options.discoverWaitSeconds = parser.value(discoverWaitOpt).toInt(&ok);
        if (!ok || options.discoverWaitSeconds < 0 || options.discoverWaitSeconds > 3600) {
            std::fprintf(stderr, "taskfleet-run: --discover-wait wants seconds from 0 to 3600, not \"%s\"\n",
                         qPrintable(parser.value(discoverWaitOpt)));
            return ExitBadUsage;
        }
        const uint port = parser.value(discoveryPortOpt).toUInt(&ok);
        if (!ok || port == 0 || port > 65535) {
            std::fprintf(stderr, "taskfleet-run: --discovery-port wants a port from 1 to 65535, not \"%s\"\n",
                         qPrintable(parser.value(discoveryPortOpt)));
            return ExitBadUsage;
        }
        options.discoveryPort = quint16(port);
        for (const QString &a : parser.values(broadcastOpt)) {
            if (QHostAddress(a).isNull()) {
                std::fprintf(stderr, "taskfleet-run: --broadcast wants an IP address, not \"%s\"\n", qPrintable(a));
                return ExitBadUsage;
            }
            options.broadcast.append(a);
        }
    }
    if (!options.nodes.isEmpty() || options.discover) {
        using taskfleet::net::SecretStore;
        taskfleet::net::SecretResult secret;
        if (parser.isSet(secretFileOpt))
            secret = SecretStore::loadFile(parser.value(secretFileOpt));
        else if (parser.isSet(secretOpt))
            secret = SecretStore::fromString(parser.value(secretOpt));
        else if (!qEnvironmentVariableIsEmpty(SecretStore::EnvironmentVariable))
            secret = SecretStore::fromEnvironment();
        else
            secret.error = QStringLiteral("--node and --discover need the cluster secret: use --secret-file FILE or TASKFLEET_SECRET "
                                          "(the agent prints where its secret is stored)");
        for (const QString &w : std::as_const(secret.warnings))
            std::fprintf(stderr, "taskfleet-run: warning: %s\n", qPrintable(w));
        if (!secret.ok()) {
            std::fprintf(stderr, "taskfleet-run: %s\n", qPrintable(secret.error));
            return ExitBadUsage;
        }
        options.secret = QString::fromUtf8(secret.secret);
    }

    if (session) {
        Session server(options);
        int exitCode = 0;
        QObject::connect(&server, &Session::finished, &app, [&exitCode, &app](int code) {
            exitCode = code;
            app.exit(code);
        });
        if (!server.start(&exitCode))
            return exitCode;
        app.exec();
        return exitCode;
    }
    Runner runner(options);
    int exitCode = 0;
    QObject::connect(&runner, &Runner::finished, &app, [&exitCode, &app](int code) {
        exitCode = code;
        app.exit(code);
    });
    if (!runner.start(&exitCode))
        return exitCode;
    app.exec();
    return exitCode;
}
