"""The user directory: names for everyone, whole records for admins and for oneself.

As CVAT's ``UserViewSet``: a non-admin reads other users as ``BasicUser`` (url, id,
username, first and last name), never their e-mail, last login, groups or admin
flags; their own full record stays at ``/api/users/self``.
"""

from __future__ import annotations

from contextlib import closing

import pytest
from sqlalchemy.orm import Session

from tests.support.resources import _engine, database_url, new_user, unique
from tests.support.server import ADMIN

LIVE_SDK = pytest.mark.live_server("cvat-sdk is a real HTTP client: it needs a socket")

BASIC = {"url", "id", "username", "first_name", "last_name"}
PRIVATE = {"email", "last_login", "is_superuser", "is_staff", "groups", "date_joined"}


def _person(server) -> tuple[str, str]:
    """A user with an e-mail and a name, made as ``annotask users add`` would."""
    from annotask.domain.users import create_user

    name = unique("dir").replace("-", "")
    with Session(_engine(database_url(server))) as db, db.begin():
        create_user(
            db, name, "pw-" + name, email=f"{name}@example.com", first_name="Ada", last_name="L"
        )
    return name, "pw-" + name


@pytest.fixture
def pair(server):
    """Two plain users, both signed in, and the second one's id."""
    first, second = _person(server), _person(server)
    with closing(server.client(first)) as one, closing(server.client(second)) as two:
        yield one, two, two.get("/api/users/self").json()


def test_a_user_reads_others_as_names_only(server, pair):
    one, _two, other = pair
    listed = one.get("/api/users", params={"page_size": 500})
    assert listed.status_code == 200, listed.text
    entries = listed.json()["results"]
    assert len(entries) >= 2
    for entry in entries:
        assert set(entry) == BASIC, entry  # their own entry too, as in CVAT's list
    found = one.get("/api/users", params={"username": other["username"]}).json()["results"]
    assert found == [
        {
            "url": other["url"],
            "id": other["id"],
            "username": other["username"],
            "first_name": "Ada",
            "last_name": "L",
        }
    ]
    single = one.get(f"/api/users/{other['id']}")
    assert single.status_code == 200
    assert set(single.json()) == BASIC
    assert other["email"] not in single.text and other["email"] not in listed.text


def test_a_user_still_reads_their_own_record(server, pair):
    _one, two, me = pair
    assert set(me) >= PRIVATE
    assert me["email"].endswith("@example.com") and me["is_superuser"] is False
    own = two.get(f"/api/users/{me['id']}")
    assert own.status_code == 200
    assert own.json()["email"] == me["email"]


def test_admins_read_everything(server, pair):
    _one, _two, other = pair
    with closing(server.client(ADMIN)) as admin:
        single = admin.get(f"/api/users/{other['id']}").json()
        assert set(single) >= PRIVATE and single["email"] == other["email"]
        found = admin.get("/api/users", params={"username": other["username"]}).json()
        assert found["results"][0]["email"] == other["email"]
        assert set(found["results"][0]) >= PRIVATE


def test_an_admin_is_not_pointed_out_to_others(server):
    with closing(server.client(new_user(server))) as plain:
        admins = plain.get("/api/users", params={"username": ADMIN[0]}).json()["results"]
        assert len(admins) == 1
        assert "is_superuser" not in admins[0] and "groups" not in admins[0]


@LIVE_SDK
def test_cvat_sdk_reads_the_names_only_directory(server, pair):
    """cvat-sdk's models take the names-only entries (CVAT's ``MetaUser`` is either)."""
    pytest.importorskip("cvat_sdk")
    from tests.support.cvat import sdk_client

    _one, _two, other = pair
    me = _person(server)
    with sdk_client(server, me) as client:
        users = {user.username: user for user in client.users.list()}
        assert users[other["username"]].id == other["id"]
        assert users[other["username"]].first_name == "Ada"
        assert client.users.retrieve_current_user().username == me[0]
