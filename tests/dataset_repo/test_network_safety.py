"""Dataset repositories through a live server, as an ordinary user would try them:
loopback in every spelling is refused unless allow-listed, an allow-listed loopback
git server works, failures do not tell open ports from closed ones, and two clones
hanging on a silent server do not hold up another user's task creation.

Only 127.0.0.1 / localhost / [::1] appear in URLs.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import closing

import httpx
import pytest

from tests.conftest import start_server
from tests.dataset_repo.gitutil import bare_repository, git
from tests.support.media import image_bytes
from tests.support.resources import new_user, unique
from tests.support.rest import new_task
from tests.support.services import free_port
from tests.support.static_http import serve_directory

pytestmark = pytest.mark.xdist_group("dataset_repo")

API = "/api/git/repository"
STRICT = {"remote_allow_private": "false"}
LISTED = {
    "remote_allow_private": "false",
    "git_allowed_hosts": "127.0.0.1",
    "git_idle_timeout_seconds": "300",  # the silent server below must hold its clones
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def strict_server(request, tmp_path_factory):
    """The default address policy: nothing non-public, nothing allow-listed."""
    yield from start_server(
        tmp_path_factory.mktemp("strict"), request.param, ready_timeout=90, **STRICT
    )


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def listed_server(request, tmp_path_factory):
    """127.0.0.1 allow-listed for on-premise git; the embedded and the Redis queue."""
    yield from start_server(
        tmp_path_factory.mktemp("listed"), request.param, ready_timeout=90, **LISTED
    )


def user_client(server) -> httpx.Client:
    return server.client(new_user(server))


def wait_check(client: httpx.Client, rq_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"{API}/check/{rq_id}").json()
        if body["status"] not in ("queued", "started"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def start_clone(client: httpx.Client, task_id: int, url: str) -> str:
    answer = client.post(f"{API}/create/{task_id}", json={"path": url, "lfs": False})
    assert answer.status_code == 200, answer.text
    return answer.json()["rq_id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/r.git",
        "http://127.0.0.1:{port}/r.git",
        "http://2130706433:{port}/r.git",
        "http://0x7f.1:{port}/r.git",
        # Read as 127.0.0.1 whether the zeros are taken as octal or decimal; the octal
        # spelling 0177.0.0.1 is checked on planned addresses only (test_remote.py).
        "http://127.000.000.001:{port}/r.git",
        "http://[::1]:{port}/r.git",
        "https://[::ffff:127.0.0.1]:{port}/r.git",
        "ssh://git@localhost:{port}/r.git",
        "ssh://[::1]:{port}/r.git",
        "git@localhost:owner/r.git",
        "git://localhost:{port}/r.git",
    ],
)
def test_loopback_in_any_spelling_is_refused_by_default(strict_server, url):
    port = free_port()
    with closing(user_client(strict_server)) as client:
        task_id = new_task(client, unique("ssrf"))
        answer = client.post(f"{API}/create/{task_id}", json={"path": url.format(port=port)})
        assert answer.status_code == 400, answer.text
        text = " ".join(answer.json()["path"])
        # "URL [PATH]" keeps brackets for the path, so IPv6 literals never parse at all.
        assert "ANNOTASK_GIT_ALLOWED_HOSTS" in text or "[" in url, text
        assert client.get(f"{API}/get/{task_id}").json()["url"]["value"] is None


def test_lfs_is_refused_for_hosts_not_on_the_allow_list(strict_server):
    with closing(user_client(strict_server)) as client:
        task_id = new_task(client, unique("lfs"))
        # The LFS check comes before any DNS lookup: no traffic for this host name.
        body = {"path": "https://git.example.com/team/repo.git", "lfs": True}
        answer = client.post(f"{API}/create/{task_id}", json=body)
        assert answer.status_code == 400, answer.text
        assert "ANNOTASK_GIT_ALLOWED_HOSTS" in " ".join(answer.json()["lfs"])


def test_an_allow_listed_loopback_git_server_works(listed_server, tmp_path):
    remote = bare_repository(tmp_path / "www" / "r.git", {"README.md": "hi"})
    git("update-server-info", cwd=remote)
    with serve_directory(tmp_path / "www") as base, closing(user_client(listed_server)) as client:
        task_id = new_task(client, unique("onprem"))
        port = base.rsplit(":", 1)[1]
        # The allow-list matches every spelling of its address.
        for url in (f"{base}/r.git", f"http://2130706433:{port}/r.git"):
            assert wait_check(client, start_clone(client, task_id, url)) == {"status": "finished"}


def test_closed_and_open_but_not_git_ports_fail_alike(listed_server, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("<p>a web site</p>")
    with serve_directory(tmp_path / "www") as base, closing(user_client(listed_server)) as client:
        closed = f"http://127.0.0.1:{free_port()}/r.git"
        open_port = f"{base}/r.git"
        reasons = []
        for url in (closed, open_port):
            task_id = new_task(client, unique("scan"))
            failed = wait_check(client, start_clone(client, task_id, url))
            assert failed["status"] == "failed"
            reasons.append(failed["stderr"].replace(url, "URL"))
            last = client.get(f"{API}/get/{task_id}").json()["last_error"]
            assert last.replace(url, "URL") == reasons[-1]
    assert reasons[0] == reasons[1], reasons
    assert "could not reach the repository" in reasons[0]


class SilentListener:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.changed:
                self.accepted.append(conn)
                self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.accepted) >= count, timeout)

    def close(self) -> None:
        self.sock.close()
        with self.changed:
            for conn in self.accepted:
                conn.close()


def create_task_with_an_image(client: httpx.Client) -> str:
    task_id = new_task(client, unique("other"))
    url = f"/api/tasks/{task_id}/data/"
    files = {"client_files[0]": ("f0.jpg", image_bytes(64, 48, seed=1), "image/jpeg")}
    answer = client.post(url, data={"image_quality": "70"}, files=files)
    assert answer.status_code == 202, answer.text
    return answer.json()["rq_id"]


def request_status(client: httpx.Client, rq_id: str) -> str:
    return client.get(f"/api/requests/{rq_id}").json()["status"]


def test_hanging_clones_do_not_hold_up_another_users_task_creation(listed_server):
    silent = SilentListener()
    alice, bob = user_client(listed_server), user_client(listed_server)
    clones: list[str] = []
    try:
        for name in ("a", "b"):
            task_id = new_task(alice, unique(f"hang-{name}"))
            clones.append(start_clone(alice, task_id, f"http://127.0.0.1:{silent.port}/{name}.git"))
        assert silent.wait_for(2, timeout=60), "both clones should be connected and waiting"

        creation = create_task_with_an_image(bob)
        deadline = time.monotonic() + 60
        while request_status(bob, creation) not in ("finished", "failed"):
            assert time.monotonic() < deadline, "task creation waited behind the hanging clones"
            time.sleep(0.1)
        assert request_status(bob, creation) == "finished"
        # ...while both clones still hang on the silent server.
        assert [wait_status(alice, rq) for rq in clones] == ["started", "started"]
    finally:
        silent.close()  # the clones now fail at once
        for rq_id in clones:
            wait_check(alice, rq_id, timeout=60)
        alice.close()
        bob.close()


def wait_status(client: httpx.Client, rq_id: str) -> str:
    return client.get(f"{API}/check/{rq_id}").json()["status"]
