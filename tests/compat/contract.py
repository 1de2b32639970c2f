"""Checking raw responses against the clients' own models and spec section 4 (K1, K11).

The generated client already refuses what it cannot deserialize; these checks
repeat its rules on the raw JSON with readable messages (the field path and the
broken rule) and add what it does not check: the de facto required fields of
spec 4 (read by CLI/SDK code after deserialization) and datetimes that carry a
time and a timezone.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from functools import cache
from typing import Any

from cvat_sdk.api_client.model_utils import (
    ModelComposed,
    ModelNormal,
    ModelSimple,
    file_type,
    none_type,
)

# ---- the client's models: required fields, nullability, enums, limits ---------------


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, (ModelNormal, ModelComposed, ModelSimple))


@cache
def required_fields(cls: type) -> tuple[str, ...]:
    """Python names of the fields the generated constructor takes positionally (REQ)."""
    params = inspect.signature(cls._from_openapi_data).parameters
    return tuple(n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD)


def _limits(cls: type, name: str, value: Any, path: str, problems: list[str]) -> None:
    rules = getattr(cls, "validations", {}).get((name,), {})
    if isinstance(value, str):
        if "max_length" in rules and len(value) > rules["max_length"]:
            problems.append(f"{path}: longer than {rules['max_length']} characters")
        if "min_length" in rules and len(value) < rules["min_length"]:
            problems.append(f"{path}: shorter than {rules['min_length']} characters")
        if "regex" in rules and not re.search(rules["regex"]["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {rules['regex']['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "inclusive_maximum" in rules and value > rules["inclusive_maximum"]:
            problems.append(f"{path}: {value} > {rules['inclusive_maximum']}")
        if "inclusive_minimum" in rules and value < rules["inclusive_minimum"]:
            problems.append(f"{path}: {value} < {rules['inclusive_minimum']}")


def _check_model(raw: dict, cls: type, path: str, problems: list[str]) -> None:
    # The deserializer maps JSON keys to Python names and keeps unknown keys as they
    # are, so either spelling reaches the constructor (``Plugins`` maps ``analytics``
    # to the JSON key ``ANALYTICS``, and CVAT sends the upper-case form).
    names = {name: name for name in cls.attribute_map}
    names.update({json_key: name for name, json_key in cls.attribute_map.items()})
    present = {names.get(key, key) for key in raw}
    for name in required_fields(cls):
        if name not in present:
            key = cls.attribute_map.get(name, name)
            problems.append(f"{path}.{key}: required by {cls.__name__} but missing")
    types = cls.openapi_types
    for key, value in raw.items():
        name = names.get(key)
        if name in types:
            check_value(value, types[name], f"{path}.{key}", problems)
            _limits(cls, name, value, f"{path}.{key}", problems)


def check_value(raw: Any, types: tuple, path: str, problems: list[str]) -> None:
    """Walk ``raw`` along the client's type declaration ``types`` (an openapi_types entry)."""
    if raw is None:
        nullable = none_type in types or any(_is_model(t) and t._nullable for t in types)
        if not nullable:
            problems.append(f"{path}: null, but the client's model does not allow null")
        return
    for kind in types:
        if isinstance(kind, list):
            if isinstance(raw, list):
                for i, item in enumerate(raw):
                    check_value(item, tuple(kind), f"{path}[{i}]", problems)
            else:
                problems.append(f"{path}: {type(raw).__name__} where a list is expected")
            return
        if isinstance(kind, dict):
            if isinstance(raw, dict):
                (item_types,) = kind.values()
                for key, item in raw.items():
                    check_value(item, item_types, f"{path}.{key}", problems)
            return
        if kind is dt.datetime and isinstance(raw, str) and _only_datetime(types):
            problem = datetime_problem(raw)
            if problem:
                problems.append(f"{path}: {problem}")
            return
        if _is_model(kind):
            if issubclass(kind, ModelSimple):
                allowed = list(kind.allowed_values.get(("value",), {}).values())
                if allowed and raw not in allowed:
                    problems.append(f"{path}: {raw!r} is not one of {allowed}")
            elif isinstance(raw, dict):
                _check_model(raw, kind, path, problems)
            else:
                problems.append(f"{path}: {type(raw).__name__} where {kind.__name__} is expected")
            return
    if types and all(isinstance(t, type) for t in types):
        accepted = [t for t in types if t is not none_type]
        if float in accepted:
            accepted.append(int)  # the one widening the client allows
        if int in accepted and isinstance(raw, bool) and bool not in accepted:
            problems.append(f"{path}: a bool where an int is expected")
        elif not any(_type_ok(raw, t) for t in accepted):
            names = [t.__name__ for t in accepted]
            problems.append(f"{path}: {type(raw).__name__} {raw!r} where {names} is expected")


def _only_datetime(types: tuple) -> bool:
    """A datetime field (not one of the "any" fields, whose types list datetime among all)."""
    return [t for t in types if t is not none_type] == [dt.datetime]


