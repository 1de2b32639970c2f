"""Issue 11, items 3, 4 and 6: login throttling over every spelling and scheme,
credentials that end when they should, and login CSRF."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from tests.conftest import make_user, start_server
from tests.support.server import ADMIN


def _login(server, username, password, **kwargs) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/auth/login", json={"username": username, "password": password}, **kwargs
    )


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def _from(address: str) -> dict[str, str]:
    """The client address the server sees: uvicorn trusts X-Forwarded-For from
    127.0.0.1, so tests speak as other loopback addresses."""
    return {"X-Forwarded-For": address}


def _user_with_email(server) -> tuple[str, str, str]:
    name = f"u{uuid.uuid4().hex[:8]}"
    email = f"{name}@example.org"
    result = server.run_cli("users", "add", name, "--password", "pw-" + name, "--email", email)
    assert result.returncode == 0, result.stderr
    return name, "pw-" + name, email


def _me(server, headers: dict[str, str]) -> int:
    return httpx.get(f"{server.url}/api/users/self", headers=headers).status_code


# ---- item 3: throttling ---------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def throttled(request, tmp_path_factory):
    """A server with small login limits, on both databases (the counters are queries)."""
    yield from start_server(
        tmp_path_factory.mktemp("throttled"),
        request.param,
        login_rate_limit="3",
        login_account_rate_limit="5",
    )


def test_every_way_to_present_a_password_shares_one_counter(throttled):
    """Name, e-mail (in any case) and HTTP Basic count against the same account."""
    name, password, email = _user_with_email(throttled)
    assert _login(throttled, name, "wrong-1").status_code == 400
    assert _login(throttled, email.upper(), "wrong-2").status_code == 400
    assert _me(throttled, _basic(name, "wrong-3")) == 401
    # Three failures: the right password is refused, whichever way it comes.
    assert _login(throttled, name, password).status_code == 429
    assert _login(throttled, email, password).status_code == 429
    assert _me(throttled, _basic(name, password)) == 429
    # Another address still has its own tries.
    assert _login(throttled, name, password, headers=_from("127.0.0.7")).status_code == 200


def test_basic_failures_alone_are_throttled(throttled):
    name, password = make_user(throttled)
    headers = _from("127.0.0.20")
    for attempt in range(3):
        assert _me(throttled, {**_basic(name, f"wrong-{attempt}"), **headers}) == 401
    assert _me(throttled, {**_basic(name, password), **headers}) == 429


def test_account_cap_spans_addresses_but_spares_the_owners_address(throttled):
    name, password = make_user(throttled)
    home = _from("127.0.0.9")
    assert _login(throttled, name, password, headers=home).status_code == 200
    # Five failures from three addresses, each under the per-address limit.
    for address, count in (("127.0.0.2", 2), ("127.0.0.3", 2), ("127.0.0.4", 1)):
        for _ in range(count):
            response = _login(throttled, name, "wrong", headers=_from(address))
            assert response.status_code == 400
    # A new address meets the account cap, by login or by Basic ...
    assert _login(throttled, name, password, headers=_from("127.0.0.5")).status_code == 429
    assert _me(throttled, {**_basic(name, password), **_from("127.0.0.6")}) == 429
    # ... but the owner's usual address is not locked out.
    assert _login(throttled, name, password, headers=home).status_code == 200
    assert _me(throttled, {**_basic(name, password), **home}) == 200


def test_unknown_names_are_throttled_like_real_ones(throttled):
    """429 must not tell whether an account exists, and case gives no fresh tries."""
    ghost = f"ghost{uuid.uuid4().hex[:6]}"
    headers = _from("127.0.0.30")
    for spelling in (ghost, ghost.upper(), ghost.title()):
        assert _login(throttled, spelling, "x", headers=headers).status_code == 400
    assert _login(throttled, ghost, "x", headers=headers).status_code == 429


# ---- item 4: credentials end when they should ------------------------------------------


def _signed_in(server, name, password) -> tuple[httpx.Client, str]:
    """A session client and the login's ``Token`` key."""
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post("/api/auth/login", json={"username": name, "password": password})
    assert response.status_code == 200
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client, response.json()["key"]


def _pat(client: httpx.Client) -> str:
    response = client.post("/api/auth/access_tokens", json={"name": "kept"})
    assert response.status_code == 201
    return response.json()["value"]


def test_password_change_ends_sessions_and_keys_but_not_access_tokens(throttled):
    name, password = make_user(throttled)
    client, key = _signed_in(throttled, name, password)
    pat = _pat(client)
    result = throttled.run_cli("users", "passwd", name, "--password", "new-" + password)
    assert result.returncode == 0, result.stderr
    assert client.get("/api/users/self").status_code == 401
    assert _me(throttled, {"Authorization": f"Token {key}"}) == 401
    assert _me(throttled, {"Authorization": f"Bearer {pat}"}) == 200
    assert _login(throttled, name, "new-" + password).status_code == 200
    client.close()


