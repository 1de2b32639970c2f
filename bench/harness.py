"""A real annotask server for the benchmarks, a PSS sampler, and small timing helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN = ("admin", "admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """``annotask serve`` (uvicorn + the embedded worker) on SQLite, like a default install."""

    data_dir: Path
    share_root: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANNOTASK_")}
        env.update(
            ANNOTASK_DATA_DIR=str(self.data_dir),
            ANNOTASK_SHARE_ROOT=str(self.share_root),
            PYTHONUNBUFFERED="1",
        )
        env.update({f"ANNOTASK_{k.upper()}": v for k, v in self.settings.items()})
        return env

    def start(self) -> Server:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        python = [sys.executable, "-m", "annotask"]
        subprocess.run(
            [*python, "users", "add", ADMIN[0], "--password", ADMIN[1], "--admin"],
            env=self.env(),
            check=True,
            capture_output=True,
        )
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [*python, "serve", "--port", str(self.port), "--log-level", "warning"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 240  # a loaded shared machine starts slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/server/about", timeout=1).status_code == 200:
                    time.sleep(1.0)  # let the embedded worker finish starting
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()  # no server left behind (with its worker and web processes)
        raise RuntimeError("the server did not start; see " + str(self.data_dir / "server.log"))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=600)
        response = client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        response.raise_for_status()
        client.headers["Authorization"] = f"Token {response.json()['key']}"
        client.cookies.clear()
        return client

    def tree(self) -> list[int]:
        """The server and all its descendants (embedded worker, fork server, pools)."""
        assert self.process is not None
        return process_tree(self.process.pid)


@contextmanager
def running(server: Server):
    server.start()
    try:
        yield server
    finally:
        server.stop()


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from the kernel's per-thread ``children`` lists
    (a scan of every ``/proc/<pid>/stat`` cost ~10 ms, too much to repeat while a
    benchmark runs)."""
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fp:
                    stack.extend(int(child) for child in fp.read().split())
            except OSError:
                continue
    return found


def pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fp:
            for line in fp:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PssSampler:
    """Peak of the PSS summed over a process tree, sampled every ``interval`` seconds.

    A sample costs CPU (the kernel walks every mapping for ``smaps_rollup``), which
    the measured creation loses: sample often only where the peak is the figure.
    """

    def __init__(self, server: Server, interval: float = 0.1) -> None:
        self.server = server
        self.interval = interval
        self.peak = 0
        self.baseline = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        return sum(pss_bytes(pid) for pid in self.server.tree())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval)

    def __enter__(self) -> PssSampler:
        self.baseline = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def new_task(client: httpx.Client, name: str, **fields) -> int:
    response = client.post("/api/tasks", json={"name": name, "labels": [{"name": "a"}], **fields})
    response.raise_for_status()
    return response.json()["id"]


POLL_SECONDS = 0.5


def create_from_share(
    client: httpx.Client,
    name: str,
    server_files: list[str],
    *,
    task_fields: dict | None = None,
    **params,
) -> tuple[int, float]:
    """Create a task (with ``task_fields``, e.g. ``segment_size``) from share paths;
    return (task id, seconds from just before the data POST to the request's
    ``finished_date``).

    The end is the server's own timestamp (same machine, same clock), so the
    figure does not depend on how often the client polls; polling twice a second
    keeps the client's share of the CPU (each poll costs a few ms on both sides)
    out of the creation it measures.
    """
    task_id = new_task(client, name, **(task_fields or {}))
    started = time.time()
    response = client.post(
        f"/api/tasks/{task_id}/data/",
        json={"image_quality": 70, "server_files": server_files, **params},
    )
    response.raise_for_status()
    rq_id = response.json()["rq_id"]
    while True:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] == "finished":
            finished = datetime.fromisoformat(body["finished_date"].replace("Z", "+00:00"))
            return task_id, finished.timestamp() - started
        if body["status"] == "failed":
            raise RuntimeError(f"creation failed: {body['message']}")
        time.sleep(POLL_SECONDS)


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only); False when not permitted."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fp:
            fp.write("3\n")
        return True
    except OSError:
        return False


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"
