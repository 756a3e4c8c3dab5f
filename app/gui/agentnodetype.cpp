// SPDX-License-Identifier: MIT
// The node types built into the app (a taskfleet-agent over TLS-PSK) and "HOST:PORT" parsing.
#include "agentnodetype.h"

#include "addnodedialog.h"

#include "net/securechannel.h"
#include "sched/remotenode.h"

namespace taskfleet::gui {

QString agentNodeTypeName()
{
    return QStringLiteral("Taskfleet agent (TLS-PSK)");
}

void registerBuiltinNodeTypes()
{
    static bool done = false; // GUI thread only
    if (done)
        return;
    done = true;
    NodeTypes::registerType(
        agentNodeTypeName(), [](const QString &host, quint16 port, const QString &secret) -> sched::Node * {
            sched::RemoteNodeOptions options;
            options.host = host;
            options.port = port;
            options.channel = net::ChannelOptions::fromSecret(secret.toUtf8());
            return new sched::RemoteNode(options); // ControllerHost::addNode starts it once the controller has it
        });
}

} // namespace taskfleet::gui
