"""Single-frame calls (CVAT's ``POST /api/lambda/functions/{id}``), served by agents.

CVAT's annotation view calls a function on one frame and waits for the answer.
A native function has no server-side code, so the call becomes an
``interactive`` annotation request; the function's agents are told of it by the
queue watch, acquire it before any batch work (``cvat-cli`` does), and
``complete`` it with their answer, which :func:`read_result` checks and stores
in the request; :func:`await_answer` waits for it and hands it out once.

What the agent is asked, per kind (the drivers of ``cvat-cli function run-agent``):

- detector: ``annotate_frame`` (task, frame, mapping, threshold, conv_mask_to_poly);
- interactor: ``interact`` (task, frame, pos_points, neg_points, obj_bbox);
- tracker: ``init_tracking`` (task, frame, shapes), or ``track`` (task, frame, states);

all with ``roi`` when the caller gave one. What the caller gets back:

- detector: a list of objects with label names, as CVAT's nuclio detectors
  answer: ``{"label", "type", "points", "attributes": [{"name", "value"}], ...}``
  (``type`` ``"tag"`` for tags; skeletons with ``elements``);
- interactor: ``{"shapes": [{"type", "points", "attributes"}]}``, the agent's shapes;
- tracker: ``{"shapes": [...], "states": [...]}``: after ``init_tracking`` the
  shapes given, after ``track`` the tracked shapes (``null`` for a lost object).

A call that no agent answers in time is failed (504), never left queued; an
agent's ``fail`` is a 502 with its message. Nothing is written to the task.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from annotask.annotations.model import Attribute, Shape, Tag
from annotask.annotations.schema import LabelSet
from annotask.db.base import rowcount, utcnow
from annotask.db.models import AnnotationRequest, Function, Job, Task, User
from annotask.domain.annotations import service as annotation_service
from annotask.domain.annotations.context import label_set
from annotask.domain.errors import DomainError, Errors, ValidationFailed
from annotask.domain.functions.registry import get_function_by_key
from annotask.domain.functions.runs import (
    INTERACTIVE,
    UNFINISHED,
    check_runnable,
    check_target_ids,
    detector_mapping,
    is_fraction,
    is_id,
    job_frames,
    new_request,
    read_flag,
    resolve_target,
)

# How often a waiting call looks for its answer: soon at first (an agent answers
# in tens of milliseconds), then less often, so that many calls waiting on a
# slow agent do not keep the database busy.
POLL_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5
COMMON_FIELDS = ("task", "job", "frame", "quality", "roi")
KIND_FIELDS = {
    "detector": ("threshold", "mapping", "conv_mask_to_poly", "convMaskToPoly", "cleanup"),
    "interactor": ("pos_points", "neg_points", "obj_bbox"),
    "tracker": ("shapes", "states"),
}


class CallFailed(DomainError):
    """The agent failed the call, or its answer was refused: 502, as a gateway
    whose upstream failed (CVAT passes on the failing nuclio function's status)."""

    status_code = 502


class CallTimedOut(DomainError):
    """No agent answered in time (CVAT answers 504 when nuclio times out)."""

    status_code = 504


# ---- the caller's side: create, then wait ------------------------------------------


def start_call(sessions: sessionmaker[Session], user: User, key: str, raw: Any) -> str:
    """``POST /api/lambda/functions/{key}``: queue the call in a transaction of its own,
    committed before the caller awaits the answer (:func:`await_answer`)."""
    with sessions() as db, db.begin():
        return create_call(db, user, get_function_by_key(db, user, key), raw).id


def create_call(db: Session, user: User, function: Function, raw: Any) -> AnnotationRequest:
    """Check a call's body and queue it as an interactive request of ``function``.

    Permissions are those of batch runs: the caller may change the task's
    annotations (or, with ``job``, that job's), the function's owner sees the
    task; the frame must be one of the task's (of the job's, with ``job``).
    """
    errors = Errors()
    if not isinstance(raw, Mapping):
        errors.add("", "The body must be a JSON object.")
        errors.raise_if_any()
    _check_fields(function.kind, raw, errors)
    check_target_ids(raw, errors)
    frame = raw.get("frame")
    if not is_id(frame) or frame < 0:
        errors.add("frame", "The number of the frame to work on is required.")
    if raw.get("quality", "original") not in ("original", "compressed"):
        errors.add("quality", '"original" or "compressed" is required.')
    roi = _roi(raw.get("roi"), errors)
    params = _KIND_PARAMS[function.kind](function, raw, errors)
    errors.raise_if_any()
    task, job = resolve_target(db, user, raw.get("task"), raw.get("job"))
    check_runnable(db, function, task)
    _check_frame(db, task, job, frame)
    if function.kind == "detector":
        params["mapping"] = detector_mapping(
            db, function, task, raw.get("mapping"), params["conv_mask_to_poly"]
        )
    params.update(task=task.id, frame=frame)
    if roi is not None:
        params["roi"] = roi
    request = new_request(function.id, task.id, user.id, INTERACTIVE, params)
    request.threshold = params.get("threshold")
    db.add(request)
    db.flush()
    return request


_PENDING = object()


async def await_answer(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    request_id: str,
    timeout: float,
) -> Any:
    """The agent's answer to a call, handed out once; raises :class:`CallFailed`,
    or after ``timeout`` seconds fails the request and raises :class:`CallTimedOut`.

    Each look at the database is a short trip to a worker thread; between looks
    the caller sleeps on the event loop, soon at first and then less often. A
    hundred calls waiting for a slow agent hold neither the web server's worker
    threads nor a transaction (the agent writes meanwhile).
    """
    deadline = time.monotonic() + timeout
    pause = POLL_SECONDS
    while True:
        expired = time.monotonic() >= deadline
        look = partial(_look, sessions, read_sessions, request_id, timeout, expired)
        answer = await anyio.to_thread.run_sync(look)
        if answer is not _PENDING:
            return answer
        await anyio.sleep(min(pause, max(0.0, deadline - time.monotonic()) + 0.01))
        pause = min(pause * 1.5, POLL_MAX_SECONDS)


def _look(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    request_id: str,
    timeout: float,
    expired: bool,
) -> Any:
    """One look at a call: its answer (then forgotten), or ``_PENDING``."""
    with read_sessions() as db, db.begin():
        row = db.execute(
            select(
                AnnotationRequest.status, AnnotationRequest.message, AnnotationRequest.result
            ).where(AnnotationRequest.id == request_id)
        ).first()
    if row is None:  # its task or job was deleted meanwhile
        raise CallFailed("The call was dropped: its task or job was deleted.")
    status, message, result = row
    if status == "finished":
        _forget_result(sessions, request_id)
        return result["answer"] if result else None
    if status == "failed":
        raise CallFailed(f"The function failed: {message or 'Unknown error'}")
    if expired and _expire(sessions, request_id, timeout):
        raise CallTimedOut(
            f"No agent of the function answered within {timeout:g} s: is "
            "`cvat-cli function run-agent` running for it?"
        )
    return _PENDING


def _forget_result(sessions: sessionmaker[Session], request_id: str) -> None:
    """An answer is handed out once; the ended request stays until it is purged."""
    with sessions() as db, db.begin():
        db.execute(
            update(AnnotationRequest).where(AnnotationRequest.id == request_id).values(result=None)
        )


def _expire(sessions: sessionmaker[Session], request_id: str, timeout: float) -> bool:
    """Fail the call if it is still unfinished; False when it ended meanwhile."""
    with sessions() as db, db.begin():
        return bool(
            rowcount(db.execute(
                update(AnnotationRequest)
                .where(
                    AnnotationRequest.id == request_id,
                    AnnotationRequest.status.in_(UNFINISHED),
                )
                .values(
                    status="failed",
                    message=f"No agent answered within {timeout:g} s",
                    finished_date=utcnow(),
                    lease_expires_at=None,
                )
            ))
        )


# ---- the call's body -----------------------------------------------------------------


def _check_fields(kind: str, raw: Mapping[str, Any], errors: Errors) -> None:
    own = KIND_FIELDS.get(kind, ())
    for key in raw:
        if key in COMMON_FIELDS or key in own:
            continue
        others = [k for k, fields in KIND_FIELDS.items() if key in fields]
        if others:
            errors.add(str(key), f"Not a field of a {kind}'s call (only of {others[0]}s).")
        else:
            errors.add(str(key), "Unknown field, or a field that cannot be written.")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _roi(value: Any, errors: Errors) -> list[float] | None:
    """An optional region ``[xtl, ytl, xbr, ybr]`` the agent crops the frame to."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(_number(v) and v >= 0 for v in value)
        or value[0] >= value[2]
        or value[1] >= value[3]
    ):
        errors.add("roi", "A region [xtl, ytl, xbr, ybr] inside the frame is required.")
        return None
    return list(value)


def _points(value: Any, path: str, errors: Errors) -> list[list[float]]:
    """A list of ``[x, y]`` points."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(_number(c) for c in p) for p in value
    ):
        errors.add(path, "A list of [x, y] points is required.")
        return []
    return [list(p) for p in value]


