// SPDX-License-Identifier: MIT
// Reading JSON job files, with messages that name the file, the field and what was expected.
#pragma once

#include "jobspec.h"

#include <optional>

namespace taskfleet::sched {

/**
 * Largest number of inputs one job may have (a range can describe billions). The controller keeps one
 * byte per task (a lines file 8 more), so 200 million tasks cost about 200 MB; task indices are int.
 */
constexpr qint64 MaxJobInputs = 200'000'000;
/** Largest {"lines": file} a job may name. */
constexpr qint64 MaxLinesFileSize = qint64(2) << 30;

/**
 * Parses a job file:
 * {"plugin": name-or-path, "inputs": [...] | {"range": [start, stop, step]} | {"lines": "file.txt"},
 *  "name": text, "retries": n, "timeout": seconds, "priority": n,
 *  "params": any value every task shares (JobSpec::parameters)}
 * For the python plugin, "script": "file.py", "function": name, "modules": [names] instead of "params":
 * the script is compiled by a real CPython first, so a syntax error or a missing function refuses the job.
 * A relative plugin path or lines file is taken relative to the job file's folder.
 * A key named twice in any object of the file is refused ("FILE: line L, column C: duplicate key \"plugin\"
 * (first at line L', column C') ..."), and so are NaN and infinities, which JSON does not have.
 * On failure returns nullopt and sets *error to "FILE: field \"x\": expected ..., got ...".
 */
[[nodiscard]] std::optional<JobSpec> parseJobFile(const QString &path, const exec::PluginRegistry &plugins,
                                                  QString *error);

/** The same, for JSON already in memory; \a origin names it in messages, \a baseDir resolves relative paths. */
[[nodiscard]] std::optional<JobSpec> parseJobJson(const QByteArray &json, const QString &origin, const QString &baseDir,
                                                  const exec::PluginRegistry &plugins, QString *error);

} // namespace taskfleet::sched
