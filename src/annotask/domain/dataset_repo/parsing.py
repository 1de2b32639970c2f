"""The "URL [PATH]" value of a dataset repository, checked and normalised (spec section 8).

What CVAT accepted, with two differences: the URL is used as given (CVAT
turned every URL into ``git@host:path.git`` and cloned over SSH), and besides
``https://``, ``ssh://`` and ``user@host:path`` it accepts ``git://``,
``file://`` and absolute local paths, for on-premise mirrors and tests.
Everything git would read as an option or a transport helper (``-...``,
``ext::...``) is refused here, before git ever sees it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from annotask.domain.errors import ValidationFailed
from annotask.formats.registry import UnknownFormat, find_exporter

URL_MAX = 2000
PATH_MAX = 256
NAME_MAX = 100
DEFAULT_FORMAT = "CVAT for video 1.1"
EXTENSIONS = (".zip", ".xml")
SCHEMES = ("https", "http", "ssh", "git", "file")
#: Protocols git may use for these repositories (``GIT_ALLOW_PROTOCOL``).
ALLOWED_PROTOCOLS = ("file", "https", "http", "ssh", "git")

# CVAT's file-name form of a task name: these characters and whitespace become "_".
_NAME_UNSAFE = re.compile(r'[\\/*?:"<>|\s]')
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)*{_LABEL}"
_HOST_RE = re.compile(rf"^{_HOST}$")
_SCP_RE = re.compile(rf"^(?P<user>[A-Za-z0-9][A-Za-z0-9._-]*)@(?P<host>{_HOST}):(?P<path>.+)$")
_BARE_HTTP_RE = re.compile(rf"^(?P<host>{_HOST}\.[A-Za-z]{{2,}})(?::\d{{1,5}})?(?:/[^/]+){{2,}}/?$")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER_RE = re.compile(r"^[A-Za-z0-9+._-]*::")
_VALUE_RE = re.compile(r"^(?P<url>[^\[\]]*?)\s*(?:\[(?P<path>[^\[\]]*)\])?$")

FORMS = "https://host/owner/repos, ssh://host/repos, git@host:owner/repos, file:///path or /path"


@dataclass(frozen=True)
class RepoSpec:
    """A checked repository location: the URL git is given and the file inside it."""

    url: str
    path: str

    @property
    def text(self) -> str:
        """The "URL [PATH]" form the API reports (``url.value``)."""
        return f"{self.url} [{self.path}]"


def sanitise_name(name: str) -> str:
    """A task name as CVAT used it in file and branch names: ``\\ / * ? : " < > |``,
    whitespace and control characters become ``_``; at most 100 characters."""
    cleaned = _NAME_UNSAFE.sub("_", name)
    cleaned = "".join("_" if unicodedata.category(ch) == "Cc" else ch for ch in cleaned)
    return cleaned[:NAME_MAX] or "task"


def default_path(task_name: str) -> str:
    """``annotation/<sanitised task name>.zip`` (a leading dot would hide the file)."""
    stem = re.sub(r"[\[\]]", "_", sanitise_name(task_name))
    if stem.startswith("."):
        stem = "_" + stem[1:]
    return f"annotation/{stem}.zip"


def branch_name(task_id: int, task_name: str) -> str:
    """``cvat_<task id>_<sanitised name>``, further cleaned into a valid git branch name."""
    name = sanitise_name(task_name)
    name = re.sub(r"[~^\[\x7f]", "_", name)
    name = re.sub(r"\.{2,}", lambda m: "_" * len(m.group()), name).replace("@{", "_{")
    name = name.rstrip(".")
    if name.endswith(".lock"):
        name += "_"
    return f"cvat_{task_id}_{name}" if name else f"cvat_{task_id}"


def _valid_host(host: str) -> bool:
    if _HOST_RE.match(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: message})


def _check_local(path: str, field: str, data_dir: Path | None, allow_local: bool) -> None:
    if not allow_local:
        raise _fail(
            field,
            "Local repositories (file:// or a path on the server) are turned off on this "
            "server (ANNOTASK_GIT_ALLOW_LOCAL).",
        )
    if not path.startswith("/"):
        raise _fail(field, "A local repository must be given by its absolute path.")
    if data_dir is not None:
        real = Path(os.path.realpath(path))
        if real.is_relative_to(Path(os.path.realpath(data_dir))):
            raise _fail(field, "A repository cannot be inside the server's data directory.")


def check_url(
    url: str, field: str = "path", *, data_dir: Path | None = None, allow_local: bool = True
) -> str:
    """The URL git will be given, or a 400 naming ``field``.

    Scheme-less ``host.tld/owner/repos`` (a form CVAT documented) becomes
    ``https://host.tld/owner/repos``; every other accepted form is kept as given.
    """
    if not url:
        raise _fail(field, f"Enter the repository URL: {FORMS}.")
    if len(url) > URL_MAX:
        raise _fail(field, f"The repository URL has at most {URL_MAX} characters.")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise _fail(field, "The repository URL cannot contain spaces or control characters.")
    if url.startswith("-"):
        raise _fail(field, "The repository URL cannot start with '-'.")
    if _HELPER_RE.match(url):
        raise _fail(field, "Git transport helpers (such as ext::) are not allowed.")
    scheme_match = _SCHEME_RE.match(url)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        if scheme not in SCHEMES:
            raise _fail(field, f"Unsupported URL scheme '{scheme}': use {FORMS}.")
        parts = urlsplit(url)
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise _fail(field, "A file:// URL names a local path: file:///path/to/repos.")
            _check_local(parts.path, field, data_dir, allow_local)
            return url
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise _fail(field, "The port of the repository URL is not valid.") from exc
        if not _valid_host(parts.hostname or ""):
            raise _fail(field, "The repository URL has no valid host name.")
        # Credentials never go in the URL: it is shown to everyone who sees the task
        # and ends up in messages. A user name is only meaningful for ssh (git@host);
        # over http(s) it is where tokens are put (https://TOKEN@github.com/...).
        if parts.password is not None or (parts.username is not None and scheme != "ssh"):
            raise _fail(
                field,
                "Do not put a user name, password or token in the URL: give the server's "
                "user an SSH key or a git credential helper instead.",
            )
        if parts.path.strip("/") == "":
            raise _fail(field, "The repository URL names no repository (the path is empty).")
        return url
    if url.startswith("/"):
        _check_local(url, field, data_dir, allow_local)
        return url
    scp = _SCP_RE.match(url)
    if scp:
        if scp.group("path").startswith("-"):
            raise _fail(field, "The repository path cannot start with '-'.")
        return url
    if _BARE_HTTP_RE.match(url):
        return "https://" + url
    raise _fail(field, f"The repository URL is not valid: use {FORMS}.")


def check_path(path: str, field: str = "path") -> str:
    """The annotation file's path inside the repository (relative, ``.zip`` or ``.xml``)."""
    path = path.strip().lstrip("/")
    if not path:
        raise _fail(field, "The path inside the repository is empty.")
    if len(path) > PATH_MAX:
        raise _fail(field, f"The path inside the repository has at most {PATH_MAX} characters.")
    if "\\" in path or any(unicodedata.category(ch) == "Cc" for ch in path):
        raise _fail(
            field, "The path inside the repository cannot contain '\\' or control characters."
        )
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise _fail(field, "The path inside the repository cannot contain '..' or empty parts.")
        if part.startswith("."):
            raise _fail(field, "The path inside the repository cannot name hidden files (.git...).")
    if os.path.splitext(path)[1] not in EXTENSIONS:
        raise _fail(field, "Only .xml and .zip formats are supported")
    return path


