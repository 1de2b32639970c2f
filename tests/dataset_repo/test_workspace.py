"""The local clone and the git runner, without a server: what a hostile repository or
URL cannot make the server do, and the small rules of the clone."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from annotask.domain.dataset_repo import workspace
from annotask.domain.dataset_repo.git import GitError, run_git
from annotask.domain.dataset_repo.remote import RemotePlan
from tests.dataset_repo.gitutil import bare_repository, branches, files_at, git, message

OWNER = workspace.Identity("alice", "alice@example.com")


def local(url: object) -> RemotePlan:
    """A local repository's plan (what plan_remote gives for file:// and paths)."""
    return RemotePlan(url=str(url), scheme="file", trusted=True)


def export_zip(path: Path, document: bytes = b"<annotations/>") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("annotations.xml", document)
    return path


def test_an_empty_repository_gets_master_with_a_readme(tmp_path):
    remote = bare_repository(tmp_path / "r.git")
    clone = tmp_path / "task" / "repos"
    workspace.clone(clone, local(str(remote)), OWNER)
    assert branches(remote) == ["master"]
    assert files_at(remote, "master") == ["README.md"]
    assert message(remote, "master").startswith("CVAT Annotation. Initial commit by alice at ")
    author = git("log", "-1", "--format=%an <%ae>", "master", cwd=remote).strip()
    assert author == "alice <alice@example.com>"
    assert workspace.origin_url(clone) == str(remote)
    assert workspace.ensure_clone(clone, local(str(remote)), OWNER) is False  # reused
    assert workspace.ensure_clone(clone, local(f"file://{remote}"), OWNER) is True  # another URL


def test_a_failed_clone_leaves_nothing(tmp_path):
    clone = tmp_path / "task" / "repos"
    with pytest.raises(GitError) as caught:
        workspace.clone(clone, local(str(tmp_path / "missing.git")), OWNER)
    assert "does not exist" in caught.value.message
    assert not clone.exists()


def test_a_repository_without_master_uses_its_default_branch(tmp_path):
    remote = bare_repository(tmp_path / "main.git", {"a.txt": "a"})
    git("branch", "-m", "master", "main", cwd=remote)
    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=remote)
    clone = tmp_path / "repos"
    workspace.clone(clone, local(str(remote)), OWNER)
    assert workspace.base_branch(clone) == "main"
    workspace.start_branch(clone, "cvat_1_t", "main")
    workspace.write_annotations(clone, "annotation/t.zip", export_zip(tmp_path / "e.zip"))
    workspace.commit_and_push(clone, "cvat_1_t", ["annotation/t.zip"], "msg", remote=local(remote))
    assert files_at(remote, "cvat_1_t") == ["a.txt", "annotation/t.zip"]
    assert workspace.remote_status(clone, "cvat_1_t", local(remote), timeout=30) == "sync"


def test_a_symbolic_link_in_the_repository_cannot_redirect_the_file(tmp_path):
    """master holds ``annotation`` -> a directory outside: links are checked out as
    plain files (core.symlinks=false), and the write refuses to go through them."""
    outside = tmp_path / "outside"
    outside.mkdir()
    remote = bare_repository(tmp_path / "evil.git")
    seed = tmp_path / "seed"
    git("clone", "-q", str(remote), str(seed), cwd=tmp_path)
    os.symlink(outside, seed / "annotation")
    git("add", "annotation", cwd=seed)
    git("commit", "-q", "-m", "link", cwd=seed)
    git("push", "-q", "origin", "master", cwd=seed)

    clone = tmp_path / "repos"
    workspace.clone(clone, local(str(remote)), OWNER)
    workspace.start_branch(clone, "cvat_2_t", "master")
    assert not (clone / "annotation").is_symlink()
    with pytest.raises(GitError) as caught:
        workspace.write_annotations(clone, "annotation/t.zip", export_zip(tmp_path / "e.zip"))
    assert "goes through a file" in caught.value.message
    assert list(outside.iterdir()) == []

    # A link made in the clone by other means is refused too.
    (clone / "annotation").unlink()
    os.symlink(outside, clone / "annotation")
    with pytest.raises(GitError) as caught:
        workspace.write_annotations(clone, "annotation/t.zip", export_zip(tmp_path / "e.zip"))
    assert "symbolic link" in caught.value.message
    assert list(outside.iterdir()) == []


