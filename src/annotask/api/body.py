"""Request bodies parsed by hand, as the clients require (spec 0.2, 0.12).

The clients send ``Content-Type: application/json`` with empty bodies, so a
declared Pydantic body (422 on empty) cannot be used. Models ignore the fields
they do not use, as CVAT's serializers do (``annotask.domain.bodies``), and
refuse wrong types and values of the ones they use with a 400 naming the field.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from annotask.api.errors import validation_body
from annotask.api.openapi import BODY_MODEL
from annotask.domain.errors import DomainError, ValidationFailed
from annotask.security.errors import UnsafeInput
from annotask.security.json_input import UnsafeJson, load_json

M = TypeVar("M", bound=BaseModel)


class UnsupportedMediaType(DomainError):
    """415, as DRF answers a body its parsers do not take."""

    status_code = 415

    def __init__(self, content_type: str) -> None:
        super().__init__(f'Unsupported media type "{content_type}" in request.')


def is_json_type(content_type: str) -> bool:
    """``application/json`` or ``application/<x>+json``, parameters ignored."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_json(request: Request, *, default: Any = None) -> Any:
    """The JSON body; an empty body (the clients send one with a JSON type) is
    ``default``. A non-empty body must say it is JSON: a cross-site form can send
    ``text/plain`` (or no type at all, from ``fetch`` with a bare Blob) without a
    CORS preflight, so reading those as JSON would let another site post here."""
    raw = await request.body()
    if not raw.strip():
        return {} if default is None else default
    content_type = request.headers.get("content-type", "")
    if not is_json_type(content_type):
        raise UnsupportedMediaType(content_type)
    try:
        # Nesting, control characters and integer range are checked here, once for
        # every JSON body, so no route can pass them on to the database.
        return load_json(raw, "The JSON body")
    except UnsafeJson as exc:
        if exc.field is not None:
            raise ValidationFailed({exc.field: exc.message}) from exc
        raise ValidationFailed(exc.message) from exc
    except UnsafeInput as exc:
        raise ValidationFailed(exc.message) from exc


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(validation_body(list(exc.errors()))) from exc


def json_body(model: type[M]):
    """A dependency that yields the request body validated as ``model``."""

    async def dependency(request: Request) -> M:
        return validate(model, await read_json(request))

    setattr(dependency, BODY_MODEL, model)  # the schema's requestBody (api.openapi)
    return dependency
