"""CVAT's upload protocol (spec 1.5) for any staging area, and the one factory of its routes.

One URL serves five modes told apart by headers, checked in CVAT's order:
Upload-Finish, Upload-Start, Upload-Length (TUS create), Upload-Multiple, none
(a one-shot multipart POST). The marker headers arrive with empty values, so
presence is what counts. ``<url>{file_id}`` takes the TUS chunks (PATCH) and
answers where to resume (HEAD).

Every upload URL (task data, task and job annotations, task and project backups,
project datasets) is made by :func:`add_upload_routes` from an :class:`UploadRoutes`
naming what differs: the path, the staging purpose, the permission command, and
what Upload-Finish and a one-shot POST do.
"""

from __future__ import annotations

import base64
import binascii
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from annotask.api.deps import Caller, CurrentCaller, ServicesDep
from annotask.api.multipart import receive_multipart
from annotask.api.schemas.common import RqId
from annotask.api.urls import base_url
from annotask.db.models import User
from annotask.domain import uploads
from annotask.domain.errors import ValidationFailed
from annotask.domain.uploads import StagingArea, UploadTarget
from annotask.services import Services

TUS_VERSION = "1.0.0"


FinishHandler = Callable[[Request, StagingArea], Awaitable[Response]]


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
        await run_in_threadpool(uploads.begin_staging, services, target)
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
    staging: StagingArea,
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
    await run_in_threadpool(uploads.begin_staging, services, target)
    names = (await receive_multipart(request, staging, services.settings.max_upload_bytes)).files
    if len(names) != 1:
        raise ValidationFailed({field: f"Send exactly one file (got {len(names)})."})
    return names[0]


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

    upload_id, stored_name = await run_in_threadpool(
        uploads.open_tus_upload, services, target, name, length
    )
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
    offset, length = await run_in_threadpool(uploads.tus_progress, services, target, upload_id)
    return Response(
        status_code=200,
        headers={
            "Upload-Offset": str(offset),
            "Upload-Length": str(length),
            "Tus-Resumable": TUS_VERSION,
            "Cache-Control": "no-store",
        },
    )


# ---- the routes ----------------------------------------------------------------------


@dataclass(frozen=True)
class UploadCall:
    """One POST on an upload URL, as an endpoint's ``finish`` and ``one_shot`` see it."""

    request: Request
    services: Services
    caller: Caller
    target: UploadTarget
    staging: StagingArea
    #: What the routes' ``prepare`` read from the request (an import's format), or None.
    prepared: Any = None


UploadHook = Callable[[UploadCall], Awaitable[Response]]


@dataclass(frozen=True)
class UploadRoutes:
    """What differs between two upload URLs; :func:`add_upload_routes` makes the rest."""

    #: The POST URL, ending in ``/`` (relative to the router's prefix); the TUS
    #: chunk URL is this followed by ``{file_id}``.
    path: str
    #: The staging purpose (``domain.uploads``) the files go to.
    purpose: str
    #: The endpoints' names (operation ids): ``name``, ``<chunk>`` and ``<offset>``.
    name: str
    chunk_name: str
    offset_name: str
    #: Upload-Finish: start the work on the staged files.
    finish: UploadHook
    #: A POST without the protocol's headers (CVAT's one-shot upload), or None to refuse it.
    one_shot: UploadHook | None = None
    #: The path parameter holding the target's id; None: each user stages their own
    #: files (the target id is the caller's id), as backup restores do.
    id_param: str | None = None
    #: A domain command refusing a caller who may not upload here (403/404), run
    #: before every POST, PATCH and HEAD, in a thread: ``check(services, user, id)``.
    check: Callable[[Services, User, int], None] | None = None
    #: Reads what the POST needs from its query before the check (an import's
    #: format, refused with 400 first as before); its result is ``UploadCall.prepared``.
    prepare: Callable[[Request], Any] | None = None
    #: The POST's status in the schema (its answers set their own).
    status_code: int | None = None
    #: The POST's description in the schema.
    doc: str | None = None
    #: The POST's query parameters and body in the schema (``api.openapi.query_doc``,
    #: ``body_doc``/``file_body``) and its answers besides the protocol's own.
    query: Callable[..., Any] | None = None
    body: dict[str, Any] | None = None
    responses: dict[int | str, Any] | None = None


