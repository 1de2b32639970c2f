"""Which IP addresses outbound requests may reach, and how host literals are read.

Separate from the HTTP client because every outbound feature (remote files, git
over HTTP, later webhooks or custom S3 endpoints) must judge addresses the same
way. Python's ``ipaddress`` flags are the base; this module adds what they miss.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses, judging embedded IPv4 too.

    ``is_global`` alone is not enough: Python counts multicast as global, and
    ``::ffff:127.0.0.1`` or ``2002:7f00:1::`` reach IPv4 space it does not look at.
    """
    for candidate in (ip, _embedded_ipv4(ip)):
        if candidate is None:
            continue
        if (
            not candidate.is_global
            or candidate.is_multicast
            or candidate.is_private
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_reserved
            or candidate.is_unspecified
        ):
            return False
    return True


def describe_ip(ip: IPAddress) -> str:
    """``::ffff:127.0.0.1`` rather than Python's ``::ffff:7f00:1``, for messages."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP a URL host denotes, including forms the OS accepts but people miss.

    ``socket.inet_aton`` (what ``getaddrinfo`` uses) reads ``2130706433``,
    ``0177.0.0.1``, ``0x7f.1`` and ``127.1`` as 127.0.0.1, so such hosts are
    canonicalised here instead of being handed to a resolver as names. Returns
    None for host names. The character check keeps glibc's lenient parser from
    accepting trailing garbage.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host) and any(ch.isdigit() for ch in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
