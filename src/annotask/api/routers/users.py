"""``/api/users``: the caller, and the user directory (names only for non-admins)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select

from annotask.api.deps import CurrentCaller, Db
from annotask.api.pagination import paginate_query
from annotask.api.routing import CvatRouter
from annotask.api.schemas.users import user_read
from annotask.db.models import User
from annotask.domain.errors import NotFound

router = CvatRouter(prefix="/api/users", tags=["users"])


@router.get("/self")
def current_user(request: Request, caller: CurrentCaller) -> dict:
    return user_read(request, caller.user).model_dump(mode="json")


@router.get("")
def list_users(request: Request, caller: CurrentCaller, db: Db) -> dict:
    """Any user may list users (to pick assignees), as in CVAT."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.id)
    if name := request.query_params.get("username"):
        query = query.where(User.username == name)
    if search := request.query_params.get("search"):
        query = query.where(User.username.contains(search))
    return paginate_query(
        request, db, query, lambda u: user_read(request, u).model_dump(mode="json")
    )


@router.get("/{user_id}")
def get_user(request: Request, user_id: int, caller: CurrentCaller, db: Db) -> dict:
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound()
    return user_read(request, user).model_dump(mode="json")
