"""Sending media: the content type is the server's decision, never the client's data.

Files (static chunks, cached chunks, previews) go out the cheapest way the
server allows: under ``annotask serve`` with ``sendfile`` (:mod:`.sendfile`:
the kernel copies the file to the socket, the GIL is not held for the bytes);
anywhere else they are read and sent in 1 MiB pieces, so memory stays bounded.
docs/benchmarks.md (B4) has the measurements.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from fastapi import Request, Response

from annotask.api.sendfile import FileBodyResponse
from annotask.domain.errors import NotFound, ValidationFailed
from annotask.domain.task_data import serving


def send(payload: serving.Payload) -> Response:
    """Media go out with the type the server decided and never as HTML (no sniffing)."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    file: BinaryIO | None = payload.file
    if file is None and payload.path is not None:
        try:
            file = open(payload.path, "rb")  # noqa: SIM115 - the response closes it
        except FileNotFoundError as exc:  # removed meanwhile (task deleted)
            raise NotFound("The file is gone.") from exc
    if file is None:
        return Response(payload.data, media_type=payload.mime, headers=headers)
    return FileBodyResponse(file, _size(file), media_type=payload.mime, headers=headers)


def _size(file: BinaryIO) -> int:
    try:
        return os.fstat(file.fileno()).st_size - file.tell()
    except (OSError, AttributeError, ValueError):  # in memory (BytesIO)
        position = file.tell()
        size = file.seek(0, os.SEEK_END) - position
        file.seek(position)
        return size


def query_number(request: Request) -> int:
    raw = request.query_params.get("number")
    if raw is None:
        raise ValidationFailed({"number": "Number is not specified"})
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed({"number": "Number must be an integer."}) from exc
