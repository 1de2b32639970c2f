"""Annotations between database rows and ``AnnotationSet`` objects, per job.

Rows are read and written with Core statements, never as ORM instances: a save
deletes and re-inserts objects (keeping their ids on updates), and instances
left in the identity map would clash with the new rows. Children (skeleton
elements, keyframes) are deleted before their parents, so nothing depends on
the database's cascades.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, select
from sqlalchemy import insert as sql_insert
from sqlalchemy.orm import Session

from annotask.annotations.model import AnnotationSet, Attribute, Shape, Tag, Track, TrackedShape
from annotask.db.models import LabeledImage, LabeledShape, LabeledTrack
from annotask.db.models import TrackedShape as TrackedShapeRow

_TAGS = cast(Table, LabeledImage.__table__)
_SHAPES = cast(Table, LabeledShape.__table__)
_TRACKS = cast(Table, LabeledTrack.__table__)
_KEYFRAMES = cast(Table, TrackedShapeRow.__table__)
_BATCH = 1000

#: The object models with a label and attribute values (tags, shapes, tracks).
ObjectModel = TypeVar("ObjectModel", LabeledImage, LabeledShape, LabeledTrack)


def _attributes(raw: Iterable[dict] | None) -> list[Attribute]:
    return [Attribute(int(a["spec_id"]), str(a["value"])) for a in raw or ()]


def _attributes_json(attributes: Iterable[Attribute]) -> list[dict[str, Any]]:
    return [{"spec_id": a.spec_id, "value": a.value} for a in attributes]


# ---- reading -----------------------------------------------------------------


def load_jobs(db: Session, job_ids: Sequence[int]) -> dict[int, AnnotationSet]:
    """The annotations of each job, objects in id order (CVAT's order)."""
    result = {job_id: AnnotationSet() for job_id in job_ids}
    if not job_ids:
        return result
    ids = list(job_ids)
    for row in db.execute(select(_TAGS).where(_TAGS.c.job_id.in_(ids)).order_by(_TAGS.c.id)):
        result[row.job_id].tags.append(
            Tag(
                id=row.id,
                label_id=row.label_id,
                frame=row.frame,
                group=row.group,
                source=row.source,
                attributes=_attributes(row.attributes),
            )
        )
    elements: dict[int, list[Shape]] = {}
    shapes: list[tuple[int, Shape]] = []
    for row in db.execute(select(_SHAPES).where(_SHAPES.c.job_id.in_(ids)).order_by(_SHAPES.c.id)):
        shape = _shape(row)
        if row.parent_id is None:
            shapes.append((row.job_id, shape))
        else:
            elements.setdefault(row.parent_id, []).append(shape)
    for job_id, shape in shapes:
        shape.elements = elements.get(shape.id, [])  # type: ignore[arg-type]
        result[job_id].shapes.append(shape)
    keyframes: dict[int, list[TrackedShape]] = {}
    query = (
        select(_KEYFRAMES)
        .join(_TRACKS, _TRACKS.c.id == _KEYFRAMES.c.track_id)
        .where(_TRACKS.c.job_id.in_(ids))
        .order_by(_KEYFRAMES.c.track_id, _KEYFRAMES.c.frame, _KEYFRAMES.c.id)
    )
    for row in db.execute(query):
        keyframes.setdefault(row.track_id, []).append(
            TrackedShape(
                id=row.id,
                type=row.type,
                frame=row.frame,
                points=[float(p) for p in row.points or ()],
                occluded=bool(row.occluded),
                outside=bool(row.outside),
                z_order=row.z_order,
                rotation=float(row.rotation),
                attributes=_attributes(row.attributes),
            )
        )
    track_elements: dict[int, list[Track]] = {}
    tracks: list[tuple[int, Track]] = []
    for row in db.execute(select(_TRACKS).where(_TRACKS.c.job_id.in_(ids)).order_by(_TRACKS.c.id)):
        track = Track(
            id=row.id,
            label_id=row.label_id,
            frame=row.frame,
            group=row.group,
            source=row.source,
            attributes=_attributes(row.attributes),
            shapes=keyframes.get(row.id, []),
        )
        if row.parent_id is None:
            tracks.append((row.job_id, track))
        else:
            track_elements.setdefault(row.parent_id, []).append(track)
    for job_id, track in tracks:
        track.elements = track_elements.get(track.id, [])  # type: ignore[arg-type]
        result[job_id].tracks.append(track)
    return result


def load_job(db: Session, job_id: int) -> AnnotationSet:
    return load_jobs(db, [job_id])[job_id]


def _shape(row: Any) -> Shape:
    return Shape(
        id=row.id,
        type=row.type,
        frame=row.frame,
        label_id=row.label_id,
        points=[float(p) for p in row.points or ()],
        occluded=bool(row.occluded),
        outside=bool(row.outside),
        z_order=row.z_order,
        rotation=float(row.rotation),
        group=row.group,
        source=row.source,
        attributes=_attributes(row.attributes),
        score=float(row.score if row.score is not None else 1.0),
    )


_MAX_IDS_IN_QUERY = 500  # more: read the jobs' ids instead of a huge IN list


def owners(
    db: Session, job_ids: Sequence[int], among: Mapping[str, Sequence[int]] | None = None
) -> dict[str, dict[int, int]]:
    """Which job holds each top-level object id: ``{"tags"|"shapes"|"tracks": {id: job}}``.

    ``among``: only these ids of each kind are looked up (an update of a few objects of
    a big job reads a few rows, not the whole job's); None: every object of the jobs.
    """
    ids = list(job_ids)
    tables = {"tags": _TAGS, "shapes": _SHAPES, "tracks": _TRACKS}
    found: dict[str, dict[int, int]] = {}
    for kind, table in tables.items():
        query = select(table.c.id, table.c.job_id).where(table.c.job_id.in_(ids))
        if kind != "tags":
            query = query.where(table.c.parent_id.is_(None))
        if among is not None:
            wanted = list(among.get(kind, ()))
            if not wanted:
                found[kind] = {}
                continue
            if len(wanted) <= _MAX_IDS_IN_QUERY:
                query = query.where(table.c.id.in_(wanted))
        found[kind] = {obj_id: job_id for obj_id, job_id in db.execute(query)}
    return found


# ---- deleting ----------------------------------------------------------------


def delete_jobs(db: Session, job_ids: Sequence[int]) -> None:
    """Remove every annotation of the jobs."""
    ids = list(job_ids)
    if not ids:
        return
    track_ids = select(_TRACKS.c.id).where(_TRACKS.c.job_id.in_(ids))
    db.execute(delete(_KEYFRAMES).where(_KEYFRAMES.c.track_id.in_(track_ids)))
    db.execute(delete(_TRACKS).where(_TRACKS.c.job_id.in_(ids), _TRACKS.c.parent_id.is_not(None)))
    db.execute(delete(_TRACKS).where(_TRACKS.c.job_id.in_(ids)))
    db.execute(delete(_SHAPES).where(_SHAPES.c.job_id.in_(ids), _SHAPES.c.parent_id.is_not(None)))
    db.execute(delete(_SHAPES).where(_SHAPES.c.job_id.in_(ids)))
    db.execute(delete(_TAGS).where(_TAGS.c.job_id.in_(ids)))


def delete_objects(
    db: Session, *, tags: Iterable[int] = (), shapes: Iterable[int] = (), tracks: Iterable[int] = ()
) -> None:
    """Remove top-level objects by id, with their elements and keyframes."""
    tag_ids, shape_ids, track_ids = list(tags), list(shapes), list(tracks)
    for start in range(0, max(len(tag_ids), len(shape_ids), len(track_ids)), _BATCH):
        tag_part = tag_ids[start : start + _BATCH]
        shape_part = shape_ids[start : start + _BATCH]
        track_part = track_ids[start : start + _BATCH]
        if tag_part:
            db.execute(delete(_TAGS).where(_TAGS.c.id.in_(tag_part)))
        if shape_part:
            db.execute(delete(_SHAPES).where(_SHAPES.c.parent_id.in_(shape_part)))
            db.execute(delete(_SHAPES).where(_SHAPES.c.id.in_(shape_part)))
        if track_part:
            family = select(_TRACKS.c.id).where(
                (_TRACKS.c.id.in_(track_part)) | (_TRACKS.c.parent_id.in_(track_part))
            )
            db.execute(delete(_KEYFRAMES).where(_KEYFRAMES.c.track_id.in_(family)))
            db.execute(delete(_TRACKS).where(_TRACKS.c.parent_id.in_(track_part)))
            db.execute(delete(_TRACKS).where(_TRACKS.c.id.in_(track_part)))


# ---- writing -----------------------------------------------------------------


def _shape_row(job_id: int, shape: Shape, keep_id: bool, parent_id: int | None) -> dict:
    return {
        "id": shape.id if keep_id else None,
        "job_id": job_id,
        "label_id": shape.label_id,
        "parent_id": parent_id,
        "type": shape.type,
        "frame": shape.frame,
        "group": shape.group,
        "source": shape.source,
        "occluded": shape.occluded,
        "outside": shape.outside,
        "z_order": shape.z_order,
        "rotation": shape.rotation,
        "score": shape.score,
        "points": list(shape.points),
        "attributes": _attributes_json(shape.attributes),
    }


def _track_row(job_id: int, track: Track, keep_id: bool, parent_id: int | None) -> dict:
    return {
        "id": track.id if keep_id else None,
        "job_id": job_id,
        "label_id": track.label_id,
        "parent_id": parent_id,
        "frame": track.frame,
        "group": track.group,
        "source": track.source,
        "attributes": _attributes_json(track.attributes),
    }


def _keyframe_rows(track_id: int, track: Track) -> list[dict]:
    return [
        {
            "track_id": track_id,
            "type": s.type,
            "frame": s.frame,
            "occluded": s.occluded,
            "outside": s.outside,
            "z_order": s.z_order,
            "rotation": s.rotation,
            "points": list(s.points),
            "attributes": _attributes_json(s.attributes),
        }
        for s in track.shapes
    ]


def insert(db: Session, job_id: int, data: AnnotationSet, *, keep_ids: bool = False) -> None:
    """Store ``data`` in ``job_id``; ids are set on ``data``'s objects as assigned.

    With ``keep_ids`` the objects' own ids are used (updates keep their ids);
    otherwise new ids are assigned. Keyframe and element ids are always new.
    """
    tag_rows = [
        {
            "id": tag.id if keep_ids else None,
            "job_id": job_id,
            "label_id": tag.label_id,
            "frame": tag.frame,
            "group": tag.group,
            "source": tag.source,
            "attributes": _attributes_json(tag.attributes),
        }
        for tag in data.tags
    ]
    _assign(data.tags, _insert_many(db, _TAGS, tag_rows))
    shape_rows = [_shape_row(job_id, s, keep_ids, None) for s in data.shapes]
    _assign(data.shapes, _insert_many(db, _SHAPES, shape_rows))
    element_rows = [
        _shape_row(job_id, element, False, shape.id)
        for shape in data.shapes
        for element in shape.elements
    ]
    _assign([e for s in data.shapes for e in s.elements], _insert_many(db, _SHAPES, element_rows))
    track_rows = [_track_row(job_id, t, keep_ids, None) for t in data.tracks]
    _assign(data.tracks, _insert_many(db, _TRACKS, track_rows))
    elements = [(e, t.id) for t in data.tracks for e in t.elements]
    element_ids = _insert_many(db, _TRACKS, [_track_row(job_id, e, False, p) for e, p in elements])
    _assign([e for e, _ in elements], element_ids)
    keyframes = [
        row
        for track in (*data.tracks, *(e for e, _ in elements))
        for row in _keyframe_rows(track.id, track)  # type: ignore[arg-type]
    ]
    for start in range(0, len(keyframes), _BATCH):
        db.execute(sql_insert(_KEYFRAMES), keyframes[start : start + _BATCH])


def _assign(objects: Sequence[Any], ids: list[int]) -> None:
    for obj, new_id in zip(objects, ids, strict=True):
        obj.id = new_id


def _insert_many(db: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows, returning their ids in order; new ids come from one batched statement."""
    if not rows:
        return []
    fresh = [i for i, row in enumerate(rows) if row.get("id") is None]
    ids: list[int | None] = [row.get("id") for row in rows]
    kept = [row for row in rows if row.get("id") is not None]
    for start in range(0, len(kept), _BATCH):
        db.execute(sql_insert(table), kept[start : start + _BATCH])
    for start in range(0, len(fresh), _BATCH):
        part = fresh[start : start + _BATCH]
        values = [{k: v for k, v in rows[i].items() if k != "id"} for i in part]
        returned = db.execute(
            sql_insert(table).returning(table.c.id, sort_by_parameter_order=True), values
        ).scalars()
        for i, new_id in zip(part, returned, strict=True):
            ids[i] = new_id
    return [int(i) for i in ids if i is not None]


def drop_attribute_values(db: Session, label_id: int, spec_ids: set[int]) -> None:
    """Remove the values of deleted attributes from every object of ``label_id``, so
    what a client reads can be written back (CVAT deletes them with the attribute)."""
    if not spec_ids:
        return

    def keep(values: list[dict] | None) -> list[dict]:
        return [v for v in values or [] if v.get("spec_id") not in spec_ids]

    def drop(table: type[ObjectModel]) -> None:
        for row in db.scalars(select(table).where(table.label_id == label_id)):
            if any(v.get("spec_id") in spec_ids for v in row.attributes or []):
                row.attributes = keep(row.attributes)

    drop(LabeledImage)
    drop(LabeledShape)
    drop(LabeledTrack)
    keyframes = select(TrackedShapeRow).where(
        TrackedShapeRow.track_id.in_(
            select(LabeledTrack.id).where(LabeledTrack.label_id == label_id)
        )
    )
    for row in db.scalars(keyframes):
        if any(v.get("spec_id") in spec_ids for v in row.attributes or []):
            row.attributes = keep(row.attributes)
