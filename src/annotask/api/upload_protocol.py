"""CVAT's upload protocol (spec 1.5) for any staging area: data, annotations, backups.

One URL serves five modes told apart by headers, checked in CVAT's order:
Upload-Finish, Upload-Start, Upload-Length (TUS create), Upload-Multiple, none.
The marker headers arrive with empty values, so presence is what counts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from annotask.api.multipart import receive_multipart
from annotask.api.urls import base_url
from annotask.domain import uploads
from annotask.domain.errors import ValidationFailed
from annotask.services import Services

TUS_VERSION = "1.0.0"


@dataclass(frozen=True)
class UploadTarget:
    purpose: str
    target_id: int | None
    owner_id: int


FinishHandler = Callable[[Request, uploads.StagingArea], Awaitable[Response]]


def has(request: Request, header: str) -> bool:
    return header in request.headers


async def handle_upload_post(
    request: Request,
    services: Services,
    target: UploadTarget,
    *,
    on_finish: FinishHandler,
    on_single_shot: FinishHandler | None = None,
) -> Response:
    """Dispatch a POST on an upload URL to its mode."""
    settings = services.settings
    staging = uploads.staging_area(settings, target.purpose, target.target_id)
    if has(request, "upload-finish"):
        return await on_finish(request, staging)
    if has(request, "upload-start"):
        await run_in_threadpool(_start, services, target, staging)
        return JSONResponse({}, status_code=202)
    if has(request, "upload-length"):
        return await _tus_create(request, services, target)
    if has(request, "upload-multiple"):
        await receive_multipart(request, staging, settings.max_upload_bytes)
        return JSONResponse({}, status_code=200)
    if on_single_shot is None:
        raise ValidationFailed(
            "Use the upload protocol: Upload-Start, then files, then Upload-Finish."
        )
    return await on_single_shot(request, staging)


def is_one_shot(request: Request) -> bool:
    """A POST with none of the protocol's headers: CVAT's one-shot upload."""
    return not any(
        has(request, h)
        for h in ("upload-finish", "upload-start", "upload-length", "upload-multiple")
    )


async def receive_one_file(
    request: Request,
    services: Services,
    target: UploadTarget,
    staging: uploads.StagingArea,
    field: str,
) -> str:
    """CVAT's one-shot upload (``UploadMixin`` without its headers): a multipart POST
    carrying the file itself under ``field``. Starts a fresh staging area, as
    Upload-Start does, and returns the stored name of the one file."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed(
            {
                field: "Send the file in a multipart/form-data body, or use the upload "
                "protocol: Upload-Start, then the file, then Upload-Finish."
            }
        )
    await run_in_threadpool(_start, services, target, staging)
    names = (await receive_multipart(request, staging, services.settings.max_upload_bytes)).files
    if len(names) != 1:
        raise ValidationFailed({field: f"Send exactly one file (got {len(names)})."})
    return names[0]


def _start(services: Services, target: UploadTarget, staging: uploads.StagingArea) -> None:
    with services.sessions() as db, db.begin():
        uploads.forget_uploads(db, target.purpose, target.target_id)
    staging.reset()


def _tus_filename(request: Request) -> str:
    metadata = request.headers.get("upload-metadata", "")
    for item in metadata.split(","):
        key, _, value = item.strip().partition(" ")
        if key == "filename":
            try:
                return base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise ValidationFailed(
                    {"Upload-Metadata": "The filename is not valid base64."}
                ) from exc
    raise ValidationFailed({"Upload-Metadata": "A filename is required."})


async def _tus_create(request: Request, services: Services, target: UploadTarget) -> Response:
    try:
        length = int(request.headers["upload-length"])
    except ValueError as exc:
        raise ValidationFailed({"Upload-Length": "must be an integer."}) from exc
    name = _tus_filename(request)

    def create() -> tuple[str, str]:
        with services.sessions() as db, db.begin():
            upload, stored = uploads.create_tus_upload(
                db,
                services.settings,
                purpose=target.purpose,
                target_id=target.target_id,
                owner_id=target.owner_id,
                client_name=name,
                length=length,
            )
            return upload.id, stored

    upload_id, stored_name = await run_in_threadpool(create)
    path = request.url.path if request.url.path.endswith("/") else request.url.path + "/"
    return Response(
        status_code=201,
        headers={
            "Location": f"{base_url(request)}{path}{upload_id}",
            "Upload-Filename": header_safe_name(stored_name),
            "Tus-Resumable": TUS_VERSION,
        },
    )


def header_safe_name(name: str) -> str:
    """HTTP headers carry latin-1 only: other names travel percent-encoded.

    The client sends this value back in Upload-Finish's ``filename``, where
    ``staged_name`` decodes it again.
    """
    try:
        name.encode("latin-1")
    except UnicodeEncodeError:
        return quote(name, safe="")
    return name


def _offset_header(request: Request) -> int:
    try:
        return int(request.headers["upload-offset"])
    except (KeyError, ValueError) as exc:
        raise ValidationFailed(
            {"Upload-Offset": "An integer Upload-Offset header is required."}
        ) from exc


async def handle_tus_patch(
    request: Request, services: Services, target: UploadTarget, upload_id: str
) -> Response:
    offset = _offset_header(request)
    try:
        upload = await uploads.append_chunk(
            services.sessions,
            services.settings,
            upload_id,
            offset,
            request.stream(),
            purpose=target.purpose,
            target_id=target.target_id,
            owner_id=target.owner_id,
        )
    except uploads.OffsetMismatch as exc:
        return JSONResponse(
            {"detail": exc.message},
            status_code=409,
            headers={"Upload-Offset": str(exc.current), "Tus-Resumable": TUS_VERSION},
        )
    except ClientDisconnect:
        # A dropped connection is what TUS exists for: the bytes that arrived are
        # kept, and the client asks HEAD where to resume. Nobody reads this answer.
        return Response(status_code=400, headers={"Tus-Resumable": TUS_VERSION})
    return Response(
        status_code=204,
        headers={"Upload-Offset": str(upload.offset), "Tus-Resumable": TUS_VERSION},
    )


async def handle_tus_head(
    request: Request, services: Services, target: UploadTarget, upload_id: str
) -> Response:
    def read() -> tuple[int, int]:
        with services.read_sessions() as db, db.begin():
            upload = uploads.get_tus_upload(
                db,
                upload_id,
                purpose=target.purpose,
                target_id=target.target_id,
                owner_id=target.owner_id,
            )
            return upload.offset, upload.length

    offset, length = await run_in_threadpool(read)
    return Response(
        status_code=200,
        headers={
            "Upload-Offset": str(offset),
            "Upload-Length": str(length),
            "Tus-Resumable": TUS_VERSION,
            "Cache-Control": "no-store",
        },
    )
