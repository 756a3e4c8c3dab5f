// SPDX-License-Identifier: MIT
// The nodes most integration tests give a Controller: a local node without workers (so that every task goes
// to the agents), and a RemoteNode to an agent on 127.0.0.1 with the cluster secret.
#pragma once

#include "exec/workerpool.h"
#include "net/securechannel.h"
#include "sched/controller.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

namespace taskfleet::test {

/** Adds a local node with \a workers workers (0: it runs nothing, the agents run every task). */
inline void addLocalNode(sched::Controller &controller, int workers = 0)
{
    exec::WorkerPoolOptions options;
    options.workers = workers;
    controller.addNode(new sched::LocalNode(options));
}

/** The options of a node for the agent at 127.0.0.1:\a port with \a secret (the rest at their defaults). */
inline sched::RemoteNodeOptions loopbackNodeOptions(quint16 port, const QByteArray &secret)
{
    sched::RemoteNodeOptions options;
    options.host = QStringLiteral("127.0.0.1");
    options.port = port;
    options.channel = net::ChannelOptions::fromSecret(secret);
    return options;
}

/** A RemoteNode with \a options, added to \a controller and started (not yet online). */
inline sched::RemoteNode *startRemoteNode(sched::Controller &controller, const sched::RemoteNodeOptions &options)
{
    auto *node = new sched::RemoteNode(options);
    controller.addNode(node);
    node->start();
    return node;
}

} // namespace taskfleet::test
