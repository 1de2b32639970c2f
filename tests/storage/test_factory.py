"""``make_storage``: the settings pick the storage; boto3 is loaded only for a bucket."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from annotask.settings import Settings
from annotask.storage import LocalStorage, make_storage, read_all
from tests.support.server import server_env


def test_the_default_is_the_data_directory(tmp_path):
    storage = make_storage(Settings(data_dir=tmp_path))
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path.absolute()
    storage.write("tasks/1/x", b"1")
    assert (tmp_path / "tasks" / "1" / "x").read_bytes() == b"1"


def test_a_file_url_is_a_local_directory(tmp_path):
    storage = make_storage(Settings(data_dir=tmp_path / "d", storage_url=f"file://{tmp_path}/o"))
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "o"


def test_an_s3_url_is_a_bucket_under_a_prefix(s3_server):
    bucket = s3_server.new_bucket()
    storage = make_storage(Settings(**s3_server.settings(bucket, prefix="deploy/one")))
    assert storage.describe() == f"s3://{bucket}/deploy/one/ at {s3_server.endpoint}"
    storage.write("tasks/1/x", b"in the bucket")
    names = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert names == ["deploy/one/tasks/1/x"]
    assert read_all(storage, "tasks/1/x") == b"in the bucket"


@pytest.mark.parametrize("url", ["ftp://x", "s3://", "s3:///prefix", "bucket/prefix"])
def test_a_malformed_storage_url_is_refused_at_start(url):
    with pytest.raises(ValidationError, match="storage_url"):
        Settings(storage_url=url)


def test_secrets_are_not_shown_in_the_settings():
    settings = Settings(storage_secret_access_key="hunter2", storage_access_key_id="AKIA")
    assert "hunter2" not in repr(settings) and "AKIA" not in repr(settings)
    assert settings.storage_secret_access_key.get_secret_value() == "hunter2"


def test_a_process_on_the_local_default_never_imports_boto3(tmp_path):
    code = (
        "import sys\n"
        "from annotask.settings import Settings\n"
        "from annotask.services import Services\n"
        "import annotask.app, annotask.cli\n"
        "services = Services(Settings())\n"
        "services.storage.write('probe', b'x')\n"
        "assert services.storage.local_path('probe').read_bytes() == b'x'\n"
        "loaded = [m for m in ('boto3', 'botocore', 's3transfer') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    env = server_env(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
