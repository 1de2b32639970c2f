"""Users and credentials."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from pydantic import Field

from annotask.api.schemas.common import BasicUser, OmitWhenNone, ReadModel, WriteModel, basic_user
from annotask.api.urls import absolute
from annotask.db.models import AccessToken, User


class UserRead(ReadModel):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    groups: list[str]
    is_staff: bool
    is_superuser: bool
    is_active: bool
    last_login: datetime | None
    date_joined: datetime
    has_analytics_access: bool = False


def user_read(request: Request, user: User) -> UserRead:
    return UserRead(
        url=absolute(request, f"/api/users/{user.id}"),
        id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        groups=["admin"] if user.is_superuser else ["user"],
        is_staff=user.is_superuser,
        is_superuser=user.is_superuser,
        is_active=user.is_active,
        last_login=user.last_login,
        date_joined=user.date_joined,
    )


class LoginRequest(WriteModel):
    username: str | None = None
    email: str | None = None
    password: str


class TokenRead(ReadModel):
    key: str


class AccessTokenWrite(WriteModel):
    name: str = Field(min_length=1, max_length=255)
    expiry_date: datetime | None = None
    read_only: bool = False


class AccessTokenRead(OmitWhenNone):
    # The secret exists only in the create response.
    OMIT_WHEN_NONE = ("value",)

    id: int
    name: str
    created_date: datetime
    updated_date: datetime
    expiry_date: datetime | None
    last_used_date: datetime | None
    read_only: bool
    owner: BasicUser
    value: str | None = None


def access_token_read(
    request: Request, token: AccessToken, value: str | None = None
) -> AccessTokenRead:
    return AccessTokenRead(
        id=token.id,
        name=token.name,
        created_date=token.created_date,
        updated_date=token.updated_date,
        expiry_date=token.expiry_date,
        last_used_date=token.last_used_date,
        read_only=token.read_only,
        owner=basic_user(request, token.owner),
        value=value,
    )
