// SPDX-License-Identifier: MIT
// The worker side: the main loop of a `taskfleet-worker` process.
#pragma once

namespace taskfleet::exec {

/**
 * The environment variable through which a pool tells its workers its own pid. A worker whose
 * parent is no longer that pid was orphaned before it could arm PR_SET_PDEATHSIG and ends.
 * Comparing with the real starter (not with 1) lets an agent run as PID 1 in a container.
 */
inline constexpr char WorkerParentPidVariable[] = "TASKFLEET_POOL_PID";
/// Plugins (paths, ':'-separated) a worker loads as it starts, before its first task: WorkerPoolOptions::preloadPlugins.
inline constexpr char WorkerPreloadVariable[] = "TASKFLEET_WORKER_PRELOAD";
/// How many bytes of job parameters (shared values) a worker keeps: WorkerPoolOptions::valueCacheBytes. The python
/// plugin bounds the unpickled values it keeps by the same number.
inline constexpr char WorkerValueCacheVariable[] = "TASKFLEET_WORKER_VALUE_CACHE";

/**
 * Runs the worker protocol on stdin (frames from the pool) and the original stdout (frames to
 * the pool) until told to quit or until the pool goes away. Never returns normally: it ends the
 * process. Plugin code runs on the calling thread; a reader thread takes frames off stdin (so
 * cancellation reaches a running task) and a watchdog thread enforces per-task timeouts.
 *
 * What plugins print to stdout is sent to stderr, so it can never corrupt the frame stream.
 * A crash signal inside a plugin sends a note naming the task before the process dies.
 */
[[noreturn]] void runWorkerProcess();

} // namespace taskfleet::exec
