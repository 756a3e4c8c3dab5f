// SPDX-License-Identifier: MIT
// How the window's controller reaches agents: the cluster secret, nodes added by address, discovery, dial-in.
#pragma once

#include "appsettings.h"
#include "mainwindowoptions.h"

#include "net/secretstore.h"
#include "sched/controllerhost.h"

#include <QtCore/QObject>

namespace taskfleet::gui {

class NodesModel;

/**
 * The window's cluster, without a widget: the cluster secret (--secret-file, Settings, TASKFLEET_SECRET), remote
 * nodes added by address (--node, Settings' manual nodes, Nodes ▸ Add Node…), discovery and the listener agents
 * dial (--listen or Settings), re-applied when Settings change. Says what it does through logged(), what went
 * wrong through errorRaised(), and how agents join through agentsHintChanged() (the status bar's word).
 */
class ClusterSetup : public QObject
{
    Q_OBJECT

public:
    /** \a settings is the window's (read, and written when the user adds or removes a node). */
    ClusterSetup(sched::ControllerHost *host, NodesModel *nodes, MainWindowOptions options, AppSettings *settings,
                 QObject *parent = nullptr);

    /** The cluster secret for agents, or not ok() with the reason. */
    net::SecretResult clusterSecret() const;
    /** Adds a remote node of type \a typeIndex (NodeTypes::types()) at host:port; false with *error (also raised). */
    bool addRemoteNode(const QString &host, quint16 port, int typeIndex = 0, QString *error = nullptr);
    /** The nodes of --node (a bad address raised), then, with Settings, the ones the user added by hand. */
    void addStartNodes();
    /** Nodes ▸ Add Node…: \a host may be "host:port"; remembered in Settings for the next start. */
    void addNodeByHand(QString host, quint16 port, int typeIndex);
    /** Nodes ▸ Remove Node: gone from the table, the controller and Settings' list. */
    void removeNode(const QString &nodeId);
    /** Starts or stops discovery as the options and Settings say (it needs the secret). */
    void applyDiscovery();
    /** Lets agents dial in, or not, as --listen or Settings say (it needs the secret). */
    void applyAgentListener();
    /** Re-applies what changed from \a old to the current settings (discovery, listener, local workers). */
    void applySettings(const AppSettings &old, bool secretChanged);

signals:
    void logged(const QString &message);
    void errorRaised(const QString &message);
    /** How agents join (rich text with links "settings" and "add"), whether it is a warning, and why. */
    void agentsHintChanged(const QString &html, bool warning, const QString &why);

private:
    sched::ControllerHost *m_host;
    NodesModel *m_nodes;
    MainWindowOptions m_options;
    AppSettings *m_settings;
};

} // namespace taskfleet::gui
