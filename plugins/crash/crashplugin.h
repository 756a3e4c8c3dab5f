// SPDX-License-Identifier: MIT
// The crash task plugin: ends its worker process in a chosen way, for fault-tolerance tests.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class CrashPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "crash.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
