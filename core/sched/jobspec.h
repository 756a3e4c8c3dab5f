// SPDX-License-Identifier: MIT
// What a job is before it runs: a plugin, its inputs and options.
#pragma once

#include "exec/pluginregistry.h"
#include "exec/workerprotocol.h"
#include "jobinputs.h"

#include <QtCore/QCborValue>
#include <QtCore/QHash>
#include <QtCore/QVector>

namespace taskfleet::sched {

/** A job as read from a job file (or built by a program): N inputs make N tasks. */
struct JobSpec {
    QString name;
    exec::PluginInfo plugin;
    JobInputs inputs; ///< a list, or a range made on demand
    /** One value every task shares (the python plugin's code); null for none. Sent once per node. */
    QCborValue parameters;
    /** parameters, hashed already (a client that submits the same parameters many times keeps the hash). */
    exec::JobParametersPtr hashedParameters;
    int retries = 2;      ///< extra attempts after a worker crash or timeout
    qint64 timeoutMs = 0; ///< per task; 0 means none
    int priority = 0;     ///< higher runs first
    QString sourceFile;   ///< the job file it came from, if any
    QString origin;       ///< who submitted it when not the program's own user (an attached script); empty: the user
    /**
     * Tasks that ended before this job was submitted (a resumed job's results from a journal): task index ->
     * how it ended (stats::TaskStatus as int: Ok, Error, Failed or Cancelled). They never run; the job counts
     * them from the start, so its indices, total and progress are the original job's. Its rate and ETA count
     * only the tasks it runs.
     */
    QHash<int, int> endedBefore;
    /** The submitter's own mark, handed back unchanged with the job's id (0: none); never journaled. */
    quint64 ticket = 0;
};

} // namespace taskfleet::sched
