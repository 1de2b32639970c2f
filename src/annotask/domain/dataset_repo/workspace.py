"""The task's local clone of its dataset repository: clone, branch, write, commit, push.

Pure git and files (no database): :mod:`.service` decides when each step runs.
The clone lives in ``<task dir>/repos`` and is only a cache of the remote: a
push re-clones it when it is missing, broken or cloned from another URL, and
recreates the task branch from the remote's ``master`` every time, so local
state can never make a push fail for good. Every command that talks to the
remote gets the remote's checked :class:`~.remote.RemotePlan` (pinned address,
time limits, generic errors). One lock file per task
(``<task dir>/repos.lock``) serialises the worker's clone and push and the web
server's status check across processes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from annotask.domain.dataset_repo.git import (
    GitCommandFailed,
    GitError,
    run_git,
)
from annotask.domain.dataset_repo.remote import RemotePlan

BASE_BRANCH = "master"
STATE_FILE = "annotask-sync.json"  # inside .git: never committed
LFS_LINES = (
    "*.xml\tfilter=lfs diff=lfs merge=lfs -text\n",
    "*.zip\tfilter=lfs diff=lfs merge=lfs -text\n",
)


class RepositoryBusy(GitError):
    """Another clone, push or status check of this task's repository holds the lock."""


@dataclass(frozen=True)
class Identity:
    """Who commits: the task owner, as CVAT configured ``user.name``/``user.email``."""

    name: str
    email: str


