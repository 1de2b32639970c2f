"""Request bodies parsed by hand, as the clients require (spec 0.2, 0.12).

The clients send ``Content-Type: application/json`` with empty bodies, so a
declared Pydantic body (422 on empty) cannot be used; models forbid unknown
fields so a typo is a 400 naming the field instead of being silently ignored.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from annotask.api.errors import validation_body
from annotask.domain.errors import ValidationFailed
from annotask.security.errors import UnsafeInput
from annotask.security.json_input import UnsafeJson, load_json

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, *, default: Any = None) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {} if default is None else default
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

    return dependency
