"""HTTP Basic: a verified credential is remembered briefly, so Argon2 does not run on
every request, while a password change or a deactivation still takes effect at once.

In-process (the counter of Argon2 verifications lives in the server's process), through
the real app on a real SQLite database.
"""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from annotask.app import create_app
from annotask.db.migrate import upgrade
from annotask.db.models import User
from annotask.domain.passwords import verifications
from annotask.domain.users import create_user, set_password
from annotask.services import Services
from annotask.settings import Settings


def _basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def app_services(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    services = Services(settings)
    with services.sessions() as db, db.begin():
        create_user(db, "ann", "first-password")
    with TestClient(create_app(services=services)) as client:
        yield client, services


def _me(client: TestClient, name: str, password: str) -> int:
    return client.get("/api/users/self", headers=_basic(name, password)).status_code


def test_second_request_skips_argon2(app_services):
    client, _ = app_services
    before = verifications()
    assert _me(client, "ann", "first-password") == 200
    assert verifications() == before + 1
    for _ in range(3):
        assert _me(client, "ann", "first-password") == 200
    assert verifications() == before + 1


def test_failed_attempts_are_never_remembered(app_services):
    client, _ = app_services
    before = verifications()
    assert _me(client, "ann", "wrong") == 401
    assert _me(client, "ann", "wrong") == 401
    assert _me(client, "nobody", "wrong") == 401
    assert verifications() == before + 3


def test_password_change_takes_effect_at_once(app_services):
    client, services = app_services
    assert _me(client, "ann", "first-password") == 200
    assert _me(client, "ann", "first-password") == 200  # remembered now
    with services.sessions() as db, db.begin():
        set_password(db, "ann", "second-password")
    assert _me(client, "ann", "first-password") == 401
    assert _me(client, "ann", "second-password") == 200


def test_deactivation_takes_effect_at_once(app_services):
    client, services = app_services
    assert _me(client, "ann", "first-password") == 200
    assert _me(client, "ann", "first-password") == 200
    with services.sessions() as db, db.begin():
        db.execute(update(User).where(User.username == "ann").values(is_active=False))
    assert _me(client, "ann", "first-password") == 401


def test_zero_seconds_verifies_every_request(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", basic_auth_cache_seconds=0)
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    services = Services(settings)
    with services.sessions() as db, db.begin():
        create_user(db, "ann", "first-password")
    with TestClient(create_app(services=services)) as client:
        before = verifications()
        assert _me(client, "ann", "first-password") == 200
        assert _me(client, "ann", "first-password") == 200
        assert verifications() == before + 2


def test_remembered_credential_expires():
    from types import SimpleNamespace

    from annotask.domain.auth import VerifiedCredentials

    now = [100.0]
    memory = VerifiedCredentials(60, clock=lambda: now[0])
    user = SimpleNamespace(id=1, password_hash="$argon2id$stored")
    memory.remember(user, "pw")
    assert memory.known(user, "pw")
    assert not memory.known(user, "other")
    assert not memory.known(SimpleNamespace(id=1, password_hash="$argon2id$new"), "pw")
    now[0] += 61
    assert not memory.known(user, "pw")
