"""Running the real ``cvat-cli`` and making ``cvat-sdk`` clients against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import ADMIN, LiveServer


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    def assert_clean(self) -> CliResult:
        """Spec 5: exit 0, and no traceback or warning on stderr."""
        assert self.returncode == 0, f"exit {self.returncode}\n{self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        assert "WARNING" not in self.stderr, self.stderr
        return self


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVAT_", "PASS"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    env.update(extra)
    return env


def run_cli(
    server: LiveServer,
    home: Path,
    *args: str,
    auth: tuple[str, str] | None = ADMIN,
    connect: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> CliResult:
    """``cvat-cli --server-host http://localhost --server-port P --auth u:p ARGS``."""
    command = [sys.executable, "-m", "cvat_cli"]
    if connect:
        command += ["--server-host", "http://localhost", "--server-port", str(server.port)]
    if auth is not None:
        command += ["--auth", f"{auth[0]}:{auth[1]}"]
    command += list(args)
    done = subprocess.run(
        command,
        env=env or cli_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def sdk_client(server: LiveServer, credentials: tuple[str, str] = ADMIN, **kwargs):
    from cvat_sdk import make_client

    client = make_client("http://localhost", port=server.port, credentials=credentials, **kwargs)
    client.config.status_check_period = 0.1
    return client