def test_logout_ends_the_token_key_used(throttled):
    name, password = make_user(throttled)
    key = _login(throttled, name, password).json()["key"]
    headers = {"Authorization": f"Token {key}"}
    response = httpx.post(f"{throttled.url}/api/auth/logout", headers=headers)
    assert response.status_code == 200
    assert _me(throttled, headers) == 401


def test_session_logout_ends_the_session_and_the_key(throttled):
    name, password = make_user(throttled)
    client, key = _signed_in(throttled, name, password)
    assert client.post("/api/auth/logout").status_code == 200
    client.cookies.clear()
    client.cookies.set("sessionid", "", domain="localhost")
    assert _me(throttled, {"Authorization": f"Token {key}"}) == 401
    client.close()


def test_an_access_token_can_read_tokens_but_not_manage_them(throttled):
    name, password = make_user(throttled)
    client, _key = _signed_in(throttled, name, password)
    pat = _pat(client)
    bearer = {"Authorization": f"Bearer {pat}"}
    url = f"{throttled.url}/api/auth/access_tokens"
    listed = httpx.get(url, headers=bearer)
    assert listed.status_code == 200
    token_id = listed.json()["results"][0]["id"]
    assert httpx.get(f"{url}/{token_id}", headers=bearer).status_code == 200
    assert httpx.get(f"{url}/self", headers=bearer).status_code == 200
    made = httpx.post(url, json={"name": "successor"}, headers=bearer)
    assert made.status_code == 403
    assert httpx.delete(f"{url}/{token_id}", headers=bearer).status_code == 403
    assert [t["name"] for t in client.get("/api/auth/access_tokens").json()["results"]] == ["kept"]
    # A password session still manages them.
    assert client.delete(f"/api/auth/access_tokens/{token_id}").status_code == 204
    client.close()


def test_deactivate_ends_everything_and_reactivate_restores_only_tokens(throttled):
    name, password = make_user(throttled)
    client, key = _signed_in(throttled, name, password)
    pat = _pat(client)
    assert throttled.run_cli("users", "deactivate", name).returncode == 0
    assert client.get("/api/users/self").status_code == 401
    assert _me(throttled, {"Authorization": f"Token {key}"}) == 401
    assert _me(throttled, {"Authorization": f"Bearer {pat}"}) == 401
    assert _me(throttled, _basic(name, password)) == 401
    assert _login(throttled, name, password).status_code == 400
    assert throttled.run_cli("users", "reactivate", name).returncode == 0
    assert client.get("/api/users/self").status_code == 401
    assert _me(throttled, {"Authorization": f"Token {key}"}) == 401
    assert _me(throttled, {"Authorization": f"Bearer {pat}"}) == 200
    assert _login(throttled, name, password).status_code == 200
    missing = throttled.run_cli("users", "deactivate", "nobody-" + name)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    client.close()


# ---- item 6: login CSRF ----------------------------------------------------------------


def _raw_login(server, content: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/auth/login", content=content, headers=headers)


def test_a_non_json_body_cannot_log_in(sqlite_server):
    """A cross-site ``<form enctype=text/plain>`` can post this without a preflight."""
    body = b'{"username": "admin", "password": "admin"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = _raw_login(sqlite_server, body, headers)
        assert response.status_code == 415, (content_type, response.text)
        assert "Unsupported media type" in response.json()["detail"]
        assert "set-cookie" not in response.headers
    typed = _raw_login(sqlite_server, body, {"Content-Type": "application/json; charset=utf-8"})
    assert typed.status_code == 200


def test_cross_origin_login_is_refused(sqlite_server):
    body = {"username": ADMIN[0], "password": ADMIN[1]}
    url = f"{sqlite_server.url}/api/auth/login"
    foreign = f"http://127.0.0.1:{sqlite_server.port}"  # another origin than localhost
    for headers in (
        {"Origin": foreign},
        {"Origin": "null"},
        {"Referer": foreign + "/evil.html"},
        {"Origin": foreign, "Referer": sqlite_server.url + "/login"},
    ):
        response = httpx.post(url, json=body, headers=headers)
        assert response.status_code == 403, headers
        assert "set-cookie" not in response.headers
    for headers in (
        {},
        {"Origin": sqlite_server.url},
        {"Referer": sqlite_server.url + "/login?next=/tasks"},
    ):
        assert httpx.post(url, json=body, headers=headers).status_code == 200, headers


def test_empty_json_bodies_stay_accepted(sqlite_server):
    """Spec 0.2: the clients send ``Content-Type: application/json`` with no body."""
    admin = sqlite_server.client()
    try:
        task = admin.post("/api/tasks", json={"name": "empty-body", "labels": [{"name": "a"}]})
        assert task.status_code == 201
        started = admin.post(
            f"/api/tasks/{task.json()['id']}/data/",
            headers={"Upload-Start": "", "Content-Type": "application/json"},
        )
        assert started.status_code == 202, started.text
    finally:
        admin.close()
