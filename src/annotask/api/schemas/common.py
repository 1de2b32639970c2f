"""Models shared by many resources."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, overload

from fastapi import Request
from pydantic import BaseModel, ConfigDict, field_serializer

from annotask.api.urls import absolute
from annotask.db.models import Storage, User
from annotask.domain.bodies import LenientModel


class ReadModel(BaseModel):
    """Base of every response: UTC datetimes rendered with microseconds and ``Z``."""

    model_config = ConfigDict(from_attributes=True)

    @field_serializer("*", when_used="json", check_fields=False)
    def _datetimes(self, value, _info):
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value


class WriteModel(LenientModel):
    """Base of every request body: unknown fields are ignored, as CVAT does
    (``annotask.domain.bodies``)."""


class BasicUser(ReadModel):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str


@overload
def basic_user(request: Request, user: User) -> BasicUser: ...
@overload
def basic_user(request: Request, user: User | None) -> BasicUser | None: ...
def basic_user(request: Request, user: User | None) -> BasicUser | None:
    if user is None:
        return None
    return BasicUser(
        url=absolute(request, f"/api/users/{user.id}"),
        id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
    )


class StorageRead(ReadModel):
    id: int
    location: str
    cloud_storage_id: int | None = None


class StorageWrite(WriteModel):
    location: Literal["local", "cloud_storage"] = "local"
    cloud_storage_id: int | None = None


def storage_read(storage: Storage | None) -> StorageRead | None:
    if storage is None:
        return None
    return StorageRead(
        id=storage.id, location=storage.location, cloud_storage_id=storage.cloud_storage_id
    )


class Summary(ReadModel):
    url: str


class CountSummary(ReadModel):
    count: int
    url: str


class RqId(ReadModel):
    rq_id: str
