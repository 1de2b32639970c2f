"""Running the ``git`` binary safely: argument lists (never a shell), time limits,
no prompts, and only the protocols a dataset repository may use.

Every user-given value reaches git as one argument after ``--`` or as a value
of an option, never through a shell; URLs are checked beforehand
(:mod:`.parsing`). ``GIT_ALLOW_PROTOCOL`` keeps git from following a
configuration or redirect to another transport (``ext::``, ``fd::``), and
``GIT_TERMINAL_PROMPT=0`` with SSH in batch mode makes a repository that needs
credentials fail at once instead of waiting for a password nobody will type.
The server's user keeps its own SSH keys, known hosts and credential helpers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from annotask.domain.dataset_repo.parsing import ALLOWED_PROTOCOLS
from annotask.domain.errors import DomainError

if TYPE_CHECKING:
    from annotask.domain.dataset_repo.remote import RemotePlan

log = logging.getLogger(__name__)

#: Time limit of a local git command (commit, checkout, config...).
LOCAL_TIMEOUT = 60.0
#: Time limit of a command that talks to the remote (clone, fetch, push), unless its
#: :class:`~.remote.RemotePlan` says otherwise (``ANNOTASK_GIT_NETWORK_TIMEOUT_SECONDS``).
NETWORK_TIMEOUT = 300.0
MESSAGE_MAX = 1500
#: The one thing users read when git could not talk to a network remote.
UNREACHABLE = "could not reach the repository (the server log has the details)"

# Environment variables of the server's own environment that git may keep: how to
# reach remotes (SSH, TLS), nothing that redirects the repository or the identity.
_KEPT_GIT_VARS = (
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM",
)
# Options for every command: no hooks, no symbolic links checked out (a repository
# could otherwise make the annotation file a link to anywhere), no signing prompts.
_SAFE_OPTIONS = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.symlinks=false",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "init.defaultBranch=master",
    "-c",
    "advice.detachedHead=false",
)


class GitError(DomainError):
    """A git operation failed; the message is meant for the user."""

    status_code = 400


class GitCommandFailed(GitError):
    """A git command exited with an error; ``stderr`` keeps what git said."""

    def __init__(self, command: str, returncode: int, stderr: str) -> None:
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"git {command} failed: {summary(stderr)}")


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


def git_available() -> bool:
    return shutil.which("git") is not None


def git_env() -> dict[str, str]:
    """The environment of every git command (see the module's description)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") or key in _KEPT_GIT_VARS
    }
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ALLOW_PROTOCOL=":".join(ALLOWED_PROTOCOLS),
        GCM_INTERACTIVE="never",
        # Never fetch LFS objects of existing files: git-lfs would follow the batch
        # API's links with its own client (see .remote); only our own file is written.
        GIT_LFS_SKIP_SMUDGE="1",
        LC_ALL="C",
        LANGUAGE="C",
    )
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=30"
    return env


def summary(stderr: str) -> str:
    """What git said, for a person: its ``fatal:``/``error:`` lines (or the last
    line), without the server's own paths, shortened."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    important = [
        line
        for line in lines
        if line.lower().startswith(("fatal:", "error:", "remote: error", "! ["))
    ]
    text = " ".join(important or lines[-2:]) or "git gave no reason"
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    input: str | None = None,
    check: bool = True,
    remote: RemotePlan | None = None,
) -> GitResult:
    """Run ``git <args>``; raises :class:`GitCommandFailed` on a non-zero exit (when
    ``check``) and :class:`GitError` when the time limit passes (the whole process
    group is killed, ``ssh`` included).

    A command that talks to a remote gets its checked ``remote`` plan: the pinning
    options and environment, its time limit, and for a network remote one generic
    message on any failure (the details go to the log).
    """
    command = ["git", *_SAFE_OPTIONS, *(remote.git_options() if remote else ()), *args]
    name = next((a for a in args if not a.startswith("-")), "command")
    if timeout is None:
        timeout = remote.total_timeout if remote is not None else LOCAL_TIMEOUT
    env = remote.environment(git_env()) if remote is not None else git_env()
    try:
        return _run(command, name, cwd, timeout, input, check, env)
    except GitError as exc:
        if remote is None or not remote.network:
            raise
        log.warning("git %s with %s failed: %s", name, remote.url, exc.message)
        raise GitUnreachable() from None


class GitUnreachable(GitError):
    """A command that talks to a network remote failed; deliberately vague (see .remote)."""

    def __init__(self) -> None:
        super().__init__(UNREACHABLE)


def _run(
    command: list[str],
    name: str,
    cwd: Path | None,
    timeout: float,
    input: str | None,
    check: bool,
    env: dict[str, str],
) -> GitResult:
    try:
        process = subprocess.Popen(
            command,
            cwd=str(cwd) if cwd is not None else None,
            env=env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise GitError("The git program is not installed on the server.") from exc
    try:
        stdout, stderr = process.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise GitError(
            f"git {name} did not finish within {int(timeout)} seconds: is the remote reachable?"
        ) from None
    except BaseException:
        _kill(process)
        raise
    if check and process.returncode != 0:
        raise GitCommandFailed(name, process.returncode, stderr)
    return GitResult(process.returncode, stdout, stderr)


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    # The pipes close with the process; whatever is left unread does not matter.
    with contextlib.suppress(Exception):
        process.communicate(timeout=5)
