// SPDX-License-Identifier: MIT
// "HOST:PORT" as users write an agent's address (--node, Add Node, ppservers): one parser for every program.
#pragma once

#include <QtCore/QString>
#include <QtNetwork/QHostAddress>

namespace taskfleet::net {

/**
 * Parses \a text (surrounding spaces ignored) as HOST:PORT, a host name or IPv4 address and a port, or
 * [IPV6]:PORT. The port is 1-65535 in decimal digits; it is required unless \a defaultPort is non-zero,
 * which a bare HOST or [IPV6] then gets (pp's ppservers entries). On failure returns false and *why
 * says what to write. tests/data/node-addresses.jsonl holds the cases; the Python client reads the
 * same file, so both languages accept exactly the same addresses.
 */
[[nodiscard]] bool parseNodeAddress(const QString &text, QString *host, quint16 *port, QString *why,
                                    quint16 defaultPort = 0);

/**
 * Parses where a controller listens for agents that dial it (--listen): "PORT", ":PORT", "ADDRESS:PORT",
 * "[IPV6]:PORT" or "*:PORT"; no address (or "*") means all interfaces. PORT 0 picks a free port. The address
 * must be numeric (a listener binds one of this host's addresses, not a name). False with *why on failure.
 */
[[nodiscard]] bool parseListenAddress(const QString &text, QHostAddress *address, quint16 *port, QString *why);

/** The Taskfleet port controllers listen on for agents that dial in, unless told otherwise. */
inline constexpr quint16 DefaultListenPort = 45460;

/** The other way: "host:port", or "[v6]:port" for an IPv6 address (what parseNodeAddress() reads back). */
QString formatNodeAddress(const QString &host, quint16 port);

} // namespace taskfleet::net
