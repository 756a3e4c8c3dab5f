# SPDX-License-Identifier: MIT
"""HOST:PORT as users write an agent's address: the rule of taskfleet-run's --node (core/net/nodeaddress.cpp).

Both languages are tested against one table of cases, tests/data/node-addresses.jsonl, so the client
accepts exactly what the engine's --node accepts (plus pp's bare "host", which gets the default port).
"""

from typing import Tuple

__all__ = ["parse_node_address", "format_node_address"]


def _digits(text: str) -> bool:
    return 0 < len(text) <= 5 and all("0" <= c <= "9" for c in text)


def parse_node_address(text: str, default_port: int = 0) -> Tuple[str, int]:
    """(host, port) from "HOST:PORT", "[IPV6]:PORT", or with default_port a bare "HOST" or "[IPV6]".
    Raises ValueError saying what to write."""
    t = text.strip()
    if t.startswith("["):
        close = t.find("]")
        if close < 0:
            raise ValueError("unterminated [IPv6] address: expected [ADDRESS]:PORT")
        host = t[1:close]
        rest = t[close + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError("expected [ADDRESS]:PORT")
        port = str(default_port) if not rest and default_port else rest[1:]
    else:
        colon = t.rfind(":")
        if colon >= 0 and t.find(":") != colon:
            raise ValueError("write IPv6 addresses as [ADDRESS]:PORT")
        host = t if colon < 0 else t[:colon]
        port = (str(default_port) if default_port else "") if colon < 0 else t[colon + 1:]
    if not host:
        raise ValueError("the host is missing: expected HOST:PORT")
    if not port:
        raise ValueError("the port is missing: expected HOST:PORT (taskfleet-agent listens on 45450 by default)")
    if not _digits(port) or not 0 < int(port) < 65536:
        raise ValueError('"%s" is not a port number (1-65535)' % port)
    return host, int(port)


def format_node_address(host: str, port: int) -> str:
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
