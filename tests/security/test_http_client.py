"""The guarded outbound client: SSRF checks, pinning, redirects and limits.

Traffic only ever goes to loopback servers started here. "Public" addresses
appear only in plans and in a recording backend that never opens a socket.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpcore
import pytest

from annotask.security import UnsafeInput
from annotask.security.http_client import (
    DownloadError,
    DownloadPolicy,
    PinnedBackend,
    check_url_count,
    default_resolver,
    download,
    plan_request,
)

from .conftest import FILE_BODY, LoopbackServer

Serve = Callable[..., LoopbackServer]
PUBLIC_IP = "93.184.216.34"  # never connected to: only planned and recorded


def policy(**overrides: object) -> DownloadPolicy:
    """Loopback-friendly policy with short limits so failures are fast."""
    values: dict[str, object] = {
        "allow_private_addresses": True,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 5.0,
        "max_bytes": 100_000,
    }
    values.update(overrides)
    return DownloadPolicy(**values)  # type: ignore[arg-type]


def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"resolver must not be asked about {host}")


class RecordingBackend(httpcore.NetworkBackend):
    """Socket layer that records where it was asked to connect and never connects."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, *args: object, **kwargs: object):  # type: ignore[override]
        self.calls.append((host, port))
        raise httpcore.ConnectError("recorded only")


# ---- success paths ---------------------------------------------------------


def test_download_works_on_loopback_when_allowed(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    result = download(server.url("/files/a.jpg?x=1"), tmp_path, policy())
    assert result.path == tmp_path / "a.jpg"
    assert result.name == "a.jpg"
    assert result.size == len(FILE_BODY)
    assert result.content_type == "image/jpeg"
    assert result.final_url == server.url("/files/a.jpg?x=1")
    assert result.path.read_bytes() == FILE_BODY
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]  # no temp file left


