"""Which task label receives each label a detector outputs (CVAT's label mapping).

The agent is sent the mapping in full (``ar_params["mapping"]``): every
function label it lists goes to the task label named there, with the
attributes (and skeleton sublabels) listed beside it; anything not listed is
dropped by the agent. So the mapping the server sends must only pair things
the agent's annotation mapper accepts, or the agent fails the whole request:

- label types: equal, or either side ``any`` (``unknown`` for old functions),
  skeletons only with skeletons, and a function's ``mask`` with a task's
  ``polygon`` when masks are converted to polygons;
- attributes: same input type; the same values for ``select``/``radio`` (in any
  order) and ``number``.

Without a mapping in the request, labels, attributes and sublabels are paired
by name where compatible (as CVAT does). A mapping given by the user is checked
against the same rules, and a pair that cannot work is a 400 naming it; an
entry without ``attributes`` (or, for a skeleton, ``sublabels``) gets them
paired by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from annotask.annotations.schema import AttributeSpec, LabelSet, LabelSpec
from annotask.domain.errors import Errors, ValidationFailed

WILDCARD_TYPES = ("any", "unknown")


def types_compatible(function_type: str, task_type: str, *, conv_mask_to_poly: bool) -> bool:
    if function_type == task_type:
        return True
    if function_type == "skeleton" or task_type == "skeleton":
        return False
    if function_type in WILDCARD_TYPES or task_type == "any":
        return True
    return conv_mask_to_poly and function_type == "mask" and task_type == "polygon"


def attributes_compatible(function_attr: Mapping[str, Any], task_attr: AttributeSpec) -> bool:
    if function_attr.get("input_type") != task_attr.input_type:
        return False
    values = list(function_attr.get("values") or [])
    if task_attr.input_type in ("select", "radio"):
        return sorted(values) == sorted(task_attr.values)
    if task_attr.input_type == "number":
        return values == list(task_attr.values)
    return True


def build_mapping(
    function_labels: Sequence[Mapping[str, Any]],
    task_labels: LabelSet,
    requested: Any,
    *,
    conv_mask_to_poly: bool,
    function_desc: str,
    task_desc: str,
) -> dict[str, Any]:
    """The mapping to send to the agent; raises ``ValidationFailed`` when it is
    empty (the run could not produce anything) or when ``requested`` is wrong."""
    by_name = {label.name: label for label in task_labels.labels}
    if requested in (None, {}):
        mapping = {
            label["name"]: _default_entry(label, by_name[label["name"]], conv_mask_to_poly)
            for label in function_labels
            if label["name"] in by_name
            and types_compatible(
                label["type"], by_name[label["name"]].type, conv_mask_to_poly=conv_mask_to_poly
            )
        }
    else:
        mapping = _checked(function_labels, by_name, requested, conv_mask_to_poly)
    if not mapping:
        offered = ", ".join(sorted(label["name"] for label in function_labels)) or "none"
        present = ", ".join(sorted(by_name)) or "none"
        raise ValidationFailed(
            {
                "mapping": f"No label of {function_desc} ({offered}) matches a label of "
                f"{task_desc} ({present}) by name and type: pass a mapping."
            }
        )
    return mapping


def _default_attributes(
    function_attrs: Sequence[Mapping[str, Any]], task_label: LabelSpec
) -> dict[str, str]:
    task_attrs = {a.name: a for a in task_label.attributes}
    return {
        attr["name"]: attr["name"]
        for attr in function_attrs
        if attr["name"] in task_attrs and attributes_compatible(attr, task_attrs[attr["name"]])
    }


def _default_sublabels(
    function_label: Mapping[str, Any], task_label: LabelSpec, conv: bool
) -> dict[str, Any]:
    task_subs = {s.name: s for s in task_label.sublabels}
    return {
        sub["name"]: {
            "name": sub["name"],
            "attributes": _default_attributes(sub.get("attributes", []), task_subs[sub["name"]]),
        }
        for sub in function_label.get("sublabels", [])
        if sub["name"] in task_subs
        and types_compatible(sub["type"], task_subs[sub["name"]].type, conv_mask_to_poly=conv)
    }


def _default_entry(function_label: Mapping[str, Any], task_label: LabelSpec, conv: bool) -> dict:
    entry: dict[str, Any] = {
        "name": task_label.name,
        "attributes": _default_attributes(function_label.get("attributes", []), task_label),
    }
    if function_label["type"] == "skeleton":
        entry["sublabels"] = _default_sublabels(function_label, task_label, conv)
    return entry


def _checked(
    function_labels: Sequence[Mapping[str, Any]],
    task_labels: Mapping[str, LabelSpec],
    requested: Any,
    conv: bool,
) -> dict[str, Any]:
    errors = Errors()
    if not isinstance(requested, Mapping):
        errors.add("mapping", "An object from function label names to task labels is required.")
        errors.raise_if_any()
    functions = {label["name"]: label for label in function_labels}
    mapping: dict[str, Any] = {}
    for name, item in requested.items():
        path = f"mapping.{name}"
        entry = _checked_entry(functions, task_labels, name, item, path, conv, errors)
        if entry is None:
            continue
        function_label, task_label = functions[name], task_labels[entry["name"]]
        if function_label["type"] == "skeleton":
            subs = item.get("sublabels")
            if subs is None:
                entry["sublabels"] = _default_sublabels(function_label, task_label, conv)
            elif not isinstance(subs, Mapping):
                errors.add(f"{path}.sublabels", "An object from sublabel names is required.")
            else:
                function_subs = {s["name"]: s for s in function_label.get("sublabels", [])}
                task_subs = {s.name: s for s in task_label.sublabels}
                entry["sublabels"] = {}
                for sub_name, sub_item in subs.items():
                    sub = _checked_entry(
                        function_subs,
                        task_subs,
                        sub_name,
                        sub_item,
                        f"{path}.sublabels.{sub_name}",
                        conv,
                        errors,
                    )
                    if sub is not None:
                        entry["sublabels"][sub_name] = sub
        elif "sublabels" in item:
            errors.add(f"{path}.sublabels", "Only skeleton labels have sublabels.")
        mapping[name] = entry
    errors.raise_if_any()
    return mapping


def _checked_entry(
    function_labels: Mapping[str, Mapping[str, Any]],
    task_labels: Mapping[str, LabelSpec],
    name: str,
    item: Any,
    path: str,
    conv: bool,
    errors: Errors,
) -> dict[str, Any] | None:
    if name not in function_labels:
        errors.add(path, f'The function has no label "{name}".')
        return None
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        errors.add(path, 'An object with the task label\'s "name" is required.')
        return None
    target = item["name"]
    task_label = task_labels.get(target)
    if task_label is None:
        errors.add(f"{path}.name", f'The task has no label "{target}".')
        return None
    function_label = function_labels[name]
    if not types_compatible(function_label["type"], task_label.type, conv_mask_to_poly=conv):
        errors.add(
            f"{path}.name",
            f"The function's \"{name}\" ({function_label['type']}) cannot fill the task's "
            f'"{target}" ({task_label.type}).',
        )
        return None
    function_attrs = function_label.get("attributes", [])
    attrs = item.get("attributes")
    if attrs is None:
        return {"name": target, "attributes": _default_attributes(function_attrs, task_label)}
    if not isinstance(attrs, Mapping):
        errors.add(f"{path}.attributes", "An object from attribute names is required.")
        return None
    known = {a["name"]: a for a in function_attrs}
    task_attrs = {a.name: a for a in task_label.attributes}
    checked: dict[str, str] = {}
    for attr_name, target_attr in attrs.items():
        here = f"{path}.attributes.{attr_name}"
        if attr_name not in known:
            errors.add(here, f'The function\'s "{name}" has no attribute "{attr_name}".')
        elif not isinstance(target_attr, str) or target_attr not in task_attrs:
            errors.add(here, f'The task\'s "{target}" has no attribute "{target_attr}".')
        elif not attributes_compatible(known[attr_name], task_attrs[target_attr]):
            errors.add(here, "The input types or the values of the two attributes differ.")
        else:
            checked[attr_name] = target_attr
    return {"name": target, "attributes": checked}
