"""``owner_id`` on create: the caller owns what they create unless they are an admin.

Otherwise anyone could plant a task or project in another account (it appears in
the victim's lists, runs with their name, counts against them) or give away work
to hide who made it. CVAT's serializers ignore the field for non-admins too.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from tests.support.resources import new_user, unique, user_id
from tests.support.server import ADMIN

KINDS = {
    "tasks": {"labels": [{"name": "car"}]},
    "projects": {"labels": [{"name": "car"}]},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_user_owns_what_they_create_whatever_owner_id_says(server, kind):
    maker, victim = new_user(server), new_user(server)
    with (
        closing(server.client(maker)) as client,
        closing(server.client(victim)) as other,
        closing(server.client(ADMIN)) as admin,
    ):
        victim_id = user_id(admin, victim[0])
        body = {"name": unique(kind), "owner_id": victim_id, **KINDS[kind]}
        created = client.post(f"/api/{kind}", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["owner"]["username"] == maker[0]
        ident = created.json()["id"]
        assert other.get(f"/api/{kind}/{ident}").status_code == 404
        assert client.get(f"/api/{kind}/{ident}").json()["owner"]["username"] == maker[0]
        # An unknown owner is ignored too: the field is not theirs to set.
        ignored = client.post(f"/api/{kind}", json={**body, "owner_id": 2**31 - 1})
        assert ignored.status_code == 201, ignored.text
        assert ignored.json()["owner"]["username"] == maker[0]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_admin_may_create_for_someone_else(server, kind):
    owner = new_user(server)
    with closing(server.client(ADMIN)) as admin, closing(server.client(owner)) as client:
        body = {"name": unique(kind), "owner_id": user_id(admin, owner[0]), **KINDS[kind]}
        created = admin.post(f"/api/{kind}", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["owner"]["username"] == owner[0]
        assert client.get(f"/api/{kind}/{created.json()['id']}").status_code == 200
        missing = admin.post(f"/api/{kind}", json={**body, "owner_id": 2**31 - 1})
        assert missing.status_code == 400 and "owner_id" in missing.json()
