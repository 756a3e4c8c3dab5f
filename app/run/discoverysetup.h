// SPDX-License-Identifier: MIT
// taskfleet-run's discovery, shared by its job mode (Runner) and its session mode (Session).
#pragma once

#include "runoptions.h"

#include "sched/clusterdiscovery.h"

namespace taskfleet::app {

/**
 * A ClusterDiscovery for \a controller configured from \a options (port, probe addresses, connect
 * timeout), owned by \a parent. Not started: the caller connects its signals, then calls start().
 */
sched::ClusterDiscovery *makeDiscovery(sched::Controller *controller, const RunOptions &options, QObject *parent);

} // namespace taskfleet::app
