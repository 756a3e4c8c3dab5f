// SPDX-License-Identifier: MIT
// The Taskfleet protocol version, shared by the TCP hello and the discovery beacon.
#pragma once

namespace taskfleet::protocol {

/** Bumped on breaking wire changes; peers with another major version refuse each other. */
constexpr int ProtocolMajor = 1;
/**
 * Bumped on additive wire changes; peers with the same major and another minor interoperate.
 * 1.1: heartbeat ping/pong (round-trip probe); 1.2: Slurm fields in hello; 1.3: the agent's cached plugins in hello,
 * compressed plugin uploads; 1.4: the agent's bounded store of job parameters (parameters-evicted, its size in
 * status).
 */
constexpr int ProtocolMinor = 4;

} // namespace taskfleet::protocol
