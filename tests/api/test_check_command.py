"""``annotask check``: one line per dependency, a non-zero exit naming what failed."""

from __future__ import annotations

import shutil
import subprocess
import sys

from annotask.media import images, jpeg_requantize
from tests.support.server import server_env


def _check(tmp_path, **settings) -> subprocess.CompletedProcess:
    env = server_env(tmp_path / "data", share_root=str(tmp_path), **settings)
    subprocess.run([sys.executable, "-m", "annotask", "migrate"], env=env, check=True)
    return subprocess.run(
        [sys.executable, "-m", "annotask", "check"], env=env, capture_output=True, text=True
    )


def test_a_default_install_passes_every_check(tmp_path):
    result = _check(tmp_path)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    for name in ("settings", "data dir", "database", "queue", "cache", "share"):
        assert any(line.startswith(f"ok    {name}:") for line in lines), result.stdout
    expected = "DCT-domain" if jpeg_requantize.AVAILABLE else "pixel path only"
    assert any(line.startswith("ok    jpeg transcoder:") and expected in line for line in lines)
    expected = "read in C" if images.FAST_HEADERS else "read in Python"
    assert any(line.startswith("ok    jpeg headers:") and expected in line for line in lines)
    git = "git found" if shutil.which("git") else "unavailable"
    assert any(line.startswith("ok    dataset repositories:") and git in line for line in lines)


def test_a_broken_dependency_is_named_and_fails_the_command(tmp_path):
    result = _check(tmp_path, cache_url="ftp://nowhere")
    assert result.returncode == 1
    assert any(line.startswith("FAIL  cache:") for line in result.stdout.splitlines())
    assert "ok    database:" in result.stdout  # the others still ran
