// SPDX-License-Identifier: MIT
// How taskfleet-run reaches agents (by --node and by discovery), shared by its job mode (Runner) and its
// session mode (Session).
#pragma once

#include "runoptions.h"

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

} // namespace taskfleet::app
