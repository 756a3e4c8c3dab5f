// SPDX-License-Identifier: MIT
// The window's command line (taskfleet), parsed into MainWindowOptions as a unit the tests call in-process.
#pragma once

#include "mainwindow.h"

#include <QtCore/QStringList>

namespace taskfleet::gui {

/** What the command line asks for, or what to print instead. */
struct GuiCommandLine {
    MainWindowOptions options;
    QStringList jobFiles; ///< to queue at start
    QStringList warnings; ///< to print, also on success (e.g. a secret file others can read)
    QString message;      ///< on false: --help/--version text (exitCode 0) or the error (exitCode 2)
    int exitCode = 0;
};

/**
 * Whether argv asks for --help or --version (before any "--"). That needs no window, so it must work
 * without a display too (ssh, a server's terminal), where the platform plugin would abort before the
 * parser could answer.
 */
bool asksForTextOnly(int argc, char *argv[]);

/**
 * Parses \a arguments (program name first). Numbers, node and listen addresses and the secret file are
 * checked; paths are made absolute. Returns false when the program should print out->message and exit
 * with out->exitCode.
 */
[[nodiscard]] bool parseGuiCommandLine(const QStringList &arguments, GuiCommandLine *out);

} // namespace taskfleet::gui
