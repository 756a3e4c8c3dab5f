// SPDX-License-Identifier: MIT
// The sleep task plugin: waits a given time, for scheduling, timeout and cancellation tests.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class SleepPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "sleep.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    /** Longest sleep accepted: one day. */
    static constexpr qint64 MaxMs = 24 * 3600 * 1000;

    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
