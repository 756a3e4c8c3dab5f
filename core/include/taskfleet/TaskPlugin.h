// SPDX-License-Identifier: MIT
// The Taskfleet plugin SDK: the only header a task plugin needs. It depends on QtCore alone.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborValue>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QtPlugin>

namespace taskfleet {

/**
 * What a running task may ask of the worker that runs it.
 *
 * Owned by the worker; valid only during the call to TaskPlugin::run(). Both functions are
 * cheap and may be called as often as the plugin likes (progress is forwarded at a bounded rate).
 */
class TaskContext
{
public:
    virtual ~TaskContext() = default;

    /** True once the controller no longer wants this result (job cancelled, or another copy won). */
    virtual bool isCancelled() const = 0;

    /** Reports how far the task is, from 0.0 to 1.0. */
    virtual void reportProgress(double fraction) = 0;

    // ---- SDK 1.1. Appended, never inserted: a plugin built against 1.0 calls only the functions
    // above, whose places in the table of virtual functions stay where they were, so it still loads
    // and runs. The defaults keep a TaskContext written against 1.0 (tests, other hosts) compiling.

    /**
     * The job's parameters: one value shared by every task of the job (for the python plugin: its
     * source code and function name). It reaches each node once per job and each worker once,
     * whatever the number of tasks. Null when the job has none.
     */
    virtual QCborValue jobParameters() const { return {}; }

    /**
     * A digest (SHA-256 of the parameters' CBOR encoding) that changes exactly when jobParameters()
     * does: a plugin may key what it prepares once per job (compiled code) by it. Empty when none.
     */
    virtual QByteArray jobParametersId() const { return {}; }

    /**
     * Text the task printed or logged, kept with its result (as Parallel Python forwards a task's
     * output to its client). May be called several times; the pieces are joined in order and
     * bounded by the worker (the end is kept, with a marker, past 1 MiB).
     */
    virtual void appendOutput(const QString &text) { Q_UNUSED(text); }
};

/**
 * A task plugin: a pure function from one input value to one output value.
 *
 * The worker process creates the plugin instance once and calls run() for every task of every
 * job that names this plugin, one task at a time, always on the same thread. Inputs and outputs
 * are CBOR values: job files give JSON, which maps onto CBOR one to one; byte strings (images,
 * blobs) travel without base64 inside the cluster.
 *
 * To fail a task for *this input*, set *error to a message and return anything (or throw a
 * std::exception: the worker catches it and uses its what() as the message): the task ends with
 * an error result and is not retried. A crash, a call to exit() or a hang past the job's timeout
 * ends only the worker process; the controller then retries the task within the job's retry
 * budget, and marks it failed once it has ended workers on several nodes.
 */
class TaskPlugin
{
public:
    virtual ~TaskPlugin() = default;

    /** Runs one task. Must be safe to call again after an earlier call set *error. */
    virtual QCborValue run(const QCborValue &input, TaskContext &context, QString *error) = 0;
};

} // namespace taskfleet

/// The SDK's version. A minor version only appends to TaskContext, so the plugin interface id below
/// (checked when a plugin loads) stays 1.0 and plugins built against any 1.x header load.
#define TASKFLEET_SDK_VERSION_MAJOR 1
#define TASKFLEET_SDK_VERSION_MINOR 1

#define TaskfleetTaskPlugin_iid "org.taskfleet.TaskPlugin/1.0"
Q_DECLARE_INTERFACE(taskfleet::TaskPlugin, TaskfleetTaskPlugin_iid)
