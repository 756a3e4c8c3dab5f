// SPDX-License-Identifier: MIT
// Where the window's jobs come from: job files, the examples built into the app, and what a dropped file is.
#pragma once

#include "exec/pluginregistry.h"
#include "sched/jobspec.h"

#include <QtCore/QStringList>

#include <optional>

namespace taskfleet::gui::jobsources {

/** Makes the app's embedded resources (icons, example jobs and their scripts) available; any call does it. */
void initResources();
/** Example job files embedded in the app (file names, the Mandelbrot picture first). */
QStringList exampleJobs();
/**
 * What the Examples menu calls an example: the job's "name" with a capital, else its file name made readable;
 * \a brief cuts it before a comma or parenthesis (the welcome bar's buttons).
 */
QString exampleTitle(const QString &fileName, bool brief = false);
/** The embedded example \a fileName as a job (named after its file when it has no name), or none with *error. */
std::optional<sched::JobSpec> example(const QString &fileName, const exec::PluginRegistry &registry, QString *error);
/** The job file \a path as a job (named after the file when it has no name), or none with *error. */
std::optional<sched::JobSpec> jobFile(const QString &path, const exec::PluginRegistry &registry, QString *error);
/** A task plugin by its suffix (.so, .dylib, .dll). */
bool looksLikePlugin(const QString &path);
/** A Python script (.py). */
bool looksLikePython(const QString &path);

} // namespace taskfleet::gui::jobsources
