"""Planning a dataset repository's connection: the address policy, the pinning options
in the planned git command, and a real clone that only works through the pin.

Resolvers are fakes; the only traffic goes to a dumb-HTTP git server on 127.0.0.1.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from annotask.domain.dataset_repo import workspace
from annotask.domain.dataset_repo.git import UNREACHABLE, GitError
from annotask.domain.dataset_repo.remote import RemoteRefused, plan_remote
from annotask.settings import Settings
from tests.dataset_repo.gitutil import bare_repository, git
from tests.support.static_http import serve_directory

PUBLIC = "93.184.216.34"  # only ever planned, never connected to
OWNER = workspace.Identity("alice", "alice@example.com")


def settings(tmp_path: Path, **values) -> Settings:
    return Settings(data_dir=tmp_path / "data", **values)


def resolve_to(*ips: str):
    return lambda host, port: list(ips)


def no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must not be resolved")


def messages(exc: RemoteRefused) -> str:
    return " ".join(m for ms in exc.errors.values() for m in ms)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/r.git",
        "https://2130706433/r.git",
        "http://0x7f.1:8080/r.git",
        "http://0177.0.0.1/r.git",
        "https://[::1]/r.git",
        "https://[::ffff:127.0.0.1]/r.git",
        "ssh://git@127.0.0.1/r.git",
        "ssh://[::1]:2222/r.git",
        "git@127.0.0.1:owner/r.git",
    ],
)
def test_loopback_literals_are_refused_by_default(tmp_path, url):
    with pytest.raises(RemoteRefused) as caught:
        plan_remote(url, settings(tmp_path), resolver=no_resolver)
    assert "ANNOTASK_GIT_ALLOWED_HOSTS" in messages(caught.value)


@pytest.mark.parametrize("answer", ["127.0.0.1", "::1", "10.0.0.8", "169.254.169.254", "fd00::1"])
@pytest.mark.parametrize("url", ["https://localhost/r.git", "git@internal.test:r.git"])
def test_names_resolving_to_non_public_addresses_are_refused_silently(tmp_path, url, answer):
    with pytest.raises(RemoteRefused) as caught:
        plan_remote(url, settings(tmp_path), resolver=resolve_to(answer))
    assert answer not in messages(caught.value)


def test_the_allow_list_or_allow_private_opens_non_public_hosts(tmp_path):
    listed = settings(tmp_path, git_allowed_hosts="git.corp, 127.0.0.1")
    plan = plan_remote("https://git.corp/r.git", listed, resolver=resolve_to("10.0.0.8"))
    assert plan.addresses == ("10.0.0.8",) and plan.trusted
    assert plan_remote("http://2130706433:8080/r.git", listed, resolver=no_resolver).trusted
    with pytest.raises(RemoteRefused):
        plan_remote("https://other.corp/r.git", listed, resolver=resolve_to("10.0.0.8"))
    open_all = settings(tmp_path, remote_allow_private=True)
    assert plan_remote("https://any.test/r.git", open_all, resolver=no_resolver).trusted


def test_http_commands_are_pinned_and_never_redirected(tmp_path):
    plan = plan_remote(
        "https://git.example.org:8443/o/r.git",
        settings(tmp_path, git_idle_timeout_seconds=20),
        resolver=resolve_to(PUBLIC, "2606:2800:220:1::1"),
    )
    options = plan.git_options()
    assert options[1::2] == [
        "http.followRedirects=false",
        "http.lowSpeedLimit=1",
        "http.lowSpeedTime=20",
        f"http.curloptResolve=git.example.org:8443:{PUBLIC},[2606:2800:220:1::1]",
    ]
    assert set(options[0::2]) == {"-c"}
    assert plan.environment({})["GIT_ALLOW_PROTOCOL"] == "https"
    assert not plan.trusted


def test_ssh_commands_are_pinned_with_the_host_key_of_the_name(tmp_path):
    plan = plan_remote(
        "git@git.example.org:owner/r.git",
        settings(tmp_path, git_connect_timeout_seconds=7),
        resolver=resolve_to(PUBLIC),
    )
    env = plan.environment({"PATH": "/usr/bin"})
    words = shlex.split(env["GIT_SSH_COMMAND"])
    assert words[0] == "ssh"
    pairs = {words[i + 1] for i, w in enumerate(words) if w == "-o"}
    assert {f"HostName={PUBLIC}", "HostKeyAlias=git.example.org", "ConnectTimeout=7"} <= pairs
    assert "BatchMode=yes" in pairs
    assert env["GIT_ALLOW_PROTOCOL"] == "ssh"
    assert plan.git_options() == []
    # An administrator's own ssh command keeps its options and gets the pin too.
    own = plan.environment({"GIT_SSH_COMMAND": "ssh -i /keys/deploy"})["GIT_SSH_COMMAND"]
    assert own.startswith("ssh -i /keys/deploy ") and f"HostName={PUBLIC}" in own


def test_git_protocol_and_lfs_only_for_listed_hosts(tmp_path):
    strict = settings(tmp_path)
    with pytest.raises(RemoteRefused) as caught:
        plan_remote("git://git.example.org/r.git", strict, resolver=no_resolver)
    assert "git://" in messages(caught.value)
    with pytest.raises(RemoteRefused) as caught:
        plan_remote("https://git.example.org/r.git", strict, lfs=True, resolver=no_resolver)
    assert list(caught.value.errors) == ["lfs"]
    listed = settings(tmp_path, git_allowed_hosts="git.example.org")
    assert plan_remote("git://git.example.org/r.git", listed, resolver=resolve_to(PUBLIC)).trusted
    assert plan_remote(
        "https://git.example.org/r.git", listed, lfs=True, resolver=resolve_to(PUBLIC)
    ).trusted


def test_local_repositories_follow_git_allow_local(tmp_path):
    with pytest.raises(RemoteRefused.__mro__[1]):  # ValidationFailed from the URL check
        plan_remote(f"file://{tmp_path}/r.git", settings(tmp_path))
    plan = plan_remote(f"file://{tmp_path}/r.git", settings(tmp_path, git_allow_local=True))
    assert not plan.network and plan.git_options() == []


def _served_repository(tmp_path: Path) -> Path:
    """A bare repository with one commit, ready for git's dumb HTTP protocol."""
    remote = bare_repository(tmp_path / "www" / "r.git", {"README.md": "hello"})
    git("update-server-info", cwd=remote)
    return remote


