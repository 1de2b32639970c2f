"""The one rule for request bodies: fields the server does not use are ignored.

CVAT's serializers drop unknown and read-only fields without a word, and the
tools written against CVAT rely on it: FiftyOne creates tasks with
``image_quality``, scripts send labels back with ``has_parent`` or
``project_id``, a PATCH often carries a body copied from a GET. annotask does
the same everywhere, in this one place: Pydantic bodies derive from
``LenientModel``, hand-parsed bodies call ``ignore_unknown``. What is ignored
is logged at debug level, so a typo can still be found. The fields a body does
use keep their checks: a wrong type or value is still a 400.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

log = logging.getLogger("annotask.bodies")


def note_ignored(where: str, keys: Iterable[Any]) -> None:
    """Log, at debug level, the fields of a body that were ignored."""
    names = sorted(str(key) for key in keys)
    if names:
        log.debug("%s: ignored fields not used by annotask: %s", where, ", ".join(names))


def ignore_unknown(raw: dict, known: Collection[str], where: str) -> dict:
    """The fields of ``raw`` in ``known``; the others are logged and dropped."""
    note_ignored(where, (key for key in raw if key not in known))
    return {key: value for key, value in raw.items() if key in known}


class LenientModel(BaseModel):
    """Base of every request body model: unknown fields are ignored (and logged)."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _note_ignored_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields)
            known.update(f.alias for f in cls.model_fields.values() if f.alias)
            note_ignored(cls.__name__, (key for key in data if key not in known))
        return data


# Bodies whose used fields must have exactly their JSON type ("5" is not a number).
STRICT_TYPES = ConfigDict(extra="ignore", strict=True)
