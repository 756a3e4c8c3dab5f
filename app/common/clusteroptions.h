// SPDX-License-Identifier: MIT
// The command-line options naming the agents to use and the cluster secret, declared once for the window
// (taskfleet) and taskfleet-run.
#pragma once

#include <QtCore/QCommandLineOption>
#include <QtCore/QStringList>

namespace taskfleet::app {

/** --node HOST:PORT (repeatable): also run tasks on that taskfleet-agent. */
QCommandLineOption nodeOption();

/** --secret-file FILE: the cluster secret the agents were given. */
QCommandLineOption secretFileOption();

/**
 * Checks the --node values: each HOST:PORT with the port (net::parseNodeAddress). Returns them, or
 * false with *error naming the first bad one ("--node X: why").
 */
[[nodiscard]] bool readNodes(const QStringList &values, QStringList *nodes, QString *error);

/**
 * Checks a --listen value ([ADDR:]PORT, net::parseListenAddress) and returns it trimmed in *listen, or false
 * with *error naming it ("--listen X: why").
 */
[[nodiscard]] bool readListen(const QString &value, QString *listen, QString *error);

} // namespace taskfleet::app
