"""The one guarded outbound HTTP client (``remote_files`` now, git over HTTP later).

Fetching a client-supplied URL from the server is an SSRF risk (CVE-2022-31188 in
CVAT). Checking the host's addresses is not enough on its own: the HTTP library
would resolve the name again when it connects, and a DNS server that answers
"public" the first time and "127.0.0.1" the second (DNS rebinding) wins. So each
hop here is *planned* first (parse strictly, resolve once, check every address)
and then *pinned*: the connection can only go to the checked addresses, while the
Host header, TLS SNI and certificate verification still use the URL's host name.

How pinning works: we use httpcore (the transport layer under httpx, already a
dependency) with a custom ``NetworkBackend`` whose ``connect_tcp`` ignores the
host name it is given and connects to the planned IP instead. httpcore then runs
TLS over that socket with ``server_hostname`` = the URL's host, so certificates are
verified for the name the user asked for. No monkeypatching, no proxy environment
variables (httpcore ignores them; a proxy would defeat the pin), no second
resolution. Redirects are followed by hand so every hop is planned and checked
again. Bodies are streamed to a temporary file with size and time limits.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import certifi
import httpcore
import httpx

from annotask import __version__
from annotask.security.address_policy import (
    AddressPolicy,
    AddressRefused,
    Resolver,
    default_resolver,
)
from annotask.security.errors import UnsafeInput, format_bytes
from annotask.security.paths import safe_upload_name

if TYPE_CHECKING:
    from annotask.settings import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class DownloadError(UnsafeInput):
    """A remote file could not be fetched; the message is meant for the task's user."""


@dataclass(frozen=True)
class DownloadPolicy:
    """Limits for one download; build it from settings with ``from_settings``."""

    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    #: Allow loopback/private/link-local/... targets. Tests on 127.0.0.1 and fully
    #: trusted networks only: it re-opens SSRF.
    allow_private_addresses: bool = False
    #: Networks allowed even though they are not public (e.g. ``"10.1.2.0/24"`` for
    #: an internal file server), like smokescreen's allow ranges.
    allowed_networks: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    #: Longest silence while waiting for data.
    read_timeout: float = 30.0
    #: Whole download including redirects; may be overshot by at most read_timeout.
    total_timeout: float = 60.0
    max_bytes: int = 2 * 1024**3
    max_redirects: int = 5
    #: Most URLs one request may ask for; enforced by callers via check_url_count.
    max_files: int = 1000
    user_agent: str = f"annotask/{__version__}"
    #: CA bundle for https; None means certifi's (what httpx uses by default).
    ca_bundle: str | None = None
    #: The address check itself, shared with every other outbound feature (git).
    addresses: AddressPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        addresses = AddressPolicy(
            allow_private=self.allow_private_addresses, allowed_networks=self.allowed_networks
        )
        object.__setattr__(self, "addresses", addresses)
        schemes = frozenset(s.lower() for s in self.allowed_schemes)
        if not schemes <= {"http", "https"}:
            raise ValueError("only http and https can be allowed")
        object.__setattr__(self, "allowed_schemes", schemes)

    @classmethod
    def from_settings(cls, settings: Settings) -> DownloadPolicy:
        """The policy for ``remote_files`` as configured by the ``remote_*`` settings."""
        return cls(
            allow_private_addresses=settings.remote_allow_private,
            total_timeout=settings.remote_timeout_seconds,
            max_bytes=settings.remote_max_bytes,
            max_files=settings.remote_max_files,
        )


@dataclass(frozen=True)
class DownloadedFile:
    """A complete download: ``path`` is ``dest_dir/name``; ``final_url`` is after redirects."""

    path: Path
    name: str
    size: int
    content_type: str | None
    final_url: str


