"""Object storage: the protocol, its local and S3 implementations, and the factory.

``make_storage(settings)`` picks the implementation from ``ANNOTASK_STORAGE_URL``.
The S3 module (and boto3 with it) is imported only when a bucket is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from annotask.storage.base import (
    InvalidKey,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    check_key,
    check_prefix,
    read_all,
)
from annotask.storage.local import LocalStorage

if TYPE_CHECKING:
    from annotask.settings import Settings

__all__ = [
    "InvalidKey",
    "LocalStorage",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "check_key",
    "check_prefix",
    "make_storage",
    "read_all",
]


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def make_storage(settings: Settings) -> Storage:
    """The storage the settings name: the data dir (default), a local directory
    (``file:///path``) or a bucket (``s3://bucket/prefix``)."""
    url = settings.storage_url
    if not url:
        return LocalStorage(settings.data_dir)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from annotask.storage.s3 import S3Storage

        return S3Storage(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=settings.storage_endpoint_url or None,
            region=settings.storage_region or None,
            access_key_id=_secret(settings.storage_access_key_id),
            secret_access_key=_secret(settings.storage_secret_access_key),
            part_bytes=settings.storage_part_bytes,
            max_concurrency=settings.storage_max_concurrency,
        )
    raise ValueError(f"unsupported storage URL scheme {parts.scheme!r}")
