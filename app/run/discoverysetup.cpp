// SPDX-License-Identifier: MIT
#include "discoverysetup.h"

#include "net/discoverylistener.h"
#include "sched/remotenode.h"

#include <QtNetwork/QHostAddress>

#include <algorithm>

namespace taskfleet::app {

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
    sched::RemoteNodeOptions nodeOptions;
    nodeOptions.channel.handshakeTimeoutMs = std::max(1000, options.connectTimeoutSeconds * 1000);
    discovery->setNodeOptions(nodeOptions);
    return discovery;
}

} // namespace taskfleet::app