@dataclass(frozen=True)
class RequestPlan:
    """One checked hop: where the connection may go and what it must say."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, used for SNI and certificates
    port: int
    target: bytes  # path and query sent in the request line
    host_header: bytes
    addresses: tuple[str, ...]  # the checked IPs; the only ones connected to


class _Refused(Exception):
    """Internal: a reason a hop is refused; wrapped into DownloadError with the URL."""


def check_url_count(urls: Sequence[str], policy: DownloadPolicy) -> None:
    """Refuse a request that asks for more URLs than ``policy.max_files``."""
    if len(urls) > policy.max_files:
        raise UnsafeInput(
            f"Too many remote files: {len(urls)} URLs given, the limit is {policy.max_files}"
        )


def _plan(url: str, policy: DownloadPolicy, resolver: Resolver) -> RequestPlan:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _Refused("the URL contains control characters")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _Refused(f"invalid URL ({exc})") from None
    scheme = parsed.scheme
    if scheme not in policy.allowed_schemes:
        raise _Refused(f"Unsupported URL scheme: {scheme or '(none)'}")
    if not parsed.host:
        raise _Refused("the URL has no host")
    if parsed.userinfo:
        raise _Refused("credentials in URLs are not supported")
    port = parsed.port or _DEFAULT_PORTS[scheme]
    host = parsed.raw_host.decode("ascii")

    try:
        addresses = policy.addresses.check(host, port, resolver)
    except AddressRefused as exc:
        raise _Refused(exc.message) from None
    return RequestPlan(
        url=str(parsed),
        scheme=scheme,
        host=host,
        port=port,
        target=parsed.raw_path or b"/",
        host_header=parsed.netloc,
        addresses=addresses,
    )


def plan_request(
    url: str, policy: DownloadPolicy, resolver: Resolver = default_resolver
) -> RequestPlan:
    """Parse, resolve once and check ``url``; the plan says where to connect.

    Public so that callers (and tests) can see the pinned addresses without any
    traffic. Raises ``DownloadError`` if the URL or any resolved address is refused:
    one bad answer among several refuses the host, as mixed answers are a
    rebinding tell.
    """
    try:
        return _plan(url, policy, resolver)
    except _Refused as exc:
        raise DownloadError(f"Failed to download URL {url}: {exc}") from None


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore network backend that only connects to the planned addresses.

    ``inner`` does the actual socket work (httpcore's ``SyncBackend`` by default);
    tests pass a recording one to prove where a connection would go.
    """

    def __init__(self, plan: RequestPlan, inner: httpcore.NetworkBackend | None = None) -> None:
        self._plan = plan
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.NetworkStream:
        if host != self._plan.host or port != self._plan.port:
            raise httpcore.ConnectError(f"refusing unplanned connection to {host}:{port}")
        error: Exception = httpcore.ConnectError("no address to connect to")
        for address in self._plan.addresses:
            try:
                return self._inner.connect_tcp(
                    address,
                    port,
                    timeout,
                    local_address,
                    socket_options,  # type: ignore[arg-type]
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _file_name(plan: RequestPlan) -> str:
    """Last path component of the URL, percent-decoded, as a safe name (CVAT's rule)."""
    raw_path = plan.target.split(b"?", 1)[0].decode("ascii")
    last = raw_path.rsplit("/", 1)[-1]
    if not last:
        raise _Refused("the URL does not end with a file name")
    try:
        return safe_upload_name(urllib.parse.unquote(last))
    except UnsafeInput as exc:
        raise _Refused(str(exc)) from None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _ssl_context(policy: DownloadPolicy) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=policy.ca_bundle or certifi.where())


def download(
    url: str,
    dest_dir: Path,
    policy: DownloadPolicy,
    resolver: Resolver = default_resolver,
    *,
    network_backend: httpcore.NetworkBackend | None = None,
) -> DownloadedFile:
    """Fetch ``url`` into ``dest_dir/<name>`` within ``policy``, or raise ``DownloadError``.

    The name is the URL's last path component (percent-decoded, made safe); an
    existing file of that name is never overwritten (``filename collision``).
    Only a 200 response is accepted, after at most ``max_redirects`` redirects,
    each checked like the first URL. The body is streamed to a hidden temporary
    file and only moved into place when complete; any failure removes it.
    ``network_backend`` replaces the socket layer under the pin (tests only).
    """
    dest_dir = Path(dest_dir)
    deadline = time.monotonic() + policy.total_timeout
    try:
        return _download(url, dest_dir, policy, resolver, network_backend, deadline)
    except _Refused as exc:
        raise DownloadError(f"Failed to download URL {url}: {exc}") from None


