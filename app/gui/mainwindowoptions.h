// SPDX-License-Identifier: MIT
// How the desktop app's window starts its controller (the command line's result, or a test's choice).
#pragma once

#include "net/discoverylistener.h"

#include <QtCore/QStringList>

#include <optional>

namespace taskfleet::gui {

/** How the window starts its controller. */
struct MainWindowOptions {
    int localWorkers = -1;      ///< -1: from the settings, else one per CPU
    QStringList pluginPaths;    ///< searched first (e.g. --plugin-path)
    QString workerProgram;      ///< empty: the default worker program
    QString exitStatisticsPath; ///< statistics CSV written when the window is destroyed
    bool useSettings = true;    ///< read AppSettings (tests turn this off)
    QStringList nodes;          ///< agents to add at start, "HOST:PORT" each (--node)
    QString secretFile;         ///< the cluster secret for agents comes from this file (--secret-file)
    QString listen;             ///< agents may dial here, "[ADDR:]PORT" (--listen); empty: as Settings say
    /** Discovery: unset = as Settings say (on, UDP port from Settings; never without useSettings); set = these sockets. */
    std::optional<net::ListenerConfig> discovery;
    /** Where Python scripts attach (taskfleet.Server(attach=True), docs/python.md); empty: they cannot. */
    QString scriptSocket;
    /** The journal's folder; empty: sched::defaultJournalDir() with useSettings, else no journal. */
    QString journalDir;
    /** Unfinished jobs of an earlier session found in the journal folder at start. */
    enum class Resume { Ask, Always, Never } resume = Resume::Ask;
};

} // namespace taskfleet::gui
