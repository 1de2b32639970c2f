"""Attribute rules: the ``values`` conventions of each input type, and attribute changes.

CVAT stores whatever attribute values it gets and leaves their conventions to
its UI; other clients reach the API directly, so the server enforces them.
Planning a label's attribute changes checks everything before anything is
written, and says what to write and what to delete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from annotask.db.models import AttributeSpec
from annotask.domain.errors import Errors
from annotask.domain.labels.parsing import REQUIRED, AttributeInput, field_path

VALUE_MAX = 200
VALUES_TOTAL_MAX = 4096  # the values are stored joined by newlines in CVAT's column
DEFAULT_VALUE_MAX = 128


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_values(
    input_type: str, values: list[str], default: str | None, path: str, errors: Errors
) -> str:
    """Check ``values`` against the conventions of ``input_type``; return the default value.

    CVAT stores whatever it gets and leaves these conventions to its UI; a value
    list that breaks them makes annotation impossible, so it is refused here.
    """
    values_path, default_path = field_path(path, "values"), field_path(path, "default_value")
    for index, value in enumerate(values):
        if len(value) > VALUE_MAX:
            errors.add(values_path, f"Value {index} is longer than {VALUE_MAX} characters.")
    if len("\n".join(values)) > VALUES_TOTAL_MAX:
        errors.add(values_path, f"The values together exceed {VALUES_TOTAL_MAX} characters.")
    result = default
    if input_type in ("select", "radio"):
        if not values:
            errors.add(values_path, f"A {input_type} attribute needs at least one value.")
            return ""
        if default is None or (default == "" and "" not in values):
            result = values[0]
        elif default not in values:
            errors.add(default_path, "The default value must be one of the values.")
    elif input_type == "checkbox":
        if len(values) != 1 or values[0] not in ("true", "false"):
            errors.add(values_path, 'A checkbox has exactly one value, "true" or "false".')
            return ""
        if default is None or default == "":
            result = values[0]
        elif default not in ("true", "false"):
            errors.add(default_path, 'A checkbox default is "true" or "false".')
    elif input_type == "number":
        numbers = [n for v in values if (n := _number(v)) is not None]
        if len(values) != 3 or len(numbers) != 3:
            errors.add(values_path, "A number attribute has exactly three numbers: min, max, step.")
            return ""
        low, high, step = numbers
        if not low < high:
            errors.add(values_path, "The minimum must be less than the maximum.")
        elif not 0 < step <= high - low:
            errors.add(values_path, "The step must be positive and at most max - min.")
        if default is None or default == "":
            result = values[0]
        else:
            number = _number(default)
            if number is None or not low <= number <= high:
                errors.add(default_path, "The default must be a number between min and max.")
    else:  # text
        if len(values) > 1:
            errors.add(values_path, "A text attribute has at most one value: its default text.")
        if default is None:
            result = values[0] if values else ""
    result = result or ""
    if len(result) > DEFAULT_VALUE_MAX:
        errors.add(
            default_path,
            f"The default value (the first value when none is given) must have at most "
            f"{DEFAULT_VALUE_MAX} characters.",
        )
    return result


@dataclass
class AttributePlan:
    """One attribute to write: the checked input, the row it changes (if any), its values."""

    input: AttributeInput
    existing: AttributeSpec | None
    values: list[str]
    default_value: str


def plan_attributes(
    label_path: str,
    inputs: list[AttributeInput],
    existing: list[AttributeSpec],
    errors: Errors,
) -> tuple[list[AttributePlan], list[AttributeSpec]]:
    """Validate a label's attribute changes; returns the attributes to write and to delete."""
    by_id = {attr.id: attr for attr in existing}
    kept_names = {attr.id: attr.name for attr in existing}
    plans: list[AttributePlan] = []
    deleted: list[AttributeSpec] = []
    for attr in inputs:
        spec = None
        if attr.id is not None:
            spec = by_id.pop(attr.id, None)
            if spec is None:
                errors.add(field_path(attr.path, "id"), f"This label has no attribute #{attr.id}.")
                continue
            if attr.deleted:
                deleted.append(spec)
                kept_names.pop(spec.id, None)
                continue
            for key in ("name", "mutable", "input_type"):
                given = getattr(attr, key)
                if given is not None and given != getattr(spec, key):
                    errors.add(
                        field_path(attr.path, key), f"The {key} of an attribute cannot change."
                    )
        else:
            for key in ("name", "mutable", "input_type", "values"):
                if getattr(attr, key) is None:
                    errors.add(field_path(attr.path, key), REQUIRED)
        input_type = attr.input_type or (spec.input_type if spec else None)
        values = attr.values if attr.values is not None else (spec.values if spec else None)
        if input_type is None or values is None:
            continue
        if spec is not None and attr.values is not None:
            if input_type in ("select", "radio"):
                if values[: len(spec.values)] != list(spec.values):
                    errors.add(
                        field_path(attr.path, "values"),
                        "You can only append new values to an existing attribute.",
                    )
            elif values != list(spec.values):
                errors.add(
                    field_path(attr.path, "values"),
                    f"The values of an existing {input_type} attribute cannot change.",
                )
        default = attr.default_value
        if default is None and spec is not None:
            default = spec.default_value
        default_value = check_values(input_type, list(values), default, attr.path, errors)
        plans.append(AttributePlan(attr, spec, list(values), default_value))
    # Names stay unique within the label: untouched, updated and new attributes together.
    seen = {name for attr_id, name in kept_names.items() if attr_id in by_id}
    for plan in plans:
        name = plan.input.name or (plan.existing.name if plan.existing else None)
        if name is None:
            continue
        if name in seen:
            errors.add(
                field_path(plan.input.path, "name"),
                f"Duplicate attribute with name '{name}' exists.",
            )
        seen.add(name)
    return plans, deleted
