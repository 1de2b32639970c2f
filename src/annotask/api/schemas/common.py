"""Models shared by many resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, field_serializer, model_serializer

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


class OmitWhenNone(ReadModel):
    """A response whose ``OMIT_WHEN_NONE`` fields are left out, not sent as null, when
    unset: the clients' models reject a null there. Done in the serializer, so it holds
    however the model is written out (``model_dump`` or FastAPI's response model)."""

    OMIT_WHEN_NONE: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_nulls(self, handler: Any) -> Any:
        data = handler(self)
        for key in self.OMIT_WHEN_NONE:
            if data.get(key, 0) is None:
                del data[key]
        return data


T = TypeVar("T")


class Page(ReadModel, Generic[T]):
    """CVAT's paginated list (``Paginated<Model>List``, spec 0.7)."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


class Empty(ReadModel):
    """An empty JSON object: the answer of a command with nothing to report."""


class Detail(ReadModel):
    """``{"detail": "..."}``: a message for the user."""

    detail: str


class WriteModel(LenientModel):
    """Base of every request body: unknown fields are ignored, as CVAT does
    (``annotask.domain.bodies``)."""


class BasicUser(ReadModel):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str


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
