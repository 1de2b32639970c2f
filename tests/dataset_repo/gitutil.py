"""The tests' own git: bare "remote" repositories in tmp, inspected and merged with git.

Every command runs with a fixed identity and without the machine's git
configuration (``HOME`` points into tmp), so a CI machine without a global
``user.name`` behaves like a developer's.
"""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Reviewer",
    "GIT_AUTHOR_EMAIL": "reviewer@example.com",
    "GIT_COMMITTER_NAME": "Reviewer",
    "GIT_COMMITTER_EMAIL": "reviewer@example.com",
}


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY, HOME=str(home), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def git(*args: str, cwd: Path, text: bool = True) -> str | bytes:
    """``git ARGS`` in ``cwd``; fails the test with git's message on an error."""
    home = cwd if cwd.is_dir() else cwd.parent
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=master", *args],
        cwd=cwd,
        env=git_env(home),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode() if text else done.stdout


def bare_repository(directory: Path, files: dict[str, str] | None = None) -> Path:
    """An empty bare repository, or one whose ``master`` holds ``files``."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", "-b", "master", str(directory), cwd=directory.parent)
    if files:
        work = directory.parent / f"{directory.name}-seed"
        git("clone", "-q", str(directory), str(work), cwd=directory.parent)
        for name, content in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(content)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", "Seed", cwd=work)
        git("push", "-q", "origin", "master", cwd=work)
    return directory


def branches(bare: Path) -> list[str]:
    out = git("for-each-ref", "--format=%(refname:short)", "refs/heads/", cwd=bare)
    return sorted(out.split())


def show(bare: Path, ref: str, path: str) -> bytes:
    return git("show", f"{ref}:{path}", cwd=bare, text=False)


def message(bare: Path, ref: str) -> str:
    return git("log", "-1", "--format=%B", ref, cwd=bare).strip()


def files_at(bare: Path, ref: str) -> list[str]:
    return sorted(git("ls-tree", "-r", "--name-only", ref, cwd=bare).split())


def merge_into_master(bare: Path, branch: str, work: Path) -> None:
    """What a reviewer does with the pull request: merge the branch into master."""
    git("clone", "-q", str(bare), str(work), cwd=work.parent)
    git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}", cwd=work)
    git("push", "-q", "origin", "master", cwd=work)


def zip_document(content: bytes) -> tuple[list[str], bytes]:
    """The members of an exported zip and its XML document."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = archive.namelist()
    xml = next(n for n in names if n.endswith(".xml"))
    return names, archive.read(xml)
