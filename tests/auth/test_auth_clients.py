"""Spec 5.1 (A1-A9): the real cvat-cli and cvat-sdk log in every supported way."""

from __future__ import annotations

import json

import pytest

from tests.conftest import start_server
from tests.support.cvat import cli_env, run_cli, sdk_client


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    yield from start_server(tmp_path_factory.mktemp("empty"), "sqlite")


def test_a1_version_needs_no_server(sqlite_server, tmp_path):
    result = run_cli(sqlite_server, tmp_path, "--version", auth=None, connect=False)
    assert result.returncode == 0 and "2.80.0" in result.stdout


def test_a2_task_ls_on_an_empty_server(empty_server, tmp_path):
    result = run_cli(empty_server, tmp_path, "task", "ls").assert_clean()
    assert result.stdout.strip() == ""


def test_a3_wrong_password_fails_cleanly(server, tmp_path):
    result = run_cli(server, tmp_path, "task", "ls", auth=("admin", "wrong"))
    assert result.returncode == 1
    assert "CRITICAL" in result.stderr
    assert "400" in result.stderr or "401" in result.stderr


def _token(admin, name: str) -> str:
    return admin.post("/api/auth/access_tokens", json={"name": name}).json()["value"]


def test_a6_access_token_from_the_environment(server, admin, tmp_path):
    token = _token(admin, "env-token")
    env = cli_env(tmp_path, CVAT_ACCESS_TOKEN=token)
    run_cli(server, tmp_path, "task", "ls", auth=None, env=env).assert_clean()
    # The server saw the bearer token being used.
    mine = admin.get("/api/auth/access_tokens").json()["results"]
    used = next(t for t in mine if t["name"] == "env-token")
    assert used["last_used_date"] is not None


def test_a7_profiles_are_named_after_the_token(server, admin, tmp_path):
    token = _token(admin, "profile-token")
    env = cli_env(tmp_path)
    created = run_cli(server, tmp_path, "profile", "create", token, auth=None, env=env)
    created.assert_clean()
    profiles = run_cli(server, tmp_path, "profile", "list", auth=None, connect=False, env=env)
    assert "profile-token" in profiles.stdout
    run_cli(server, tmp_path, "task", "ls", auth=None, connect=False, env=env).assert_clean()
    run_cli(
        server,
        tmp_path,
        "--profile",
        "profile-token",
        "task",
        "ls",
        auth=None,
        connect=False,
        env=env,
    ).assert_clean()


def test_a8_bogus_token_fails(server, tmp_path):
    env = cli_env(tmp_path, CVAT_ACCESS_TOKEN="bogus")
    result = run_cli(server, tmp_path, "task", "ls", auth=None, env=env)
    assert result.returncode == 1


def test_a9_sdk_reads_the_version_before_login(server):
    from cvat_sdk import Client
    from packaging.version import Version

    client = Client(server.url)
    assert client.get_server_version() == Version("2.80.0")


def test_sdk_login_with_a_token_and_password(server, admin):
    from cvat_sdk import make_client

    token = _token(admin, "sdk-token")
    with make_client("http://localhost", port=server.port, access_token=token) as client:
        assert client.users.retrieve_current_user().username == "admin"
    with sdk_client(server) as client:
        me = client.api_client.users_api.retrieve_self()[0]
        assert me.username == "admin"


def test_about_parses_with_the_sdk_models(server):
    """K2: the anonymous about endpoint gives a version in ~=2.80.0."""
    from cvat_sdk import Client
    from packaging.specifiers import SpecifierSet

    client = Client(server.url)
    about = client.api_client.server_api.retrieve_about()[0]
    assert about.version in SpecifierSet("~=2.80.0")
    assert json.loads(json.dumps(about.to_dict()))["name"]
