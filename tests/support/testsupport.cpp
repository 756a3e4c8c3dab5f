// SPDX-License-Identifier: MIT
#include "testsupport.h"

namespace taskfleet::test {

QString binDir()
{
    return QStringLiteral(TF_BIN_DIR);
}

QString program(const QString &name)
{
    return binDir() + QLatin1Char('/') + name;
}

QString pluginDir()
{
    return QStringLiteral(TF_PLUGIN_DIR);
}

QString pluginPath(const QString &name)
{
    return pluginDir() + QStringLiteral("/libtaskfleet_") + name + QStringLiteral(".so");
}

QString sourceDir()
{
    return QStringLiteral(TF_SOURCE_DIR);
}

} // namespace taskfleet::test
