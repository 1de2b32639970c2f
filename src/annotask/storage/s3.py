"""Objects in an S3-compatible bucket, through boto3.

This module is imported only when ``ANNOTASK_STORAGE_URL`` names a bucket
(``storage.make_storage``), so a process on the local default never loads
boto3 (tens of MiB of memory and a slow import). The client itself is made on
first use.

Atomicity comes from S3 itself: a ``PutObject`` or a multipart upload's
``CompleteMultipartUpload`` makes the whole object visible at once, and a
writer killed before that leaves at most an unfinished multipart upload, which
no read or listing sees (``abort_stale_uploads`` and ``delete_prefix`` free its
parts; a bucket lifecycle rule should too, see docs/deployment.md). Concurrent
writers of one key: the last one to complete wins.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from annotask.storage.base import (
    COPY_BUFFER,
    InvalidKey,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    Source,
    StorageError,
    as_reader,
    check_key,
    check_prefix,
    iter_source,
    join_by_streaming,
)

MiB = 1024 * 1024
#: S3's smallest part (all parts of a multipart upload but the last).
MIN_PART_BYTES = 5 * MiB
#: The largest object or part UploadPartCopy copies in one piece, and S3's part limit.
MAX_COPY_BYTES = 5 * 1024 * MiB
MAX_PARTS = 10_000
MAX_KEY_BYTES = 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
# A create-only write that lost: the key exists, or a concurrent one is completing.
_TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _translated(what: str, key: str | None = None) -> Iterator[None]:
    """botocore's exceptions as ours: a missing key as ObjectNotFound, the rest as
    StorageError naming the operation and S3's reason (never the credentials)."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if key is not None and code in _MISSING:
            raise ObjectNotFound(key) from None
        if key is not None and code in _TAKEN:
            raise ObjectExists(key) from None
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        raise StorageError(f"{what}: {code} {message}".strip()) from exc
    except BotoCoreError as exc:
        raise StorageError(f"{what}: {exc}") from exc


class _CountingReader(io.RawIOBase):
    """Counts the bytes a client reads from ``source``."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Body(io.RawIOBase):
    """A GetObject response body whose network errors are StorageErrors too."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        with _translated(f"read of {self._key}"):
            return self._body.readinto(buffer)

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()


class _MultipartWriter(io.RawIOBase):
    """A write stream that sends each full part as it fills: memory is one part.

    Nothing is visible until :meth:`commit`; :meth:`abort` (or a killed process)
    leaves no object. A stream shorter than one part is sent as one PutObject."""

    def __init__(self, storage: S3Storage, key: str, exclusive: bool = False) -> None:
        self._storage = storage
        self._key = key
        self._condition = {"IfNoneMatch": "*"} if exclusive else {}
        self._name = storage._name(key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        self.size += len(data)
        size = self._storage.part_bytes
        while len(self._buffer) >= size:
            with memoryview(self._buffer) as view:  # one copy of the part, no more
                part, rest = bytes(view[:size]), bytearray(view[size:])
            self._buffer = rest
            self._send(part)
            del part
        return len(data)

    def _send(self, part: bytes) -> None:
        client, bucket = self._storage.client, self._storage.bucket
        with _translated(f"upload of {self._key}"):
            if self._upload_id is None:
                created = client.create_multipart_upload(Bucket=bucket, Key=self._name)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            sent = client.upload_part(
                Bucket=bucket,
                Key=self._name,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
            )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def commit(self) -> None:
        client, bucket = self._storage.client, self._storage.bucket
        with _translated(f"upload of {self._key}", self._key):
            if self._upload_id is None:
                client.put_object(
                    Bucket=bucket, Key=self._name, Body=bytes(self._buffer), **self._condition
                )
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self._name,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                    **self._condition,
                )
        self._buffer = bytearray()

    def abort(self) -> None:
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._storage.client.abort_multipart_upload(
                    Bucket=self._storage.bucket, Key=self._name, UploadId=self._upload_id
                )


