// SPDX-License-Identifier: MIT
// The echo task plugin: returns its input unchanged, to measure the cost of a task round trip.
#include "echoplugin.h"

namespace taskfleet::plugins {

QCborValue EchoPlugin::run(const QCborValue &input, TaskContext &, QString *)
{
    // Deliberately nothing else: benchmarks use echo to measure pure dispatch overhead.
    return input;
}

} // namespace taskfleet::plugins
