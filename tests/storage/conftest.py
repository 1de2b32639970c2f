"""The ``storage`` fixture: every contract test runs on the local storage and on
S3 (a moto server process on 127.0.0.1), with small multipart settings."""

from __future__ import annotations

import pytest

from tests.storage.specs import build, local_spec, s3_spec


@pytest.fixture(params=["local", "s3"])
def storage_spec(request, tmp_path) -> dict:
    """How to build the storage under test (also in a child process)."""
    if request.param == "local":
        return local_spec(tmp_path / "data")
    server = request.getfixturevalue("s3_server")
    return s3_spec(server, server.new_bucket())


@pytest.fixture
def storage(storage_spec):
    return build(storage_spec)
