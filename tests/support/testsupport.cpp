// SPDX-License-Identifier: MIT
#include "testsupport.h"

#include <vector>

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

bool rootTestsRequired()
{
    return qEnvironmentVariableIsSet("TASKFLEET_REQUIRE_ROOT_TESTS");
}

qint64 sumPrimesBelow(qint64 n)
{
    if (n < 3)
        return 0;
    std::vector<bool> composite(size_t(n), false);
    qint64 sum = 0;
    for (qint64 i = 2; i < n; ++i) {
        if (composite[size_t(i)])
            continue;
        sum += i;
        for (qint64 j = i * i; j < n; j += i)
            composite[size_t(j)] = true;
    }
    return sum;
}

} // namespace taskfleet::test
