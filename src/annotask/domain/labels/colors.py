"""Label colours: the ``#rrggbb`` format and CVAT's deterministic colour choice.

A label created without a colour gets one derived from its name, so the same
label set looks the same in CVAT and here, and no two labels of a set share a
colour unless a client asks for it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Set
from hashlib import blake2s

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def _normalize_name(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower().replace("-", "_"))


def _color_from_index(index: int) -> tuple[int, int, int]:
    """Spread the bits of ``index`` over the channels, high bits first (CVAT's scheme)."""
    color = [0, 0, 0]
    for bit in range(7, -1, -1):
        for channel in range(3):
            color[channel] |= ((index >> channel) & 1) << bit
        index >>= 3
    return color[0], color[1], color[2]


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def generate_color(name: str, used: Collection[str]) -> str:
    """A deterministic colour for ``name`` that no other label of the set uses.

    As CVAT does: a colour from a 3-byte BLAKE2s hash of the normalised name,
    then tints and shades of it when taken; beyond that, further hashes.
    """
    # A set is taken as it is (lower-case colours): the caller keeps one for a whole
    # label set, so naming 5,000 labels does not rebuild it 5,000 times.
    taken = used if isinstance(used, Set) else {color.lower() for color in used}
    normalized = _normalize_name(name).encode()
    digest = int.from_bytes(blake2s(normalized, digest_size=3).digest(), "big")
    base = _color_from_index(digest)
    candidates = [base]
    for target in (255, 0):
        for factor in range(1, 10):
            candidates.append(
                tuple(int(c + (target - c) * factor / 10) for c in base)  # type: ignore[arg-type]
            )
    for candidate in candidates:
        if _hex(candidate) not in taken:
            return _hex(candidate)
    salt = 1
    while True:
        salted = blake2s(normalized + b"#%d" % salt, digest_size=3).digest()
        color = "#" + salted.hex()
        if color not in taken:
            return color
        salt += 1
