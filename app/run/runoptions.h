// SPDX-License-Identifier: MIT
// Everything taskfleet-run was asked to do, parsed from its command line.
#pragma once

#include <QtCore/QStringList>

namespace taskfleet::app {

/** Exit codes of taskfleet-run. */
enum ExitCode {
    ExitAllOk = 0,
    ExitSomeFailed = 1,
    ExitBadUsage = 2,
    ExitNoNode = 3,
};

struct RunOptions {
    QStringList jobFiles;
    QString resultsFile;   ///< empty: stdout
    QString statsCsv;      ///< empty: none
    int localWorkers = -1; ///< -1: logical CPU count
    QStringList pluginPaths;
    bool progress = false;
    bool keepOrder = false;
    bool restartWorkers = false;
    bool speculation = true;
    qint64 maxValueBytes = 0; ///< --max-value in bytes; 0: the controller's default (an eighth of the memory)
    QStringList nodes;        ///< host:port of agents
    QString secret;           ///< the cluster secret, already loaded
    int connectTimeoutSeconds = 10;
    QString journalFile; ///< empty: a new file in sched::defaultJournalDir()
    bool noJournal = false;
    QString resumeFile;            ///< finish the unfinished jobs of this journal
    bool discover = false;         ///< --discover: find agents by UDP broadcast (docs/discovery.md)
    int discoverWaitSeconds = 2;   ///< with no other node: how long to wait for an agent before exit 3
    quint16 discoveryPort = 45451; ///< --discovery-port
    QStringList broadcast;         ///< --broadcast addresses for probes (empty: 255.255.255.255)
    QString listen; ///< --listen [ADDR:]PORT: agents may dial in (taskfleet-agent --connect); empty: no listener
    int listenWaitSeconds
        = -1; ///< --listen-wait: with no other node, wait this long for an agent; -1: --connect-timeout
};

} // namespace taskfleet::app
