// SPDX-License-Identifier: MIT
// taskfleet-agent once its command line is parsed: the secret, the server, the pid file, signals, discovery.
#pragma once

#include "agentoptions.h"

namespace taskfleet::agent {

/**
 * Runs the agent \a options describe until SIGTERM/SIGINT or --idle-exit: looks up the secret, starts an
 * AgentServer, writes the pid file, announces the agent (unless told not to) and prints where it listens.
 * SIGUSR1 prints the statistics to stderr. Returns the process's exit code.
 */
int runAgent(AgentCommandLine options);

} // namespace taskfleet::agent
