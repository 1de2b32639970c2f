"""A real S3-compatible server on 127.0.0.1 for tests: moto's server mode, as a
process of its own (never in-process mocking), and helpers to reach it.

moto is a test dependency (``moto[server]``); without it the fixtures that
need the server skip with the reason.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import start_group, stop_group
from tests.support.services import free_port

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"
MiB = 1024 * 1024
#: The smallest part S3 allows: small test parts make multipart uploads cheap.
TEST_PART_BYTES = 5 * MiB


def moto_missing() -> str | None:
    """Why the moto server cannot run here, or None when it can."""
    for module in ("moto", "flask", "flask_cors", "boto3"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[test]' brings moto[server])"
    return None


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen
    log: Path

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings(self, bucket: str, prefix: str = "data") -> dict[str, str]:
        """``ANNOTASK_*`` settings (without the prefix) that point at ``bucket``."""
        return {
            "storage_url": f"s3://{bucket}/{prefix}",
            "storage_endpoint_url": self.endpoint,
            "storage_region": REGION,
            "storage_access_key_id": ACCESS_KEY,
            "storage_secret_access_key": SECRET_KEY,
            "storage_part_bytes": str(TEST_PART_BYTES),
        }

    def stop(self) -> None:
        stop_group(self.process, timeout=10)


def start_s3_server(log_dir: Path, timeout: float = 60) -> S3Server:
    """Start ``python -m moto.server`` on a free port of 127.0.0.1 and wait until
    it accepts connections; raises with its log if it does not come up."""
    port = free_port()
    log = log_dir / f"moto-{port}.log"
    with open(log, "wb") as out:
        process = start_group(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"the moto S3 server did not start:\n{log.read_text(errors='replace')}")
