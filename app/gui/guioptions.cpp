// SPDX-License-Identifier: MIT
#include "guioptions.h"

#include "clusteroptions.h"
#include "net/nodeaddress.h"
#include "net/secretstore.h"
#include "sched/journal.h"
#include "sched/scriptserver.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>

#include <cstring>

namespace taskfleet::gui {

namespace {
bool fail(GuiCommandLine *out, const QString &message)
{
    out->message = message;
    out->exitCode = 2;
    return false;
}

/** The window's options, declared in the order --help lists them. */
struct GuiOptionSet {
    const QCommandLineOption workers {
        {QStringLiteral("n"), QStringLiteral("local-workers")},
        QStringLiteral("Workers on this computer (default: from the settings, else one per CPU)."),
        QStringLiteral("N")};
    const QCommandLineOption resume {
        QStringLiteral("resume"),
        QStringLiteral("Resume the jobs an earlier session left unfinished (in the journal, %1) without asking.")
            .arg(sched::defaultJournalDir())};
    const QCommandLineOption noResume {
        QStringLiteral("no-resume"),
        QStringLiteral("Do not offer to resume them this time (they stay in the journal).")};
    const QCommandLineOption node = app::nodeOption();
    const QCommandLineOption listen {
        QStringLiteral("listen"),
        QStringLiteral("Let agents dial this computer at [ADDR:]PORT (taskfleet-agent --connect; for agents behind "
                       "NAT, a firewall or on Slurm nodes; shown as \"dialed in\" in the Nodes table). Default: as "
                       "Settings say (off unless \"Agents may connect\" is ticked)."),
        QStringLiteral("[ADDR:]PORT")};
    const QCommandLineOption scriptSocket {
        QStringLiteral("script-socket"),
        QStringLiteral("Python scripts attach at PATH (default: %1).").arg(sched::defaultScriptSocketPath()),
        QStringLiteral("PATH")};
    const QCommandLineOption noScripts {QStringLiteral("no-scripts"),
                                        QStringLiteral("Python scripts cannot attach to this window.")};
    const QCommandLineOption secretFile = app::secretFileOption();
    const QCommandLineOption pluginPath {QStringLiteral("plugin-path"),
                                         QStringLiteral("Also look for task plugins in DIR (repeatable)."),
                                         QStringLiteral("DIR")};
    const QCommandLineOption exportStats {
        QStringLiteral("export-stats"),
        QStringLiteral("Write the statistics CSV (and .timeseries.csv, .tasks.csv) to FILE on exit."),
        QStringLiteral("FILE")};

    void addTo(QCommandLineParser *parser) const
    {
        parser->addOptions(
            {workers, resume, noResume, node, listen, scriptSocket, noScripts, secretFile, pluginPath, exportStats});
    }
};

/** Local workers, plugin folders, the statistics file, scripts and resuming: what stays on this computer. */
bool readLocal(const QCommandLineParser &p, const GuiOptionSet &o, GuiCommandLine *out)
{
    MainWindowOptions &options = out->options;
    if (p.isSet(o.workers)) {
        bool ok = false;
        options.localWorkers = p.value(o.workers).toInt(&ok);
        if (!ok || options.localWorkers < 0)
            return fail(out,
                        QStringLiteral("--local-workers: expected a number >= 0, got \"%1\"").arg(p.value(o.workers)));
    }
    for (const QString &dir : p.values(o.pluginPath))
        options.pluginPaths.append(QDir(dir).absolutePath());
    if (p.isSet(o.exportStats))
        options.exitStatisticsPath = QDir::current().absoluteFilePath(p.value(o.exportStats));
    if (!p.isSet(o.noScripts))
        options.scriptSocket = p.isSet(o.scriptSocket) ? QDir::current().absoluteFilePath(p.value(o.scriptSocket))
                                                       : sched::defaultScriptSocketPath();
    if (p.isSet(o.resume))
        options.resume = MainWindowOptions::Resume::Always;
    else if (p.isSet(o.noResume))
        options.resume = MainWindowOptions::Resume::Never;
    return true;
}

/** Agents to dial, the port agents may dial, and the secret they share. */
bool readCluster(const QCommandLineParser &p, const GuiOptionSet &o, GuiCommandLine *out)
{
    MainWindowOptions &options = out->options;
    QString error;
    if (!app::readNodes(p.values(o.node), &options.nodes, &error))
        return fail(out, error);
    if (p.isSet(o.listen) && !app::readListen(p.value(o.listen), &options.listen, &error))
        return fail(out, error);
    if (p.isSet(o.secretFile)) {
        options.secretFile = QDir::current().absoluteFilePath(p.value(o.secretFile));
        const net::SecretResult secret = net::SecretStore::loadFile(options.secretFile);
        out->warnings += secret.warnings;
        if (!secret.ok())
            return fail(out, QStringLiteral("--secret-file: %1").arg(secret.error));
    }
    return true;
}
} // namespace

bool asksForTextOnly(int argc, char *argv[])
{
    for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
        for (const char *option : {"-h", "--help", "--help-all", "-?", "-v", "--version"}) {
            if (std::strcmp(argv[i], option) == 0)
                return true;
        }
    }
    return false;
}

bool parseGuiCommandLine(const QStringList &arguments, GuiCommandLine *out)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Run many small computations in parallel on this computer and your LAN.\n\n"
        "Examples:\n"
        "  taskfleet                                   open the window (agents on the LAN are discovered)\n"
        "  taskfleet -n 4 resources/jobs/mandelbrot.json   4 local workers, queue a job at start\n"
        "  taskfleet -n 0 --node 192.168.1.20:45450 --secret-file ~/.config/taskfleet.secret job.json\n"
        "  taskfleet --listen 45460                    agents may dial in (taskfleet-agent --connect THIS-HOST:45460)\n"
        "  taskfleet --plugin-path ~/myplugins/build --export-stats stats.csv"));
    parser.addHelpOption();
    parser.addVersionOption();
    const GuiOptionSet options;
    options.addTo(&parser);
    parser.addPositionalArgument(QStringLiteral("JOBFILE"), QStringLiteral("Job files to queue at start."),
                                 QStringLiteral("[JOBFILE…]"));
    if (!parser.parse(arguments))
        return fail(out, parser.errorText() + QStringLiteral("\nTry 'taskfleet --help'."));
    if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"))) {
        out->message = parser.helpText();
        out->exitCode = 0;
        return false;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        out->message = QStringLiteral("taskfleet %1\n").arg(QCoreApplication::applicationVersion());
        out->exitCode = 0;
        return false;
    }
    out->jobFiles = parser.positionalArguments();
    return readLocal(parser, options, out) && readCluster(parser, options, out);
}

} // namespace taskfleet::gui
