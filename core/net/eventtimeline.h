// SPDX-License-Identifier: MIT
// A timeline of link events (connect, TLS, hello, plugin, run, results) for measuring where round trips go.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>

namespace taskfleet::net {

/**
 * Off unless the environment variable TASKFLEET_TIMELINE names a file: then every timelineEvent() appends one
 * line "EPOCH_MICROSECONDS SIDE NODE EVENT [DETAIL]" to it (SIDE "ctl" or "agent", NODE the agent's
 * "host:port"), one write() per line on an O_APPEND descriptor, so a controller and agents on the same machine
 * (network namespaces share the clock) can write to one file. bench/bench_distance_netsim.sh reads it
 * (docs/scale.md, "Distance"). When off, a call costs one test of a cached flag.
 */
bool timelineEnabled();

/** Appends one event; nothing when the timeline is off. */
void timelineEvent(const char *side, const QString &node, const char *event, const QByteArray &detail = {});

} // namespace taskfleet::net
