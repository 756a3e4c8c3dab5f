// SPDX-License-Identifier: MIT
// The mandelbrot task plugin: renders one square tile of a view of the Mandelbrot set.
#pragma once

#include <taskfleet/TaskPlugin.h>

namespace taskfleet::plugins {

class MandelbrotPlugin : public QObject, public TaskPlugin
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID TaskfleetTaskPlugin_iid FILE "mandelbrot.json")
    Q_INTERFACES(taskfleet::TaskPlugin)

public:
    static constexpr qint64 MaxSize = 1024;
    static constexpr qint64 MaxTiles = 256;
    static constexpr qint64 MaxIterations = 100000;

    QCborValue run(const QCborValue &input, TaskContext &context, QString *error) override;
};

} // namespace taskfleet::plugins
