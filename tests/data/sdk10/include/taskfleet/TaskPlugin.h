// SPDX-License-Identifier: MIT
// A frozen copy of the plugin SDK header as released in SDK 1.0, to build a plugin the way an old one was built.
#pragma once

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

#define TaskfleetTaskPlugin_iid "org.taskfleet.TaskPlugin/1.0"
Q_DECLARE_INTERFACE(taskfleet::TaskPlugin, TaskfleetTaskPlugin_iid)
