"""Our OpenAPI schema against what cvat-sdk's generated client expects (issue 13, item 4).

The generated client (``cvat_sdk.api_client``) carries CVAT's schema as code: each
``apis/*`` endpoint its path, method, query parameters, body and response model;
each ``model/*`` class its JSON keys (``attribute_map``) and types
(``openapi_types``). :func:`differences` walks both and names every difference
with a stable key, such as::

    endpoint-missing GET /api/organizations           (the SDK has it, we do not)
    endpoint-extra POST /api/functions                 (ours only)
    query-missing GET /api/tasks org                   (the SDK sends it, we do not read it)
    query-extra GET /api/jobs parent_job_id            (we read it, the SDK does not send it)
    query-type GET /api/tasks page
    response-missing GET /api/tasks/{id} data_cloud_storage_id
    response-extra GET /api/tasks/{id} creation_request
    response-type GET /api/jobs results[].frame_count
    response-nullable GET /api/jobs/{id} assignee      (we may send null, the client refuses it)
    response-body PATCH /api/jobs/{id}/annotations     (one side has a JSON body, the other not)
    request-missing / request-extra / request-type / request-body (the same for request bodies)

Paths are compared with their parameters unnamed (CVAT's ``{id}`` is our
``{task_id}``) and without the trailing slash (both forms are served, spec 0.1);
keys spell the path the SDK's way when it has the endpoint.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cvat_sdk.api_client.apis as sdk_apis
from cvat_sdk.api_client.api_client import ApiClient, Endpoint
from cvat_sdk.api_client.model_utils import (
    ModelComposed,
    ModelNormal,
    ModelSimple,
    file_type,
    none_type,
)

ALLOWLIST = Path(__file__).with_name("openapi_allowlist.txt")

# ---- the SDK's side ---------------------------------------------------------------------


def normal_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/") or "/"


def sdk_endpoints() -> dict[tuple[str, str], Endpoint]:
    client = ApiClient()
    found: dict[tuple[str, str], Endpoint] = {}
    for name, api_class in vars(sdk_apis).items():
        if not name.endswith("Api"):
            continue
        for endpoint in vars(api_class(client)).values():
            if isinstance(endpoint, Endpoint):
                found[(endpoint.settings["http_method"], normal_path(endpoint.path))] = endpoint
    return found


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, (ModelNormal, ModelComposed, ModelSimple))


@dataclass
class Shape:
    """One side's idea of a value: its JSON kind, nullability, and what it holds."""

    kind: str  # "integer", "number", "string", "boolean", "array", "object", "any", "binary"
    nullable: bool = False
    fields: dict[str, Shape] | None = None  # an object's known keys
    items: Shape | None = None  # an array's items
    label: str = ""  # the model's name, to stop on recursive models
    lazy: Any = field(default=None, repr=False)  # resolves ``fields`` on first use

    def known_fields(self) -> dict[str, Shape] | None:
        if self.fields is None and self.lazy is not None:
            self.fields = self.lazy()
        return self.fields


def sdk_shape(types: tuple) -> Shape:
    """The shape of an ``openapi_types`` entry (a tuple of accepted types)."""
    nullable = none_type in types
    kinds = [t for t in types if t is not none_type]
    if len(kinds) != 1:  # the "any" fields list every JSON type
        return Shape("any", nullable)
    kind = kinds[0]
    if isinstance(kind, list):
        return Shape("array", nullable, items=sdk_shape(tuple(kind)))
    if isinstance(kind, dict):
        return Shape("object", nullable)  # a map: its keys are data, not fields
    if kind in (file_type, io.IOBase):
        return Shape("binary", nullable)
    if _is_model(kind):
        nullable = nullable or bool(getattr(kind, "_nullable", False))
        if issubclass(kind, ModelSimple):
            return sdk_shape(kind.openapi_types["value"])
        return Shape("object", nullable, label=kind.__name__, lazy=lambda: sdk_fields(kind))
    simple = {int: "integer", float: "number", str: "string", bool: "boolean"}
    simple.update({dt.datetime: "string", dt.date: "string", dict: "object", list: "array"})
    return Shape(simple.get(kind, "any"), nullable)


def sdk_fields(model: type) -> dict[str, Shape]:
    return {
        model.attribute_map.get(name, name): sdk_shape(types)
        for name, types in model.openapi_types.items()
    }


# ---- our side ---------------------------------------------------------------------------


