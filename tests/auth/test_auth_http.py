"""Authentication as spec 0.8 describes it, over raw HTTP."""

from __future__ import annotations

import base64
from http.cookies import SimpleCookie

import httpx
import pytest

from tests.conftest import make_user, start_server


def _login(server, username="admin", password="admin") -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/auth/login", json={"username": username, "password": password}
    )


def test_login_sets_cookies_the_client_can_parse(server):
    """A4: urllib3 joins Set-Cookie values with ', ' and SimpleCookie must still parse them."""
    response = _login(server)
    assert response.status_code == 200
    assert 0 < len(response.json()["key"]) <= 40
    joined = ", ".join(response.headers.get_list("set-cookie"))
    cookie = SimpleCookie()
    cookie.load(joined)
    assert {"sessionid", "csrftoken"} <= set(cookie)
    assert cookie["sessionid"]["httponly"]


def test_wrong_password_is_400_with_drf_message(server):
    response = _login(server, password="wrong")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert "set-cookie" not in response.headers


def test_login_by_email_and_malformed_bodies(server):
    json_type = {"Content-Type": "application/json"}
    malformed = httpx.post(f"{server.url}/api/auth/login", content=b"{not json", headers=json_type)
    assert malformed.status_code == 400
    response = httpx.post(f"{server.url}/api/auth/login", json={"username": "admin"})
    assert response.status_code == 400 and "password" in response.json()
    response = httpx.post(
        f"{server.url}/api/auth/login", json={"username": "a", "password": "b", "extra": 1}
    )
    # Unknown fields are ignored, as CVAT's serializers ignore them: the wrong
    # credentials are what is refused.
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_csrf_is_enforced_for_cookie_sessions(server):
    """A5: an unsafe request with the session cookie but no X-CSRFToken is 403."""
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/auth/login", json={"username": "admin", "password": "admin"})
        body = {"name": "csrf-check"}
        refused = client.post("/api/auth/access_tokens", json=body)
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["detail"]
        wrong = client.post(
            "/api/auth/access_tokens", json=body, headers={"X-CSRFToken": "not-the-token"}
        )
        assert wrong.status_code == 403
        listed = client.get("/api/auth/access_tokens").json()
        assert all(t["name"] != "csrf-check" for t in listed["results"])
        accepted = client.post(
            "/api/auth/access_tokens",
            json=body,
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )
        assert accepted.status_code == 201


def test_safe_methods_need_no_csrf(server):
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/auth/login", json={"username": "admin", "password": "admin"})
        assert client.get("/api/users/self").json()["username"] == "admin"


def test_anonymous_requests_are_401(server):
    assert httpx.get(f"{server.url}/api/users/self").status_code == 401
    assert httpx.get(f"{server.url}/api/users").status_code == 401


def test_personal_access_token_lifecycle(server, admin):
    created = admin.post("/api/auth/access_tokens", json={"name": "ci-token"})
    assert created.status_code == 201
    token = created.json()
    secret = token["value"]
    bearer = {"Authorization": f"Bearer {secret}"}
    # Bearer requests carry no cookies and no CSRF header, and must not need them.
    me = httpx.get(f"{server.url}/api/auth/access_tokens/self", headers=bearer).json()
    assert me["name"] == "ci-token" and "value" not in me
    # A token cannot mint its successors (issue 11): only a password session can.
    made = httpx.post(
        f"{server.url}/api/auth/access_tokens", json={"name": "second"}, headers=bearer
    )
    assert made.status_code == 403
    assert admin.delete(f"/api/auth/access_tokens/{token['id']}").status_code == 204
    assert httpx.get(f"{server.url}/api/users/self", headers=bearer).status_code == 401


def test_read_only_token_cannot_write(server, admin):
    secret = admin.post("/api/auth/access_tokens", json={"name": "ro", "read_only": True}).json()[
        "value"
    ]
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/api/users/self", headers=headers).status_code == 200
    refused = httpx.post(
        f"{server.url}/api/auth/access_tokens", json={"name": "x"}, headers=headers
    )
    assert refused.status_code == 403


def test_token_and_basic_schemes(server):
    key = _login(server).json()["key"]
    headers = {"Authorization": f"Token {key}"}
    assert httpx.get(f"{server.url}/api/users/self", headers=headers).json()["username"] == "admin"
    basic = base64.b64encode(b"admin:admin").decode()
    response = httpx.get(
        f"{server.url}/api/users/self", headers={"Authorization": f"Basic {basic}"}
    )
    assert response.json()["username"] == "admin"
    bad = base64.b64encode(b"admin:nope").decode()
    response = httpx.get(f"{server.url}/api/users/self", headers={"Authorization": f"Basic {bad}"})
    assert response.status_code == 401
    assert (
        httpx.get(
            f"{server.url}/api/users/self", headers={"Authorization": "Token bogus"}
        ).status_code
        == 401
    )


def test_logout_ends_the_session(server):
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/auth/login", json={"username": "admin", "password": "admin"})
        csrf = {"X-CSRFToken": client.cookies["csrftoken"]}
        response = client.post("/api/auth/logout", headers=csrf)
        assert response.status_code == 200 and response.json()
        assert client.get("/api/users/self").status_code == 401


def test_user_self_has_the_full_user_model(server, admin):
    me = admin.get("/api/users/self").json()
    assert me["username"] == "admin" and me["is_superuser"] is True
    assert isinstance(me["groups"], list)
    assert me["date_joined"].endswith("Z") and "T" in me["date_joined"]


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory):
    yield from start_server(tmp_path_factory.mktemp("limited"), "sqlite", login_rate_limit="3")


def test_login_attempts_are_rate_limited(limited_server):
    name, password = make_user(limited_server)
    for _ in range(3):
        assert _login(limited_server, name, "wrong").status_code == 400
    assert _login(limited_server, name, password).status_code == 429
    # Another user is not affected by the first one's failures.
    other, other_password = make_user(limited_server)
    assert _login(limited_server, other, other_password).status_code == 200
