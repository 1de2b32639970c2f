"""Every job module; importing this package registers all handlers.

Each module of this package is imported (in name order), so a new operation only
needs a module here whose handler carries ``@register("action:subresource")``.
A handler that lives elsewhere can be registered by a module here that imports it.
"""

from __future__ import annotations

import importlib
import pkgutil


def _import_all() -> list[str]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.ispkg)
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


JOB_MODULES = _import_all()
