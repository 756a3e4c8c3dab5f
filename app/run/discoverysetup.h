// SPDX-License-Identifier: MIT
// How taskfleet-run reaches agents (by --node and by discovery), shared by its job mode (Runner) and its
// session mode (Session).
#pragma once

#include "runoptions.h"

#include "sched/agentlistener.h"
#include "sched/clusterdiscovery.h"
#include "sched/remotenode.h"

namespace taskfleet::app {

/** A RemoteNode for one --node address (validated by main()), with the secret and connect timeout of \a options. */
sched::RemoteNode *makeRemoteNode(const QString &address, const RunOptions &options);

/**
 * A ClusterDiscovery for \a controller configured from \a options (port, probe addresses, connect
 * timeout), owned by \a parent. Not started: the caller connects its signals, then calls start().
 */
sched::ClusterDiscovery *makeDiscovery(sched::Controller *controller, const RunOptions &options, QObject *parent);

/**
 * An AgentListener for \a controller listening where --listen says (validated by main()), owned by \a parent;
 * nullptr with *error when the port cannot be bound. Prints "taskfleet-run: agents may connect to ADDR:PORT".
 */
sched::AgentListener *makeAgentListener(sched::Controller *controller, const RunOptions &options, QObject *parent,
                                        QString *error);

} // namespace taskfleet::app
