// SPDX-License-Identifier: MIT
// The node types built into the app (a taskfleet-agent over TLS-PSK) and "HOST:PORT" parsing.
#pragma once

#include <QtCore/QString>

namespace taskfleet::gui {

/** Name of the built-in remote node type in Nodes ▸ Add Node…. */
QString agentNodeTypeName();

/**
 * Registers the built-in node types with NodeTypes (once; later calls do nothing): a
 * taskfleet-agent reached over TLS-PSK (sched::RemoteNode) with the cluster secret given to the
 * factory. Called by MainWindow's constructor.
 */
void registerBuiltinNodeTypes();

/**
 * Splits "HOST:PORT" ("[v6]:PORT" for IPv6). The port is required: a node without one would never
 * be reached. False with *why when \a text is not such an address.
 */
bool parseNodeAddress(const QString &text, QString *host, quint16 *port, QString *why);

} // namespace taskfleet::gui
