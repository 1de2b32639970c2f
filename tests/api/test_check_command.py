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
    for name in ("settings", "data dir", "database", "queue", "cache", "storage", "share"):
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


def _check_only(tmp_path, **settings) -> subprocess.CompletedProcess:
    """``annotask check`` without a migration first, run from an empty directory."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = server_env(tmp_path / "data", **settings)
    return subprocess.run(
        [sys.executable, "-m", "annotask", "check"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_malformed_setting_is_a_fail_line_not_a_traceback(tmp_path):
    result = _check_only(tmp_path, worker_concurrency="two")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("FAIL  settings: ANNOTASK_WORKER_CONCURRENCY='two':"), result.stdout


def test_a_rule_across_settings_is_a_fail_line_too(tmp_path):
    result = _check_only(tmp_path, database_pool_size="1")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("FAIL  settings: database_pool_size (1)"), result.stdout


def test_other_commands_name_a_malformed_setting_without_a_traceback(tmp_path):
    env = server_env(tmp_path / "data", worker_concurrency="two")
    result = subprocess.run(
        [sys.executable, "-m", "annotask", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ANNOTASK_WORKER_CONCURRENCY='two'" in result.stderr


def test_an_unknown_variable_is_warned_about_with_the_nearest_name(tmp_path):
    result = _check_only(tmp_path, cache_size_limt="5", supervisor_pid="1")
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warn  settings:")]
    assert warnings == [
        "warn  settings: ANNOTASK_CACHE_SIZE_LIMT is not a setting and is ignored "
        "(did you mean ANNOTASK_CACHE_SIZE_LIMIT?)"
    ], result.stdout  # ANNOTASK_SUPERVISOR_PID is ours, set for the worker child


def test_a_missing_data_dir_is_reported_and_nothing_is_created(tmp_path):
    result = _check_only(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL  data dir:") and "does not exist" in line for line in lines)
    for name in ("database", "queue", "cache", "storage"):
        assert any(line.startswith(f"skip  {name}:") for line in lines), result.stdout
    assert not (tmp_path / "data").exists()
    assert list((tmp_path / "cwd").iterdir()) == []


def test_an_existing_data_dir_without_a_database_is_not_given_an_empty_one(tmp_path):
    (tmp_path / "data").mkdir()
    result = _check_only(tmp_path)
    assert result.returncode == 1
    assert any(
        line.startswith("FAIL  database: no database at") for line in result.stdout.splitlines()
    ), result.stdout
    assert not (tmp_path / "data" / "annotask.db").exists()


def test_the_default_storage_is_probed_in_the_data_dir(tmp_path):
    result = _check(tmp_path)
    line = next(x for x in result.stdout.splitlines() if x.startswith("ok    storage:"))
    assert f"local ({tmp_path / 'data'})" in line and "probe written, read back, deleted" in line
    assert [p.name for p in (tmp_path / "data").iterdir() if "check" in p.name] == []


def test_an_s3_storage_is_probed_in_its_bucket(tmp_path, s3_server):
    bucket = s3_server.new_bucket()
    result = _check(tmp_path, **s3_server.settings(bucket, prefix="probe-here"))
    assert result.returncode == 0, result.stdout
    assert f"ok    storage: s3://{bucket}/probe-here/ at {s3_server.endpoint}" in result.stdout
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # deleted


def test_a_missing_bucket_fails_the_storage_check_with_the_reason(tmp_path, s3_server):
    settings = s3_server.settings("no-such-bucket-here")
    result = _check(tmp_path, **settings)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("FAIL  storage:"))
    assert "s3://no-such-bucket-here/data/" in line and "NoSuchBucket" in line, line
    assert settings["storage_secret_access_key"] not in result.stdout + result.stderr
    assert "ok    database:" in result.stdout  # the others still ran


def test_an_unreachable_storage_fails_the_check(tmp_path, s3_server):
    from tests.support.services import free_port

    settings = s3_server.settings(s3_server.new_bucket())
    settings["storage_endpoint_url"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
    result = _check(tmp_path, **settings)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("FAIL  storage:"))
    assert "Could not connect" in line, line
