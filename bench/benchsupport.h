// SPDX-License-Identifier: MIT
// Shared bits of the benchmark programs: run a job on an in-process controller and time it.
#pragma once

#include "sched/controller.h"
#include "sched/localnode.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>

namespace taskfleet::bench {

struct JobTiming {
    double wallSeconds = 0;
    qint64 ok = 0;
    qint64 notOk = 0;
};

/** Runs \a spec on a fresh controller with \a localWorkers local workers and waits for it to finish. */
inline JobTiming runLocal(const sched::JobSpec &spec, int localWorkers)
{
    sched::Controller controller;
    exec::WorkerPoolOptions options;
    options.workers = localWorkers;
    auto *local = new sched::LocalNode(options);
    controller.addNode(local);
    // Let the workers start before the clock runs: we measure the job, not process start-up.
    QElapsedTimer warm;
    warm.start();
    while (local->pool().runningWorkers() < localWorkers && warm.elapsed() < 5000)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 10);

    JobTiming t;
    QEventLoop loop;
    QObject::connect(&controller, &sched::Controller::jobFinished, &loop, &QEventLoop::quit);
    QElapsedTimer clock;
    clock.start();
    const int id = controller.submit(spec);
    if (!controller.job(id)->isOver())
        loop.exec();
    t.wallSeconds = double(clock.nsecsElapsed()) / 1e9;
    t.ok = controller.job(id)->done;
    t.notOk = controller.job(id)->total() - t.ok;
    return t;
}

} // namespace taskfleet::bench
