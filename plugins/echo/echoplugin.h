// SPDX-License-Identifier: MIT
// The echo task plugin: returns its input unchanged, to measure the cost of a task round trip.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class EchoPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "echo.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
