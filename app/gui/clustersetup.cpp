// SPDX-License-Identifier: MIT
// How the window's controller reaches agents: the cluster secret, nodes added by address, discovery, dial-in.
#include "clustersetup.h"

#include "addnodedialog.h"
#include "agentnodetype.h"
#include "net/nodeaddress.h"
#include "nodesmodel.h"

#include <QtCore/QThread>

namespace taskfleet::gui {

ClusterSetup::ClusterSetup(sched::ControllerHost *host, NodesModel *nodes, MainWindowOptions options,
                           AppSettings *settings, QObject *parent)
    : QObject(parent)
    , m_host(host)
    , m_nodes(nodes)
    , m_options(std::move(options))
    , m_settings(settings)
{
}

net::SecretResult ClusterSetup::clusterSecret() const
{
    net::SecretSources sources;
    sources.file = m_options.secretFile;
    if (m_options.useSettings)
        sources.storedFile = AppSettings::secretFilePath();
    sources.missing = tr("no cluster secret: set it in File ▸ Settings (the agent prints where its secret is stored), "
                         "or start the app with --secret-file FILE or TASKFLEET_SECRET");
    return net::SecretStore::lookup(sources);
}

bool ClusterSetup::addRemoteNode(const QString &host, quint16 port, int typeIndex, QString *error)
{
    const QVector<NodeTypes::Type> types = NodeTypes::types();
    QString why;
    const net::SecretResult secret = clusterSecret();
    if (typeIndex < 0 || typeIndex >= types.size())
        why = tr("no such node type");
    else if (host.trimmed().isEmpty() || port == 0)
        why = tr("expected a host and a port");
    else if (!secret.ok())
        why = secret.error;
    if (!why.isEmpty()) {
        emit errorRaised(tr("cannot add node %1:%2: %3").arg(host).arg(port).arg(why));
        if (error)
            *error = why;
        return false;
    }
    for (const QString &w : secret.warnings)
        emit logged(w);
    const NodeTypes::Factory factory = types.at(typeIndex).factory;
    const QString s = QString::fromUtf8(secret.secret);
    const QString h = host.trimmed();
    m_nodes->remember(net::formatNodeAddress(h, port));
    m_host->addNode([factory, h, port, s] { return factory(h, port, s); });
    emit logged(tr("adding node %1:%2 (%3)").arg(h).arg(port).arg(types.at(typeIndex).name));
    return true;
}

void ClusterSetup::addStartNodes()
{
    for (const QString &address : std::as_const(m_options.nodes)) {
        QString host, why;
        quint16 port = 0;
        if (net::parseNodeAddress(address, &host, &port, &why))
            addRemoteNode(host, port);
        else
            emit errorRaised(tr("node %1: %2").arg(address, why));
    }
    if (!m_options.useSettings)
        return;
    for (const QString &address : std::as_const(m_settings->manualNodes)) {
        QString host, why;
        quint16 port = 0;
        if (net::parseNodeAddress(address, &host, &port, &why) && !m_options.nodes.contains(address))
            addRemoteNode(host, port);
    }
}

void ClusterSetup::addNodeByHand(QString host, quint16 port, int typeIndex)
{
    QString why;
    // "host:port" typed in the host field
    if (host.contains(QLatin1Char(':')) && !net::parseNodeAddress(host, &host, &port, &why)) {
        emit errorRaised(tr("node %1: %2").arg(host, why));
        return;
    }
    if (addRemoteNode(host, port, typeIndex) && m_options.useSettings) {
        const QString address = net::formatNodeAddress(host, port);
        if (!m_settings->manualNodes.contains(address)) {
            m_settings->manualNodes.append(address); // added again at the next start
            m_settings->save();
        }
    }
}

void ClusterSetup::removeNode(const QString &nodeId)
{
    m_nodes->forget(nodeId); // a departed node's row goes at once; a live one's is not kept when it leaves
    m_host->removeNode(nodeId);
    if (m_options.useSettings && m_settings->manualNodes.removeAll(nodeId) > 0)
        m_settings->save();
}

void ClusterSetup::applyDiscovery()
{
    std::optional<net::ListenerConfig> config = m_options.discovery;
    if (!config && m_options.useSettings && m_settings->discovery) {
        config.emplace();
        config->port = m_settings->discoveryPort;
        config->probePort = m_settings->discoveryPort;
    }
    const QString addByHand = tr("<a href=\"add\">add one by its address</a>");
    if (!config) {
        m_host->disableDiscovery();
        emit agentsHintChanged(tr("Agents: discovery is off (File ▸ Settings); %1").arg(addByHand), false, {});
        return;
    }
    const net::SecretResult secret = clusterSecret();
    if (!secret.ok()) {
        m_host->disableDiscovery();
        emit logged(tr("discovery off: %1").arg(secret.error));
        emit agentsHintChanged(
            tr("Agents: discovery off, no cluster secret: <a href=\"settings\">set one in Settings</a>"), true,
            secret.error);
        return;
    }
    m_host->enableDiscovery(*config, secret.secret);
    emit agentsHintChanged(
        tr("Agents: found by discovery (UDP %1) when they have this cluster secret").arg(config->probePort), false, {});
}

void ClusterSetup::applyAgentListener()
{
    QHostAddress address = QHostAddress::Any;
    quint16 port = m_settings->listenPort;
    QString why;
    if (!m_options.listen.isEmpty()) {
        if (!net::parseListenAddress(m_options.listen, &address, &port, &why))
            return emit logged(tr("agents cannot connect: --listen %1: %2").arg(m_options.listen, why));
    } else if (!m_options.useSettings || !m_settings->acceptAgents) {
        return m_host->disableAgentListener();
    }
    const net::SecretResult secret = clusterSecret();
    if (!secret.ok()) {
        m_host->disableAgentListener();
        return emit logged(tr("agents cannot connect: %1").arg(secret.error));
    }
    m_host->enableAgentListener(address, port, secret.secret);
}

void ClusterSetup::applySettings(const AppSettings &old, bool secretChanged)
{
    if (secretChanged || m_settings->discovery != old.discovery || m_settings->discoveryPort != old.discoveryPort)
        applyDiscovery();
    if (secretChanged || m_settings->acceptAgents != old.acceptAgents || m_settings->listenPort != old.listenPort)
        applyAgentListener();
    if (m_settings->localWorkers != old.localWorkers)
        m_host->setNodeWorkerCount(QStringLiteral("local"), m_settings->localWorkers >= 0
                                                                ? m_settings->localWorkers
                                                                : QThread::idealThreadCount());
}

} // namespace taskfleet::gui
