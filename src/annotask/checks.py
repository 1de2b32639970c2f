"""``annotask check``: each dependency tested on its own, each failure named."""

from __future__ import annotations

import os
from collections.abc import Callable

from sqlalchemy import text

from annotask.settings import Settings


def run_checks(settings: Settings, out: Callable[[str], None] = print) -> list[str]:
    """Run every check, print one line each, and return the names that failed."""
    failures: list[str] = []

    def check(name: str, fn: Callable[[], str]) -> None:
        try:
            detail = fn()
            out(f"ok    {name}: {detail}")
        except Exception as exc:  # every failure is reported, none stops the others
            failures.append(name)
            out(f"FAIL  {name}: {exc}")

    def data_dir() -> str:
        settings.ensure_dirs()
        probe = settings.data_dir / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
        return str(settings.data_dir.resolve())

    def database() -> str:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        from annotask.db.engine import make_engine
        from annotask.db.migrate import alembic_config

        engine = make_engine(settings.resolved_database_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                current = MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()
        head = ScriptDirectory.from_config(
            alembic_config(settings.resolved_database_url)
        ).get_current_head()
        if current != head:
            raise RuntimeError(f"schema at {current}, expected {head}: run `annotask migrate`")
        return f"{engine.url.render_as_string(hide_password=True)} at {current}"

    def queue() -> str:
        from annotask.queue.huey_queue import make_queue

        make_queue(settings.queue_url, str(settings.queue_path), settings.redis_namespace).ping()
        return settings.queue_url or f"embedded ({settings.queue_path})"

    def cache() -> str:
        from annotask.cache import make_cache

        make_cache(settings).ping()
        return settings.cache_url or f"disk ({settings.cache_dir})"

    def share() -> str:
        if settings.share_root is None:
            return "not configured"
        if not settings.share_root.is_dir() or not os.access(settings.share_root, os.R_OK):
            raise RuntimeError(f"{settings.share_root} is not a readable directory")
        return str(settings.share_root)

    def jpeg_transcoder() -> str:
        # Never a failure: without the extension chunks are made through pixels.
        from annotask.media import jpeg_requantize

        if jpeg_requantize.AVAILABLE:
            return "DCT-domain requantizer (libjpeg-turbo extension)"
        return (
            "pixel path only: the extension was not built (install libjpeg62-turbo-dev "
            "and a C compiler, then reinstall) - chunks take about 40% more CPU"
        )

    def jpeg_headers() -> str:
        # Never a failure: without the extension the same walk runs in Python.
        from annotask.media import images

        if images.FAST_HEADERS:
            return "read in C without the GIL (extension)"
        return (
            "read in Python: the extension was not built (install a C compiler, then "
            "reinstall) - creating tasks of many images takes longer"
        )

    def dataset_repositories() -> str:
        # Never a failure: the feature is optional and says itself when it is off.
        from annotask.domain.dataset_repo.git import git_available

        if not settings.git_enabled:
            return "off (ANNOTASK_GIT_ENABLED=false)"
        if not git_available():
            return "unavailable: the git program is not installed"
        local = "on" if settings.git_allow_local else "off"
        return f"git found; local repositories {local}"

    check("settings", lambda: "loaded")
    check("data dir", data_dir)
    check("database", database)
    check("queue", queue)
    check("cache", cache)
    check("share", share)
    check("jpeg transcoder", jpeg_transcoder)
    check("jpeg headers", jpeg_headers)
    check("dataset repositories", dataset_repositories)
    return failures
