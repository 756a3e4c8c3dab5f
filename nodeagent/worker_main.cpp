// SPDX-License-Identifier: MIT
// taskfleet-worker: runs task plugins for a worker pool; started by the pool, never by hand.
#include "exec/workerprocess.h"
#include "util/allocator.h"

#include <QtCore/QCoreApplication>

#include <cstdio>
#include <cstring>

int main(int argc, char **argv)
{
    if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::puts("taskfleet-worker: runs Taskfleet task plugins for a worker pool.\n"
                  "It speaks the worker protocol on stdin/stdout and is started by taskfleet-agent,\n"
                  "taskfleet-run or taskfleet; there is no reason to run it by hand.");
        return 0;
    }
    taskfleet::util::tuneAllocatorForBigValues();
    QCoreApplication app(argc, argv);
    taskfleet::exec::runWorkerProcess();
}
