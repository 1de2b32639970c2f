"""Ordered parallel map over threads with a bounded number of results in flight.

The codecs (libjpeg-turbo through simplejpeg, Pillow's decoders, FFmpeg) release
the GIL while they work, so threads use every core for media without the start-up
cost and memory of processes. Results come back in input order, and at most
``2 * threads`` are pending, so memory stays bounded however long the input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """``map(fn, items)`` on ``threads`` threads, in order; sequential when ``threads <= 1``.

    The first exception is raised where its result would have been yielded; pending
    work is cancelled (running calls finish first).
    """
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="media") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
