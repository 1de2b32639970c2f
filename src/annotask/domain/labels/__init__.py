"""Label sets of tasks and projects: validation, colours, creation and updates.

The rules are CVAT's (task-semantics 1a) plus the checks CVAT leaves to its UI,
which we enforce on the server because other clients reach the API directly:
attribute ``values`` conventions per input type, colours as ``#rrggbb``.

Every request is validated completely before anything is written, and every
violation names its field path the way the client sent it, e.g.
``labels[0].attributes[1].values``, so a CLI user can find the mistake.

The package is split by purpose: ``parsing`` (client bodies to typed input),
``rules`` (attribute conventions), ``colors``, ``changes`` (planning and
writing) and ``queries`` (finding and listing labels). This module re-exports
what the rest of annotask uses, so callers need not know the split.
"""

from __future__ import annotations

from annotask.domain.errors import Errors
from annotask.domain.labels.changes import (
    apply_labels,
    check_new_labels,
    delete_label,
    move_task_labels,
    update_single_label,
)
from annotask.domain.labels.colors import COLOR_RE, generate_color
from annotask.domain.labels.queries import (
    get_label,
    label_owner,
    label_owner_for_change,
    list_labels,
    top_level_labels,
)
from annotask.domain.labels.rules import check_values

__all__ = [
    "COLOR_RE",
    "Errors",
    "apply_labels",
    "check_new_labels",
    "check_values",
    "delete_label",
    "generate_color",
    "get_label",
    "label_owner",
    "label_owner_for_change",
    "list_labels",
    "move_task_labels",
    "top_level_labels",
    "update_single_label",
]
