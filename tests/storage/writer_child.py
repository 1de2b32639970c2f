"""A writer to be killed: ``python -m tests.storage.writer_child SPEC MODE KEY SIZE``.

Writes ``SIZE`` bytes of ``b"N"`` to ``KEY`` (``MODE``: ``write`` for a stream
given to ``Storage.write``, ``writer`` for ``Storage.writer``, ``append`` for
one TUS PATCH of the upload ``KEY``), prints
``halfway`` once more than half is handed over, and then blocks forever: the
test kills it with SIGKILL, so no cleanup code of ours can run."""

from __future__ import annotations

import json
import sys
import threading
import time

from tests.storage.specs import build

PIECE = 1 << 20


def upload_started(storage, key: str, timeout: float = 20) -> None:
    """On S3, wait until the multipart upload exists (s3transfer starts it from a
    thread of its own), so the kill always finds parts on the server."""
    client = getattr(storage, "client", None)
    if client is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uploads = client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
        if any(u["Key"] == storage.prefix + key for u in uploads):
            return
        time.sleep(0.05)


def pieces(storage, key: str, size: int):
    sent = 0
    while sent < size:
        if sent > size // 2:
            upload_started(storage, key)
            print("halfway", flush=True)
            threading.Event().wait()  # never returns: killed here
        n = min(PIECE, size - sent)
        sent += n
        yield b"N" * n


def main() -> None:
    spec, mode, key, size = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    storage = build(spec)
    if mode == "write":
        storage.write(key, pieces(storage, key, size))
    elif mode == "append":  # one TUS PATCH of an upload named KEY, from offset 0
        from annotask.storage.parts import PartsUploads

        part_key = f"uploads/{key}/parts/{0:020d}"
        PartsUploads(storage).append(key, 0, pieces(storage, part_key, size), size)
    else:
        with storage.writer(key) as out:
            for piece in pieces(storage, key, size):
                out.write(piece)
    print("finished", flush=True)  # never reached


if __name__ == "__main__":
    main()
