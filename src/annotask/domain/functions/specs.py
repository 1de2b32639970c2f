"""What a native function declares, checked when it is created.

``cvat-cli function create-native`` sends the common fields (``provider``,
``name``, ``visibility``, ``kind``) and the fields of its kind, which the agent
later compares with its local function before it takes any work:

- ``detector``: ``labels_v2``, the labels (with attributes, and sublabels for
  skeletons) the function outputs;
- ``interactor``: ``min_pos_points``, ``min_neg_points``, ``startswith_box``,
  ``startswith_box_optional``;
- ``tracker``: ``supported_shape_types``.

Every mistake is reported at once, by path; a field of another kind is refused
rather than ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annotask.annotations.model import SHAPE_TYPES
from annotask.domain.errors import Errors
from annotask.domain.labels.parsing import INPUT_TYPES, LABEL_TYPES

PROVIDER_NATIVE = "native"
KINDS = ("detector", "interactor", "tracker")
VISIBILITIES = ("private", "public")
NAME_MAX = 256
LABEL_NAME_MAX = 256
# "unknown" is what CVAT's nuclio functions use for a label without a type; it
# matches any task label, as "any" does.
FUNCTION_LABEL_TYPES = (*LABEL_TYPES, "unknown")
UNKNOWN_FIELD = "Unknown field, or a field that cannot be written."

COMMON_FIELDS = ("provider", "name", "visibility", "kind", "description")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "detector": ("labels_v2",),
    "interactor": ("min_pos_points", "min_neg_points", "startswith_box", "startswith_box_optional"),
    "tracker": ("supported_shape_types",),
}


@dataclass(frozen=True)
class FunctionDefinition:
    """A checked creation body: the common fields and the kind's ``spec``."""

    name: str
    kind: str
    visibility: str
    description: str
    spec: dict[str, Any]


def parse_definition(raw: Any) -> FunctionDefinition:
    """Check a ``POST /api/functions`` body; raises ``ValidationFailed`` naming every fault."""
    errors = Errors()
    if not isinstance(raw, Mapping):
        errors.add("", "The body must be a JSON object.")
        errors.raise_if_any()
    provider = raw.get("provider", PROVIDER_NATIVE)
    if provider != PROVIDER_NATIVE:
        errors.add(
            "provider",
            f'Only "{PROVIDER_NATIVE}" functions can be created here (functions powered by '
            "agents); other providers are not supported.",
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "A non-empty name is required.")
    elif len(name) > NAME_MAX:
        errors.add("name", f"At most {NAME_MAX} characters.")
    visibility = raw.get("visibility", "private")
    if visibility not in VISIBILITIES:
        errors.add("visibility", f'"{visibility}" is not a valid choice: private, public.')
    description = raw.get("description", "")
    if not isinstance(description, str):
        errors.add("description", "Must be a string.")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        shown = "missing" if kind is None else f'"{kind}" is not a valid choice'
        errors.add("kind", f"{shown}: a native function is one of {', '.join(KINDS)}.")
    allowed = set(COMMON_FIELDS) | set(KIND_FIELDS[kind] if kind in KINDS else ())
    for key in raw:
        if key not in allowed:
            other = next((k for k, fields in KIND_FIELDS.items() if key in fields), None)
            message = (
                f"A field of {other} functions, not of a {kind}."
                if other and kind in KINDS
                else UNKNOWN_FIELD
            )
            errors.add(str(key), message)
    spec: dict[str, Any] = {}
    if kind == "detector":
        spec["labels_v2"] = _labels(raw.get("labels_v2"), "labels_v2", errors, top=True)
        if isinstance(raw.get("labels_v2"), list) and not raw["labels_v2"]:
            errors.add("labels_v2", "A detector needs at least one label.")
    elif kind == "interactor":
        spec = _interactor(raw, errors)
    elif kind == "tracker":
        spec = {"supported_shape_types": _shape_types(raw.get("supported_shape_types"), errors)}
    errors.raise_if_any()
    return FunctionDefinition(
        name=str(name).strip(),
        kind=str(kind),
        visibility=str(visibility),
        description=str(description),
        spec=spec,
    )