def _remaining(deadline: float, policy: DownloadPolicy) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Refused(f"the download took longer than {policy.total_timeout:g} s")
    return left


def _download(
    url: str,
    dest_dir: Path,
    policy: DownloadPolicy,
    resolver: Resolver,
    backend: httpcore.NetworkBackend | None,
    deadline: float,
) -> DownloadedFile:
    context = _ssl_context(policy)
    current = url
    name = ""
    for hop in range(policy.max_redirects + 1):
        try:
            plan = _plan(current, policy, resolver)
        except _Refused as exc:
            if hop == 0:
                raise
            raise _Refused(f"redirect to {current} refused: {exc}") from None
        if hop == 0:
            name = _file_name(plan)
        left = _remaining(deadline, policy)
        timeouts = {
            "connect": min(policy.connect_timeout, left),
            "read": min(policy.read_timeout, left),
            "write": min(policy.read_timeout, left),
            "pool": min(policy.connect_timeout, left),
        }
        request_url = httpcore.URL(
            scheme=plan.scheme.encode(), host=plan.host.encode(), port=plan.port, target=plan.target
        )
        headers = [
            (b"Host", plan.host_header),
            (b"User-Agent", policy.user_agent.encode()),
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", b"identity"),  # never let a server compress: no bombs
            (b"Connection", b"close"),
        ]
        pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=PinnedBackend(plan, backend), max_connections=1
        )
        try:
            with (
                pool,
                pool.stream(
                    "GET", request_url, headers=headers, extensions={"timeout": timeouts}
                ) as response,
            ):
                if response.status in _REDIRECTS:
                    location = _header(response.headers, b"location")
                    if not location:
                        raise _Refused(f"HTTP error {response.status} without a Location header")
                    current = str(httpx.URL(plan.url).join(location))
                    continue
                if response.status != 200:
                    via = f" (after redirects, at {plan.url})" if hop else ""
                    raise _Refused(f"HTTP error {response.status}{via}")
                return _save(response, name, dest_dir, plan, policy, deadline)
        except httpcore.ConnectTimeout:
            raise _Refused(f"could not connect to {plan.host} (timed out)") from None
        except httpcore.ConnectError as exc:
            raise _Refused(f"could not connect to {plan.host} ({exc})") from None
        except httpcore.ReadTimeout:
            raise _Refused(f"the server sent no data for {timeouts['read']:g} s") from None
        except httpcore.TimeoutException as exc:
            raise _Refused(f"timed out talking to {plan.host} ({exc})") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise _Refused(f"the connection to {plan.host} failed ({exc})") from None
        except httpx.InvalidURL as exc:
            raise _Refused(f"invalid redirect location ({exc})") from None
        except OSError as exc:  # storing the file failed (disk full, permissions)
            raise _Refused(f"could not store the file ({exc.strerror or exc})") from None
    raise _Refused(f"too many redirects (more than {policy.max_redirects})")


def _save(
    response: httpcore.Response,
    name: str,
    dest_dir: Path,
    plan: RequestPlan,
    policy: DownloadPolicy,
    deadline: float,
) -> DownloadedFile:
    limit = format_bytes(policy.max_bytes)
    declared = _header(response.headers, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
        raise _Refused(f"the file is larger than the limit of {limit}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
    temp = Path(temp_name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in response.iter_stream():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise _Refused(f"the file is larger than the limit of {limit}")
                _remaining(deadline, policy)
                out.write(chunk)
        final = dest_dir / name
        try:
            os.link(temp, final)  # fails instead of overwriting, unlike rename
        except FileExistsError:
            raise _Refused(f"filename collision: {name} already exists") from None
        except OSError:  # filesystems without hard links
            if os.path.lexists(final):
                raise _Refused(f"filename collision: {name} already exists") from None
            os.rename(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return DownloadedFile(
        path=final,
        name=name,
        size=size,
        content_type=_header(response.headers, b"content-type"),
        final_url=plan.url,
    )
