// SPDX-License-Identifier: MIT
// The fail task plugin: rejects every input with an error result, for error-path tests.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class FailPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "fail.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
