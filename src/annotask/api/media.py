"""Sending media: the content type is the server's decision, never the client's data.

Files (static chunks, previews) go out the cheapest way the ASGI server allows:
a server that implements the ``http.response.pathsend`` extension (Granian, for
one) sends the file itself without Python touching the bytes; under uvicorn a
file up to ``READ_WHOLE_BYTES`` is read in one system call (the endpoint already
runs on a worker thread) and written in one piece, instead of Starlette's
``FileResponse`` loop of 64 KiB reads, each a hop to a worker thread; larger
files stream in 1 MiB pieces so memory stays bounded. docs/benchmarks.md (B4)
has the measurements, Granian included.
"""

from __future__ import annotations

import os

from fastapi import Request, Response
from fastapi.responses import FileResponse

from annotask.domain.errors import NotFound, ValidationFailed
from annotask.domain.task_data import frames

READ_WHOLE_BYTES = 32 * 1024 * 1024
STREAM_PIECE_BYTES = 1024 * 1024
PATHSEND = "http.response.pathsend"


class _LargePieceFileResponse(FileResponse):
    chunk_size = STREAM_PIECE_BYTES


def send(payload: frames.Payload, request: Request | None = None) -> Response:
    """Media go out with the type the server decided and never as HTML (no sniffing)."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if payload.path is None:
        return Response(payload.data, media_type=payload.mime, headers=headers)
    extensions = (request.scope.get("extensions") or {}) if request is not None else {}
    if PATHSEND not in extensions:
        try:
            size = os.path.getsize(payload.path)
            if size <= READ_WHOLE_BYTES:
                with open(payload.path, "rb") as fp:
                    return Response(fp.read(), media_type=payload.mime, headers=headers)
        except FileNotFoundError as exc:  # removed meanwhile (task deleted)
            raise NotFound("The file is gone.") from exc
        return _LargePieceFileResponse(payload.path, media_type=payload.mime, headers=headers)
    return FileResponse(payload.path, media_type=payload.mime, headers=headers)


def query_number(request: Request) -> int:
    raw = request.query_params.get("number")
    if raw is None:
        raise ValidationFailed({"number": "Number is not specified"})
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed({"number": "Number must be an integer."}) from exc