def _type_ok(raw: Any, kind: type) -> bool:
    if kind in (dt.datetime, dt.date):
        return isinstance(raw, str)
    if kind is file_type:
        return True
    return isinstance(raw, kind)


# ---- K11: datetimes ----------------------------------------------------------------

_LOOKS_LIKE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])")


def datetime_problem(value: str) -> str | None:
    """Why ``value`` is not an ISO-8601 datetime with a time and a timezone (None if it is)."""
    if "T" not in value:
        return f"{value!r} has no time part"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not ISO-8601"
    if parsed.tzinfo is None:
        return f"{value!r} has no timezone"
    return None


def datetime_problems(raw: Any, path: str = "$") -> list[str]:
    """Every ``*_date`` value and every string that starts like a date, anywhere in ``raw``."""
    found: list[str] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            where = f"{path}.{key}"
            if key.endswith("_date") and value is not None and not isinstance(value, str):
                found.append(f"{where}: {value!r} is not a string")
            found.extend(datetime_problems(value, where))
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            found.extend(datetime_problems(item, f"{path}[{i}]"))
    elif isinstance(raw, str) and (path.endswith("_date") or _LOOKS_LIKE_DATE.match(raw)):
        problem = datetime_problem(raw)
        if problem:
            found.append(f"{path}: {problem}")
    return found


# ---- spec 4: the full field sets, de facto required fields included -----------------

OPT_INT = (int, type(None))
OPT_STR = (str, type(None))
OPT_DICT = (dict, type(None))
OPT_LIST = (list, type(None))

ABOUT_FIELDS = {k: (str,) for k in ("name", "description", "version", "logo_url", "subtitle")}
USER_FIELDS = {
    "url": (str,),
    "id": (int,),
    "username": (str,),
    "first_name": (str,),
    "last_name": (str,),
    "email": (str,),
    "groups": (list,),
    "is_staff": (bool,),
    "is_superuser": (bool,),
    "is_active": (bool,),
    "last_login": OPT_STR,
    "date_joined": (str,),
}
TOKEN_READ_FIELDS = {
    "id": (int,),
    "name": (str,),
    "created_date": (str,),
    "updated_date": (str,),
    "expiry_date": OPT_STR,
    "last_used_date": OPT_STR,
    "read_only": (bool,),
    "owner": (dict,),
}
REQUEST_FIELDS = {
    "id": (str,),
    "status": (str,),
    "message": (str,),
    "progress": (float, int, type(None)),
    "operation": (dict,),
    "created_date": (str,),
    "started_date": OPT_STR,
    "finished_date": OPT_STR,
    "expiry_date": OPT_STR,
    "owner": (dict,),
    "result_url": OPT_STR,
    "result_id": OPT_INT,
}
OPERATION_FIELDS = {
    "type": (str,),
    "target": (str,),
    "project_id": OPT_INT,
    "task_id": OPT_INT,
    "job_id": OPT_INT,
    "format": OPT_STR,
    "function_id": OPT_STR,
    "lightweight": (bool, type(None)),
}
DATA_META_FIELDS = {
    "chunks_updated_date": (str,),
    "chunk_size": OPT_INT,
    "size": (int,),
    "image_quality": (int,),
    "start_frame": (int,),
    "stop_frame": (int,),
    "frame_filter": (str,),
    "deleted_frames": (list,),
    "included_frames": OPT_LIST,
    "chapters": OPT_LIST,
    "storage": (str,),
    "cloud_storage_id": OPT_INT,
    "frames": (list,),
}
FRAME_FIELDS = {
    "name": (str,),
    "width": (int,),
    "height": (int,),
    "related_files": (int,),
    "has_related_context": (bool,),
}
LABELED_DATA_FIELDS = {k: (list,) for k in ("tags", "shapes", "tracks", "intervals")} | {
    "version": (int,)
}
FORMAT_FIELDS = {
    "name": (str,),
    "ext": (str,),
    "version": (str,),
    "enabled": (bool,),
    "dimension": (str,),
}
FILE_INFO_FIELDS = {"name": (str,), "type": (str,), "mime_type": (str,)}
PAGE_FIELDS = {"count": (int,), "next": OPT_STR, "previous": OPT_STR, "results": (list,)}


def field_problems(obj: Any, fields: dict[str, tuple], path: str = "$") -> list[str]:
    """Every listed field present, with an allowed type (so no null where none is allowed)."""
    if not isinstance(obj, dict):
        return [f"{path}: {type(obj).__name__} where an object is expected"]
    found = []
    for key, allowed in fields.items():
        if key not in obj:
            found.append(f"{path}.{key}: missing (spec 4 lists it)")
            continue
        value = obj[key]
        ok = any(
            (value is None if kind is type(None) else isinstance(value, kind))
            and not (isinstance(value, bool) and kind in (int, float))
            for kind in allowed
        )
        if not ok:
            found.append(f"{path}.{key}: {value!r} is not one of {[k.__name__ for k in allowed]}")
    return found


def parse_json(response) -> Any:
    """The body of a urllib3 response (the generated client's second return value)."""
    return json.loads(response.data.decode("utf-8"))
