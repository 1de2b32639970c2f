"""Jobs' frame ranges from segment size and overlap (task-semantics 2b, CVAT's current rule)."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_VIDEO_OVERLAP = 5


def effective_overlap(
    size: int, segment_size: int, overlap: int | None, *, video: bool
) -> tuple[int, int]:
    """(segment size, overlap) as CVAT stores them: 0 or too large means one segment,
    missing overlap means 5 for video and 0 for images, capped at half a segment."""
    s = size if segment_size == 0 or segment_size > size else segment_size
    o = overlap if overlap is not None else (DEFAULT_VIDEO_OVERLAP if video else 0)
    return s, min(o, s // 2)


def segment_ranges(size: int, segment_size: int, overlap: int) -> list[tuple[int, int]]:
    """Inclusive relative ranges; consecutive segments share ``overlap`` frames."""
    if size <= 0:
        return []
    step = max(segment_size - overlap, 1)
    return [
        (start, min(start + segment_size - 1, size - 1))
        for start in range(0, max(size - overlap, 1), step)
    ]


def mapping_ranges(lengths: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive ranges for ``job_file_mapping`` (no overlap)."""
    ranges, start = [], 0
    for length in lengths:
        ranges.append((start, start + length - 1))
        start += length
    return ranges