def _labels(raw: Any, path: str, errors: Errors, *, top: bool) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors.add(path, "A list of labels is required.")
        return []
    labels: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        here = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            errors.add(here, "Each label must be an object.")
            continue
        allowed = (
            {"name", "type", "attributes", "sublabels"} if top else {"name", "type", "attributes"}
        )
        for key in item:
            if key not in allowed:
                errors.add(f"{here}.{key}", UNKNOWN_FIELD)
        name = item.get("name")
        if not isinstance(name, str) or not name:
            errors.add(f"{here}.name", "A non-empty name is required.")
            name = ""
        elif len(name) > LABEL_NAME_MAX:
            errors.add(f"{here}.name", f"At most {LABEL_NAME_MAX} characters.")
        elif name in seen:
            errors.add(f"{here}.name", f'The label "{name}" is declared twice.')
        seen.add(name)
        label_type = item.get("type", "any")
        if label_type not in FUNCTION_LABEL_TYPES:
            errors.add(f"{here}.type", f"Must be one of {', '.join(FUNCTION_LABEL_TYPES)}.")
        elif not top and label_type == "skeleton":
            errors.add(f"{here}.type", "A skeleton cannot be a sublabel.")
        label: dict[str, Any] = {
            "name": name,
            "type": label_type,
            "attributes": _attributes(item.get("attributes", []), f"{here}.attributes", errors),
        }
        if top and "sublabels" in item:
            if label_type != "skeleton":
                errors.add(f"{here}.sublabels", "Only skeleton labels have sublabels.")
            label["sublabels"] = _labels(item["sublabels"], f"{here}.sublabels", errors, top=False)
        elif top and label_type == "skeleton":
            errors.add(f"{here}.sublabels", "A skeleton label needs its sublabels.")
        labels.append(label)
    return labels


def _attributes(raw: Any, path: str, errors: Errors) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors.add(path, "A list of attributes is required.")
        return []
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        here = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            errors.add(here, "Each attribute must be an object.")
            continue
        for key in item:
            if key not in ("name", "input_type", "values"):
                errors.add(f"{here}.{key}", UNKNOWN_FIELD)
        name = item.get("name")
        if not isinstance(name, str) or not name:
            errors.add(f"{here}.name", "A non-empty name is required.")
        elif name in seen:
            errors.add(f"{here}.name", f'The attribute "{name}" is declared twice.')
        else:
            seen.add(name)
        input_type = item.get("input_type")
        if input_type not in INPUT_TYPES:
            errors.add(f"{here}.input_type", f"Must be one of {', '.join(INPUT_TYPES)}.")
        values = item.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors.add(f"{here}.values", "A list of strings is required.")
            values = []
        result.append({"name": name, "input_type": input_type, "values": list(values)})
    return result


def _interactor(raw: Mapping[str, Any], errors: Errors) -> dict[str, Any]:
    def integer(key: str, default: int, minimum: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            errors.add(key, f"An integer of at least {minimum} is required.")
            return default
        return value

    def flag(key: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            errors.add(key, "Must be true or false.")
            return False
        return value

    spec = {
        "min_pos_points": integer("min_pos_points", 1, 0),
        "min_neg_points": integer("min_neg_points", -1, -1),
        "startswith_box": flag("startswith_box"),
        "startswith_box_optional": flag("startswith_box_optional"),
    }
    if spec["startswith_box"] and spec["startswith_box_optional"]:
        errors.add("startswith_box_optional", "A box cannot be both required and optional.")
    return spec


def _shape_types(raw: Any, errors: Errors) -> list[str]:
    if not isinstance(raw, list) or not raw:
        errors.add("supported_shape_types", "A non-empty list of shape types is required.")
        return []
    wrong = [value for value in raw if value not in SHAPE_TYPES]
    if wrong:
        errors.add(
            "supported_shape_types",
            f"Unknown shape types {wrong!r}: choose from {', '.join(SHAPE_TYPES)}.",
        )
    return sorted({str(value) for value in raw})
