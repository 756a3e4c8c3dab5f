// SPDX-License-Identifier: MIT
#include "nodeaddress.h"

namespace taskfleet::net {

bool parseNodeAddress(const QString &text, QString *host, quint16 *port, QString *why)
{
    const QString t = text.trimmed();
    QString h;
    QString p;
    if (t.startsWith(QLatin1Char('['))) {
        const qsizetype close = t.indexOf(QLatin1Char(']'));
        if (close < 0) {
            *why = QStringLiteral("unterminated [IPv6] address: expected [ADDRESS]:PORT");
            return false;
        }
        h = t.mid(1, close - 1);
        const QString rest = t.mid(close + 1);
        if (!rest.isEmpty() && !rest.startsWith(QLatin1Char(':'))) {
            *why = QStringLiteral("expected [ADDRESS]:PORT");
            return false;
        }
        p = rest.mid(1);
    } else {
        const qsizetype colon = t.lastIndexOf(QLatin1Char(':'));
        if (colon >= 0 && t.indexOf(QLatin1Char(':')) != colon) {
            *why = QStringLiteral("write IPv6 addresses as [ADDRESS]:PORT");
            return false;
        }
        h = colon < 0 ? t : t.left(colon);
        p = colon < 0 ? QString() : t.mid(colon + 1);
    }
    if (h.isEmpty()) {
        *why = QStringLiteral("the host is missing: expected HOST:PORT");
        return false;
    }
    if (p.isEmpty()) {
        *why = QStringLiteral("the port is missing: expected HOST:PORT (taskfleet-agent listens on 45450 by default)");
        return false;
    }
    bool ok = false;
    const uint n = p.toUInt(&ok);
    if (!ok || n == 0 || n > 65535) {
        *why = QStringLiteral("\"%1\" is not a port number (1-65535)").arg(p);
        return false;
    }
    *host = h;
    *port = quint16(n);
    return true;
}

QString formatNodeAddress(const QString &host, quint16 port)
{
    return host.contains(QLatin1Char(':')) ? QStringLiteral("[%1]:%2").arg(host).arg(port)
                                           : QStringLiteral("%1:%2").arg(host).arg(port);
}

} // namespace taskfleet::net
