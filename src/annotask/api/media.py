"""Sending media: the content type is the server's decision, never the client's data."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import FileResponse

from annotask.domain.errors import ValidationFailed
from annotask.domain.task_data import frames


def send(payload: frames.Payload) -> Response:
    """Media go out with the type the server decided and never as HTML (no sniffing)."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if payload.path is not None:
        return FileResponse(payload.path, media_type=payload.mime, headers=headers)
    return Response(payload.data, media_type=payload.mime, headers=headers)


def query_number(request: Request) -> int:
    raw = request.query_params.get("number")
    if raw is None:
        raise ValidationFailed({"number": "Number is not specified"})
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed({"number": "Number must be an integer."}) from exc