def test_xml_paths_take_the_document_out_of_the_zip(tmp_path):
    remote = bare_repository(tmp_path / "x.git", {"keep.txt": "k"})
    clone = tmp_path / "repos"
    workspace.clone(clone, local(str(remote)), OWNER)
    workspace.start_branch(clone, "b", "master")
    workspace.write_annotations(clone, "deep/er/a.xml", export_zip(tmp_path / "e.zip", b"<x/>"))
    assert (clone / "deep" / "er" / "a.xml").read_bytes() == b"<x/>"


def test_lfs_lines_are_added_once(tmp_path):
    clone = tmp_path / "repos"
    clone.mkdir()
    (clone / ".gitattributes").write_text("*.png binary")  # no final newline
    assert workspace.add_lfs_attributes(clone) is True
    assert workspace.add_lfs_attributes(clone) is False
    assert (clone / ".gitattributes").read_text() == "*.png binary\n" + "".join(workspace.LFS_LINES)


def test_change_counts_compare_with_the_last_push(tmp_path):
    clone = tmp_path / "repos"
    (clone / ".git").mkdir(parents=True)
    first = workspace.fingerprints(
        {"shapes": [{"id": 1, "points": [1]}, {"id": 2, "points": [2]}], "tags": [{"id": 1}]}
    )
    assert workspace.count_changes(clone, first) == (3, 0, 0)
    workspace.save_state(clone, first)
    second = workspace.fingerprints({"shapes": [{"id": 1, "points": [9]}, {"id": 3}], "tags": []})
    assert workspace.count_changes(clone, second) == (1, 1, 2)


def test_git_never_uses_a_transport_helper(tmp_path):
    """Even where git's configuration allows ``ext::`` (as a repository's or the
    server's config could), the protocol allow-list of our environment wins."""
    marker = tmp_path / "pwned"
    with pytest.raises(GitError) as caught:
        run_git(
            ["-c", "protocol.ext.allow=always", "ls-remote", f"ext::sh -c touch% {marker}"],
            cwd=tmp_path,
        )
    assert "not allowed" in caught.value.message or "unsupported" in caught.value.message.lower()
    assert not marker.exists()


def test_the_servers_git_variables_cannot_redirect_the_repository(tmp_path, monkeypatch):
    remote = bare_repository(tmp_path / "r.git", {"a.txt": "a"})
    other = bare_repository(tmp_path / "other.git", {"b.txt": "b"})
    monkeypatch.setenv("GIT_DIR", str(other))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Mallory")
    clone = tmp_path / "repos"
    workspace.clone(clone, local(str(remote)), OWNER)
    assert workspace.origin_url(clone) == str(remote)
    workspace.start_branch(clone, "b", "master")
    workspace.write_annotations(clone, "x.zip", export_zip(tmp_path / "e.zip"))
    workspace.commit_and_push(clone, "b", ["x.zip"], "msg", remote=local(remote))
    assert git("log", "-1", "--format=%an", "b", cwd=remote).strip() == "alice"


def test_a_git_command_past_its_time_limit_is_killed(tmp_path):
    started = time.monotonic()
    with pytest.raises(GitError) as caught:
        run_git(["-c", "alias.slow=!sleep 30", "slow"], cwd=tmp_path, timeout=0.5)
    assert "did not finish within" in caught.value.message
    assert time.monotonic() - started < 10


def test_the_lock_is_exclusive_and_times_out(tmp_path):
    directory = tmp_path / "task" / "repos"
    with (
        workspace.locked(directory, 1.0),
        pytest.raises(workspace.RepositoryBusy),
        workspace.locked(directory, 0.2),
    ):
        pass
    with workspace.locked(directory, 0.2):
        pass
