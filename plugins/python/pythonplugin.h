// SPDX-License-Identifier: MIT
// The python task plugin: calls a Python function per input in an embedded CPython 3 (Parallel Python's workload).
#pragma once

#include <taskfleet/TaskPlugin.h>

#include <memory>

namespace taskfleet::plugins {

/**
 * Calls the job's Python function for each input, in one CPython interpreter per worker process.
 *
 * The job's parameters are a map {"source", "function", "modules" (optional), "filename" (optional)}.
 * The interpreter starts on the first task (without Python's signal handlers) and is never finalized.
 * Each job's source is executed once per worker, keyed by TaskContext::jobParametersId(), in a fresh
 * module named "__main__" with "modules" imported into it first; the last 8 jobs stay prepared. While a
 * job's task runs, sys.modules["__main__"] is that job's module, so pickles naming __main__.X resolve.
 *
 * Inputs: an array is the positional arguments, a byte string a pickled argument tuple (the result is
 * then returned pickled), anything else the single argument. A result that has no CBOR form, or an
 * exception (its traceback text), is the task's error. What the call prints to sys.stdout and sys.stderr
 * goes to TaskContext::appendOutput(). run() must always be called from the thread that first called it:
 * that thread holds the GIL for the life of the process.
 */
class PythonPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "python.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    /** Jobs kept prepared (compiled and executed) per worker; the least recently used goes first. */
    static constexpr int MaxPreparedJobs = 8;
    /**
     * ... and by default at most this many bytes of their shared values (beyond it, only the job in use). A worker
     * pool sets the bound in TASKFLEET_WORKER_VALUE_CACHE (its workers' cache of values: the same bytes, unpickled).
     */
    static constexpr qint64 MaxSharedBytes = qint64(1) << 30;
    static qint64 sharedBytesBound();

    PythonPlugin();
    ~PythonPlugin() override;

    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace taskfleet::plugins