class Ours:
    """Shapes out of our schema document, following ``$ref``s into its components."""

    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self.components = schema.get("components", {}).get("schemas", {})

    def shape(self, node: dict) -> Shape:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return self.shape_of_component(name)
        for key in ("anyOf", "oneOf"):
            if key in node:
                options = [o for o in node[key] if o.get("type") != "null"]
                nullable = len(options) < len(node[key])
                if len(options) == 1:
                    inner = self.shape(options[0])
                    inner.nullable = inner.nullable or nullable
                    return inner
                shapes = [self.shape(o) for o in options]
                if shapes and all(s.kind == "object" for s in shapes):
                    merged: dict[str, Shape] = {}
                    for one in shapes:
                        merged.update(one.known_fields() or {})
                    return Shape(
                        "object", nullable, fields=merged, label="|".join(s.label for s in shapes)
                    )
                return Shape("any", nullable)
        if "allOf" in node and len(node["allOf"]) == 1:
            return self.shape(node["allOf"][0])
        kind = node.get("type")
        if kind == "array":
            return Shape("array", items=self.shape(node.get("items", {})))
        if kind == "object" or "properties" in node:
            properties = node.get("properties")
            if properties is None:
                return Shape("object")
            return Shape(
                "object",
                label=node.get("title", ""),
                fields={key: self.shape(value) for key, value in properties.items()},
            )
        if kind == "string" and node.get("format") == "binary":
            return Shape("binary")
        if kind in ("integer", "number", "string", "boolean"):
            return Shape(kind)
        return Shape("any")

    def shape_of_component(self, name: str) -> Shape:
        node = self.components[name]
        if "properties" not in node:
            return self.shape(node)
        return Shape(
            "object",
            label=name,
            lazy=lambda: {k: self.shape(v) for k, v in node["properties"].items()},
        )

    def operations(self) -> dict[tuple[str, str], tuple[str, dict]]:
        found = {}
        for path, item in self.schema["paths"].items():
            for method, operation in item.items():
                found[(method.upper(), normal_path(path))] = (path, operation)
        return found

    def response(self, operation: dict) -> Shape | None:
        """The JSON (or file) of the first success answer that has a body."""
        for status, answer in sorted(operation.get("responses", {}).items()):
            if not status.startswith("2"):
                continue
            content = answer.get("content") or {}
            for media, body in content.items():
                if body.get("schema", {}).get("format") == "binary":
                    return Shape("binary")
                if "json" in media:
                    return self.shape(body.get("schema", {}))
        return None

    def request(self, operation: dict) -> Shape | None:
        content = operation.get("requestBody", {}).get("content") or {}
        for media in ("application/json", "multipart/form-data"):
            if media in content:
                return self.shape(content[media].get("schema", {}))
        for body in content.values():
            return self.shape(body.get("schema", {}))
        return None


# ---- the comparison ---------------------------------------------------------------------


def _compare(
    where: str, key: str, sdk: Shape, ours: Shape, path: str, out: dict, seen: set
) -> None:
    """Differences of a value expected as ``sdk`` and described as ``ours``."""
    if sdk.kind == "any" or ours.kind == "any":
        return
    widened = sdk.kind == "number" and ours.kind == "integer"
    if sdk.kind != ours.kind and not widened:
        out[f"{where}-type {key} {path or '(body)'}"] = f"the SDK: {sdk.kind}, ours: {ours.kind}"
        return
    if where == "response" and ours.nullable and not sdk.nullable:
        out[f"response-nullable {key} {path}"] = "we may send null; the client's model refuses it"
    if where == "request" and sdk.nullable and not ours.nullable and path:
        out[f"request-nullable {key} {path}"] = "the client may send null; we refuse it"
    if sdk.kind == "array" and sdk.items is not None and ours.items is not None:
        _compare(where, key, sdk.items, ours.items, f"{path}[]", out, seen)
        return
    if sdk.kind != "object":
        return
    mark = (sdk.label, ours.label)
    if sdk.label and ours.label and mark in seen:
        return  # a recursive model (skeleton elements): compared once
    seen = seen | {mark}
    sdk_fields, our_fields = sdk.known_fields(), ours.known_fields()
    if sdk_fields is None or our_fields is None:
        return
    for name in sdk_fields.keys() - our_fields.keys():
        out[f"{where}-missing {key} {_join(path, name)}"] = "in the SDK's model, not in ours"
    for name in our_fields.keys() - sdk_fields.keys():
        out[f"{where}-extra {key} {_join(path, name)}"] = "in our model, not in the SDK's"
    for name in sdk_fields.keys() & our_fields.keys():
        _compare(where, key, sdk_fields[name], our_fields[name], _join(path, name), out, seen)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _sdk_body(endpoint: Endpoint) -> Shape | None:
    locations = endpoint.location_map
    bodies = [n for n, where in locations.items() if where == "body"]
    if bodies:
        return sdk_shape(endpoint.openapi_types[bodies[0]])
    form = {
        endpoint.attribute_map.get(n, n): sdk_shape(endpoint.openapi_types[n])
        for n, where in locations.items()
        if where in ("form", "file")
    }
    return Shape("object", fields=form) if form else None


