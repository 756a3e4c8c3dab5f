// SPDX-License-Identifier: MIT
// The command task plugin: runs one program per input (GNU parallel style templates), with a timeout.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

/**
 * Runs a program per task and returns {"exit", "stdout", "stderr"}.
 *
 * Inputs: a string (run with /bin/sh -c), an array of strings (argv, no shell), or a map with one of
 * "cmd" (string, shell), "args" (array, no shell) or "template" + "arg" (GNU parallel replacement
 * strings {} {.} {/} {//} {/.}, each replaced by the shell-quoted value; a template without any of
 * them gets " {}" appended), plus optional "timeout" (seconds, > 0) and "stdin" (text fed to the
 * program). The program runs in its own process group; a timeout or a cancellation kills the group.
 * stdout and stderr are kept up to MaxOutputBytes each (the rest is read and dropped, so a chatty
 * program never blocks). A non-zero exit, a signal, a timeout or a failure to start is an error
 * result whose message names the exit code and the tail of stderr.
 *
 * Its metadata says "runsPrograms": true; taskfleet-agent refuses it unless started with --allow-command.
 */
class CommandPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "command.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    /** Bytes of stdout (and of stderr) kept per task. */
    static constexpr qint64 MaxOutputBytes = 1024 * 1024;
    /** Characters of stderr quoted in an error message. */
    static constexpr int ErrorTailChars = 400;

    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;

    /** Fills a GNU parallel style template with \a arg (shell-quoted). */
    static QString expandTemplate(const QString &tmpl, const QString &arg);
    /** Quotes \a s for /bin/sh: 'it'\''s'. */
    static QString shellQuote(const QString &s);
};

} // namespace taskfleet::plugins
