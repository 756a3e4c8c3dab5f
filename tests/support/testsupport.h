// SPDX-License-Identifier: MIT
// Helpers shared by the test executables.
#pragma once

#include <QtCore/QString>

namespace taskfleet::test {

/** Directory holding the built programs (taskfleet-run, taskfleet-agent, taskfleet-worker, ...). */
QString binDir();
/** Full path of a built program. */
QString program(const QString &name);
/** Directory holding the built task plugins. */
QString pluginDir();
/** Full path of a built task plugin, by its short name ("echo", "sumprimes", ...). */
QString pluginPath(const QString &name);
/** Root of the source tree (for example job files in resources/). */
QString sourceDir();

} // namespace taskfleet::test