def _sdk_response(endpoint: Endpoint) -> Shape | None:
    schema = endpoint.settings["response_schema"]
    return None if schema is None else sdk_shape(schema)


def _query_shape(parameter: dict, ours: Ours) -> Shape:
    return ours.shape(parameter.get("schema", {}))


def compare_endpoint(key: str, endpoint: Endpoint, operation: dict, ours: Ours, out: dict) -> None:
    sdk_query = {
        endpoint.attribute_map.get(n, n): sdk_shape(endpoint.openapi_types[n])
        for n, where in endpoint.location_map.items()
        if where == "query"
    }
    our_query = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
    for name in sdk_query.keys() - our_query.keys():
        out[f"query-missing {key} {name}"] = "the SDK sends it; our schema does not declare it"
    for name in our_query.keys() - sdk_query.keys():
        out[f"query-extra {key} {name}"] = "ours only"
    for name in sdk_query.keys() & our_query.keys():
        mine = _query_shape(our_query[name], ours)
        theirs = sdk_query[name]
        if "any" not in (mine.kind, theirs.kind) and mine.kind != theirs.kind:
            out[f"query-type {key} {name}"] = f"the SDK: {theirs.kind}, ours: {mine.kind}"
    for where, sdk, mine in (
        ("response", _sdk_response(endpoint), ours.response(operation)),
        ("request", _sdk_body(endpoint), ours.request(operation)),
    ):
        if (sdk is None) != (mine is None):
            has = "the SDK" if mine is None else "our schema"
            out[f"{where}-body {key}"] = f"only {has} has a {where} body"
        elif sdk is not None and mine is not None:
            _compare(where, key, sdk, mine, "", out, set())


def differences(schema: dict) -> dict[str, str]:
    """Every difference between ``schema`` and the SDK, by key (see the module)."""
    ours = Ours(schema)
    sdk = sdk_endpoints()
    mine = ours.operations()
    out: dict[str, str] = {}
    for method, path in sdk.keys() - mine.keys():
        out[f"endpoint-missing {method} {sdk[(method, path)].path}"] = "the SDK has it; we do not"
    for method, path in mine.keys() - sdk.keys():
        out[f"endpoint-extra {method} {mine[(method, path)][0]}"] = "ours only"
    for method, path in sdk.keys() & mine.keys():
        endpoint = sdk[(method, path)]
        key = f"{method} {endpoint.path.rstrip('/') or '/'}"
        compare_endpoint(key, endpoint, mine[(method, path)][1], ours, out)
    return out


# ---- the allow-list ---------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    pattern: str  # a difference key, ``*`` matching any text
    reason: str
    line: int


def read_allowlist(path: Path = ALLOWLIST) -> list[Allowed]:
    """``<pattern>  # <reason>`` per line; blank lines and lines starting with ``#`` are
    comments. A pattern without a reason is returned with an empty one (refused)."""
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        pattern, _, reason = text.partition("#")
        entries.append(Allowed(pattern.strip(), reason.strip(), number))
    return entries


def matches(key: str, pattern: str) -> bool:
    """``*`` matches any text; nothing else is special (keys hold ``[]`` and ``{}``)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, key) is not None


def unexplained(found: dict[str, str], allowed: list[Allowed]) -> dict[str, str]:
    return {
        key: why for key, why in found.items() if not any(matches(key, a.pattern) for a in allowed)
    }


def stale(found: dict[str, str], allowed: list[Allowed]) -> list[Allowed]:
    return [a for a in allowed if not any(matches(key, a.pattern) for key in found)]


def report(items: Iterator[str] | list[str]) -> str:
    return "\n".join(sorted(items))
