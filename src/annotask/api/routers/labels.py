"""``/api/labels`` (spec 2.3): the labels of a task, job or project, and single-label edits."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response

from annotask.api.body import read_json
from annotask.api.deps import CurrentCaller, Db
from annotask.api.openapi import IntText, body_doc, list_doc
from annotask.api.pagination import paginate_query
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Page
from annotask.api.schemas.labels import LabelPatch, LabelRead, label_read
from annotask.domain import labels
from annotask.domain.labels.queries import LABEL_LIST

router = CvatRouter(prefix="/api/labels", tags=["labels"])


async def raw_body(request: Request) -> Any:
    """The JSON body as sent: label bodies are validated by the label rules, path by path."""
    return await read_json(request)


_SCOPES: dict[str, Any] = {f"{scope}_id": IntText for scope in ("job", "task", "project")}


@router.get("", dependencies=[Depends(list_doc(LABEL_LIST, **_SCOPES))])
def list_labels(request: Request, caller: CurrentCaller, db: Db) -> Page[LabelRead]:
    query = labels.list_labels(db, caller.user, request.query_params)
    return paginate_query(request, db, query, label_read, Page[LabelRead])


@router.get("/{label_id}")
def retrieve_label(label_id: int, caller: CurrentCaller, db: Db) -> LabelRead:
    return label_read(labels.get_label(db, caller.user, label_id))


@router.patch("/{label_id}", openapi_extra=body_doc(LabelPatch))
def update_label(
    label_id: int, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> LabelRead:
    label = labels.get_label(db, caller.user, label_id)
    labels.label_owner_for_change(db, caller.user, label)
    return label_read(labels.update_single_label(db, label, body))


@router.delete("/{label_id}", status_code=204)
def delete_label(label_id: int, caller: CurrentCaller, db: Db) -> Response:
    """Removes the label with its annotations; skeleton points are changed via their parent."""
    label = labels.get_label(db, caller.user, label_id)
    labels.label_owner_for_change(db, caller.user, label)
    labels.delete_label(db, label)
    return Response(status_code=204)
