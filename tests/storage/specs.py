"""Storages described as plain dicts, so a child process can build the same one."""

from __future__ import annotations

from pathlib import Path

from annotask.storage import LocalStorage, Storage
from tests.support.s3_server import ACCESS_KEY, REGION, SECRET_KEY, TEST_PART_BYTES, S3Server


def local_spec(root: Path) -> dict:
    return {"kind": "local", "root": str(root)}


def s3_spec(server: S3Server, bucket: str, prefix: str = "data") -> dict:
    return {
        "kind": "s3",
        "bucket": bucket,
        "prefix": prefix,
        "endpoint_url": server.endpoint,
    }


def build(spec: dict) -> Storage:
    if spec["kind"] == "local":
        return LocalStorage(spec["root"])
    from annotask.storage.s3 import S3Storage

    return S3Storage(
        spec["bucket"],
        spec["prefix"],
        endpoint_url=spec["endpoint_url"],
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        part_bytes=TEST_PART_BYTES,
        max_concurrency=2,
    )
