"""Address judgement shared by every outbound feature."""

from __future__ import annotations

import ipaddress

import pytest

from annotask.security.addresses import describe_ip, is_public_address, parse_ip_literal


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1"])
def test_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "0.0.0.0",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "2002:a00:1::",
        "64:ff9b::a00:1",
    ],
)
def test_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("::1", "::1"),
        ("files.test", None),
        ("bad.cafe", None),
        ("deadbeef", None),
        ("1.2.3.4.5", None),
    ],
)
def test_parse_ip_literal(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (None if parsed is None else str(parsed)) == expected


def test_describe_ip_shows_mapped_ipv4() -> None:
    assert describe_ip(ipaddress.ip_address("::ffff:127.0.0.1")) == "::ffff:127.0.0.1"
    assert describe_ip(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1"