def _detector_params(function: Function, raw: Mapping[str, Any], errors: Errors) -> dict:
    threshold = raw.get("threshold")
    if threshold is not None and not is_fraction(threshold):
        errors.add("threshold", "A number between 0 and 1 is required.")
    read_flag(raw, "cleanup", errors)  # accepted, as by CVAT; a call saves nothing
    return {
        "type": "annotate_frame",
        "threshold": float(threshold) if is_fraction(threshold) else None,
        "conv_mask_to_poly": read_flag(raw, "conv_mask_to_poly", errors),
    }


def _interactor_params(function: Function, raw: Mapping[str, Any], errors: Errors) -> dict:
    """Prompts, checked against what the function declared (``min_pos_points``...)."""
    spec = function.spec or {}
    if "pos_points" not in raw:
        errors.add("pos_points", "The positive points ([[x, y], ...]) are required.")
    pos = _points(raw.get("pos_points"), "pos_points", errors)
    neg = _points(raw.get("neg_points"), "neg_points", errors)
    box = _points(raw.get("obj_bbox"), "obj_bbox", errors)
    if box and len(box) != 2:
        errors.add("obj_bbox", "A box is two points: [[xtl, ytl], [xbr, ybr]].")
    if len(pos) < spec.get("min_pos_points", 1):
        errors.add("pos_points", f"At least {spec.get('min_pos_points', 1)} point(s) required.")
    min_neg = spec.get("min_neg_points", -1)
    if min_neg < 0 and neg:
        errors.add("neg_points", "This function takes no negative points.")
    elif len(neg) < min_neg:
        errors.add("neg_points", f"At least {min_neg} point(s) required.")
    if spec.get("startswith_box") and not box:
        errors.add("obj_bbox", "This function needs a bounding box.")
    if box and not (spec.get("startswith_box") or spec.get("startswith_box_optional")):
        errors.add("obj_bbox", "This function takes no bounding box.")
    return {"type": "interact", "pos_points": pos, "neg_points": neg, "obj_bbox": box}


