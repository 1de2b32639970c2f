"""What ``/api/schema/`` says beyond FastAPI's defaults: query parameters, request
bodies and binary answers, declared without changing how requests are read.

The routes parse their query strings and bodies themselves, with CVAT's error
messages and its leniency (empty JSON bodies, ``True``/``False`` booleans), so
they cannot let FastAPI validate those. Here they are declared for the schema:

* :func:`query_doc`: a dependency whose ``Query`` parameters are documented with the
  type the clients send (``IntText`` is an integer in the schema) but accepted as
  text, so the route's own parser still decides and words every error;
* :func:`body_doc`, and the ``json_body`` dependency (marked by ``annotask.api.body``,
  found by :func:`with_body_doc`): the JSON body's model, as ``requestBody``;
* :func:`binary`: the media types of a route that answers bytes or a stream.

docs/compatibility.md ("The typed schema") says how the schema is checked against
the CVAT SDK's generated client.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query
from pydantic import BaseModel, WithJsonSchema
from pydantic.json_schema import models_json_schema

from annotask.domain.listing import ListSpec

#: Accepted as text (the route parses it), an integer in the schema.
IntText = Annotated[str, WithJsonSchema({"type": "integer"})]
#: Accepted as text (``true``/``True``/``1``...), a boolean in the schema.
BoolText = Annotated[str, WithJsonSchema({"type": "boolean"})]

#: The attribute naming the body model of a body dependency (``api.body.json_body``).
BODY_MODEL = "__annotask_body_model__"
_REF = "#/components/schemas/{model}"
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def query_doc(**params: Any) -> Callable[..., Any]:
    """A dependency (for ``dependencies=[Depends(...)]``) declaring optional query
    parameters: ``name=type`` or ``name=(type, "description")``. It reads nothing
    the route uses; an ``async def`` so FastAPI runs it on the event loop, not in a
    worker thread."""

    async def documented(**_params: Any) -> None:
        return None

    keyword = inspect.Parameter.KEYWORD_ONLY
    signature = []
    for name, spec in params.items():
        kind, description = spec if isinstance(spec, tuple) else (spec, None)
        annotation = Annotated[kind | None, Query(description=description)]  # type: ignore[valid-type]
        signature.append(inspect.Parameter(name, keyword, annotation=annotation, default=None))
    documented.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    return documented


PAGING = {
    "page": (IntText, "A page number within the paginated result set."),
    "page_size": (IntText, "Number of results to return per page."),
}
#: CVAT's list parameters (spec 0.7): paging, ``filter`` (JSON logic), ``search``, ``sort``.
LISTING = {
    **PAGING,
    "filter": (str, "A JSON-logic filter, as CVAT's."),
    "search": (str, "A search term."),
    "sort": (str, "Comma-separated fields, ``-`` first for descending."),
}


def list_doc(spec: ListSpec, *, without: tuple[str, ...] = (), **more: Any) -> Callable[..., Any]:
    """:func:`query_doc` of a list endpoint: CVAT's list parameters and the
    resource's equality filters (``spec.simple``, but not ``without``), plus ``more``."""
    filters = {
        name: IntText if spec.lookups[name].kind == "int" else str
        for name in spec.simple
        if name not in without
    }
    return query_doc(**{**LISTING, **filters, **more})  # a name in both: declared once


def body_doc(model: type[BaseModel], *, media_types: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself: the body is
    ``model`` (also sent as multipart ``media_types``, such as file uploads)."""
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": _REF.format(model=model.__name__)}
    content = {"application/json": {"schema": schema}}
    content.update({media: {"schema": schema} for media in media_types})
    return {"requestBody": {"content": content}}


def file_body(field: str, **fields: Any) -> dict[str, Any]:
    """``openapi_extra`` of a one-shot upload: a multipart body with the file as
    ``field`` (and ``fields``: ``name=type`` of other form fields)."""
    properties = {field: {"type": "string", "format": "binary"}}
    properties.update({name: {"type": kind} for name, kind in fields.items()})
    schema = {"type": "object", "properties": properties}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}


def query_extra(**params: Any) -> dict[str, Any]:
    """``openapi_extra`` declaring query parameters (``name=(json schema, description)``)
    for a route on the hot path, where even FastAPI's parsing of a declared parameter
    is not wanted: the route reads ``request.query_params`` itself."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": schema,
                "description": description,
            }
            for name, (schema, description) in params.items()
        ]
    }


#: The query of the ``/data`` routes (chunks, frames, previews, context images).
DATA_QUERY = query_extra(
    type=({"enum": ["chunk", "frame", "preview", "context_image"]}, "What to answer."),
    quality=({"enum": ["compressed", "original"]}, "The chunk or frame quality."),
    number=({"type": "integer"}, "The chunk or frame number."),
)
#: What the ``/data`` routes answer, by ``type``.
DATA_MEDIA = (
    "application/zip",
    "video/mp4",
    "image/jpeg",
    "image/png",
    "image/webp",
    "application/octet-stream",
)


def binary(*media_types: str, description: str = "The file.", **extra: Any) -> dict:
    """``responses=`` of a route that answers bytes or a stream (``status=model`` pairs
    as ``extra``: ``{"202": RqId}``)."""
    content = {media: {"schema": {"type": "string", "format": "binary"}} for media in media_types}
    responses: dict = {200: {"description": description, "content": content}}
    for status, model in extra.items():
        responses[int(status.lstrip("_"))] = {"model": model}
    return responses


def with_body_doc(endpoint: Callable[..., Any], openapi_extra: dict | None) -> dict | None:
    """``openapi_extra`` plus the ``requestBody`` of the endpoint's ``json_body``
    parameter, if it has one (called by ``routing.CvatRouter`` for every route)."""
    for parameter in inspect.signature(endpoint).parameters.values():
        dependency = getattr(parameter.default, "dependency", None)
        model = getattr(dependency, BODY_MODEL, None)
        if model is not None:
            return {**body_doc(model), **(openapi_extra or {})}
    return openapi_extra


#: What a refused request gets: never FastAPI's 422 (``api.errors``).
BAD_REQUEST = {
    "description": 'Invalid input: ``{"field": ["message"]}``, or ``{"detail": "..."}``.',
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def _own_errors_and_media(responses: dict[str, Any]) -> None:
    """FastAPI's 422 becomes the 400 the error handlers answer; an answer that is a
    file loses the JSON content FastAPI adds to every 200."""
    if responses.pop("422", None) is not None:
        responses.setdefault("400", BAD_REQUEST)
    content = responses.get("200", {}).get("content", {})
    binary_content = any(c.get("schema", {}).get("format") == "binary" for c in content.values())
    if binary_content and content.get("application/json", {}).get("schema") == {}:
        del content["application/json"]


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the models of the request bodies the routes read by
    hand, and document refused input as the 400 it gets (never FastAPI's 422)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for item in schema["paths"].values():
            for operation in item.values():
                _own_errors_and_media(operation["responses"])
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        models: list[tuple[type[BaseModel], Literal["validation"]]] = [
            (m, "validation") for m in _BODY_MODELS.values()
        ]
        refs, defs = models_json_schema(models, ref_template=_REF)
        definitions = defs.get("$defs", {})
        for name, definition in definitions.items():
            components.setdefault(name, definition)
        for (model, _mode), ref in refs.items():  # a name pydantic had to make unique
            components.setdefault(model.__name__, definitions[ref["$ref"].rsplit("/", 1)[1]])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
