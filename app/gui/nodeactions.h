// SPDX-License-Identifier: MIT
// The Nodes menu: add a node by its address, remove, reconnect or drain the selected one.
#pragma once

#include <QtCore/QObject>

class QAction;
class QMenu;
class QWidget;

namespace taskfleet::sched {
class ControllerHost;
}

namespace taskfleet::gui {

class ClusterSetup;
class NodesModel;
class NodesView;

/**
 * The actions on nodes (the Nodes menu, the Nodes table's context menu): Add Node… opens AddNodeDialog over
 * \a dialogParent; Remove and Reconnect are for remote nodes; Drain (checkable) for any node still there.
 */
class NodeActions : public QObject
{
    Q_OBJECT

public:
    NodeActions(sched::ControllerHost *host, NodesModel *nodes, ClusterSetup *cluster, quint16 defaultPort,
                QWidget *dialogParent);
    void setView(NodesView *view) { m_view = view; }
    void addToMenu(QMenu *menu) const;
    /** Enables each action for the selected node as it is now. */
    void update();
    /** Nodes ▸ Add Node…: the dialog, then the node (remembered for the next start). */
    void addNode();
    void setDefaultPort(quint16 port) { m_defaultPort = port; }

    QAction *add = nullptr;
    QAction *remove = nullptr;
    QAction *reconnect = nullptr;
    QAction *drain = nullptr;

private:
    QString selectedNodeId() const;

    sched::ControllerHost *m_host;
    NodesModel *m_nodes;
    ClusterSetup *m_cluster;
    quint16 m_defaultPort;
    QWidget *m_dialogParent;
    NodesView *m_view = nullptr;
};

} // namespace taskfleet::gui
