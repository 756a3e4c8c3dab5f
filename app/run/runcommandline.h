// SPDX-License-Identifier: MIT
// taskfleet-run's command line, parsed into RunOptions (with the secret already looked up), as a unit
// the tests can call without starting a process.
#pragma once

#include "runoptions.h"

#include <QtCore/QStringList>

namespace taskfleet::app {

/** What the command line asks for, or what to print instead. */
struct RunCommandLine {
    RunOptions options;
    bool session = false; ///< --session: serve the Python client on stdin/stdout
    QStringList warnings; ///< to print, also on success (e.g. a secret given on the command line)
    QString message;      ///< on false: --help/--version text (exitCode 0) or the error (ExitBadUsage)
    int exitCode = 0;
};

/**
 * Parses \a arguments (program name first). "--discover=SECONDS" is accepted for "--discover
 * --discover-wait SECONDS". Node addresses, numbers and broadcast addresses are checked, and with
 * --node or --discover the secret is looked up (net::SecretStore::lookup). Returns false when the
 * program should print out->message and exit with out->exitCode.
 */
[[nodiscard]] bool parseRunCommandLine(const QStringList &arguments, RunCommandLine *out);

} // namespace taskfleet::app
