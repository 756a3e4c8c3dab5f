// SPDX-License-Identifier: MIT
// taskfleet-agent's command line, parsed into one options struct (with environment fallbacks).
#pragma once

#include "agent/agentserver.h"
#include "net/discoveryannouncer.h"

#include <QtCore/QStringList>

namespace taskfleet::agent {

/** Everything taskfleet-agent was asked to do. */
struct AgentCommandLine {
    agent::AgentOptions server;
    QString secretFile;
    QString secretArg; ///< -s/--secret (warns)
    bool secretArgSet = false;
    QString pidFile;
    bool debug = false;
    bool discoveryEnabled = true;   ///< false with --no-discovery
    net::AnnouncerConfig discovery; ///< -b, --discovery-port, --announce-port (bindAddress is set by main from -i)
};

/** Exit code for bad usage. */
constexpr int ExitBadUsage = 2;

/**
 * Parses \a arguments (argv, program name first). Returns false with *message to print and *exitCode
 * (0 for --help/--version, ExitBadUsage for errors).
 */
bool parseCommandLine(const QStringList &arguments, AgentCommandLine *out, QString *message, int *exitCode);

/** The default state directory: $XDG_STATE_HOME/taskfleet-agent or ~/.local/state/taskfleet-agent. */
QString defaultStateDir();

} // namespace taskfleet::agent
