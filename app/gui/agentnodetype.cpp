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
    NodeTypes::registerType(agentNodeTypeName(), [](const QString &host, quint16 port, const QString &secret) -> sched::Node * {
        sched::RemoteNodeOptions options;
        options.host = host;
        options.port = port;
        options.channel = net::ChannelOptions::fromSecret(secret.toUtf8());
        return new sched::RemoteNode(options); // ControllerHost::addNode starts it once the controller has it
    });
}

bool parseNodeAddress(const QString &text, QString *host, quint16 *port, QString *why)
{
    const QString t = text.trimmed();
    qsizetype colon = -1;
    QString h;
    if (t.startsWith(QLatin1Char('['))) {
        const qsizetype close = t.indexOf(QLatin1Char(']'));
        if (close < 0 || close + 1 >= t.size() || t.at(close + 1) != QLatin1Char(':')) {
            *why = QStringLiteral("expected [IPv6]:PORT");
            return false;
        }
        h = t.mid(1, close - 1);
        colon = close + 1;
    } else {
        colon = t.lastIndexOf(QLatin1Char(':'));
        if (colon < 0) {
            *why = QStringLiteral("the port is missing: expected HOST:PORT (agents listen on 45450 by default)");
            return false;
        }
        h = t.left(colon);
        if (h.contains(QLatin1Char(':'))) {
            *why = QStringLiteral("write IPv6 addresses as [ADDRESS]:PORT");
            return false;
        }
    }
    bool ok = false;
    const uint p = t.mid(colon + 1).toUInt(&ok);
    if (h.isEmpty()) {
        *why = QStringLiteral("the host is missing: expected HOST:PORT");
        return false;
    }
    if (!ok || p == 0 || p > 65535) {
        *why = QStringLiteral("\"%1\" is not a port number (1-65535)").arg(t.mid(colon + 1));
        return false;
    }
    *host = h;
    *port = quint16(p);
    return true;
}

} // namespace taskfleet::gui
