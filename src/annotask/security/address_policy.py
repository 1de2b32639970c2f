"""The one policy deciding which hosts and addresses the server may connect to.

Every outbound feature that follows a user-given address (remote files over
HTTP, dataset repositories over http(s), ssh or git://) resolves the host
*once* here, checks every answer, and then connects only to the checked
addresses (the callers pin them). So a spelling trick (``2130706433``,
``0x7f.1``, ``[::ffff:127.0.0.1]``) or a DNS answer that changes between check
and use cannot reach loopback, private, link-local, multicast or reserved
space. Two settings open it up:

- ``allow_private`` (``ANNOTASK_REMOTE_ALLOW_PRIVATE``) allows every address:
  for tests and fully trusted networks.
- ``allowed_hosts`` (``ANNOTASK_GIT_ALLOWED_HOSTS`` for git) names hosts whose
  answers are accepted whatever they are: on-premise servers. A host is matched
  by its exact name (``git.corp``), a ``*.`` suffix (``*.corp``) or, for an IP
  literal, its canonical address (``127.0.0.1`` also matches ``2130706433``).
  Allow-listed hosts are *trusted*: features that cannot pin their connections
  (``git://``, Git LFS) are offered only to them.

Refusals never repeat what the resolver answered (the user learns "non-public",
not which internal address a name has); the log has the details.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from annotask.security.addresses import (
    IPAddress,
    describe_ip,
    is_public_address,
    parse_ip_literal,
)
from annotask.security.errors import UnsafeInput

if TYPE_CHECKING:
    from annotask.settings import Settings

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Sequence[str]]


class AddressRefused(UnsafeInput):
    """The host may not be connected to; the message is safe to show the user."""


def default_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (A and AAAA), without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def normalise_host(host: str) -> str:
    """The form hosts are compared in: lower case, no brackets or trailing dot,
    and IP literals (in any spelling the OS accepts, IPv4-mapped IPv6 included) as
    their canonical address."""
    host = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    literal = parse_ip_literal(host)
    if isinstance(literal, ipaddress.IPv6Address) and literal.ipv4_mapped is not None:
        literal = literal.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket
    return str(literal) if literal is not None else host


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound connections may go to (see the module's description)."""

    #: Allow every non-public address (re-opens SSRF: tests and trusted networks only).
    allow_private: bool = False
    #: Networks allowed although not public (``"10.1.2.0/24"``), like smokescreen's ranges.
    allowed_networks: tuple[str, ...] = ()
    #: Host names (or IP literals) whose addresses are accepted whatever they are.
    allowed_hosts: tuple[str, ...] = ()
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        init=False, repr=False, compare=False
    )
    _hosts: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nets = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        object.__setattr__(self, "_networks", nets)
        hosts = frozenset(normalise_host(h) for h in self.allowed_hosts if h.strip())
        object.__setattr__(self, "_hosts", hosts)

    @classmethod
    def for_git(cls, settings: Settings) -> AddressPolicy:
        """Dataset repositories: ``remote_allow_private`` and ``git_allowed_hosts``."""
        return cls(
            allow_private=settings.remote_allow_private,
            allowed_hosts=settings.git_allowed_host_list,
        )

    def host_allowed(self, host: str) -> bool:
        """True when ``host`` is on the allow-list (exactly, or under a ``*.`` entry)."""
        name = normalise_host(host)
        if name in self._hosts:
            return True
        return any(
            entry.startswith("*.") and name.endswith(entry[1:]) and name != entry[2:]
            for entry in self._hosts
        )

    def trusts(self, host: str) -> bool:
        """Whether connections to ``host`` need no pin: allow-listed, or every address
        is allowed anyway. Only trusted hosts get ``git://`` and Git LFS."""
        return self.allow_private or self.host_allowed(host)

    def allows(self, ip: IPAddress) -> bool:
        """Whether a connection may go to ``ip`` (for a host that is not allow-listed)."""
        if self.allow_private or is_public_address(ip):
            return True
        return any(ip in net for net in self._networks)

    def check(self, host: str, port: int, resolver: Resolver = default_resolver) -> tuple[str, ...]:
        """Resolve ``host`` once and check every answer; the addresses to connect to.

        One refused answer among several refuses the host: mixed answers are a
        rebinding tell. Raises :class:`AddressRefused` with a message that does
        not repeat the answers.
        """
        name = host.strip().removeprefix("[").removesuffix("]")
        listed = self.host_allowed(name)
        literal = parse_ip_literal(name)
        if literal is not None:
            if not listed and not self.allows(literal):
                # The user's own literal, canonicalised: no resolver answer is shown.
                raise AddressRefused(f"the host is a non-public address ({describe_ip(literal)})")
            return (str(literal),)
        try:
            answers = list(resolver(name, port))
        except (OSError, UnicodeError) as exc:
            log.info("could not resolve %s: %s", name, exc)
            raise AddressRefused(f"could not resolve host {name}") from None
        if not answers:
            raise AddressRefused(f"could not resolve host {name}")
        addresses: list[str] = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer)
            except ValueError:
                raise AddressRefused(
                    f"the resolver returned an invalid address for {name}"
                ) from None
            if not listed and not self.allows(ip):
                log.warning("refused %s: it resolves to %s", name, ip)
                raise AddressRefused("the host resolves to a non-public address")
            addresses.append(str(ip))
        return tuple(addresses)