def test_a_clone_goes_to_the_pinned_address(tmp_path):
    """``pinned.invalid`` resolves nowhere: the clone works only because git connects
    to the checked address the plan pinned."""
    _served_repository(tmp_path)
    with serve_directory(tmp_path / "www") as base:
        port = int(base.rsplit(":", 1)[1])
        url = f"http://pinned.invalid:{port}/r.git"
        plan = plan_remote(
            url,
            settings(tmp_path, git_allowed_hosts="pinned.invalid"),
            resolver=resolve_to("127.0.0.1"),
        )
        clone = tmp_path / "task" / "repos"
        workspace.clone(clone, plan, OWNER)
    assert (clone / "README.md").read_text() == "hello"
    assert workspace.origin_url(clone) == url


def test_network_failures_read_the_same_whatever_happened(tmp_path):
    """A closed port and an open port that is not a git server give one message."""
    _served_repository(tmp_path)
    listed = settings(tmp_path, git_allowed_hosts="127.0.0.1")
    reasons = []
    with serve_directory(tmp_path / "www") as base:
        for url in (f"{base}/not-a-repository.git", f"{base}/r.git/../nothing"):
            plan = plan_remote(url, listed)
            with pytest.raises(GitError) as caught:
                workspace.clone(tmp_path / "c", plan, OWNER)
            reasons.append(caught.value.message)
    closed = plan_remote(base + "/r.git", listed)  # the server is gone: nothing listens
    with pytest.raises(GitError) as caught:
        workspace.clone(tmp_path / "c", closed, OWNER)
    reasons.append(caught.value.message)
    assert reasons == [UNREACHABLE] * 3
