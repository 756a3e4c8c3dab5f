// SPDX-License-Identifier: MIT
// An out-of-tree example task plugin: squares an integer.
#pragma once

#include <taskfleet/TaskPlugin.h>

/** Squares its integer input; rejects anything else with an error result. */
class SquarePlugin : public QObject, public taskfleet::TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "square.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    QCborValue run(const QCborValue &input, taskfleet::TaskContext &context, QString *error) override;
};
