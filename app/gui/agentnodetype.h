// SPDX-License-Identifier: MIT
// The node types built into the app (a taskfleet-agent over TLS-PSK).
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

} // namespace taskfleet::gui
