"""A login (or a new account, or a new password) does not hold SQLite's write lock
while Argon2 hashes the password.

Found by ``bench/load.py``: the login ran the (deliberately slow) hash inside its
write transaction, so on the embedded default every login stalled every save of
every annotator until the hash was done. Here the real app on a real SQLite file
logs in through HTTP while a hook inside the password check tries to take the
write lock from another connection without waiting: it must get it at once.
"""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from annotask.app import create_app
from annotask.db.migrate import upgrade
from annotask.db.models import User
from annotask.domain import auth, login_throttle, users
from annotask.domain.login_throttle import LoginLimits
from annotask.domain.users import create_user
from annotask.services import Services
from annotask.settings import Settings


@pytest.fixture
def app(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    services = Services(settings)
    with services.sessions() as db, db.begin():
        create_user(db, "ann", "right-password")
    with TestClient(create_app(services=services)) as client:
        yield client, settings.data_dir / "annotask.db"


@pytest.fixture
def lock_seen_during_hash(app, monkeypatch):
    """Runs the real verification, after noting whether another connection could take
    the write lock at that moment (``BEGIN IMMEDIATE`` with no busy wait)."""
    _, path = app
    seen: list[str] = []
    real = auth.verify_password

    def probing(password_hash, password):
        _probe_lock(path, seen)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", probing)
    return seen


def test_a_login_leaves_the_write_lock_free_while_hashing(app, lock_seen_during_hash):
    client, _ = app
    body = {"username": "ann", "password": "right-password"}
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == 200
    assert lock_seen_during_hash == ["free"]
    key = response.json()["key"]
    me = client.get("/api/users/self", headers={"Authorization": f"Token {key}"})
    assert me.status_code == 200 and me.json()["username"] == "ann"


def test_a_refused_login_leaves_the_lock_free_and_still_counts(app, lock_seen_during_hash):
    """The failure is recorded after the hash, in its own write: the throttle still
    refuses once the limit (10 by default) is reached."""
    client, _ = app
    answers = [
        client.post("/api/auth/login", json={"username": "ann", "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert lock_seen_during_hash == ["free"] * 10  # the 11th is throttled before hashing
    assert answers == [400] * 10 + [429]


def _probe_lock(path, seen: list[str]) -> None:
    """Note whether another connection can take the write lock right now, not waiting."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        seen.append("free")
    except sqlite3.OperationalError as exc:
        seen.append(str(exc))
    finally:
        other.close()


def test_new_accounts_and_passwords_are_hashed_before_the_lock(tmp_path, monkeypatch):
    """``annotask users add`` and ``users passwd``: one transaction each, as the CLI runs them."""
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    services = Services(settings)
    path = settings.data_dir / "annotask.db"
    seen: list[str] = []
    real = users.hash_password

    def probing(password):
        _probe_lock(path, seen)
        return real(password)

    monkeypatch.setattr(users, "hash_password", probing)
    with services.sessions() as db, db.begin():
        create_user(db, "bob", "first")
    with services.sessions() as db, db.begin():
        users.set_password(db, "bob", "second")
    assert seen == ["free", "free"]


def test_failures_recorded_while_a_login_hashes_still_throttle_it(app, monkeypatch):
    """The throttle is read before the hash, outside the write lock; guesses sent at
    once all pass that first look. The right password among them is refused when
    the others' failures reached the cap meanwhile: it is checked again before the
    session is written (on the old single-transaction code SQLite serialised them)."""
    client, path = app
    settings = Settings(data_dir=path.parent)
    limits = LoginLimits.from_settings(settings)
    services = Services(settings)
    real = auth.verify_password

    def others_fail_meanwhile(password_hash, password):
        with services.sessions() as db, db.begin():
            user = db.scalar(select(User).where(User.username == "ann"))
            for _ in range(limits.per_address):
                login_throttle.record_failure(
                    db, login_throttle.account_key(user, "ann"), "testclient", limits
                )
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", others_fail_meanwhile)
    try:
        response = client.post(
            "/api/auth/login", json={"username": "ann", "password": "right-password"}
        )
    finally:
        services.close()
    assert response.status_code == 429, response.text
    assert "sessionid" not in response.cookies
