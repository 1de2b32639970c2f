"""Abandoned uploads are removed after ``upload_expiry_hours``; fresh ones are kept."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from annotask.db.base import utcnow
from annotask.db.migrate import upgrade
from annotask.db.models import Upload, User
from annotask.domain import uploads
from annotask.services import Services
from annotask.settings import Settings


def _age(path, hours: float) -> None:
    old = time.time() - hours * 3600
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            os.utime(os.path.join(dirpath, name), (old, old))
    os.utime(path, (old, old))


def test_abandoned_uploads_are_purged(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", upload_expiry_hours=24)
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    services = Services(settings)
    with services.sessions() as db, db.begin():
        owner = User(username="u")
        db.add(owner)
        db.flush()
        old_tus, _ = uploads.create_tus_upload(
            db,
            settings,
            purpose="task_data",
            target_id=1,
            owner_id=owner.id,
            client_name="old.bin",
            length=10,
        )
        old_tus.updated_date = utcnow() - timedelta(hours=30)
        fresh_tus, _ = uploads.create_tus_upload(
            db,
            settings,
            purpose="task_data",
            target_id=2,
            owner_id=owner.id,
            client_name="new.bin",
            length=10,
        )
        old_tus_path, fresh_tus_path = old_tus.path, fresh_tus.path
    abandoned = uploads.staging_area(settings, "task_data", 3)
    abandoned.reset()
    (abandoned.files_dir / "a.jpg").write_bytes(b"x")
    _age(abandoned.root, 30)
    active = uploads.staging_area(settings, "task_data", 4)
    active.reset()
    (active.files_dir / "b.jpg").write_bytes(b"x")

    with services.sessions() as db, db.begin():
        assert uploads.purge_abandoned(db, settings) >= 2
    with services.sessions() as db:
        remaining = {u.path for u in db.query(Upload)}
    assert old_tus_path not in remaining and not os.path.exists(old_tus_path)
    assert fresh_tus_path in remaining and os.path.exists(fresh_tus_path)
    assert not abandoned.root.exists()
    assert (active.files_dir / "b.jpg").exists()
    services.close()
