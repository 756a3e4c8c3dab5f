// SPDX-License-Identifier: MIT
// A plugin built against the SDK 1.0 header (tests/data/sdk10/include): doubles an integer. Newer workers
// must still load and run it (the SDK only appends to TaskContext).
#pragma once

#include <taskfleet/TaskPlugin.h>

#ifdef TASKFLEET_SDK_VERSION_MINOR
#error "this plugin must be built against the SDK 1.0 header, not the current one"
#endif

class Sdk10Doubler : public QObject, public taskfleet::TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "doubler.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    QCborValue run(const QCborValue &input, taskfleet::TaskContext &context, QString *error) override
    {
        context.reportProgress(0.5);
        if (context.isCancelled()) {
            *error = QStringLiteral("cancelled");
            return {};
        }
        return input.toInteger() * 2;
    }
};
