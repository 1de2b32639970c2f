"""A real annotask server (``annotask serve``) in a subprocess on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

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
    ready_timeout: float = 30  # seconds; servers that spawn several processes need more

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

    def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        result = self.run_cli("users", "add", ADMIN[0], "--password", ADMIN[1], "--admin")
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"could not create the admin: {result.stderr}")
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
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
        self.wait_ready(self.ready_timeout)
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/server/about", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def start_worker(self) -> subprocess.Popen:
        log = open(self.data_dir / f"worker{len(self.workers)}.log", "ab")  # noqa: SIM115
        worker = subprocess.Popen(
            [sys.executable, "-m", "annotask", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        return worker

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> None:
        for proc in [*self.workers, self.process]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.process]:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def restart(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.start()

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
