// SPDX-License-Identifier: MIT
// The fail task plugin: rejects every input with an error result, for error-path tests.
#include "failplugin.h"

namespace taskfleet::plugins {

QCborValue FailPlugin::run(const QCborValue &input, TaskContext &, QString *error)
{
    *error = QStringLiteral("requested failure");
    if (input.isString())
        *error += QStringLiteral(": ") + input.toString();
    return {};
}

} // namespace taskfleet::plugins
