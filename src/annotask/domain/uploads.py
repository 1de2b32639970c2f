"""Staging areas and resumable (TUS) uploads, for data, annotation and backup files.

Every upload goes to a staging area keyed by its purpose and target (for
example the data of task 7); Upload-Start empties it, bulk and TUS uploads add
files to it, and Upload-Finish hands its files to a background request. TUS
state lives in the database, so an upload resumes after a dropped connection
or a server restart; the bytes are appended to a file in place, never held in
memory.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import Upload
from annotask.domain.errors import (
    NO_SPACE_MESSAGE,
    Conflict,
    InsufficientStorage,
    NotFound,
    ValidationFailed,
    is_disk_full,
)
from annotask.security.errors import UnsafeInput
from annotask.security.paths import safe_client_path, unique_name
from annotask.settings import Settings

if TYPE_CHECKING:
    from annotask.services import Services

STAGED_DIR = "files"
TUS_DIR = "tus"


@dataclass(frozen=True)
class StagingArea:
    """Where the files of one upload session are kept until processing takes them."""

    root: Path

    @property
    def files_dir(self) -> Path:
        return self.root / STAGED_DIR

    def reset(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)

    def ensure(self) -> None:
        self.files_dir.mkdir(parents=True, exist_ok=True)

    def files(self) -> list[str]:
        """Relative names (``a.jpg``, ``cam1/b.jpg``) of the staged files, in arrival order."""
        if not self.files_dir.is_dir():
            return []
        entries = [p for p in self.files_dir.rglob("*") if p.is_file()]
        entries.sort(key=lambda p: (p.stat().st_mtime_ns, p.as_posix()))
        return [p.relative_to(self.files_dir).as_posix() for p in entries]

    def new_file(self, client_name: str) -> Path:
        """A path for a file the client names: its safe relative name, made unique."""
        try:
            name = safe_client_path(client_name)
        except UnsafeInput as exc:
            raise ValidationFailed({"client_files": [str(exc)]}) from exc
        directory, base = self.prepare_directory(name, "client_files")
        return directory / unique_name(directory, base)

    def prepare_directory(self, name: str, field: str) -> tuple[Path, str]:
        """Create the folders of a relative name; returns (its directory, its base name)."""
        parent, _, base = name.rpartition("/")
        directory = self.files_dir / parent if parent else self.files_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ValidationFailed(
                {field: [f"{name}: a file with the name of one of its folders was uploaded."]}
            ) from exc
        return directory, base

    def take(self, destination: Path) -> None:
        """Move the staged files to ``destination`` (the processing step owns them then)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(destination, ignore_errors=True)
        if self.files_dir.is_dir():
            os.replace(self.files_dir, destination)
        else:
            destination.mkdir(parents=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def staging_area(settings: Settings, purpose: str, target_id: int | None) -> StagingArea:
    return StagingArea(settings.uploads_dir / f"{purpose}-{target_id if target_id else 0}")


async def write_stream(path: Path, chunks: AsyncIterator[bytes], limit: int) -> int:
    """Stream a body to ``path`` with a size limit; removes the file when refused."""
    written = 0
    try:
        with open(path, "wb") as out:
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise ValidationFailed(
                        {"client_files": [f"{path.name} is larger than {limit} bytes."]}
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return written


# ---- TUS -------------------------------------------------------------------------


def create_tus_upload(
    db: Session,
    settings: Settings,
    *,
    purpose: str,
    target_id: int | None,
    owner_id: int,
    client_name: str,
    length: int,
) -> tuple[Upload, str]:
    """Register a file to be sent in chunks; returns it and the name it will be stored as."""
    if length < 0:
        raise ValidationFailed({"Upload-Length": "must be a non-negative integer."})
    if length > settings.max_upload_bytes:
        raise ValidationFailed(
            {
                "Upload-Length": "File is larger than the limit of "
                f"{settings.max_upload_bytes} bytes."
            }
        )
    try:
        name = safe_client_path(client_name)
    except UnsafeInput as exc:
        raise ValidationFailed({"Upload-Metadata": [str(exc)]}) from exc
    check_free_space(db, settings, length)
    staging = staging_area(settings, purpose, target_id)
    staging.ensure()
    directory, base = staging.prepare_directory(name, "Upload-Metadata")
    prefix = name[: len(name) - len(base)]
    taken = {u.filename for u in _uploads_of(db, purpose, target_id)}
    stored_name = prefix + unique_name(directory, base)
    while stored_name in taken:
        stored_name = prefix + unique_name(directory, f"_{stored_name[len(prefix) :]}")
    upload_id = uuid.uuid4().hex
    tus_dir = settings.uploads_dir / TUS_DIR
    tus_dir.mkdir(parents=True, exist_ok=True)
    path = tus_dir / upload_id
    path.touch()
    upload = Upload(
        id=upload_id,
        purpose=purpose,
        target_id=target_id,
        owner_id=owner_id,
        filename=stored_name,
        length=length,
        offset=0,
        path=str(path),
    )
    db.add(upload)
    if length == 0:
        _complete(db, settings, upload)
    return upload, stored_name


def check_free_space(db: Session, settings: Settings, length: int) -> None:
    """Refuse a file that cannot fit: the free space of the uploads' file system, less
    what unfinished TUS uploads are still owed and ``disk_reserve_bytes``, must hold it.

    Refusing at creation costs the client nothing; finding out after gigabytes
    were sent (or filling the disk the database and chunks share) costs a lot."""
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(settings.uploads_dir).free
    owed = db.scalar(
        select(func.coalesce(func.sum(Upload.length - Upload.offset), 0)).where(
            Upload.offset < Upload.length
        )
    )
    available = free - int(owed or 0) - settings.disk_reserve_bytes
    if length > available:
        raise InsufficientStorage(
            f"No space left on device for this upload: it needs {length} bytes, the server "
            f"has {max(available, 0)} bytes available ({free} free, {int(owed or 0)} promised "
            f"to unfinished uploads, {settings.disk_reserve_bytes} kept in reserve)."
        )


def _uploads_of(db: Session, purpose: str, target_id: int | None) -> list[Upload]:
    return list(
        db.scalars(select(Upload).where(Upload.purpose == purpose, Upload.target_id == target_id))
    )


def get_tus_upload(
    db: Session, upload_id: str, *, purpose: str, target_id: int | None, owner_id: int
) -> Upload:
    upload = db.get(Upload, upload_id)
    if (
        upload is None
        or upload.purpose != purpose
        or upload.target_id != target_id
        or upload.owner_id != owner_id
    ):
        raise NotFound()
    return upload


class OffsetMismatch(Conflict):
    def __init__(self, current: int) -> None:
        super().__init__(f"Upload-Offset mismatch: the server has {current} bytes.")
        self.current = current


async def append_chunk(
    sessions,
    settings: Settings,
    upload_id: str,
    offset: int,
    chunks: AsyncIterator[bytes],
    *,
    purpose: str,
    target_id: int | None,
    owner_id: int,
) -> Upload:
    """Append a PATCH body at ``offset``; the database offset moves only after the bytes
    are on disk, so a dropped connection leaves a consistent, resumable state."""
    with sessions() as db, db.begin():
        upload = get_tus_upload(
            db, upload_id, purpose=purpose, target_id=target_id, owner_id=owner_id
        )
        if offset != upload.offset:
            raise OffsetMismatch(upload.offset)
        length, path = upload.length, Path(upload.path)
    try:
        await _append(sessions, settings, upload_id, path, offset, length, chunks)
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        _remove_upload(sessions, upload_id, path)
        raise InsufficientStorage(
            f"{NO_SPACE_MESSAGE} The partial upload was removed; send it again once space is freed."
        ) from exc
    with sessions() as db:
        refreshed = db.get(Upload, upload_id)
    if refreshed is None:  # completed and moved into staging
        raise NotFound()
    return refreshed


async def _append(
    sessions,
    settings: Settings,
    upload_id: str,
    path: Path,
    offset: int,
    length: int,
    chunks: AsyncIterator[bytes],
) -> None:
    written = 0
    # Unbuffered: ``written`` counts bytes the kernel accepted, never bytes that a
    # later flush could still fail to write (a full disk).
    with open(path, "r+b", buffering=0) as out:
        out.seek(offset)
        out.truncate()
        try:
            async for chunk in chunks:
                if offset + written + len(chunk) > length:
                    raise ValidationFailed({"Upload-Offset": "The chunk goes past Upload-Length."})
                view = memoryview(chunk)
                while view:
                    done = out.write(view)
                    written += done
                    view = view[done:]
        finally:
            os.fsync(out.fileno())
            # Keep whatever arrived before a disconnect: the client resumes from HEAD.
            received = offset + written
            with sessions() as db, db.begin():
                upload = db.get(Upload, upload_id)
                if upload is not None and upload.offset == offset:
                    upload.offset = received
                    upload.updated_date = utcnow()
                    if received == upload.length:
                        _complete(db, settings, upload)


def _remove_upload(sessions, upload_id: str, path: Path) -> None:
    """Drop a failed upload's file (freeing its space first) and then its record."""
    path.unlink(missing_ok=True)
    with sessions() as db, db.begin():
        db.execute(delete(Upload).where(Upload.id == upload_id))


def _complete(db: Session, settings: Settings, upload: Upload) -> None:
    """Move a finished TUS file into its staging area; the upload row stays as a
    record of the name until the staging area is taken or reset."""
    staging = staging_area(settings, upload.purpose, upload.target_id)
    staging.ensure()
    target = staging.files_dir / upload.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload.path, target)
    upload.path = str(target)


def tus_offset(upload: Upload) -> int:
    return upload.offset


def forget_uploads(db: Session, purpose: str, target_id: int | None) -> None:
    """Drop the TUS records of a staging area (after Upload-Start or Upload-Finish)."""
    for upload in _uploads_of(db, purpose, target_id):
        if upload.offset < upload.length:
            Path(upload.path).unlink(missing_ok=True)
    db.execute(delete(Upload).where(Upload.purpose == purpose, Upload.target_id == target_id))


# ---- commands: each in its own transaction (the routes stream bodies between them) ----


@dataclass(frozen=True)
class UploadTarget:
    """Whose staging area an upload fills: its purpose, target (a task, job, project,
    or the user for restores) and the user sending it."""

    purpose: str
    target_id: int
    owner_id: int


def begin_staging(services: Services, target: UploadTarget) -> StagingArea:
    """Upload-Start (and a one-shot upload): forget the area's TUS uploads and empty it."""
    with services.sessions() as db, db.begin():
        forget_uploads(db, target.purpose, target.target_id)
    staging = staging_area(services.settings, target.purpose, target.target_id)
    staging.reset()
    return staging


def open_tus_upload(
    services: Services, target: UploadTarget, client_name: str, length: int
) -> tuple[str, str]:
    """TUS create: the new upload's id and the name its file will be stored as."""
    with services.sessions() as db, db.begin():
        upload, stored = create_tus_upload(
            db,
            services.settings,
            purpose=target.purpose,
            target_id=target.target_id,
            owner_id=target.owner_id,
            client_name=client_name,
            length=length,
        )
        return upload.id, stored


def tus_progress(services: Services, target: UploadTarget, upload_id: str) -> tuple[int, int]:
    """TUS HEAD: the upload's offset and length (404 for another target's or user's)."""
    with services.read_sessions() as db, db.begin():
        upload = get_tus_upload(
            db,
            upload_id,
            purpose=target.purpose,
            target_id=target.target_id,
            owner_id=target.owner_id,
        )
        return upload.offset, upload.length


def purge_abandoned(db: Session, settings: Settings) -> int:
    """Remove uploads untouched for ``upload_expiry_hours``: TUS uploads by their
    record, and staging areas (bulk files of an upload never finished) by their age.
    Returns how many were removed."""
    cutoff = utcnow() - timedelta(hours=settings.upload_expiry_hours)
    removed = 0
    stale = list(db.scalars(select(Upload).where(Upload.updated_date < cutoff)))
    for upload in stale:
        staging_area(settings, upload.purpose, upload.target_id).remove()
        Path(upload.path).unlink(missing_ok=True)
        db.delete(upload)
        removed += 1
    live = {Path(u.path).name for u in db.scalars(select(Upload))}
    oldest = cutoff.timestamp()
    if settings.uploads_dir.is_dir():
        for entry in settings.uploads_dir.iterdir():
            if entry.name == TUS_DIR:
                for part in entry.iterdir():
                    if part.name not in live and part.stat().st_mtime < oldest:
                        part.unlink(missing_ok=True)
                        removed += 1
            elif entry.is_dir() and _newest_mtime(entry) < oldest:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


def _newest_mtime(directory: Path) -> float:
    newest = directory.stat().st_mtime
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
    return newest
