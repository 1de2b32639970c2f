"""``annotask check``: each dependency tested on its own, each failure named."""

from __future__ import annotations

import difflib
import os
import uuid
from collections.abc import Callable, Mapping

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from annotask.settings import Settings

PREFIX = "ANNOTASK_"
# Variables of ours that are not settings: set by annotask for its own children.
INTERNAL_VARIABLES = frozenset({"ANNOTASK_SUPERVISOR_PID"})


class Skipped(Exception):
    """A check that cannot run because another one failed (that one is the failure)."""


def describe_invalid_settings(exc: ValidationError) -> str:
    """One line naming each malformed variable and why, for an operator (no traceback).

    Values of secrets are never repeated."""
    problems = []
    for error in exc.errors():
        message = error["msg"]
        if not error["loc"]:  # a rule across settings (model validator)
            problems.append(message.removeprefix("Value error, "))
            continue
        name = PREFIX + "_".join(str(part) for part in error["loc"]).upper()
        value = "" if "SECRET" in name else f"={error.get('input')!r}"
        problems.append(f"{name}{value}: {message}")
    return "; ".join(problems)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """Warnings for ``ANNOTASK_*`` variables that are no setting (a typo is otherwise
    silently ignored), each with the nearest setting's name when one is close."""
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper in INTERNAL_VARIABLES:
            continue
        close = difflib.get_close_matches(upper, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a setting and is ignored{hint}")
    return warnings


def run_checks(
    settings: Settings,
    out: Callable[[str], None] = print,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Run every check, print one line each, and return the names that failed.

    Nothing is created where nothing is: a missing data directory is reported,
    and the checks that would make files in it (SQLite database, embedded queue,
    disk cache) are skipped instead of creating it."""
    failures: list[str] = []
    data_dir_exists = settings.data_dir.is_dir()
    skipped = "needs the data dir, which does not exist"

    def check(name: str, fn: Callable[[], str]) -> None:
        try:
            detail = fn()
            out(f"ok    {name}: {detail}")
        except Skipped as exc:
            out(f"skip  {name}: {exc}")
        except Exception as exc:  # every failure is reported, none stops the others
            failures.append(name)
            out(f"FAIL  {name}: {exc}")

    def data_dir() -> str:
        if not data_dir_exists:
            raise RuntimeError(
                f"{settings.data_dir.absolute()} does not exist: `annotask migrate` creates it"
            )
        probe = settings.data_dir / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
        return str(settings.data_dir.resolve())

    def database() -> str:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        from annotask.db.engine import make_engine
        from annotask.db.migrate import alembic_config

        url = make_url(settings.resolved_database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not data_dir_exists and not settings.database_url:
                raise Skipped(skipped)
            if not os.path.exists(url.database):  # connecting would create an empty file
                raise RuntimeError(f"no database at {url.database}: run `annotask migrate`")
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

        if not settings.queue_url and not data_dir_exists:
            raise Skipped(skipped)
        make_queue(settings.queue_url, str(settings.queue_path), settings.redis_namespace).ping()
        return settings.queue_url or f"embedded ({settings.queue_path})"

    def cache() -> str:
        from annotask.cache import make_cache

        if not settings.cache_url and not data_dir_exists:
            raise Skipped(skipped)
        make_cache(settings).ping()
        return settings.cache_url or f"disk ({settings.cache_dir})"

    def storage() -> str:
        # A probe object written, read back and deleted: proves the credentials,
        # the bucket (or directory) and every permission task data will need.
        from annotask.storage import make_storage, read_all

        if not settings.storage_url and not data_dir_exists:
            raise Skipped(skipped)
        store = make_storage(settings)
        where = store.describe()
        key = f".annotask-check-{uuid.uuid4().hex}"
        body = os.urandom(32)
        try:
            store.write(key, body)
            try:
                if read_all(store, key) != body:
                    raise RuntimeError("the probe object read back differs from what was written")
            finally:
                store.delete(key)
            if store.exists(key):
                raise RuntimeError("the probe object is still there after its delete")
        except Exception as exc:
            raise RuntimeError(f"{where}: {exc}") from exc
        return f"{where} (probe written, read back, deleted)"

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
    for warning in unknown_variables(os.environ if environ is None else environ):
        out(f"warn  settings: {warning}")
    check("data dir", data_dir)
    check("database", database)
    check("queue", queue)
    check("cache", cache)
    check("storage", storage)
    check("share", share)
    check("jpeg transcoder", jpeg_transcoder)
    check("jpeg headers", jpeg_headers)
    check("dataset repositories", dataset_repositories)
    return failures
