"""Which source frames a task keeps: start, stop, step and CVAT's frame filter.

The task keeps source indices ``start, start + step, ...`` up to ``stop``
(inclusive); everything user-facing numbers them 0..size-1. The returned
``range`` carries the whole mapping: ``r[i]`` is the source index of task frame
``i``, ``r.index(source)`` the reverse, ``len(r)`` the task size and ``r[-1]`` the
stop frame CVAT stores after creation.
"""

from __future__ import annotations

import re

from .errors import MediaError

# CVAT searches the filter for "step=N" (spaces allowed, other text ignored).
_STEP = re.compile(r"step\s*=\s*([1-9]\d*)")


def parse_frame_filter(frame_filter: str | None) -> int:
    """The step of a ``frame_filter`` such as ``"step=5"``; 1 when empty.

    A non-empty filter without a valid ``step=N`` (N >= 1) is refused with CVAT's
    "Invalid frame filter expression".
    """
    if not frame_filter:
        return 1
    match = _STEP.search(frame_filter)
    if match is None:
        raise MediaError("Invalid frame filter expression")
    return int(match.group(1))


def frame_range(count: int, start: int = 0, stop: int | None = None, step: int = 1) -> range:
    """Source indices kept from ``count`` frames (task-semantics 2a).

    ``stop`` 0 or None means "to the end" (CVAT treats a falsy stop that way for
    images and video alike); a stop beyond the last frame is clipped.
    """
    if start < 0 or (stop is not None and stop < 0):
        raise MediaError("Start and stop frames must not be negative")
    if step < 1:
        raise MediaError("Frame step must be a positive integer")
    if stop and start > stop:
        raise MediaError("Stop frame must be more or equal start frame")
    if count <= 0:
        raise MediaError("No media data found")
    last = count - 1
    if start > last:
        raise MediaError(
            f"Start frame {start} is beyond the last frame of the data ({last}; "
            f"{count} frame{'s' if count != 1 else ''} found)"
        )
    end = last if not stop else min(stop, last)
    return range(start, end + 1, step)
