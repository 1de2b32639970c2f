"""Models shared by many resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, overload

from fastapi import Request
from pydantic import (
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    field_serializer,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

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

    # No return annotation: pydantic would take it as the schema of the whole model.
    @model_serializer(mode="wrap")
    def _omit_nulls(self, handler: Any):
        data = handler(self)
        for key in self.OMIT_WHEN_NONE:
            if data.get(key, 0) is None:
                del data[key]
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The schema says what is sent: these fields are optional and never null."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        for key in cls.OMIT_WHEN_NONE:
            field = schema.get("properties", {}).get(key, {})
            options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
            if len(options) == 1:
                field.update(options[0])
            elif options:
                field["anyOf"] = options
            field.pop("default", None)
            if key in schema.get("required", []):
                schema["required"].remove(key)
        return schema


T = TypeVar("T")


class Page(ReadModel, Generic[T]):
    """CVAT's paginated list (``Paginated<Model>List``, spec 0.7)."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """CVAT's names: ``PaginatedTaskReadList`` (``PaginatedUserReadOrBasicUserList``)."""
        names = [getattr(p, "__name__", None) or str(p) for p in get_args(params[0]) or params]
        return f"Paginated{'Or'.join(names)}List"


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
