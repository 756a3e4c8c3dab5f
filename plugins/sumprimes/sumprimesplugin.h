// SPDX-License-Identifier: MIT
// The sumprimes task plugin: the Parallel Python demo, sum of the primes below n by trial division.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class SumPrimesPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "sumprimes.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    /** Largest n accepted: the sum of the primes below it still fits in 64 bits. */
    static constexpr qint64 MaxN = qint64(1) << 32;

    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
