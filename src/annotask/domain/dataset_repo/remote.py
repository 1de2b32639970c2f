"""Where a dataset repository's git may connect, and how the connection is pinned.

Any user who may change a task chooses the URL the server's ``git`` talks to,
so without a check that is a port scanner and an SSRF into the server's
network. Each URL is therefore *planned* before every command that talks to
the remote: the host is resolved once and every answer is checked with the
same :class:`~annotask.security.address_policy.AddressPolicy` as remote files,
then git is told to use exactly those addresses:

- http(s): ``-c http.curloptResolve=host:port:addr`` (curl connects there while
  the Host header, SNI and certificate still use the name; git 2.37 or newer)
  and ``-c http.followRedirects=false`` (a redirect cannot lead elsewhere);
- ssh: ``-o HostName=<addr> -o HostKeyAlias=<host>`` in ``GIT_SSH_COMMAND``
  (known hosts are still checked for the name);
- ``git://`` cannot be pinned (git resolves by itself) and Git LFS follows the
  hrefs of its batch API with its own HTTP client, so both are offered only to
  trusted hosts: those in ``ANNOTASK_GIT_ALLOWED_HOSTS`` (or every host with
  ``ANNOTASK_REMOTE_ALLOW_PRIVATE``).

``GIT_ALLOW_PROTOCOL`` is narrowed to the URL's own protocol. Tight connect and
idle limits keep a silent server from holding a worker for long. When a
command that talks to the remote fails, the user reads one generic sentence
(:data:`.git.UNREACHABLE`), whatever happened (refused, closed, not a git server,
authentication), so the feature cannot tell open ports from closed ones; git's
own words go to the server log.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

from annotask.domain.dataset_repo.parsing import check_url
from annotask.domain.errors import ValidationFailed
from annotask.security.address_policy import (
    AddressPolicy,
    AddressRefused,
    Resolver,
    default_resolver,
)
from annotask.settings import Settings

NOT_ALLOWED = (
    "The repository's host is not allowed: {reason}. An administrator can allow an "
    "on-premise git server with ANNOTASK_GIT_ALLOWED_HOSTS."
)
LFS_NOT_ALLOWED = (
    "Git LFS is only available for repositories on hosts listed in "
    "ANNOTASK_GIT_ALLOWED_HOSTS (LFS follows links of its own that cannot be checked)."
)
GIT_PROTOCOL_NOT_ALLOWED = (
    "git:// repositories are only available on hosts listed in ANNOTASK_GIT_ALLOWED_HOSTS: "
    "use https:// or ssh://."
)
#: First git release that has ``http.curloptResolve``.
CURLOPT_RESOLVE_GIT = (2, 37)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
_SCP_RE = re.compile(r"^[^@/]+@(?P<host>[^:/]+):")


class RemoteRefused(ValidationFailed):
    """The repository's URL may not be used on this server (a 400 naming the field)."""


@dataclass(frozen=True)
class RemotePlan:
    """A checked remote: what git may connect to and the options that hold it there."""

    url: str
    scheme: str  # file, http, https, ssh or git
    host: str = ""
    port: int = 0
    addresses: tuple[str, ...] = ()
    #: On the allow-list (or every address allowed): LFS and git:// are offered.
    trusted: bool = False
    connect_timeout: float = 15.0
    idle_timeout: float = 60.0
    #: Time limit of one command that talks to the remote.
    total_timeout: float = 300.0

    @property
    def network(self) -> bool:
        """Whether git talks to another machine (its failures are then kept generic)."""
        return self.scheme != "file"

    def git_options(self) -> list[str]:
        """``-c`` options for a command that talks to this remote."""
        if self.scheme not in ("http", "https"):
            return []
        options = [
            "-c",
            "http.followRedirects=false",
            "-c",
            "http.lowSpeedLimit=1",
            "-c",
            f"http.lowSpeedTime={max(1, round(self.idle_timeout))}",
        ]
        if self.addresses:
            pinned = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
            options += ["-c", f"http.curloptResolve={self.host}:{self.port}:{pinned}"]
        return options

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` for a command that talks to this remote: one protocol, pinned ssh."""
        env = dict(env, GIT_ALLOW_PROTOCOL=self.scheme)
        if self.scheme == "ssh":
            base = env.get("GIT_SSH_COMMAND") or (
                shlex.quote(env["GIT_SSH"]) if env.get("GIT_SSH") else "ssh -o BatchMode=yes"
            )
            env.pop("GIT_SSH", None)
            options = [
                f"ConnectTimeout={max(1, round(self.connect_timeout))}",
                f"ServerAliveInterval={max(1, round(self.idle_timeout / 3))}",
                "ServerAliveCountMax=3",
            ]
            if self.addresses:
                options += [f"HostName={self.addresses[0]}", f"HostKeyAlias={self.host}"]
            env["GIT_SSH_COMMAND"] = " ".join(
                [base, *(f"-o {shlex.quote(option)}" for option in options)]
            )
        return env


def remote_host(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL accepted by :func:`.parsing.check_url`;
    ``("file", "", 0)`` for local repositories."""
    if url.startswith("/") or url.lower().startswith("file:"):
        return "file", "", 0
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS[scheme]
    scp = _SCP_RE.match(url)
    if scp is None:  # pragma: no cover - check_url accepts no other form
        raise RemoteRefused({"path": "The repository URL is not valid."})
    return "ssh", scp.group("host"), 22


def plan_remote(
    url: str,
    settings: Settings,
    *,
    field: str = "path",
    lfs: bool = False,
    resolver: Resolver = default_resolver,
) -> RemotePlan:
    """Check ``url`` against the server's settings now and plan its connection.

    Called when a repository is attached (so a refused host is a 400 at once)
    and again before every command that talks to it (so the pin holds the
    addresses checked a moment ago, and a setting turned off since is obeyed).
    """
    url = check_url(url, field, data_dir=settings.data_dir, allow_local=settings.git_allow_local)
    scheme, host, port = remote_host(url)
    if scheme == "file":
        return RemotePlan(
            url=url, scheme="file", trusted=True, total_timeout=settings.git_network_timeout_seconds
        )
    policy = AddressPolicy.for_git(settings)
    trusted = policy.trusts(host)
    if scheme == "git" and not trusted:
        raise RemoteRefused({field: GIT_PROTOCOL_NOT_ALLOWED})
    if lfs and not trusted:
        raise RemoteRefused({"lfs": LFS_NOT_ALLOWED})
    addresses: tuple[str, ...] = ()
    if not policy.allow_private:  # every address is allowed otherwise: nothing to pin
        try:
            addresses = policy.check(host, port, resolver)
        except AddressRefused as exc:
            raise RemoteRefused({field: NOT_ALLOWED.format(reason=exc.message)}) from None
    if scheme in ("http", "https") and not trusted and git_version() < CURLOPT_RESOLVE_GIT:
        raise RemoteRefused(
            {
                field: "http(s) repositories need git 2.37 or newer on the server (to pin "
                "the checked address); use ssh:// or ask an administrator to upgrade git."
            }
        )
    return RemotePlan(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        addresses=addresses,
        trusted=trusted,
        connect_timeout=settings.git_connect_timeout_seconds,
        idle_timeout=settings.git_idle_timeout_seconds,
        total_timeout=settings.git_network_timeout_seconds,
    )


@functools.cache
def git_version() -> tuple[int, int]:
    """``(major, minor)`` of the server's git; ``(0, 0)`` when it cannot be told."""
    try:
        out = subprocess.run(
            ["git", "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return (0, 0)
    match = re.search(r"(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)
