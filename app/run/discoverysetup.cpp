// SPDX-License-Identifier: MIT
#include "discoverysetup.h"

#include "net/discoverylistener.h"
#include "net/nodeaddress.h"
#include "sched/remotenode.h"

#include <QtNetwork/QHostAddress>

#include <algorithm>
#include <cstdio>

namespace taskfleet::app {

namespace {
sched::RemoteNodeOptions nodeOptions(const RunOptions &options)
{
    sched::RemoteNodeOptions o;
    o.channel = net::ChannelOptions::fromSecret(options.secret.toUtf8());
    o.channel.handshakeTimeoutMs = std::max(1000, options.connectTimeoutSeconds * 1000);
    return o;
}
} // namespace

sched::RemoteNode *makeRemoteNode(const QString &address, const RunOptions &options)
{
    sched::RemoteNodeOptions o = nodeOptions(options);
    QString why;
    [[maybe_unused]] const bool valid = net::parseNodeAddress(address, &o.host, &o.port, &why);
    Q_ASSERT(valid); // main() refused malformed addresses before anything started
    return new sched::RemoteNode(o);
}

sched::ClusterDiscovery *makeDiscovery(sched::Controller *controller, const RunOptions &options, QObject *parent)
{
    auto *discovery = new sched::ClusterDiscovery(controller, options.secret.toUtf8(), parent);
    net::ListenerConfig config;
    config.port = options.discoveryPort;
    config.probePort = options.discoveryPort;
    if (!options.broadcast.isEmpty()) {
        config.probeAddresses.clear();
        for (const QString &a : options.broadcast)
            config.probeAddresses.append(QHostAddress(a)); // validated by main()
    }
    discovery->setListenerConfig(config);
    discovery->setNodeOptions(nodeOptions(options)); // ClusterDiscovery sets the PSK from its own secret
    return discovery;
}

sched::AgentListener *makeAgentListener(sched::Controller *controller, const RunOptions &options, QObject *parent,
                                        QString *error)
{
    QHostAddress address;
    quint16 port = 0;
    QString why;
    [[maybe_unused]] const bool valid = net::parseListenAddress(options.listen, &address, &port, &why);
    Q_ASSERT(valid);
    sched::AgentListenerOptions o;
    o.node = nodeOptions(options);
    o.server.channel = o.node.channel;
    auto *listener = new sched::AgentListener(controller, o, parent);
    if (!listener->listen(address, port)) {
        *error = QStringLiteral("--listen %1: %2").arg(options.listen, listener->errorString());
        delete listener;
        return nullptr;
    }
    // Scripts and tests read the port from here when they asked for port 0.
    std::fprintf(stderr, "taskfleet-run: agents may connect to %s\n",
                 qPrintable(net::formatNodeAddress(listener->address().toString(), listener->port())));
    std::fflush(stderr);
    return listener;
}

} // namespace taskfleet::app
