"""Ordering input files: CVAT's four ``sorting_method`` values.

``natural`` is meant to look like a file manager. CVAT calls natsort's
``os_sorted``, whose result depends on the platform and, on Linux, on the process
locale (and on whether PyICU is installed), so the same upload could be ordered
differently on two servers. We use ``natsorted(alg=ns.PATH | ns.IGNORECASE)``
instead: numbers compared as numbers, path components compared one by one
(``a/b`` before ``a-b/``), case ignored, the same everywhere. Names that only differ
in case keep a stable, plain-string order.

``random`` is seeded: the same seed gives the same order, so a retried creation
job produces the same task (CVAT's shuffle is unseeded, a known TODO there).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable

from natsort import natsorted, ns


class SortingMethod(enum.StrEnum):
    LEXICOGRAPHICAL = "lexicographical"
    NATURAL = "natural"
    PREDEFINED = "predefined"
    RANDOM = "random"


def sort_files(
    names: Iterable[str], method: SortingMethod | str, *, seed: int | None = None
) -> list[str]:
    """Return ``names`` in the order ``method`` defines (a new list).

    ``predefined`` keeps the given order; ``random`` shuffles with ``seed`` (None:
    unseeded, not reproducible).
    """
    method = SortingMethod(method)
    items = list(names)
    if method == SortingMethod.LEXICOGRAPHICAL:
        return sorted(items)
    if method == SortingMethod.NATURAL:
        return natsorted(sorted(items), alg=ns.PATH | ns.IGNORECASE)
    if method == SortingMethod.RANDOM:
        random.Random(seed).shuffle(items)
    return items
