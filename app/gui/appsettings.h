// SPDX-License-Identifier: MIT
// What the desktop app remembers between runs (QSettings), and the cluster secret (a 0600 file).
#pragma once

#include <QtCore/QStringList>

namespace taskfleet::gui {

/**
 * The app's settings. load()/save() use QSettings (organisation "taskfleet", application
 * "taskfleet"). The cluster secret is kept apart, in a file of its own holding just the secret
 * (the format of an agent's secret file, read with net::SecretStore::loadFile) whose permissions
 * are owner read/write (0600) before anything is written to it.
 */
struct AppSettings {
    static constexpr quint16 DefaultAgentPort = 45450;
    static constexpr quint16 DefaultDiscoveryPort = 45451;
    static constexpr quint16 DefaultListenPort = 45460; ///< net::DefaultListenPort

    int localWorkers = -1; ///< -1: one per logical CPU
    /// Megabytes of shared values (server.share(), big arrays many tasks carry) each local worker keeps; read at start.
    int valueCacheMb = DefaultValueCacheMb;
    static constexpr int DefaultValueCacheMb = 1024;
    QStringList pluginFolders;
    quint16 agentPort = DefaultAgentPort;
    quint16 discoveryPort = DefaultDiscoveryPort;
    bool discovery = true;
    bool acceptAgents = false; ///< agents may dial this computer (taskfleet-agent --connect) on listenPort
    quint16 listenPort = DefaultListenPort;
    QStringList manualNodes; ///< agents added with Nodes ▸ Add Node… ("host:port"), added again at start

    static AppSettings load();
    void save() const;

    /** The file holding the cluster secret. */
    static QString secretFilePath();
    static QString secret();
    /** Stores \a secret (empty: removes it); false with *error when the file cannot be made private. */
    static bool setSecret(const QString &secret, QString *error);
};

} // namespace taskfleet::gui
