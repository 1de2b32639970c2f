"""A real annotask server (``annotask serve``) in a subprocess on 127.0.0.1.

The server runs in a session of its own, so stopping it also ends its embedded
worker (and anything else it started). A server that does not answer in time
(a loaded machine, or its port taken by another run meanwhile) is stopped and
started once more on a fresh port; if that fails too the error carries the
server's and the workers' logs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.processes import kill_group, start_group
from tests.support.services import free_port

ADMIN = ("admin", "admin")


@dataclass
class LiveServer:
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    log_path: Path | None = None
    share_root: Path | None = None
    ready_timeout: float = 60  # seconds per attempt; servers of several processes need more
    attempts: int = 2  # one retry, on a fresh port

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def run_cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "annotask", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self, *, fresh_port_on_retry: bool = True) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        result = self.run_cli("users", "add", ADMIN[0], "--password", ADMIN[1], "--admin")
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"could not create the admin: {result.stderr}")
        failures = []
        for attempt in range(1, self.attempts + 1):
            self._launch()
            try:
                self.wait_ready(self.ready_timeout)
                return self
            except RuntimeError as exc:
                failures.append(f"attempt {attempt} on port {self.port}: {exc}")
                self._stop_server()
                if fresh_port_on_retry:
                    self.port = free_port()
        raise RuntimeError(
            "\n\n".join([*failures, self.logs()])
            + f"\n(data dir {self.data_dir}, {self.attempts} attempts of {self.ready_timeout}s)"
        )

    def _launch(self) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"---- annotask serve --port {self.port}\n".encode())
            log.flush()
            self.process = start_group(
                [
                    sys.executable,
                    "-m",
                    "annotask",
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"server exited early (code {self.process.returncode})")
            try:
                if httpx.get(f"{self.url}/api/server/about", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout:.0f}s")

    def start_worker(self) -> subprocess.Popen:
        with open(self.data_dir / f"worker{len(self.workers)}.log", "ab") as log:
            worker = start_group(
                [sys.executable, "-m", "annotask", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(worker)
        return worker

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def logs(self) -> str:
        """The server's log (its embedded worker writes there too) and each
        separate worker's, for failure messages."""
        parts = [f"---- server log ({self.log_path}):\n{self.log()}"]
        for path in sorted(self.data_dir.glob("worker*.log")):
            parts.append(f"---- {path.name}:\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def _stop_server(self) -> None:
        """SIGTERM to the server (it stops its embedded worker in order), then
        SIGKILL to whatever of its process group is left."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        kill_group(proc.pid)

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
            kill_group(proc.pid)
        self._stop_server()

    def restart(self) -> None:
        """The same server again, on the same port (clients keep their URL)."""
        self._stop_server()
        self.start(fresh_port_on_retry=False)

    def client(self, auth: tuple[str, str] | None = ADMIN, **kwargs) -> httpx.Client:
        """An httpx client; with ``auth`` it logs in like the CLI (session + CSRF)."""
        client = httpx.Client(base_url=self.url, timeout=30, **kwargs)
        if auth is not None:
            login(client, *auth)
        return client


def login(client: httpx.Client, username: str, password: str) -> None:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    response.raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]


def server_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNOTASK_")}
    env["ANNOTASK_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in settings.items():
        env[f"ANNOTASK_{key.upper()}"] = value
    return env
