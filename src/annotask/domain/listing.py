"""CVAT's list parameters: simple filters, ``search``, ``sort`` and JSON-logic ``filter``.

Every list endpoint (tasks, projects, jobs, labels) accepts the same query
parameters; each resource declares once, in a ``ListSpec``, which names a
client may filter and sort by, and ``apply_listing`` turns the parameters into
SQL. Unknown parameters are ignored, as in CVAT; malformed ones are a 400
naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, not_, or_, select

from annotask.db.models import User
from annotask.domain.errors import ValidationFailed
from annotask.security.errors import UnsafeInput
from annotask.security.json_input import INT64_MAX, INT64_MIN, check_text, load_json

#: Most ``sort`` keys and ``search`` words, and the longest ``filter``, one list
#: request may send: each becomes SQL, and thousands make a statement the database
#: refuses (SQLite's expression depth) or takes long to plan.
MAX_SORT_TERMS = 10
MAX_SEARCH_TERMS = 10
MAX_FILTER_CHARS = 10_000


@dataclass(frozen=True)
class Lookup:
    """A name clients filter and sort by, and the SQL expression behind it."""

    column: Any
    kind: str = "str"  # "str", "int" or "datetime"


@dataclass(frozen=True)
class ListSpec:
    lookups: Mapping[str, Lookup]  # usable in ``filter`` and ``sort``
    simple: tuple[str, ...]  # query parameters that filter by equality
    search: tuple[str, ...]  # where ``search`` looks (case-insensitive substring)
    default_sort: str


def username_of(column: Any) -> Any:
    """The username behind a user-id column, usable in filters and sorting."""
    return select(User.username).where(User.id == column).scalar_subquery()


def parse_id(value: str | None, field_name: str) -> int | None:
    """An id from a query string; 400 naming the parameter when it is not a number."""
    if value is None or value == "":
        return None
    try:
        return _int64(int(value), field_name)
    except ValueError as exc:
        raise ValidationFailed({field_name: "A valid integer is required."}) from exc


def _int64(value: int, param: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValidationFailed({param: "The number is out of range."})
    return value


def _coerce(lookup: Lookup, value: Any, param: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ValidationFailed({param: f"Expected a plain value, got {value!r}."})
    if lookup.kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return _int64(value, param)
        try:
            return _int64(int(str(value)), param)
        except ValueError as exc:
            raise ValidationFailed({param: f"'{value}' is not an integer."}) from exc
    if lookup.kind == "datetime":
        try:
            return datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationFailed({param: f"'{value}' is not an ISO-8601 date."}) from exc
    text = str(value)
    try:
        check_text(text, f"The value of '{param}'")
    except UnsafeInput as exc:
        raise ValidationFailed({param: exc.message}) from exc
    return text


_COMPARISONS = {
    "==": lambda c, v: c.is_(None) if v is None else c == v,
    "!=": lambda c, v: c.is_not(None) if v is None else c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}


def _var(arg: Any, spec: ListSpec) -> Lookup:
    name = arg.get("var") if isinstance(arg, dict) else None
    if not isinstance(name, str) or name not in spec.lookups:
        raise ValidationFailed({"filter": f"term {name or arg!r} is not supported"})
    return spec.lookups[name]


def _json_logic(rule: Any, spec: ListSpec) -> Any:
    """Translate the JSON-logic subset CVAT understands into a SQL condition."""
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ValidationFailed({"filter": f"expected an object with one operation, got {rule!r}"})
    op, args = next(iter(rule.items()))
    if op in ("and", "or"):
        if not isinstance(args, list) or not args:
            raise ValidationFailed({"filter": f"operation '{op}' needs a non-empty list"})
        parts = [_json_logic(arg, spec) for arg in args]
        return and_(*parts) if op == "and" else or_(*parts)
    if op in ("!", "!!"):
        inner = args[0] if isinstance(args, list) and len(args) == 1 else args
        condition = _json_logic(inner, spec)
        return not_(condition) if op == "!" else condition
    if op == "var":
        return _var({"var": args}, spec).column.is_not(None)
    if op in _COMPARISONS and isinstance(args, list) and len(args) == 2:
        lookup = _var(args[0], spec)
        return _COMPARISONS[op](lookup.column, _coerce(lookup, args[1], "filter"))
    if op == "<=" and isinstance(args, list) and len(args) == 3:
        lookup = _var(args[1], spec)
        low, high = (_coerce(lookup, args[i], "filter") for i in (0, 2))
        return and_(lookup.column >= low, lookup.column <= high)
    if op == "in" and isinstance(args, list) and len(args) == 2:
        if isinstance(args[0], dict):
            lookup = _var(args[0], spec)
            if not isinstance(args[1], list):
                raise ValidationFailed({"filter": "'in' needs a list of values"})
            return lookup.column.in_([_coerce(lookup, v, "filter") for v in args[1]])
        lookup = _var(args[1], spec)
        return lookup.column.contains(str(args[0]), autoescape=True)
    raise ValidationFailed({"filter": f"operation '{op}' with arguments {args!r} is not supported"})


def _order(params: Mapping[str, str], spec: ListSpec, id_column: Any) -> list[Any]:
    terms = [t.strip() for t in (params.get("sort") or spec.default_sort).split(",") if t.strip()]
    if len(terms) > MAX_SORT_TERMS:
        raise ValidationFailed({"sort": f"At most {MAX_SORT_TERMS} sort keys are allowed."})
    order = []
    for term in terms:
        name = term.lstrip("-")
        if name not in spec.lookups:
            raise ValidationFailed(
                {"sort": f"Cannot sort by '{name}'; use one of {', '.join(spec.lookups)}."}
            )
        column = spec.lookups[name].column
        order.append(column.desc() if term.startswith("-") else column.asc())
    order.append(id_column.desc() if spec.default_sort.startswith("-") else id_column.asc())
    return order


def apply_listing(query: Select, params: Mapping[str, str], spec: ListSpec, id_column) -> Select:
    """Apply CVAT's list parameters to ``query``; unknown parameters are ignored as in CVAT."""
    for name in spec.simple:
        value = params.get(name)
        if value not in (None, ""):
            lookup = spec.lookups[name]
            query = query.where(lookup.column == _coerce(lookup, value, name))
    terms = (params.get("search") or "").replace(",", " ").split()
    if len(terms) > MAX_SEARCH_TERMS:
        raise ValidationFailed({"search": f"At most {MAX_SEARCH_TERMS} search words are allowed."})
    for term in terms:
        try:
            check_text(term, "The search")
        except UnsafeInput as exc:
            raise ValidationFailed({"search": exc.message}) from exc
        needle = term.lower()
        query = query.where(
            or_(
                *(
                    func.lower(spec.lookups[name].column).contains(needle, autoescape=True)
                    for name in spec.search
                )
            )
        )
    if raw_filter := params.get("filter"):
        if len(raw_filter) > MAX_FILTER_CHARS:
            raise ValidationFailed(
                {"filter": f"A filter has at most {MAX_FILTER_CHARS} characters."}
            )
        try:
            rule = load_json(raw_filter, "The filter")
        except UnsafeInput as exc:
            raise ValidationFailed(
                {"filter": f"can't parse filter expression: {exc.message}"}
            ) from exc
        if rule:
            query = query.where(_json_logic(rule, spec))
    return query.order_by(*_order(params, spec, id_column))
