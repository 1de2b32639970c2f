"""``/api/users``: the caller, and the user directory (names only for non-admins).

As CVAT's ``UserViewSet``: admins read full records; anyone else reads other
users as ``BasicUser`` (url, id, username, first and last name: enough to pick
an assignee, no e-mail, last login or admin flag), and their own full record
at ``/api/users/self`` or ``/api/users/<their id>``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import select

from annotask.api.deps import Caller, CurrentCaller, Db
from annotask.api.openapi import PAGING, query_doc
from annotask.api.pagination import paginate_query
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import BasicUser, Page, basic_user
from annotask.api.schemas.users import UserRead, user_read
from annotask.db.models import User
from annotask.domain.errors import NotFound

router = CvatRouter(prefix="/api/users", tags=["users"])


#: CVAT's ``MetaUser``: the full record, or the names only.
MetaUser = UserRead | BasicUser


def _directory_entry(request: Request, caller: Caller, user: User, *, own: bool) -> MetaUser:
    """The full record for admins (and, with ``own``, for the user themself), else names."""
    if caller.is_admin or (own and user.id == caller.user.id):
        return user_read(request, user)
    entry = basic_user(request, user)
    assert entry is not None
    return entry


@router.get("/self")
def current_user(request: Request, caller: CurrentCaller) -> UserRead:
    return user_read(request, caller.user)


@router.get("", dependencies=[Depends(query_doc(**PAGING))])
def list_users(
    request: Request,
    caller: CurrentCaller,
    db: Db,
    username: Annotated[str | None, Query(description="Exactly this user name.")] = None,
    search: Annotated[str | None, Query(description="Part of the user name.")] = None,
) -> Page[MetaUser]:
    """Any user may list users (to pick assignees), as in CVAT."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.id)
    if username:
        query = query.where(User.username == username)
    if search:
        query = query.where(User.username.contains(search))
    # As CVAT, a non-admin's list holds names only, their own entry included.
    return paginate_query(
        request,
        db,
        query,
        lambda u: _directory_entry(request, caller, u, own=False),
        Page[MetaUser],
    )


@router.get("/{user_id}")
def get_user(request: Request, user_id: int, caller: CurrentCaller, db: Db) -> MetaUser:
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound()
    return _directory_entry(request, caller, user, own=True)
