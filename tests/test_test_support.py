"""The test harness itself: a live server that cannot start in time is retried
once on a fresh port and then fails with its logs; stopping a process group
ends its children; a run that leaves a process behind fails and names it."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.processes import group_alive, start_group, stop_group
from tests.support.server import LiveServer, server_env

ROOT = Path(__file__).resolve().parents[1]


def test_a_taken_port_is_retried_on_a_fresh_one(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data_dir = tmp_path / "data"
        server = LiveServer(data_dir=data_dir, env=server_env(data_dir), port=port)
        try:
            server.start()
            assert server.port != port
            assert server.client().get("/api/users/self").status_code == 200
            assert f"--port {port}" in server.log()  # the first attempt is in the log
        finally:
            server.stop()
    assert not group_alive(server.process.pid)


def test_a_server_that_never_answers_fails_with_its_and_its_workers_logs(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "worker0.log").write_text("the worker's own words\n")
    server = LiveServer(data_dir=data_dir, env=server_env(data_dir), ready_timeout=0.05)
    with pytest.raises(RuntimeError) as failure:
        server.start()
    message = str(failure.value)
    assert "attempt 1" in message and "attempt 2" in message, message
    assert "---- server log" in message and "annotask serve --port" in message, message
    assert "the worker's own words" in message, message
    assert not group_alive(server.process.pid)  # the last attempt was stopped, group and all


def test_stopping_a_group_ends_the_children_it_started():
    parent = start_group(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time;"
            "child = subprocess.Popen(['sleep', '60']); print(child.pid, flush=True);"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())
    stop_group(parent)
    parent.stdout.close()
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_run_that_leaves_a_process_behind_fails_and_names_it(tmp_path):
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            """
            import subprocess

            def test_leaks():
                subprocess.Popen(["sleep", "61.5"], start_new_session=True)
            """
        )
    )
    env = {**server_env(tmp_path), "PYTHONPATH": str(ROOT), "TESTS_LEFTOVER_GRACE_SECONDS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.support.leftovers", "-p", "no:cacheprovider"]
        + ["-q", "-n", "0", str(tmp_path / "test_leak.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "leftover processes" in result.stdout and "sleep 61.5" in result.stdout, result.stdout
    assert (
        "sleep 61.5"
        not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    )
