"""Limits on JSON and text that clients send: nesting, control characters, integer range.

Python parses any JSON and any integer, but what comes after does not take them:
PostgreSQL refuses text with NUL characters, SQLite and PostgreSQL refuse integers
beyond 64 bits, and the recursive code that walks a document (pydantic, JSON-logic
filters, annotation validation) runs out of stack on deep nesting. Each would end
as a 500 far from where the value came in; this module refuses them where the
input is parsed, with a message that says what is wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

from annotask.security.errors import UnsafeInput

#: Deepest nesting of objects and arrays accepted. CVAT's bodies nest less than
#: ten levels (a skeleton track's shapes' attributes); filters a few more.
MAX_JSON_DEPTH = 64
#: Integers must fit a signed 64-bit column, the widest the databases store.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: C0 control characters except tab, line feed and carriage return, plus DEL:
#: NUL breaks PostgreSQL text columns, the others are never meaningful in a name
#: or a value and confuse logs and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


CONTROL_MESSAGE = "{what} contains a control character, which is not allowed."


def check_text(value: str, where: str) -> None:
    """Refuse control characters (NUL included) in client text."""
    if _CONTROL.search(value):
        raise UnsafeInput(CONTROL_MESSAGE.format(what=where))


class UnsafeJson(UnsafeInput):
    """``UnsafeInput`` that also names the top-level field holding the bad value."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def check_json_value(value: Any, what: str = "The body") -> None:
    """Walk a parsed document (without recursion) and refuse what the server cannot hold.

    Raises ``UnsafeJson`` whose ``field`` is the top-level key the value sits
    under (None for the document itself), so API errors can name the field.
    """
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise UnsafeJson(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep.", field)
            if isinstance(item, dict):
                for key, child in item.items():
                    if _CONTROL.search(key):
                        raise UnsafeJson(f"{what} has a key with a control character.", field)
                    stack.append((child, depth + 1, key if depth == 1 else field))
            else:
                stack.extend((child, depth + 1, field) for child in item)
        elif isinstance(item, str):
            if _CONTROL.search(item):
                raise UnsafeJson(CONTROL_MESSAGE.format(what=what), field)
        elif isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
            raise UnsafeJson(f"{what} holds an integer beyond 64 bits.", field)


def load_json(raw: bytes | str, what: str = "The body") -> Any:
    """``json.loads`` plus the checks above; every failure is ``UnsafeInput``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise UnsafeInput(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeInput(f"{what} is not valid JSON: {exc}") from None
    except ValueError as exc:  # an integer with more digits than Python converts
        raise UnsafeInput(f"{what} is not valid JSON: {exc}") from None
    check_json_value(value, what)
    return value