@contextlib.contextmanager
def locked(directory: Path, timeout: float) -> Iterator[None]:
    """Hold the task's repository lock (an ``flock`` shared by every process on
    this data directory); :class:`RepositoryBusy` after ``timeout`` seconds."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock_path = directory.parent / f"{directory.name}.lock"
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise RepositoryBusy(
                        "Another operation on this task's repository is running."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# ---- the clone ---------------------------------------------------------------------


def origin_url(directory: Path) -> str | None:
    """The URL the clone was made from, or None when there is no usable clone."""
    if not (directory / ".git").is_dir():
        return None
    result = run_git(["remote", "get-url", "origin"], cwd=directory, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def clone(directory: Path, remote: RemotePlan, identity: Identity) -> None:
    """Clone ``remote`` afresh into ``directory`` and set the committer; an empty
    repository gets a ``master`` branch with an empty README.md (CVAT's first commit).

    On failure nothing is left behind.
    """
    shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_git(
            ["clone", "--config", "core.symlinks=false", "--", remote.url, str(directory)],
            cwd=directory.parent,
            remote=remote,
        )
        run_git(["config", "user.name", identity.name], cwd=directory)
        run_git(["config", "user.email", identity.email], cwd=directory)
        if not _remote_branches(directory):
            _create_master(directory, identity, remote)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def ensure_clone(directory: Path, remote: RemotePlan, identity: Identity) -> bool:
    """Re-clone unless ``directory`` is a clone of ``remote``; True when it cloned."""
    if origin_url(directory) == remote.url:
        run_git(["config", "user.name", identity.name], cwd=directory)
        run_git(["config", "user.email", identity.email], cwd=directory)
        return False
    clone(directory, remote, identity)
    return True


def _remote_branches(directory: Path) -> list[str]:
    out = run_git(
        ["for-each-ref", "--format=%(refname)", "refs/remotes/origin/"], cwd=directory
    ).stdout
    return [line for line in out.splitlines() if line and not line.endswith("/HEAD")]


def _create_master(directory: Path, identity: Identity, remote: RemotePlan) -> None:
    run_git(["symbolic-ref", "HEAD", f"refs/heads/{BASE_BRANCH}"], cwd=directory)
    (directory / "README.md").write_bytes(b"")
    run_git(["add", "--", "README.md"], cwd=directory)
    stamp = datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")
    run_git(
        ["commit", "-q", "-F", "-"],
        cwd=directory,
        input=f"CVAT Annotation. Initial commit by {identity.name} at {stamp}",
    )
    ref = f"refs/heads/{BASE_BRANCH}"
    run_git(["push", "-q", "origin", f"{ref}:{ref}"], cwd=directory, remote=remote)
    run_git(["fetch", "-q", "origin"], cwd=directory, remote=remote)


def fetch(directory: Path, remote: RemotePlan, timeout: float | None = None) -> None:
    """Bring the remote-tracking branches up to date (deleted remote branches go too)."""
    run_git(["fetch", "-q", "--prune", "origin"], cwd=directory, timeout=timeout, remote=remote)


def base_branch(directory: Path) -> str:
    """``master``; a repository without one uses its default branch (e.g. ``main``)."""
    if _has_ref(directory, f"refs/remotes/origin/{BASE_BRANCH}"):
        return BASE_BRANCH
    head = run_git(
        ["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"], cwd=directory, check=False
    ).stdout.strip()
    if head.startswith("origin/"):
        return head.removeprefix("origin/")
    raise GitError("The repository has no master branch (nor a default branch) to start from.")


def _has_ref(directory: Path, ref: str) -> bool:
    result = run_git(["show-ref", "--verify", "-q", ref], cwd=directory, check=False)
    return result.returncode == 0


def _rev(directory: Path, ref: str) -> str | None:
    result = run_git(
        ["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], cwd=directory, check=False
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def start_branch(directory: Path, branch: str, base: str) -> None:
    """(Re)create the task branch at the remote's ``base`` and check it out clean."""
    run_git(["checkout", "-q", "-f", "-B", branch, f"refs/remotes/origin/{base}"], cwd=directory)
    run_git(["clean", "-q", "-f", "-f", "-d", "-x"], cwd=directory)


# ---- writing the annotations ---------------------------------------------------------


def _safe_target(directory: Path, relative: str) -> Path:
    """``directory/relative``, refusing any existing part that is a link (or the
    repository's own metadata): the file must land inside the clone."""
    root = directory.resolve()
    current = root
    parts = relative.split("/")
    for index, part in enumerate(parts):
        current = current / part
        if current.is_symlink():
            raise GitError(f"The path {relative} goes through a symbolic link in the repository.")
        if index < len(parts) - 1 and current.exists() and not current.is_dir():
            raise GitError(f"The path {relative} goes through a file of the repository.")
    if not current.resolve().is_relative_to(root) or ".git" in parts:
        raise GitError(f"The path {relative} is outside the repository.")
    return current


def write_annotations(directory: Path, relative: str, export_zip: Path) -> None:
    """Put the export at ``relative``: the zip itself, or for ``.xml`` the zip's XML document."""
    target = _safe_target(directory, relative)
    if target.is_dir():
        raise GitError(f"The path {relative} is a directory in the repository.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if relative.endswith(".zip"):
        shutil.copyfile(export_zip, target)
        return
    with zipfile.ZipFile(export_zip) as archive:
        member = next((n for n in archive.namelist() if n.endswith(".xml")), None)
        if member is None:
            raise GitError("The export has no XML document to store at an .xml path.")
        with archive.open(member) as source, open(target, "xb") as out:
            shutil.copyfileobj(source, out)


def add_lfs_attributes(directory: Path) -> bool:
    """Track ``*.xml`` and ``*.zip`` with Git LFS in ``.gitattributes``; True when changed.

    The files go through LFS only where git-lfs is installed for the server's
    user (``git lfs install``); otherwise git stores them as usual.
    """
    path = _safe_target(directory, ".gitattributes")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    missing = [line for line in LFS_LINES if line not in lines]
    if not missing:
        return False
    path.write_text("".join(lines + missing), encoding="utf-8")
    return True


def commit_and_push(
    directory: Path,
    branch: str,
    paths: list[str],
    message: str,
    *,
    remote: RemotePlan,
    lfs: bool = False,
) -> str:
    """Commit ``paths`` on the task branch and force-push it; returns the commit id.

    Hooks are off for every command (see :mod:`.git`), so with LFS the objects are
    uploaded by ``git lfs push`` here rather than by git-lfs's pre-push hook, and
    only to trusted remotes (git-lfs follows links the pin does not cover).
    """
    run_git(["add", "-f", "--", *paths], cwd=directory)
    run_git(["commit", "-q", "--allow-empty", "-F", "-"], cwd=directory, input=message)
    ref = f"refs/heads/{branch}"
    if lfs and remote.trusted and shutil.which("git-lfs") is not None:
        run_git(["lfs", "push", "origin", branch], cwd=directory, remote=remote)
    run_git(["push", "-q", "--force", "origin", f"{ref}:{ref}"], cwd=directory, remote=remote)
    return _rev(directory, ref) or ""


# ---- status --------------------------------------------------------------------------


def remote_status(directory: Path, branch: str, remote: RemotePlan, timeout: float) -> str:
    """``merged`` when the pushed branch is contained in the remote's master, ``sync``
    when the remote still has the branch, ``!sync`` when it is gone unmerged (or was
    never pushed from this clone). Talks to the remote (``git fetch``)."""
    local = _rev(directory, f"refs/heads/{branch}")
    if local is None:
        return "!sync"
    fetch(directory, remote, timeout)
    base = f"refs/remotes/origin/{base_branch(directory)}"
    try:
        merge_base = run_git(["merge-base", base, local], cwd=directory).stdout.strip()
    except GitCommandFailed:
        merge_base = ""
    if merge_base == local:
        return "merged"
    return "sync" if _has_ref(directory, f"refs/remotes/origin/{branch}") else "!sync"


# ---- what changed since the last push (for the commit message) ---------------------------


def fingerprints(document: dict) -> dict[str, str]:
    """One digest per annotation object (tags, shapes, tracks), keyed by kind and id."""
    result = {}
    for kind in ("tags", "shapes", "tracks"):
        for obj in document.get(kind, []):
            body = {key: value for key, value in obj.items() if key != "id"}
            text = json.dumps(body, sort_keys=True, default=str)
            result[f"{kind}:{obj.get('id')}"] = hashlib.sha1(text.encode()).hexdigest()
    return result


def count_changes(directory: Path, current: dict[str, str]) -> tuple[int, int, int]:
    """(created, updated, deleted) objects since the last push from this clone."""
    previous = load_state(directory)
    created = sum(1 for key in current if key not in previous)
    updated = sum(1 for key, value in current.items() if key in previous and previous[key] != value)
    deleted = sum(1 for key in previous if key not in current)
    return created, updated, deleted


def load_state(directory: Path) -> dict[str, str]:
    try:
        data = json.loads((directory / ".git" / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    objects = data.get("objects") if isinstance(data, dict) else None
    return objects if isinstance(objects, dict) else {}


def save_state(directory: Path, current: dict[str, str]) -> None:
    path = directory / ".git" / STATE_FILE
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps({"objects": current}))
    os.replace(partial, path)