def _tracker_params(function: Function, raw: Mapping[str, Any], errors: Errors) -> dict:
    """``states`` (from an earlier answer) to track, else ``shapes`` to start tracking.
    CVAT's UI sends both when it tracks; the shapes are then only informative."""
    states = raw.get("states")
    if states is not None and (
        not isinstance(states, list) or not all(s is None or isinstance(s, str) for s in states)
    ):
        errors.add("states", "A list of the states of earlier answers is required.")
        return {}
    given = states or []
    known = [s for s in given if s is not None]
    if known:
        if len(known) != len(given):
            errors.add("states", "Track known objects and start new ones in separate calls.")
        return {"type": "track", "states": known}
    supported = set((function.spec or {}).get("supported_shape_types", []))
    shapes = _trackable_shapes(raw.get("shapes"), supported, errors)
    return {"type": "init_tracking", "shapes": shapes}


def _trackable_shapes(value: Any, supported: set[str], errors: Errors) -> list[dict]:
    """``[{"type", "points"}]``; a bare list of points is a rectangle (nuclio's form)."""
    if not isinstance(value, list) or not value:
        errors.add("shapes", "The shapes to track ([{type, points}]) or states are required.")
        return []
    shapes = []
    for index, item in enumerate(value):
        if isinstance(item, list):
            item = {"type": "rectangle", "points": item}
        points = item.get("points") if isinstance(item, Mapping) else None
        if not isinstance(points, list) or not points or not all(_number(p) for p in points):
            errors.add(f"shapes[{index}]", "A shape {type, points} is required.")
        elif item.get("type") not in supported:
            errors.add(
                f"shapes[{index}].type",
                f"This function tracks {', '.join(sorted(supported))} shapes only.",
            )
        else:
            shapes.append({"type": item["type"], "points": list(points)})
    return shapes


_KIND_PARAMS = {
    "detector": _detector_params,
    "interactor": _interactor_params,
    "tracker": _tracker_params,
}


