// SPDX-License-Identifier: MIT
// The Nodes menu: add a node by its address, remove, reconnect or drain the selected one.
#include "nodeactions.h"

#include "addnodedialog.h"
#include "agentnodetype.h"
#include "clustersetup.h"
#include "nodesmodel.h"
#include "nodesview.h"

#include "sched/controllerhost.h"

#include <QtGui/QAction>
#include <QtCore/QItemSelectionModel>
#include <QtWidgets/QMenu>

namespace taskfleet::gui {

NodeActions::NodeActions(sched::ControllerHost *host, NodesModel *nodes, ClusterSetup *cluster, quint16 defaultPort,
                         QWidget *dialogParent)
    : QObject(dialogParent)
    , m_host(host)
    , m_nodes(nodes)
    , m_cluster(cluster)
    , m_defaultPort(defaultPort)
    , m_dialogParent(dialogParent)
{
    add = new QAction(tr("&Add Node…"), this);
    add->setShortcut(QKeySequence(tr("Ctrl+Shift+N")));
    connect(add, &QAction::triggered, this, &NodeActions::addNode);
    remove = new QAction(tr("&Remove Node"), this);
    connect(remove, &QAction::triggered, this, [this] {
        if (const QString id = selectedNodeId(); !id.isEmpty())
            m_cluster->removeNode(id);
    });
    reconnect = new QAction(tr("Re&connect"), this);
    connect(reconnect, &QAction::triggered, this, [this] {
        if (const QString id = selectedNodeId(); !id.isEmpty())
            m_host->reconnectNode(id);
    });
    // Deadline's "suspend a worker": running tasks finish, no new ones start; unchecked, it works again.
    drain = new QAction(tr("&Drain (Take No New Tasks)"), this);
    drain->setCheckable(true);
    connect(drain, &QAction::triggered, this, [this](bool draining) {
        if (const QString id = selectedNodeId(); !id.isEmpty())
            m_host->setNodeDraining(id, draining);
    });
}

void NodeActions::addToMenu(QMenu *menu) const
{
    menu->addActions({add, remove, reconnect, drain});
}

QString NodeActions::selectedNodeId() const
{
    const QModelIndexList rows = m_view ? m_view->selectionModel()->selectedRows() : QModelIndexList();
    return rows.isEmpty() ? QString() : rows.first().data(NodesModel::NodeIdRole).toString();
}

void NodeActions::update()
{
    const int row = m_view ? m_view->selectedRow() : -1;
    const bool known = row >= 0 && row < m_nodes->nodes().size();
    const bool remote = known && !m_nodes->nodes().at(row).local;
    remove->setEnabled(remote);
    reconnect->setEnabled(remote && !m_nodes->isGone(row));
    const bool live = known && !m_nodes->isGone(row);
    drain->setEnabled(live);
    drain->setChecked(live && m_nodes->nodes().at(row).draining);
}

void NodeActions::addNode()
{
    auto *dialog = new AddNodeDialog(m_defaultPort, m_dialogParent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const int type = dialog->typeIndex();
        if (type >= 0 && type < NodeTypes::types().size())
            m_cluster->addNodeByHand(dialog->host(), dialog->port(), type);
    });
    dialog->open();
}

} // namespace taskfleet::gui