def add_upload_routes(router: APIRouter, spec: UploadRoutes) -> None:
    """Register ``POST <path>``, ``PATCH <path>{file_id}`` and ``HEAD <path>{file_id}``."""

    async def allowed(kwargs: dict[str, Any]) -> UploadTarget:
        caller: Caller = kwargs["caller"]
        target_id = kwargs[spec.id_param] if spec.id_param else caller.user.id
        if spec.check is not None:
            await run_in_threadpool(spec.check, kwargs["services"], caller.user, target_id)
        return UploadTarget(spec.purpose, target_id, caller.user.id)

    async def post(**kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        services: Services = kwargs["services"]
        prepared = spec.prepare(request) if spec.prepare is not None else None
        target = await allowed(kwargs)

        def hook(run: UploadHook) -> FinishHandler:
            def call(req: Request, staging: StagingArea) -> Awaitable[Response]:
                return run(UploadCall(req, services, kwargs["caller"], target, staging, prepared))

            return call

        return await handle_upload_post(
            request,
            services,
            target,
            on_finish=hook(spec.finish),
            on_single_shot=hook(spec.one_shot) if spec.one_shot is not None else None,
        )

    async def patch(**kwargs: Any) -> Response:
        target = await allowed(kwargs)
        return await handle_tus_patch(
            kwargs["request"], kwargs["services"], target, kwargs["file_id"]
        )

    async def head(**kwargs: Any) -> Response:
        target = await allowed(kwargs)
        return await handle_tus_head(
            kwargs["request"], kwargs["services"], target, kwargs["file_id"]
        )

    chunk_path = spec.path + "{file_id}"
    router.add_api_route(
        spec.path,
        _endpoint(post, spec.name, spec, file_id=False),
        methods=["POST"],
        status_code=spec.status_code,
        dependencies=[Depends(spec.query)] if spec.query is not None else None,
        openapi_extra=spec.body,
        responses={**PROTOCOL_RESPONSES, **(spec.responses or {})},
    )
    router.add_api_route(
        chunk_path,
        _endpoint(patch, spec.chunk_name, spec, file_id=True),
        methods=["PATCH"],
        responses=TUS_CHUNK_RESPONSES,
        openapi_extra=TUS_CHUNK_BODY,
    )
    router.add_api_route(
        chunk_path,
        _endpoint(head, spec.offset_name, spec, file_id=True),
        methods=["HEAD"],
        responses={200: {"description": "Upload-Offset and Upload-Length say where to resume."}},
    )


#: The answers of an upload URL's POST in every mode (the schema's; spec 1.5).
PROTOCOL_RESPONSES: dict[int | str, Any] = {
    201: {
        "description": "TUS upload created: its URL in Location, the stored name in "
        "Upload-Filename."
    },
    202: {"model": RqId, "description": "Upload-Start accepted (``{}``), or the work started."},
}
TUS_CHUNK_RESPONSES: dict[int | str, Any] = {
    204: {"description": "Chunk stored: the new Upload-Offset."},
    409: {"description": "Upload-Offset is not where the upload stands (see the header)."},
}
TUS_CHUNK_BODY = {
    "requestBody": {
        "content": {
            "application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}
        }
    }
}


def _endpoint(
    run: Callable[..., Awaitable[Response]], name: str, spec: UploadRoutes, *, file_id: bool
) -> Callable[..., Awaitable[Response]]:
    """``run`` with the signature FastAPI reads: the path's id (an int, 422 otherwise),
    the file id for TUS, the request, the caller and the services."""

    async def endpoint(**kwargs: Any) -> Response:
        return await run(**kwargs)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = []
    if spec.id_param:
        params.append(inspect.Parameter(spec.id_param, keyword, annotation=int))
    if file_id:
        params.append(inspect.Parameter("file_id", keyword, annotation=str))
    params += [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("caller", keyword, annotation=CurrentCaller),
        inspect.Parameter("services", keyword, annotation=ServicesDep),
    ]
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = spec.doc if not file_id else None
    return endpoint
