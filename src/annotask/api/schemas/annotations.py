"""Query parameters of the annotation, dataset and backup endpoints (spec 2.7-2.11).

``LabeledData`` bodies are read and written by ``annotask.annotations.model``
(``AnnotationSet.from_json``/``to_json``), which names every faulty field; this
module only parses the query strings the clients send: Python-spelled booleans
(``True``/``False``) as well as lower case ones, ``+`` for spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from annotask.domain.annotations.importing import DEFAULT_IMPORT_MODE, IMPORT_MODES
from annotask.domain.errors import ValidationFailed
from annotask.formats.registry import Format, UnknownFormat, find_exporter, find_importer

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationFailed({name: f'"{raw}" is not a valid boolean.'})


def _format(request: Request, find, required: bool) -> Format | None:
    name = request.query_params.get("format")
    if not name:
        if required:
            raise ValidationFailed({"format": "This parameter is required."})
        return None
    try:
        return find(name)
    except UnknownFormat as exc:
        raise ValidationFailed({"format": str(exc)}) from exc


#: Export format names accepted for imports: the document they write is what the
#: importer reads (``project create --dataset_format "CVAT for images 1.1"`` on a
#: dataset exported in that format).
_EXPORT_NAMES_FOR_IMPORT = {
    "cvat for images 1.1": "CVAT 1.1",
    "cvat for video 1.1": "CVAT 1.1",
}


def _find_importer(name: str) -> Format:
    try:
        return find_importer(name)
    except UnknownFormat:
        alias = _EXPORT_NAMES_FOR_IMPORT.get(name.strip().casefold())
        if alias is None:
            raise
        return find_importer(alias)


def import_format(request: Request, *, required: bool) -> Format | None:
    """The importer named by ``format`` (aliases such as "CVAT XML 1.1" included, and
    "CVAT for images 1.1" / "CVAT for video 1.1", whose documents "CVAT 1.1" reads)."""
    return _format(request, _find_importer, required)


def export_format(request: Request) -> Format:
    fmt = _format(request, find_exporter, True)
    assert fmt is not None
    return fmt


def check_local(request: Request) -> None:
    """Results are kept on the server; cloud storages are not supported yet."""
    location = request.query_params.get("location")
    if location not in (None, "", "local"):
        raise ValidationFailed(
            {"location": f'"{location}" is not supported: only "local" storage is available.'}
        )


@dataclass(frozen=True)
class ImportOptions:
    import_mode: str
    conv_mask_to_poly: bool


def import_options(request: Request) -> ImportOptions:
    mode = request.query_params.get("import_mode") or DEFAULT_IMPORT_MODE
    if mode not in IMPORT_MODES:
        raise ValidationFailed(
            {"import_mode": f'"{mode}" is not a valid choice: {", ".join(IMPORT_MODES)}.'}
        )
    return ImportOptions(mode, query_bool(request, "conv_mask_to_poly", True))