def check_format(name: str | None, path: str, field: str = "format") -> str:
    """The exporter's display name; ``.xml`` paths need a format that writes one XML file."""
    try:
        fmt = find_exporter(name or DEFAULT_FORMAT)
    except UnknownFormat as exc:
        raise _fail(field, exc.message) from exc
    if path.endswith(".xml") and not fmt.member.endswith(".xml"):
        raise _fail(field, f"'{fmt.name}' does not write an XML file: use a .zip path for it.")
    return fmt.name


def parse_repository(
    text: str,
    task_name: str,
    *,
    field: str = "path",
    data_dir: Path | None = None,
    allow_local: bool = True,
    current_path: str | None = None,
) -> RepoSpec:
    """Split "URL [PATH]" (the path is what is inside the first brackets) and check both.

    Without a path the annotations go to ``current_path`` when given (a new URL
    for an attached repository keeps its file), else to
    ``annotation/<sanitised task name>.zip``.
    """
    if not isinstance(text, str):
        raise _fail(field, "Expected the text 'URL [PATH]'.")
    match = _VALUE_RE.match(text.strip())
    if match is None:
        raise _fail(field, "Expected 'URL [PATH]': the path goes in one pair of square brackets.")
    url = check_url(match.group("url").strip(), field, data_dir=data_dir, allow_local=allow_local)
    raw_path = match.group("path")
    if raw_path is not None:
        path = check_path(raw_path, field)
    else:
        path = current_path or default_path(task_name)
    if len(url) > URL_MAX:
        raise _fail(field, f"The repository URL has at most {URL_MAX} characters.")
    return RepoSpec(url=url, path=path)
