"""Native functions: who sees them, who manages them, creating and deleting them.

- A private function is seen by its owner (and admins) only; a public one by
  everybody, who may then run it on the tasks they annotate.
- Its owner or an admin manages it: deletes it and runs its agents (the queue
  endpoints). Others get 404 for functions they cannot see and 403 for public
  functions they cannot manage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, true, update
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import AnnotationRequest, Function, User
from annotask.domain.errors import NotFound, PermissionDenied, ValidationFailed
from annotask.domain.functions.specs import PROVIDER_NATIVE, parse_definition
from annotask.domain.listing import ListSpec, Lookup, apply_listing, username_of
from annotask.domain.tasks import MAX_ID

FUNCTION_DELETED = "The function was deleted"

FUNCTION_LIST = ListSpec(
    lookups={
        "id": Lookup(Function.id, "int"),
        "name": Lookup(Function.name),
        "kind": Lookup(Function.kind),
        "provider": Lookup(Function.provider),
        "visibility": Lookup(Function.visibility),
        "owner": Lookup(username_of(Function.owner_id)),
        "created_date": Lookup(Function.created_date, "datetime"),
        "updated_date": Lookup(Function.updated_date, "datetime"),
    },
    simple=("name", "kind", "provider", "visibility", "owner"),
    search=("name", "kind", "owner"),
    default_sort="-id",
)


def visible_functions(user: User) -> ColumnElement[bool]:
    """Condition on ``Function`` rows the user may see (and run on their tasks)."""
    if user.is_superuser:
        return true()
    return or_(Function.owner_id == user.id, Function.visibility == "public")


def can_manage(user: User, function: Function) -> bool:
    return user.is_superuser or function.owner_id == user.id


def get_function_by_key(db: Session, user: User, key: str) -> Function:
    """The function of ``/api/lambda/functions/{key}`` (the id as text); 404 otherwise."""
    if not key.isdigit():
        raise NotFound(f"Function {key!r} not found.")
    return get_function(db, user, int(key))


def get_function(db: Session, user: User, function_id: int) -> Function:
    """A function the user may see; 404 otherwise (private ones do not leak)."""
    function = db.get(Function, function_id) if 0 < function_id <= MAX_ID else None
    if function is None or not (function.visibility == "public" or can_manage(user, function)):
        raise NotFound(f"Function #{function_id} not found.")
    return function


def get_function_for_manage(db: Session, user: User, function_id: int) -> Function:
    """A function the user owns (or any, for an admin): 404 unseen, 403 only seen."""
    function = get_function(db, user, function_id)
    if not can_manage(user, function):
        raise PermissionDenied(
            f"Only the owner of function #{function_id} or an admin may manage it "
            "or run its agents."
        )
    return function


def find_function(db: Session, user: User, reference: Any) -> Function:
    """The function a lambda request names: its id (as a number or a string), or
    the name of exactly one function the user sees. 400 when nothing matches:
    the name is a field of the request body, not part of the URL."""
    if isinstance(reference, int) and not isinstance(reference, bool):
        text = str(reference)
    elif isinstance(reference, str) and reference.strip():
        text = reference.strip()
    else:
        raise ValidationFailed({"function": "The id or name of a function is required."})
    if text.isdigit() and 0 < int(text) <= MAX_ID:
        function = db.get(Function, int(text))
        if function is not None and (function.visibility == "public" or can_manage(user, function)):
            return function
    matches = db.scalars(
        select(Function).where(visible_functions(user), Function.name == text).limit(2)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValidationFailed(
            {"function": f'Several functions are named "{text}": give the id instead.'}
        )
    raise ValidationFailed({"function": f'There is no function "{text}" that you can use.'})


def create_function(db: Session, user: User, raw: Mapping[str, Any]) -> Function:
    definition = parse_definition(raw)
    now = utcnow()
    function = Function(
        name=definition.name,
        provider=PROVIDER_NATIVE,
        kind=definition.kind,
        visibility=definition.visibility,
        description=definition.description,
        spec=definition.spec,
        owner_id=user.id,
        created_date=now,
        updated_date=now,
    )
    db.add(function)
    db.flush()
    return function


def list_functions(user: User, params: Mapping[str, str]) -> Select:
    """The functions the user sees, filtered and sorted with CVAT's list parameters."""
    query = select(Function).where(visible_functions(user))
    return apply_listing(query, params, FUNCTION_LIST, Function.id)


def delete_function(db: Session, user: User, function_id: int) -> None:
    """Delete a function; its unfinished requests fail (agents holding one get 409
    for their result), finished ones stay readable without a function id."""
    function = get_function_for_manage(db, user, function_id)
    now = utcnow()
    db.execute(
        update(AnnotationRequest)
        .where(
            AnnotationRequest.function_id == function.id,
            AnnotationRequest.status.in_(("queued", "started")),
        )
        .values(status="failed", message=FUNCTION_DELETED, finished_date=now, lease_expires_at=None)
    )
    db.delete(function)
    db.flush()
