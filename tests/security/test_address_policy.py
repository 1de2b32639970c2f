"""The one address policy of outbound connections, judged on parsed and planned
addresses only: no test here connects anywhere (resolvers are fakes)."""

from __future__ import annotations

import pytest

from annotask.security.address_policy import AddressPolicy, AddressRefused, normalise_host
from annotask.security.http_client import DownloadPolicy

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "0x7f.1",
    "127.1",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
    "[::ffff:7f00:1]",
]


def no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must not be resolved: it is an address")


def answers(*ips: str):
    return lambda host, port: list(ips)


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_loopback_spelling_is_refused(host):
    with pytest.raises(AddressRefused):
        AddressPolicy().check(host, 80, no_resolver)


def test_localhost_is_refused_through_its_answers():
    with pytest.raises(AddressRefused):
        AddressPolicy().check("localhost", 80, answers("127.0.0.1", "::1"))


@pytest.mark.parametrize(
    "answer", ["10.0.0.7", "172.16.3.4", "192.168.1.1", "169.254.169.254", "224.0.0.1", "240.0.0.1"]
)
def test_non_public_answers_are_refused_without_repeating_them(answer):
    with pytest.raises(AddressRefused) as caught:
        AddressPolicy().check("internal.test", 443, answers(answer))
    assert answer not in caught.value.message
    assert "non-public" in caught.value.message


def test_one_bad_answer_among_several_refuses_the_host():
    with pytest.raises(AddressRefused):
        AddressPolicy().check("mixed.test", 443, answers("93.184.216.34", "10.0.0.1"))


def test_public_answers_are_the_addresses_to_pin():
    assert AddressPolicy().check("public.test", 443, answers("93.184.216.34")) == ("93.184.216.34",)


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_the_allow_list_matches_every_spelling_of_a_listed_address(host):
    policy = AddressPolicy(allowed_hosts=("127.0.0.1", "::1"))
    assert policy.host_allowed(host)
    assert len(policy.check(host, 80, no_resolver)) == 1


def test_listed_names_accept_any_answer_and_suffix_entries_cover_subdomains():
    policy = AddressPolicy(allowed_hosts=("git.corp", "*.lan"))
    assert policy.check("GIT.corp.", 22, answers("10.1.2.3")) == ("10.1.2.3",)
    assert policy.check("repos.lan", 22, answers("192.168.0.9")) == ("192.168.0.9",)
    assert policy.trusts("git.corp") and policy.trusts("a.b.lan")
    assert not policy.trusts("lan") and not policy.trusts("evil-git.corp")
    with pytest.raises(AddressRefused):
        policy.check("other.corp", 22, answers("10.1.2.3"))


def test_allow_private_allows_and_trusts_everything():
    policy = AddressPolicy(allow_private=True)
    assert policy.check("127.0.0.1", 80, no_resolver) == ("127.0.0.1",)
    assert policy.trusts("anything.test")


def test_normalised_hosts():
    assert normalise_host("[::FFFF:127.0.0.1]") == "127.0.0.1"
    assert normalise_host("2130706433") == "127.0.0.1"
    assert normalise_host("Git.Example.") == "git.example"


def test_remote_files_and_git_share_the_policy_class():
    assert isinstance(DownloadPolicy().addresses, AddressPolicy)
