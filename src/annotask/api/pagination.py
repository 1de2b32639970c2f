"""CVAT's ``count/next/previous/results`` pages (spec 0.7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from annotask.api.schemas.common import Page
from annotask.api.urls import base_url
from annotask.domain.errors import ValidationFailed

T = TypeVar("T")

#: Highest page number: larger ones would make offsets beyond what the databases
#: take (SQLite and PostgreSQL stop at 64 bits); no list has a billion pages.
MAX_PAGE = 1_000_000_000


def page_params(request: Request) -> tuple[int, int]:
    settings = request.app.state.services.settings
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("page_size", str(settings.page_size)))
    except ValueError as exc:
        raise ValidationFailed({"page": "A page number must be an integer."}) from exc
    if page < 1:
        raise ValidationFailed({"page": "Pages are numbered from 1."})
    if page > MAX_PAGE:
        raise ValidationFailed({"page": f"Pages are numbered up to {MAX_PAGE}."})
    if size < 1:
        raise ValidationFailed({"page_size": "The page size must be positive."})
    return page, min(size, settings.max_page_size)


def _page_url(request: Request, page: int) -> str:
    params = dict(request.query_params)
    params["page"] = str(page)
    return f"{base_url(request)}{request.url.path}?{urlencode(params)}"


def _query_page(
    request: Request, db: Session, query: Select
) -> tuple[int, int, int, Sequence[Any]]:
    """The requested page of ``query``'s rows: page number, size, total count, rows."""
    page, size = page_params(request)
    count = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.scalars(query.limit(size).offset((page - 1) * size)).unique().all()
    return page, size, count, rows


def paginate_query(
    request: Request,
    db: Session,
    query: Select,
    serialize: Callable[[Any], T],
    page_type: type[Page[T]],
) -> Page[T]:
    """``page_type`` is the route's response model (``Page[TaskRead]``): the page is
    built as that class, so FastAPI serializes it without validating it again."""
    page, size, count, rows = _query_page(request, db, query)
    return make_page(request, page, size, count, [serialize(r) for r in rows], page_type)


def paginate_views(
    request: Request,
    db: Session,
    query: Select,
    views: Callable[[Session, Sequence[Any]], Sequence[Any]],
    serialize: Callable[[Any], T],
    page_type: type[Page[T]],
) -> Page[T]:
    """A CVAT page whose rows are read with a few batched queries, not a few per row."""
    page, size, count, rows = _query_page(request, db, query)
    results = [serialize(v) for v in views(db, rows)]
    return make_page(request, page, size, count, results, page_type)


def paginate_list(
    request: Request,
    items: Sequence[Any],
    serialize: Callable[[Any], T],
    page_type: type[Page[T]],
) -> Page[T]:
    page, size = page_params(request)
    chunk = items[(page - 1) * size : page * size]
    return make_page(request, page, size, len(items), [serialize(i) for i in chunk], page_type)


def make_page(
    request: Request, page: int, size: int, count: int, results: list[T], page_type: type[Page[T]]
) -> Page[T]:
    return page_type(
        count=count,
        next=_page_url(request, page + 1) if page * size < count else None,
        previous=_page_url(request, page - 1) if page > 1 else None,
        results=results,
    )
