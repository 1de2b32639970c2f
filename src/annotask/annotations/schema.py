"""The label set that annotations are checked and converted against.

A plain, frozen mirror of the ``labels`` and ``attribute_specs`` rows (and of
CVAT's ``Label``/``Attribute`` JSON, cvat-api 4.4), so validation and the file
formats need neither the database nor the API schemas. ``LabelSet.from_json``
accepts what ``GET /api/labels`` or a task's label list returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    id: int
    name: str
    input_type: str  # select | radio | checkbox | number | text
    mutable: bool = False
    values: tuple[str, ...] = ()
    default_value: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttributeSpec:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            input_type=str(data["input_type"]),
            mutable=bool(data.get("mutable", False)),
            values=tuple(str(v) for v in data.get("values") or ()),
            default_value=str(data.get("default_value") or ""),
        )


@dataclass(frozen=True, slots=True)
class LabelSpec:
    id: int
    name: str
    type: str = "any"
    attributes: tuple[AttributeSpec, ...] = ()
    sublabels: tuple[LabelSpec, ...] = ()
    color: str = ""
    svg: str = ""
    parent_id: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], parent_id: int | None = None) -> LabelSpec:
        label_id = int(data["id"])
        return cls(
            id=label_id,
            name=str(data["name"]),
            type=str(data.get("type") or "any"),
            attributes=tuple(AttributeSpec.from_json(a) for a in data.get("attributes") or ()),
            sublabels=tuple(
                LabelSpec.from_json(s, parent_id=label_id) for s in data.get("sublabels") or ()
            ),
            color=str(data.get("color") or ""),
            svg=str(data.get("svg") or ""),
            parent_id=parent_id if parent_id is not None else data.get("parent_id"),
        )

    def attribute(self, spec_id: int) -> AttributeSpec | None:
        return next((a for a in self.attributes if a.id == spec_id), None)

    def attribute_named(self, name: str) -> AttributeSpec | None:
        return next((a for a in self.attributes if a.name == name), None)

    def sublabel_named(self, name: str) -> LabelSpec | None:
        return next((s for s in self.sublabels if s.name == name), None)


@dataclass(frozen=True)
class LabelSet:
    """Top-level labels in id order, with lookups over them and their sublabels."""

    labels: tuple[LabelSpec, ...] = ()
    _by_id: dict[int, LabelSpec] = field(init=False, repr=False, compare=False)
    _specs: dict[int, AttributeSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[int, LabelSpec] = {}
        for label in self.labels:
            by_id[label.id] = label
            for sub in label.sublabels:
                by_id[sub.id] = sub
        object.__setattr__(self, "_by_id", by_id)
        specs = {a.id: a for label in by_id.values() for a in label.attributes}
        object.__setattr__(self, "_specs", specs)

    @classmethod
    def of(cls, labels: Iterable[LabelSpec]) -> LabelSet:
        return cls(tuple(labels))

    @classmethod
    def from_json(cls, labels: Sequence[Mapping[str, Any]]) -> LabelSet:
        """Build from API label objects; flat sublabel entries (``parent_id``) are attached."""
        top = [LabelSpec.from_json(d) for d in labels if d.get("parent_id") is None]
        nested = {s.id for label in top for s in label.sublabels}
        extra: dict[int, list[LabelSpec]] = {}
        for d in labels:
            parent = d.get("parent_id")
            if parent is not None and int(d["id"]) not in nested:
                extra.setdefault(int(parent), []).append(LabelSpec.from_json(d, int(parent)))
        result = []
        for label in top:
            if label.id in extra:
                subs = tuple(sorted(label.sublabels + tuple(extra[label.id]), key=lambda s: s.id))
                label = LabelSpec(
                    label.id,
                    label.name,
                    label.type,
                    label.attributes,
                    subs,
                    label.color,
                    label.svg,
                    label.parent_id,
                )
            result.append(label)
        return cls(tuple(result))

    def __iter__(self) -> Iterator[LabelSpec]:
        return iter(self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def get(self, label_id: int) -> LabelSpec | None:
        """Any label by id, sublabels included."""
        return self._by_id.get(label_id)

    def top_level(self, label_id: int) -> LabelSpec | None:
        label = self._by_id.get(label_id)
        return label if label is not None and label.parent_id is None else None

    def named(self, name: str) -> LabelSpec | None:
        """A top-level label by name (names are unique among top-level labels)."""
        return next((label for label in self.labels if label.name == name), None)

    def attribute(self, spec_id: int) -> AttributeSpec | None:
        """An attribute spec of any label by id."""
        return self._specs.get(spec_id)

    def all_labels(self) -> Iterator[LabelSpec]:
        """Every label in CVAT's export order: by id, sublabels included."""
        return iter(sorted(self._by_id.values(), key=lambda label: label.id))
