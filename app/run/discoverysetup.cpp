// SPDX-License-Identifier: MIT
#include "discoverysetup.h"

#include "runner.h" // parseNodeAddress

#include "net/discoverylistener.h"
#include "sched/remotenode.h"

#include <QtNetwork/QHostAddress>

#include <algorithm>

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
    [[maybe_unused]] const bool valid = parseNodeAddress(address, &o.host, &o.port, &why);
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

} // namespace taskfleet::app
