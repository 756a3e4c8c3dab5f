// SPDX-License-Identifier: MIT
// "HOST:PORT" as users write an agent's address (--node, Add Node, ppservers): one parser for every program.
#pragma once

#include <QtCore/QString>

namespace taskfleet::net {

/**
 * Parses \a text (surrounding spaces ignored) as HOST:PORT, a host name or IPv4 address and a port, or
 * [IPV6]:PORT. The port is required (1-65535). On failure returns false and *why says what to write.
 */
[[nodiscard]] bool parseNodeAddress(const QString &text, QString *host, quint16 *port, QString *why);

/** The other way: "host:port", or "[v6]:port" for an IPv6 address (what parseNodeAddress() reads back). */
QString formatNodeAddress(const QString &host, quint16 port);

} // namespace taskfleet::net
