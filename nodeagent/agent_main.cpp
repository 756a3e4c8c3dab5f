// SPDX-License-Identifier: MIT
// taskfleet-agent: the node agent daemon. The command line is parsed by agentoptions.cpp (tested in-process
// by tst_agentoptions); agentdaemon.cpp runs the agent it describes.
#include "agentdaemon.h"
#include "agentoptions.h"

#include "util/allocator.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QLoggingCategory>

#include <cstdio>

using namespace taskfleet;

int main(int argc, char **argv)
{
    util::tuneAllocatorForBigValues();
    QCoreApplication app(argc, argv);
    util::trimFreeMemoryPeriodically(&app);
    QCoreApplication::setApplicationName(QStringLiteral("taskfleet-agent"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TASKFLEET_VERSION));

    agent::AgentCommandLine options;
    QString message;
    int exitCode = 0;
    if (!agent::parseCommandLine(QCoreApplication::arguments(), &options, &message, &exitCode)) {
        std::fprintf(exitCode == 0 ? stdout : stderr, "%s\n", qPrintable(message));
        return exitCode;
    }
    if (options.debug)
        QLoggingCategory::setFilterRules(QStringLiteral("tf.*.debug=true"));
    return agent::runAgent(std::move(options));
}