def test_name_is_percent_decoded_last_component(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    result = download(server.url("/files/name%20with%20space.txt?q=/x"), tmp_path, policy())
    assert result.name == "name with space.txt"
    # An encoded slash cannot choose a directory on the server.
    result = download(server.url("/files/..%2F..%2Fevil.txt"), tmp_path, policy())
    assert result.path == tmp_path / "evil.txt"


def test_pinned_connection_keeps_host_header(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    url = f"http://files.test:{server.port}/files/a.jpg"
    result = download(url, tmp_path, policy(), resolver=to_loopback)
    assert result.size == len(FILE_BODY)
    assert server.host_headers == [f"files.test:{server.port}"]


def test_ipv6_loopback_when_allowed(serve: Serve, tmp_path: Path) -> None:
    server = serve("::1")
    result = download(server.url("/files/v6.jpg"), tmp_path, policy())
    assert result.name == "v6.jpg"
    assert server.host_headers == [f"[::1]:{server.port}"]


def test_relative_redirect_is_followed(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    result = download(server.url("/redirect/relative"), tmp_path, policy())
    assert result.name == "relative"  # CVAT names the file after the URL that was given
    assert result.final_url == server.url("/files/a.jpg")
    assert server.hits == ["/redirect/relative", "/files/a.jpg"]


# ---- SSRF: addresses ------------------------------------------------------------


def test_loopback_refused_by_default(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(DownloadError, match=r"non-public address \(127\.0\.0\.1\)"):
        download(server.url("/files/a.jpg"), tmp_path, policy(allow_private_addresses=False))
    url = f"http://files.test:{server.port}/files/a.jpg"
    with pytest.raises(
        DownloadError,
        match=rf"^Failed to download URL {url}: the host resolves to a non-public address",
    ):
        download(url, tmp_path, policy(allow_private_addresses=False), resolver=to_loopback)
    assert server.hits == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("0.0.0.0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("[::]", "::"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0.0.1", "10.0.0.1"),
        ("192.168.1.1", "192.168.1.1"),
        ("100.64.0.1", "100.64.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("224.0.0.1", "224.0.0.1"),
        ("240.0.0.1", "240.0.0.1"),
        ("[fe80::1]", "fe80::1"),
        ("[fc00::1]", "fc00::1"),
        ("[ff02::1]", "ff02::1"),
        ("[2002:7f00:1::]", "2002:7f00:1::"),
        ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1"),
    ],
)
def test_non_public_literals_refused_without_resolving(host: str, shown: str) -> None:
    strict = policy(allow_private_addresses=False)
    with pytest.raises(DownloadError, match=rf"non-public address \({shown}\)"):
        plan_request(f"http://{host}/x.jpg", strict, resolver=no_resolver)


def test_octal_ipv4_is_refused() -> None:
    # httpx's parser rejects the octal form outright; either way nothing is fetched.
    for allow in (False, True):
        with pytest.raises(DownloadError, match="0177.0.0.1"):
            plan_request("http://0177.0.0.1/x", policy(allow_private_addresses=allow), no_resolver)


def test_decimal_literal_is_pinned_to_its_canonical_address() -> None:
    plan = plan_request("http://2130706433:8080/x", policy(), resolver=no_resolver)
    assert plan.addresses == ("127.0.0.1",)
    assert plan.host == "2130706433"


def test_any_private_answer_refuses_the_host() -> None:
    def mixed(host: str, port: int) -> list[str]:
        return [PUBLIC_IP, "10.0.0.5"]

    with pytest.raises(DownloadError, match=r"non-public address$"):  # the answer is not shown
        plan_request("http://mixed.test/x", policy(allow_private_addresses=False), mixed)


def test_public_answer_is_planned_and_pinned() -> None:
    plan = plan_request(
        "https://files.test/a/b.jpg?s=1",
        policy(allow_private_addresses=False),
        resolver=lambda host, port: [PUBLIC_IP, "2606:2800:220:1::1"],
    )
    assert plan.addresses == (PUBLIC_IP, "2606:2800:220:1::1")
    assert (plan.host, plan.port, plan.target) == ("files.test", 443, b"/a/b.jpg?s=1")
    assert plan.host_header == b"files.test"


def test_allowed_networks_open_only_themselves() -> None:
    internal = policy(allow_private_addresses=False, allowed_networks=("10.1.0.0/16",))
    assert plan_request("http://10.1.2.3/x", internal, no_resolver).addresses == ("10.1.2.3",)
    with pytest.raises(DownloadError, match="non-public"):
        plan_request("http://10.2.0.1/x", internal, no_resolver)


# ---- SSRF: DNS rebinding ------------------------------------------------------


def test_dns_rebinding_cannot_redirect_the_connection(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    answers = [[PUBLIC_IP], ["127.0.0.1"]]
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), 2) - 1]

    backend = RecordingBackend()
    url = f"http://rebind.test:{server.port}/files/a.jpg"
    with pytest.raises(DownloadError, match="could not connect to rebind.test"):
        download(
            url, tmp_path, policy(allow_private_addresses=False), rebinding, network_backend=backend
        )
    assert asked == ["rebind.test"]  # resolved once; the second answer is never used
    assert backend.calls == [(PUBLIC_IP, server.port)]  # the checked address, not loopback
    assert server.hits == []
    assert list(tmp_path.iterdir()) == []


def test_private_first_answer_is_refused_before_connecting(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    backend = RecordingBackend()
    url = f"http://rebind.test:{server.port}/files/a.jpg"
    with pytest.raises(DownloadError, match="non-public"):
        download(
            url,
            tmp_path,
            policy(allow_private_addresses=False),
            to_loopback,
            network_backend=backend,
        )
    assert backend.calls == []
    assert server.hits == []


def test_pinned_backend_refuses_unplanned_targets() -> None:
    plan = plan_request("http://files.test:8080/x", policy(), resolver=to_loopback)
    backend = PinnedBackend(plan, RecordingBackend())
    with pytest.raises(httpcore.ConnectError, match="unplanned"):
        backend.connect_tcp("evil.test", 8080)
    with pytest.raises(httpcore.ConnectError, match="unplanned"):
        backend.connect_tcp("files.test", 22)
    with pytest.raises(httpcore.ConnectError):
        backend.connect_unix_socket("/var/run/docker.sock")


# ---- SSRF: schemes, URLs and redirects --------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Unsupported URL scheme: file"),
        ("ftp://files.test/a.jpg", "Unsupported URL scheme: ftp"),
        ("gopher://files.test:70/_x", "Unsupported URL scheme: gopher"),
        ("javascript:alert(1)", "Unsupported URL scheme: javascript"),
        ("//files.test/a.jpg", r"Unsupported URL scheme: \(none\)"),
        ("files.test/a.jpg", r"Unsupported URL scheme: \(none\)"),
        ("http:///a.jpg", "no host"),
        ("http://user:pw@files.test/a.jpg", "credentials"),
        ("http://files.test/a.jpg\r\nX-Injected: 1", "control characters"),
        ("http://files.test/", "does not end with a file name"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str, tmp_path: Path) -> None:
    backend = RecordingBackend()
    with pytest.raises(DownloadError, match=message):
        download(url, tmp_path, policy(), to_loopback, network_backend=backend)
    assert backend.calls == []


def test_redirect_to_loopback_from_allowed_host_is_refused(serve: Serve, tmp_path: Path) -> None:
    allowed = serve("127.0.0.2")
    victim = serve("127.0.0.1")
    allowed.redirect_target = victim.url("/files/secret.jpg")
    internal = policy(allow_private_addresses=False, allowed_networks=("127.0.0.2/32",))
    # The allowed host itself works...
    assert download(allowed.url("/files/ok.jpg"), tmp_path, internal).name == "ok.jpg"
    # ...but its redirect to loopback is checked again and refused.
    with pytest.raises(
        DownloadError,
        match=r"redirect to http://127\.0\.0\.1:\d+/files/secret\.jpg refused: .*"
        r"non-public address \(127\.0\.0\.1\)",
    ):
        download(allowed.url("/redirect/target"), tmp_path, internal)
    assert victim.hits == []


def test_redirect_to_other_scheme_is_refused(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(
        DownloadError, match="redirect to file:.*/etc/passwd refused: Unsupported URL scheme: file"
    ):
        download(server.url("/redirect/file"), tmp_path, policy())


def test_redirect_limits(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(DownloadError, match=r"too many redirects \(more than 3\)"):
        download(server.url("/redirect/loop"), tmp_path, policy(max_redirects=3))
    assert len(server.hits) == 4
    with pytest.raises(DownloadError, match="HTTP error 302 without a Location"):
        download(server.url("/redirect/nolocation"), tmp_path, policy())
    with pytest.raises(DownloadError, match=r"too many redirects \(more than 0\)"):
        download(server.url("/redirect/relative"), tmp_path, policy(max_redirects=0))


# ---- errors and limits --------------------------------------------------------


def test_http_errors_are_readable(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    url = server.url("/missing.jpg")
    with pytest.raises(DownloadError, match=rf"^Failed to download URL {url}: HTTP error 404$"):
        download(url, tmp_path, policy())
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_readable(tmp_path: Path, serve: Serve) -> None:
    server = serve()
    port = server.port
    server.shutdown()
    server.server_close()
    with pytest.raises(DownloadError, match="could not connect to 127.0.0.1"):
        download(f"http://127.0.0.1:{port}/a.jpg", tmp_path, policy())


def test_read_timeout(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    started = time.monotonic()
    with pytest.raises(DownloadError, match="sent no data for 0.3 s"):
        download(server.url("/slow"), tmp_path, policy(read_timeout=0.3))
    assert time.monotonic() - started < 2
    assert list(tmp_path.iterdir()) == []


def test_total_time_limit(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    started = time.monotonic()
    with pytest.raises(DownloadError, match="took longer than 0.4 s"):
        download(server.url("/drip"), tmp_path, policy(total_timeout=0.4))
    assert time.monotonic() - started < 2
    assert list(tmp_path.iterdir()) == []


def test_content_length_over_limit_refused_up_front(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(DownloadError, match="larger than the limit of 1000 B"):
        download(server.url("/big"), tmp_path, policy(max_bytes=1000))
    assert list(tmp_path.iterdir()) == []


def test_streamed_body_over_limit_refused(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    with pytest.raises(DownloadError, match="larger than the limit of 4.9 KiB"):
        download(server.url("/unbounded"), tmp_path, policy(max_bytes=5000))
    assert list(tmp_path.iterdir()) == []


def test_lying_content_length(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    # Shorter than the body: only the declared bytes are read, never more.
    result = download(server.url("/lying-short"), tmp_path, policy(max_bytes=100))
    assert result.size == 10
    # Longer than the body: an incomplete file is an error and is removed.
    with pytest.raises(DownloadError, match="connection to 127.0.0.1 failed"):
        download(server.url("/lying-long"), tmp_path, policy())
    assert [p.name for p in tmp_path.iterdir()] == ["lying-short"]


def test_existing_file_is_never_overwritten(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    (tmp_path / "a.jpg").write_bytes(b"mine")
    with pytest.raises(DownloadError, match="filename collision: a.jpg"):
        download(server.url("/files/a.jpg"), tmp_path, policy())
    assert (tmp_path / "a.jpg").read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]


def test_download_error_is_unsafe_input() -> None:
    assert issubclass(DownloadError, UnsafeInput)


def test_url_count_limit() -> None:
    limited = policy(max_files=2)
    check_url_count(["http://a.test/1", "http://a.test/2"], limited)
    with pytest.raises(UnsafeInput, match="3 URLs given, the limit is 2"):
        check_url_count(["u"] * 3, limited)


def test_policy_from_settings_and_validation() -> None:
    settings = SimpleNamespace(
        remote_allow_private=True,
        remote_timeout_seconds=12.0,
        remote_max_bytes=123,
        remote_max_files=7,
    )
    built = DownloadPolicy.from_settings(settings)  # type: ignore[arg-type]
    assert (built.allow_private_addresses, built.total_timeout) == (True, 12.0)
    assert (built.max_bytes, built.max_files) == (123, 7)
    with pytest.raises(ValueError, match="only http and https"):
        DownloadPolicy(allowed_schemes=frozenset({"http", "file"}))


def test_default_resolver_uses_the_system_resolver() -> None:
    assert set(default_resolver("localhost", 80)) & {"127.0.0.1", "::1"}


# ---- TLS: certificate checked for the name while connecting to the pinned IP ----


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=files.test",
            "-addext",
            "subjectAltName=DNS:files.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_verifies_the_url_host_on_the_pinned_address(
    serve: Serve, tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    sni: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    server = serve(tls=context)
    trusting = policy(ca_bundle=str(cert))

    url = f"https://files.test:{server.port}/files/a.jpg"
    result = download(url, tmp_path, trusting, resolver=to_loopback)
    assert result.path.read_bytes() == FILE_BODY
    assert sni == ["files.test"]

    # Same pinned address, but the certificate is not valid for this name.
    other = f"https://other.test:{server.port}/files/b.jpg"
    with pytest.raises(DownloadError, match="could not connect to other.test.*CERTIFICATE"):
        download(other, tmp_path, trusting, resolver=to_loopback)
    # And an unknown CA is refused too.
    with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED"):
        download(url.replace("a.jpg", "c.jpg"), tmp_path, policy(), resolver=to_loopback)
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]


def _answers(*ips: str):
    return lambda host, port: list(ips)


def test_remote_file_errors_do_not_echo_dns_answers():
    strict = DownloadPolicy(allow_private_addresses=False)
    with pytest.raises(DownloadError) as caught:
        plan_request("http://files.test/a.jpg", strict, _answers("10.20.30.40"))
    assert "10.20.30.40" not in caught.value.message
    assert "non-public" in caught.value.message
    with pytest.raises(DownloadError) as caught:
        plan_request("http://mapped.test/a.jpg", strict, _answers("::ffff:10.20.30.40"))
    assert "10.20.30.40" not in caught.value.message and "a14:1e28" not in caught.value.message
