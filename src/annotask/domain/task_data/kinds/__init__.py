"""Media kinds as modules, and the registry that picks one.

::

    upload ──classify──▶ MediaKind ──kind_for──▶ images │ video │ point_cloud
                                                   (PDF → images: pages rendered)
    Data.media_type ──────────kind_of_data──────▶ the same module

A new media kind is one module satisfying :class:`~.base.Kind` and one
``register`` line below.
"""

from __future__ import annotations

from annotask.db.models import Data
from annotask.domain.task_data.kinds import images, point_cloud, video
from annotask.domain.task_data.kinds.base import (
    CreationFailed,
    Kind,
    PlanContext,
    TaskPlan,
)
from annotask.media.kinds import MediaKind

__all__ = [
    "CreationFailed",
    "Kind",
    "PlanContext",
    "TaskPlan",
    "kind_for",
    "kind_of_data",
    "register",
]

_BY_MEDIA: dict[MediaKind, Kind] = {}
_BY_TYPE: dict[str, Kind] = {}


def register(kind: Kind, *media_kinds: MediaKind) -> None:
    """Make ``kind`` handle uploads classified as ``media_kinds``, and stored tasks
    whose ``Data.media_type`` is ``kind.media_type``."""
    for media_kind in media_kinds:
        _BY_MEDIA[media_kind] = kind
    _BY_TYPE[kind.media_type] = kind


register(images, MediaKind.IMAGE, MediaKind.PDF)
register(video, MediaKind.VIDEO)
register(point_cloud, MediaKind.POINT_CLOUD)


def kind_for(media_kind: MediaKind) -> Kind:
    """The module that makes a task of an upload classified as ``media_kind``."""
    kind = _BY_MEDIA.get(media_kind)
    if kind is None:
        raise CreationFailed(f"Files of kind '{media_kind}' cannot make a task.")
    return kind


def kind_of_data(data: Data) -> Kind:
    """The module that serves a stored task's data."""
    # Rows without a known type are images: the column's default.
    return _BY_TYPE.get(data.media_type, images)
