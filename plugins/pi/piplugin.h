// SPDX-License-Identifier: MIT
// The pi task plugin: counts random points of the unit square that fall in the quarter circle.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class PiPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "pi.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
