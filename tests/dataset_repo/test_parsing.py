"""The "URL [PATH]" value: what is accepted, how it is normalised, what is refused and why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from annotask.domain.dataset_repo.parsing import (
    DEFAULT_FORMAT,
    RepoSpec,
    branch_name,
    check_format,
    default_path,
    parse_repository,
    sanitise_name,
)
from annotask.domain.errors import ValidationFailed


def refused(text: str, field: str = "path", **kwargs) -> str:
    with pytest.raises(ValidationFailed) as caught:
        parse_repository(text, "task", field=field, **kwargs)
    assert list(caught.value.errors) == [field]
    return " ".join(caught.value.errors[field])


def test_default_path_is_the_sanitised_task_name():
    assert parse_repository("https://github.com/user/repos", 'My task: "v2" <a|b>?*') == RepoSpec(
        "https://github.com/user/repos", "annotation/My_task___v2___a_b___.zip"
    )
    assert sanitise_name("tab\there\nnew\x01line") == "tab_here_new_line"
    assert sanitise_name("x" * 300) == "x" * 100
    assert default_path(".hidden [1]") == "annotation/_hidden__1_.zip"


@pytest.mark.parametrize(
    ("text", "url", "path"),
    [
        (
            "https://github.com/user/repos [annotation/a.zip]",
            "https://github.com/user/repos",
            "annotation/a.zip",
        ),
        (
            "https://github.com/user/repos.git[/1/2/3/4/annotation.xml]",
            "https://github.com/user/repos.git",
            "1/2/3/4/annotation.xml",
        ),
        (
            "  http://127.0.0.1:8080/repos.git   [x.zip]  ",
            "http://127.0.0.1:8080/repos.git",
            "x.zip",
        ),
        (
            "ssh://git@example.com:2222/owner/repos.git",
            "ssh://git@example.com:2222/owner/repos.git",
            None,
        ),
        (
            "git@github.com:project/repos.git [a/b.zip]",
            "git@github.com:project/repos.git",
            "a/b.zip",
        ),
        ("git://example.com/repos", "git://example.com/repos", None),
        ("file:///srv/mirrors/labels.git [a.zip]", "file:///srv/mirrors/labels.git", "a.zip"),
        ("/srv/mirrors/labels.git", "/srv/mirrors/labels.git", None),
        ("github.com/project/repos", "https://github.com/project/repos", None),
        ("https://10.0.0.7:8443/repos", "https://10.0.0.7:8443/repos", None),
    ],
)
def test_accepted_forms(text, url, path):
    spec = parse_repository(text, "my task")
    assert spec.url == url
    assert spec.path == (path or "annotation/my_task.zip")
    assert spec.text == f"{url} [{spec.path}]"
    # What the API reports parses back to the same thing.
    assert parse_repository(spec.text, "other") == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Enter the repository URL"),
        ("[a.zip]", "Enter the repository URL"),
        ("-uhttps://example.com/x", "cannot start with '-'"),
        ("--upload-pack=touch /tmp/x", "spaces"),
        ("ext::sh", "transport helpers"),
        ("fd::3", "transport helpers"),
        ("ftp://example.com/owner/repos", "Unsupported URL scheme 'ftp'"),
        ("https://user:token@github.com/owner/repos", "password or token"),
        ("https://ghp_TOKEN@github.com/owner/repos", "password or token"),
        ("https://github.com", "names no repository"),
        ("https://-oProxy/repos", "no valid host"),
        ("https://example.com:99999/repos", "port"),
        ("git@github.com:-oProxyCommand=x", "cannot start with '-'"),
        ("-oProxyCommand=x@host:repos", "cannot start with '-'"),
        ("file://otherhost/srv/repos", "file:///path"),
        ("relative/repos.git", "not valid"),
        ("https://github.com/user/repos [a.zip] trailing", "square brackets"),
        ("https://[::1]:8443/repos", "square brackets"),  # IPv6 literals clash with [PATH]
        ("https://github.com/user/repos [a.json]", "Only .xml and .zip formats are supported"),
        ("https://github.com/user/repos [a.ZIP]", "Only .xml and .zip"),
        ("https://github.com/user/repos [../a.zip]", "'..'"),
        ("https://github.com/user/repos [a//b.zip]", "empty parts"),
        ("https://github.com/user/repos [.git/hooks/a.zip]", "hidden"),
        ("https://github.com/user/repos [a\\b.zip]", "'\\'"),
        ("https://github.com/user/repos [" + "a" * 260 + ".zip]", "256"),
        ("https://github.com/" + "a" * 2000, "2000"),
        ("https://github.com/user/repos\x00", "control characters"),
    ],
)
def test_refused_values_name_the_field(text, says):
    assert says in refused(text)


def test_the_field_name_is_the_callers():
    assert "not valid" in refused("nonsense", field="url")


def test_a_local_repository_inside_the_data_dir_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "tasks" / "1").mkdir(parents=True)
    assert "data directory" in refused(str(data / "tasks" / "1" / "repos"), data_dir=data)
    assert "data directory" in refused(f"file://{data}/tasks/1/repos", data_dir=data)
    link = tmp_path / "link"
    link.symlink_to(data)
    assert "data directory" in refused(f"{link}/tasks/1/repos", data_dir=data)
    outside = tmp_path / "mirror.git"
    assert parse_repository(str(outside), "t", data_dir=data).url == str(outside)


@pytest.mark.parametrize(
    "name",
    [
        "plain",
        "two words",
        "a..b",
        "end.",
        "x.lock",
        "tilde~caret^colon:",
        "at@{brace",
        "[br]",
        "ünïcödé 名前",
        ".dot",
        "-dash",
    ],
)
def test_branch_names_are_valid_git_branches(name):
    branch = branch_name(7, name)
    assert branch.startswith("cvat_7_")
    done = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True)
    assert done.returncode == 0, (name, branch, done.stderr)


def test_branch_name_follows_cvat():
    assert branch_name(12, "My task 1") == "cvat_12_My_task_1"


def test_formats():
    assert check_format(None, "a.zip") == DEFAULT_FORMAT == "CVAT for video 1.1"
    assert check_format("cvat for images 1.1", "a.xml") == "CVAT for images 1.1"
    assert check_format("COCO 1.0", "a.zip") == "COCO 1.0"
    with pytest.raises(ValidationFailed) as caught:
        check_format("YOLO 1.1", "a.zip")
    assert "Unknown export format" in caught.value.errors["format"][0]
    with pytest.raises(ValidationFailed) as caught:
        check_format("COCO 1.0", "a.xml")
    assert "use a .zip path" in caught.value.errors["format"][0]


def test_data_dir_check_needs_no_existing_path(tmp_path):
    spec = parse_repository(f"file://{tmp_path}/not/yet.git", "t", data_dir=Path("/nonexistent"))
    assert spec.url.endswith("/not/yet.git")
