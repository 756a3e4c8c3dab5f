// SPDX-License-Identifier: MIT
#include "nodeaddress.h"

namespace taskfleet::net {

bool parseNodeAddress(const QString &text, QString *host, quint16 *port, QString *why, quint16 defaultPort)
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
        if (rest.isEmpty() && defaultPort != 0)
            p = QString::number(defaultPort);
        else
            p = rest.mid(1);
    } else {
        const qsizetype colon = t.lastIndexOf(QLatin1Char(':'));
        if (colon >= 0 && t.indexOf(QLatin1Char(':')) != colon) {
            *why = QStringLiteral("write IPv6 addresses as [ADDRESS]:PORT");
            return false;
        }
        h = colon < 0 ? t : t.left(colon);
        p = colon < 0 ? (defaultPort != 0 ? QString::number(defaultPort) : QString()) : t.mid(colon + 1);
    }
    if (h.isEmpty()) {
        *why = QStringLiteral("the host is missing: expected HOST:PORT");
        return false;
    }
    if (p.isEmpty()) {
        *why = QStringLiteral("the port is missing: expected HOST:PORT (taskfleet-agent listens on 45450 by default)");
        return false;
    }
    // Digits only: toUInt() alone would also take a sign or spaces, which no address means.
    bool ok = p.size() <= 5;
    for (const QChar c : p)
        ok = ok && c >= QLatin1Char('0') && c <= QLatin1Char('9');
    const uint n = ok ? p.toUInt(&ok) : 0;
    if (!ok || n == 0 || n > 65535) {
        *why = QStringLiteral("\"%1\" is not a port number (1-65535)").arg(p);
        return false;
    }
    *host = h;
    *port = quint16(n);
    return true;
}

bool parseListenAddress(const QString &text, QHostAddress *address, quint16 *port, QString *why)
{
    const QString t = text.trimmed();
    QString host;
    QString p = t;
    if (t.startsWith(QLatin1Char('['))) {
        const qsizetype close = t.indexOf(QLatin1String("]:"));
        if (close < 0) {
            *why = QStringLiteral("expected [ADDRESS]:PORT");
            return false;
        }
        host = t.mid(1, close - 1);
        p = t.mid(close + 2);
    } else if (t.contains(QLatin1Char(':'))) {
        const qsizetype colon = t.lastIndexOf(QLatin1Char(':'));
        if (t.indexOf(QLatin1Char(':')) != colon) {
            *why = QStringLiteral("write IPv6 addresses as [ADDRESS]:PORT");
            return false;
        }
        host = t.left(colon);
        p = t.mid(colon + 1);
    }
    bool ok = !p.isEmpty() && p.size() <= 5;
    for (const QChar c : p)
        ok = ok && c >= QLatin1Char('0') && c <= QLatin1Char('9');
    const uint n = ok ? p.toUInt(&ok) : 0;
    if (!ok || n > 65535) {
        *why = QStringLiteral("\"%1\" is not a port number (0-65535; 0 picks a free one): expected [ADDRESS:]PORT")
                   .arg(p);
        return false;
    }
    QHostAddress a = QHostAddress::Any;
    if (!host.isEmpty() && host != QLatin1String("*")) {
        a = QHostAddress(host);
        if (a.isNull()) {
            *why = QStringLiteral("\"%1\" is not an IP address of this host (a listener binds an address, "
                                  "not a name)")
                       .arg(host);
            return false;
        }
    }
    *address = a;
    *port = quint16(n);
    return true;
}

QString formatNodeAddress(const QString &host, quint16 port)
{
    return host.contains(QLatin1Char(':')) ? QStringLiteral("[%1]:%2").arg(host).arg(port)
                                           : QStringLiteral("%1:%2").arg(host).arg(port);
}

} // namespace taskfleet::net
