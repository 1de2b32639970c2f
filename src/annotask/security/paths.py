"""Path containment and file-name hygiene for everything a client names.

Every user-given path (share listing, ``server_files``) goes through
``resolve_in_root``; every client-chosen file name (multipart, TUS, URL basenames)
goes through ``safe_upload_name``; every relative name stored inside archives or
shares goes through ``safe_relative_name``. Keeping one implementation of each
means the CVAT bugs recorded in task-semantics.md section 6 (string-prefix checks,
``..`` surviving ``Path.absolute()``, symlinks never resolved) are fixed once.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from annotask.security.errors import UnsafeInput

#: Longest file name most filesystems store (ext4, XFS, btrfs: 255 bytes).
MAX_NAME_BYTES = 255

_DRIVE = re.compile(r"^[A-Za-z]:")
# Compound extensions kept whole by ``unique_name`` (``a.tar.gz`` -> ``a_1.tar.gz``).
_COMPOUND_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz")


def _show(text: str) -> str:
    """Quote client text for a message, shortened so errors stay readable."""
    shown = text if len(text) <= 200 else text[:200] + "..."
    return repr(shown)


def _check_component(part: str, original: str) -> None:
    """Refuse one path component that cannot be a plain, storable file name."""
    if part in ("", ".", "..") or not part.strip():
        raise UnsafeInput(f"{_show(original)} is not a valid file name")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in part):
        raise UnsafeInput(f"{_show(original)} contains control characters")
    if len(part.encode("utf-8")) > MAX_NAME_BYTES:
        raise UnsafeInput(f"{_show(original)}: file name is longer than {MAX_NAME_BYTES} bytes")


def resolve_in_root(
    root: Path,
    user_path: str,
    *,
    must_exist: bool = True,
    leading_slash_is_root: bool = False,
) -> Path:
    """Return the real path of ``user_path`` inside ``root``, or raise ``UnsafeInput``.

    The path is validated lexically first (no absolute paths, ``..``, empty
    components, NUL bytes or backslashes, which are separators on Windows clients
    and a classic way to smuggle ``..\\``), then joined and resolved with
    ``os.path.realpath``; containment is decided on the *real* paths with
    ``Path.is_relative_to``, so a symlink inside the share that points outside is
    refused while symlinks within the share keep working. ``.`` components are
    harmless and dropped. A trailing ``/`` asks for a directory.

    ``leading_slash_is_root`` accepts CVAT's wire convention where ``directory=/``
    and UI keys like ``/images/a.jpg`` are relative to the share root; everywhere
    else absolute paths are refused outright.

    The returned path is the resolved one: callers should open *it*, not re-join
    the user's string, so what was checked is what is used. (A symlink swapped in
    between check and use is out of scope: the share is trusted storage.)
    """
    if not isinstance(user_path, str):
        raise UnsafeInput("A path must be a string")
    if "\x00" in user_path:
        raise UnsafeInput(f"{_show(user_path)} contains a NUL byte")
    if "\\" in user_path:
        raise UnsafeInput(f"{_show(user_path)}: use '/' to separate path components")
    path = user_path
    if leading_slash_is_root and path.startswith("/"):
        path = path[1:]
    if path.startswith("/") or _DRIVE.match(path):
        raise UnsafeInput(f"{_show(user_path)}: absolute paths are not allowed")
    want_dir = path.endswith("/")
    if want_dir:
        path = path[:-1]
    parts = path.split("/") if path else []
    for part in parts:
        if part == "":
            raise UnsafeInput(f"{_show(user_path)}: empty path components are not allowed")
        if part == "..":
            raise UnsafeInput(f"{_show(user_path)}: don't use '..' inside file paths")

    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root.joinpath(*[p for p in parts if p != "."])))
    # Outside (a symbolic link leading out) reads exactly like missing: the answer
    # must not tell what exists beyond the root.
    if not real.is_relative_to(real_root) or (must_exist and not real.exists()):
        raise UnsafeInput(f"{_show(user_path)} does not exist")
    if want_dir and real.exists() and not real.is_dir():
        raise UnsafeInput(f"{_show(user_path)} is not a directory")
    return real


def safe_upload_name(client_name: str) -> str:
    """Reduce a client-supplied file name to a safe base name, keeping unicode.

    Browsers and SDKs may send a full client path (``/Users/ann/img.jpg``,
    ``C:\\data\\img.jpg``); only the last component is meaningful to us and the
    client must never choose a directory on the server. Both separators are
    honoured whatever the server OS is. Empty names, ``.``, ``..``, control
    characters and names longer than a filesystem can store are refused rather
    than silently rewritten, because the name is how CVAT clients refer to the
    file afterwards.
    """
    if not isinstance(client_name, str):
        raise UnsafeInput("A file name must be a string")
    if "\x00" in client_name:
        raise UnsafeInput(f"{_show(client_name)} contains a NUL byte")
    name = client_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _DRIVE.sub("", name)
    _check_component(name, client_name)
    return name


def safe_client_path(client_name: str) -> str:
    """The name an uploaded file is stored under, from the name its client sent.

    A relative name is a file inside a folder the user dropped or picked in the
    browser (``cam1/0001.jpg``): its folders are kept, checked like an archive
    member's, so two folders' ``0001.jpg`` stay apart and frame names say where
    they came from. An absolute name is a client's local path (cvat-sdk sends
    ``/home/ann/img.jpg``): only its base name is kept, as CVAT does. So is a
    relative name that is not a clean path (``../x.jpg``, ``a//b.jpg``): the
    client never chooses where on the server a file goes.
    """
    if not isinstance(client_name, str):
        raise UnsafeInput("A file name must be a string")
    text = client_name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        return safe_upload_name(client_name)
    try:
        return safe_relative_name(client_name)
    except UnsafeInput:
        return safe_upload_name(client_name)


def safe_relative_name(name: str) -> str:
    """Normalise a relative name stored inside an archive or share, or refuse it.

    Returns ``a/b/c.jpg`` with forward slashes. Backslashes are treated as
    separators (old Windows zip tools write them), so ``..\\x`` cannot slip
    through; ``.`` components and one trailing ``/`` (directory entries) are
    dropped because tar writes ``./a.jpg`` routinely. Absolute names, drive
    letters, ``..`` and empty components are refused.
    """
    if not isinstance(name, str):
        raise UnsafeInput("A file name must be a string")
    if "\x00" in name:
        raise UnsafeInput(f"{_show(name)} contains a NUL byte")
    text = name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise UnsafeInput(f"{_show(name)}: absolute paths are not allowed")
    if text.endswith("/"):
        text = text[:-1]
    parts: list[str] = []
    for part in text.split("/"):
        if part == ".":
            continue
        if part == "..":
            raise UnsafeInput(f"{_show(name)}: don't use '..' inside file paths")
        if part == "":
            raise UnsafeInput(f"{_show(name)}: empty path components are not allowed")
        _check_component(part, name)
        parts.append(part)
    if not parts:
        raise UnsafeInput(f"{_show(name)} is not a valid file name")
    return "/".join(parts)


def _split_suffix(name: str) -> tuple[str, str]:
    lowered = name.lower()
    for suffix in _COMPOUND_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], name[-len(suffix) :]
    return os.path.splitext(name)


def unique_name(directory: Path, name: str) -> str:
    """Return ``name`` or the first free ``stem_N.ext`` in ``directory``.

    Used where CVAT renames instead of failing (e.g. ``ann.xml`` -> ``ann_1.xml``).
    Broken symlinks count as taken. This only picks a name: create the file with
    ``O_EXCL`` (``open(path, "xb")``) if another writer could race for it.
    """
    if not os.path.lexists(directory / name):
        return name
    stem, suffix = _split_suffix(name)
    counter = 1
    while True:
        tail = f"_{counter}{suffix}"
        base = stem
        while base and len((base + tail).encode("utf-8")) > MAX_NAME_BYTES:
            base = base[:-1]
        candidate = base + tail
        if not os.path.lexists(directory / candidate):
            return candidate
        counter += 1