class S3Storage:
    """:class:`~annotask.storage.base.Storage` on an S3 bucket, under a key prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_bytes: int = 8 * MiB,
        max_concurrency: int = 4,
    ) -> None:
        if not bucket:
            raise InvalidKey("an S3 storage needs a bucket name")
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES} (S3's minimum)")
        self.bucket = bucket
        self.prefix = check_prefix(prefix)
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self._access_key_id = access_key_id or None
        self._secret_access_key = secret_access_key or None
        self.part_bytes = part_bytes
        self.max_concurrency = max_concurrency
        self._client: Any = None
        self._lock = threading.Lock()

    # ---- client --------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (clients are thread-safe; sessions
        are not, hence the lock around making it)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    config = Config(
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=10,
                        read_timeout=60,
                        max_pool_connections=max(10, 2 * self.max_concurrency),
                        s3={"addressing_style": "path"} if self.endpoint_url else None,
                        # Checksums only when S3 requires them: S3-compatible servers
                        # differ in what they accept of the newer default.
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                    )
                    session = boto3.session.Session(
                        aws_access_key_id=self._access_key_id,
                        aws_secret_access_key=self._secret_access_key,
                        region_name=self.region,
                    )
                    self._client = session.client(
                        "s3", endpoint_url=self.endpoint_url, config=config
                    )
        return self._client

    @property
    def _transfer(self) -> TransferConfig:
        config = TransferConfig(
            multipart_threshold=self.part_bytes,
            multipart_chunksize=self.part_bytes,
            max_concurrency=self.max_concurrency,
            use_threads=self.max_concurrency > 1,
        )
        # Parts read ahead from a stream: no more than are sent at once (the
        # default, 10, would hold 10 parts of a large stream in memory). s3transfer
        # has the setting; boto3's TransferConfig does not take it as an argument.
        config.max_in_memory_upload_chunks = self.max_concurrency
        return config

    def _name(self, key: str) -> str:
        name = self.prefix + check_key(key)
        if len(name.encode()) > MAX_KEY_BYTES:
            raise InvalidKey(f"key {key!r} is longer than S3's {MAX_KEY_BYTES} bytes")
        return name

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    # ---- reading -------------------------------------------------------------

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        name = self._name(key)
        if length == 0:
            self.size(key)  # a missing key is an error even for an empty range
            return io.BytesIO(b"")
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": name}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            args["Range"] = f"bytes={start}-{end}"
        try:
            with _translated(f"read of {key}", key):
                body = self.client.get_object(**args)["Body"]
            return io.BufferedReader(_Body(body, key), COPY_BUFFER)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _code(cause) == "InvalidRange":
                return io.BytesIO(b"")  # the object exists; the range starts at its end
            raise

    def size(self, key: str) -> int:
        with _translated(f"size of {key}", key):
            return int(
                self.client.head_object(Bucket=self.bucket, Key=self._name(key))["ContentLength"]
            )

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full = self.prefix + check_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        with _translated(f"listing of {prefix or '/'}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for item in page.get("Contents", ()):
                    yield ObjectInfo(item["Key"][len(self.prefix) :], int(item["Size"]))

    # ---- writing -------------------------------------------------------------

    @contextlib.contextmanager
    def writer(
        self, key: str, *, durable: bool = False, exclusive: bool = False
    ) -> Iterator[BinaryIO]:
        stream = _MultipartWriter(self, key, exclusive)
        buffered = io.BufferedWriter(stream, 1 << 20)
        try:
            yield buffered
        except BaseException:
            stream.abort()
            raise
        try:
            buffered.flush()
            stream.commit()
        except BaseException:
            stream.abort()
            raise

    def write(
        self, key: str, source: Source, *, durable: bool = False, exclusive: bool = False
    ) -> int:
        if exclusive:  # s3transfer cannot send the condition: our own multipart writer
            size = 0
            with self.writer(key, exclusive=True) as out:
                for piece in iter_source(source):
                    out.write(piece)
                    size += len(piece)
            return size
        name = self._name(key)
        if isinstance(source, bytes | bytearray | memoryview) and len(source) < self.part_bytes:
            with _translated(f"upload of {key}"):
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(source))
            return len(source)
        reader = _CountingReader(as_reader(source))
        with _translated(f"upload of {key}"):
            self.client.upload_fileobj(reader, self.bucket, name, Config=self._transfer)
        return reader.count

    def write_file(
        self, key: str, path: str | Path, *, durable: bool = False, move: bool = False
    ) -> int:
        name = self._name(key)
        size = os.path.getsize(path)
        with _translated(f"upload of {key}"):
            self.client.upload_file(os.fspath(path), self.bucket, name, Config=self._transfer)
        if move:
            os.unlink(path)
        return size

    def join(self, parts: builtins.list[ObjectInfo], target: str) -> None:
        """``parts`` concatenated into ``target`` inside the bucket (UploadPartCopy):
        no byte passes through this host. S3 needs every part but the last to be
        5 MiB to 5 GiB; otherwise the bytes are streamed through this process."""
        name = self._name(target)
        copyable = (
            0 < len(parts) <= MAX_PARTS
            and all(MIN_PART_BYTES <= p.size <= MAX_COPY_BYTES for p in parts[:-1])
            and parts[-1].size <= MAX_COPY_BYTES
        )
        if not copyable:
            join_by_streaming(self, parts, target)
            return
        client, bucket = self.client, self.bucket
        with _translated(f"join into {target}"):
            upload_id = client.create_multipart_upload(Bucket=bucket, Key=name)["UploadId"]
            try:
                done: builtins.list[dict[str, Any]] = []
                for number, part in enumerate(parts, 1):
                    copied = client.upload_part_copy(
                        Bucket=bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource={"Bucket": bucket, "Key": self._name(part.key)},
                    )
                    done.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
                client.complete_multipart_upload(
                    Bucket=bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": done}
                )
            except BaseException:
                with contextlib.suppress(ClientError, BotoCoreError):
                    client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)
                raise

    # ---- deleting ------------------------------------------------------------

    def delete(self, key: str) -> bool:
        existed = self.exists(key)
        with _translated(f"delete of {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        return existed

    def delete_prefix(self, prefix: str) -> int:
        relative = check_prefix(prefix)
        if not relative:
            raise InvalidKey("refusing to delete the whole storage (empty prefix)")
        removed = 0
        batch: list[dict[str, str]] = []

        def flush() -> int:
            if not batch:
                return 0
            with _translated(f"delete of {prefix}"):
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": list(batch), "Quiet": True}
                )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError(f"delete of {first.get('Key')}: {first.get('Message')}")
            done = len(batch)
            batch.clear()
            return done

        for info in self.list(relative):
            batch.append({"Key": self.prefix + info.key})
            if len(batch) == 1000:  # S3's batch limit
                removed += flush()
        removed += flush()
        self.abort_stale_uploads(relative, older_than=timedelta(0))
        return removed

    def abort_stale_uploads(
        self, prefix: str = "", older_than: timedelta = timedelta(days=1)
    ) -> int:
        """Abort unfinished multipart uploads (left by killed writers) under ``prefix``
        started more than ``older_than`` ago; returns how many."""
        full = self.prefix + check_prefix(prefix)
        cutoff = datetime.now(UTC) - older_than
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        with _translated(f"abort of unfinished uploads under {prefix or '/'}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for upload in page.get("Uploads", ()):
                    if upload["Initiated"] <= cutoff:
                        with contextlib.suppress(ClientError):
                            self.client.abort_multipart_upload(
                                Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                            )
                            aborted += 1
        return aborted