def _check_frame(db: Session, task: Task, job: Job | None, frame: int) -> None:
    size = task.data.size if task.data is not None else 0
    deleted = task.data.deleted_frames if task.data is not None else None
    if frame >= size or frame in (deleted or []):
        raise ValidationFailed({"frame": f"Task #{task.id} has no frame {frame}."})
    if job is not None and frame not in job_frames(db, job):
        raise ValidationFailed({"frame": f"Frame {frame} is outside job #{job.id}."})


# ---- the agent's side: its answer -----------------------------------------------------


def read_result(
    db: Session, task: Task, request: AnnotationRequest, body: Mapping[str, Any]
) -> dict[str, Any]:
    """The agent's answer checked and put in the caller's shape, to store in the
    request (``{"answer": ...}``); ``ValidationFailed`` when it cannot be taken."""
    params = request.params
    kind = params.get("type")
    if kind == "annotate_frame":
        answer: Any = _detections(db, task, params["frame"], body.get("annotations"))
    elif kind == "interact":
        answer = {"shapes": _result_shapes(body.get("shapes"), "shapes", nullable=False)}
    elif kind == "init_tracking":
        states = _states(body.get("states"), len(params["shapes"]))
        answer = {"shapes": params["shapes"], "states": states}
    elif kind == "track":
        shapes = _result_shapes(body.get("shapes"), "shapes", nullable=True)
        if len(shapes) != len(params["states"]):
            raise ValidationFailed({"shapes": "One shape (or null) per state is required."})
        answer = {"shapes": shapes, "states": params["states"]}
    else:
        raise ValidationFailed(f"Unknown kind of call {kind!r}.")
    return {"answer": answer}


def _states(value: Any, count: int) -> list[str]:
    if not isinstance(value, list) or len(value) != count:
        raise ValidationFailed({"states": f"{count} tracking state(s) are required."})
    if not all(isinstance(s, str) and s for s in value):
        raise ValidationFailed({"states": "Tracking states are non-empty strings."})
    return list(value)


def _result_shapes(value: Any, path: str, *, nullable: bool) -> list[dict | None]:
    if not isinstance(value, list):
        raise ValidationFailed({path: "A list of shapes is required."})
    shapes: list[dict | None] = []
    for index, item in enumerate(value):
        if item is None and nullable:
            shapes.append(None)
            continue
        points = item.get("points") if isinstance(item, Mapping) else None
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("type"), str)
            or not isinstance(points, list)
            or not all(_number(p) for p in points)
        ):
            raise ValidationFailed({f"{path}[{index}]": "A shape {type, points} is required."})
        shapes.append({k: v for k, v in item.items() if k in ("type", "points", "attributes")})
    return shapes


def _detections(db: Session, task: Task, frame: int, data: Any) -> list[dict[str, Any]]:
    """A detector's ``annotate_frame`` answer, checked like annotations of that frame
    and given with label and attribute names (as CVAT's nuclio detectors answer)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed({"annotations": "An object with tags and shapes is required."})
    parsed = annotation_service.parse(
        {"tags": data.get("tags") or [], "shapes": data.get("shapes") or [], "tracks": []}
    )
    labels = label_set(db, task)
    annotation_service.check(parsed, labels, frame, frame)
    return [_named_tag(t, labels) for t in parsed.tags] + [
        _named_shape(s, labels) for s in parsed.shapes
    ]


def _named_attributes(attributes: Sequence[Attribute], labels: LabelSet, label_id: int):
    label = labels.get(label_id)
    names = {a.id: a.name for a in label.attributes} if label else {}
    return [{"name": names.get(a.spec_id, str(a.spec_id)), "value": a.value} for a in attributes]


def _label_name(labels: LabelSet, label_id: int) -> str:
    label = labels.get(label_id)
    return label.name if label else str(label_id)


def _named_tag(tag: Tag, labels: LabelSet) -> dict[str, Any]:
    return {
        "type": "tag",
        "label": _label_name(labels, tag.label_id),
        "attributes": _named_attributes(tag.attributes, labels, tag.label_id),
    }


def _named_shape(shape: Shape, labels: LabelSet) -> dict[str, Any]:
    named: dict[str, Any] = {
        "type": shape.type,
        "label": _label_name(labels, shape.label_id),
        "points": [float(p) for p in shape.points],
        "attributes": _named_attributes(shape.attributes, labels, shape.label_id),
        "rotation": float(shape.rotation),
        "occluded": shape.occluded,
        "group": shape.group,
    }
    if shape.score != 1.0:
        named["confidence"] = shape.score
    if shape.elements:
        named["elements"] = [_named_shape(e, labels) for e in shape.elements]
    return named
