"""TUS uploads as parts (``storage.parts``), on both storages: resumable on any
host, atomic per PATCH, joined at the finish."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from annotask.storage import ObjectNotFound, read_all
from annotask.storage.parts import IncompleteUpload, OffsetMismatch, PartsUploads, UploadTooLong
from tests.storage.specs import build
from tests.storage.test_contract import ROOT, digest_of, payload, sha

MiB = 1024 * 1024


def pieces(data: bytes, size: int = 64 * 1024):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_patches_in_order_are_joined_at_the_finish(storage):
    uploads = PartsUploads(storage)
    data = payload(2 * MiB + 123, seed=11)
    offset = 0
    for cut in (700_000, 1_500_000, len(data)):
        assert uploads.offset("u1") == offset
        offset = uploads.append("u1", offset, pieces(data[offset:cut]), len(data))
        assert offset == cut
    assert uploads.finish("u1", "tasks/1/upload/video.mp4", len(data)) == len(data)
    assert read_all(storage, "tasks/1/upload/video.mp4") == data
    assert list(storage.list("uploads/u1")) == []  # the parts are gone


def test_a_resumed_upload_may_land_on_another_host(storage_spec):
    """Two storage objects (two hosts' processes) on one store: A takes the first
    PATCH, B the next one and the finish. Parts of 5 MiB and more are joined
    inside the bucket on S3."""
    host_a, host_b = PartsUploads(build(storage_spec)), PartsUploads(build(storage_spec))
    data = payload(12 * MiB, seed=12)
    first = 6 * MiB
    assert host_a.append("u2", 0, pieces(data[:first], MiB), len(data)) == first
    assert host_b.offset("u2") == first
    assert host_b.append("u2", first, pieces(data[first:], MiB), len(data)) == len(data)
    host_b.finish("u2", "out/joined.bin", len(data))
    assert digest_of(host_a.storage, "out/joined.bin") == (len(data), sha(data))
    if storage_spec["kind"] == "s3":  # joined by UploadPartCopy: a 2-part object
        store = host_b.storage
        head = store.client.head_object(Bucket=store.bucket, Key=store.prefix + "out/joined.bin")
        assert head["ETag"].strip('"').endswith("-2"), head["ETag"]


def test_small_parts_are_joined_too(storage):
    """PATCHes smaller than S3's 5 MiB part minimum (the join streams them)."""
    uploads = PartsUploads(storage)
    data = payload(300_000, seed=13)
    offset = 0
    for start in range(0, len(data), 100_000):
        offset = uploads.append("u3", offset, [data[start : start + 100_000]], len(data))
    uploads.finish("u3", "out/small.bin", len(data))
    assert read_all(storage, "out/small.bin") == data


def test_a_patch_at_the_wrong_offset_is_refused_and_stores_nothing(storage):
    uploads = PartsUploads(storage)
    uploads.append("u4", 0, [b"abc"], 10)
    for wrong in (0, 2, 4):
        with pytest.raises(OffsetMismatch) as raised:
            uploads.append("u4", wrong, [b"zz"], 10)
        assert raised.value.expected == 3
    assert uploads.offset("u4") == 3
    assert [i.size for i in storage.list("uploads/u4")] == [3]


def test_a_chunk_past_the_length_is_refused_and_the_chunks_before_it_kept(storage):
    uploads = PartsUploads(storage)
    with pytest.raises(UploadTooLong):
        uploads.append("u5", 0, [b"12345", b"6789", b"toolong"], 10)
    assert uploads.offset("u5") == 9
    assert uploads.append("u5", 9, [b"0"], 10) == 10
    uploads.finish("u5", "out/ten", 10)
    assert read_all(storage, "out/ten") == b"1234567890"


def test_a_client_that_disconnects_keeps_what_arrived(storage):
    class Disconnect(Exception):
        pass

    def body():
        yield b"first "
        yield b"second "
        raise Disconnect()

    uploads = PartsUploads(storage)
    with pytest.raises(Disconnect):
        uploads.append("u6", 0, body(), 100)
    assert uploads.offset("u6") == len(b"first second ")


def test_an_empty_patch_stores_no_part(storage):
    uploads = PartsUploads(storage)
    assert uploads.append("u7", 0, [], 5) == 0
    assert list(storage.list("uploads/u7")) == []


def test_a_finish_before_every_byte_arrived_is_refused(storage):
    uploads = PartsUploads(storage)
    uploads.append("u8", 0, [b"part"], 10)
    with pytest.raises(IncompleteUpload, match="4 of 10"):
        uploads.finish("u8", "out/x", 10)
    assert not storage.exists("out/x")
    assert uploads.offset("u8") == 4  # still resumable


def test_an_empty_upload_finishes_as_an_empty_object(storage):
    PartsUploads(storage).finish("u9", "out/empty", 0)
    assert read_all(storage, "out/empty") == b""


def test_abort_removes_the_parts(storage):
    uploads = PartsUploads(storage)
    uploads.append("u10", 0, [b"abc"], 10)
    uploads.append("u10", 3, [b"def"], 10)
    assert uploads.abort("u10") == 2
    assert uploads.offset("u10") == 0
    assert list(storage.list("uploads")) == []


def test_a_patch_in_a_killed_process_leaves_nothing_and_the_client_resends(storage, storage_spec):
    size = 12 * MiB
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.writer_child", json.dumps(storage_spec), "append",
         "u11", str(size)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "halfway"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    uploads = PartsUploads(storage)
    assert uploads.offset("u11") == 0  # nothing of the PATCH became a part
    with pytest.raises(ObjectNotFound):
        storage.size(f"uploads/u11/parts/{0:020d}")
    data = b"N" * size
    assert uploads.append("u11", 0, pieces(data, MiB), size) == size
    uploads.finish("u11", "out/resent", size)
    assert digest_of(storage, "out/resent") == (size, sha(data))


def test_overlapping_patches_at_one_offset_keep_the_first_to_complete(storage_spec):
    """Host A starts a PATCH at 0; host B sends a whole PATCH at 0 meanwhile; when
    A's body ends, A is told the offset moved and B's part stays whole."""
    import threading

    host_a, host_b = PartsUploads(build(storage_spec)), PartsUploads(build(storage_spec))
    b_done = threading.Event()
    outcome: list = []

    def slow_body():
        yield b"A" * MiB
        b_done.wait(60)
        yield b"A" * (5 * MiB)

    def patch_a() -> None:
        try:
            outcome.append(host_a.append("race", 0, slow_body(), 12 * MiB))
        except Exception as exc:
            outcome.append(exc)

    a = threading.Thread(target=patch_a)
    a.start()
    assert host_b.append("race", 0, [b"B" * (6 * MiB)], 12 * MiB) == 6 * MiB
    b_done.set()
    a.join()
    assert isinstance(outcome[0], OffsetMismatch), outcome
    assert (outcome[0].given, outcome[0].expected) == (0, 6 * MiB)
    store = host_a.storage
    assert [i.size for i in store.list("uploads/race")] == [6 * MiB]
    host_a.append("race", 6 * MiB, [b"Z" * (6 * MiB)], 12 * MiB)
    host_a.finish("race", "out/race", 12 * MiB)
    assert read_all(store, "out/race") == b"B" * (6 * MiB) + b"Z" * (6 * MiB)
