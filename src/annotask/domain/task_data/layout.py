"""Where a task's files live inside the data directory.

``tasks/<id>/upload/`` holds what the client uploaded. What a creation attempt
*generates* (``raw/``, ``chunks/``, ``manifest.jsonl``, ``preview.jpeg``) goes to
that attempt's own directory, ``tasks/<id>/attempts/<request id>-<attempt>/``,
and becomes the task's files when the attempt's fenced commit names it in
``Data.files_dir`` (see ``pipeline.py``). Tasks created before attempts were
staged keep their generated files in the task directory itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from annotask.settings import Settings

ATTEMPTS_DIR = "attempts"
#: ``<request id>-<attempt number>``: a request id is a UUID (letters, digits, ``-``).
ATTEMPT_NAME = re.compile(r"(?P<request>[0-9A-Za-z-]+)-(?P<number>\d+)")


@dataclass(frozen=True)
class TaskLayout:
    root: Path
    files: Path | None = None  # where generated files are; None: the task directory

    @property
    def generated(self) -> Path:
        """The directory of the generated files (an attempt's, or the task's own)."""
        return self.files if self.files is not None else self.root

    @property
    def upload(self) -> Path:
        """Files the client uploaded, moved here from staging; the pipeline only reads them."""
        return self.root / "upload"

    @property
    def raw(self) -> Path:
        """Media the pipeline made: copies from the share, downloads, extracted archives.
        Rebuilt from scratch by every attempt, so a re-run after a crash starts clean."""
        return self.generated / "raw"

    def source_file(self, root: Path, rel: str) -> Path:
        """A source file (frame, video, context image, uploaded manifest) by its path
        relative to the source ``root`` (``upload``, ``raw`` or the share) that
        ``Data.source_root`` names."""
        return root / rel

    def raw_name(self, path: str | Path) -> str:
        """The name, relative to ``raw``, of a file the pipeline wrote there."""
        return Path(path).relative_to(self.raw).as_posix()

    @property
    def manifest(self) -> Path:
        return self.generated / "manifest.jsonl"

    @property
    def preview(self) -> Path:
        return self.generated / "preview.jpeg"

    def chunk(self, quality: str, index: int, ext: str) -> Path:
        return self.generated / "chunks" / quality / f"{index:06d}.{ext}"

    @property
    def chunks(self) -> Path:
        return self.generated / "chunks"

    @property
    def attempts(self) -> Path:
        """Every creation attempt's own directory lives under this one."""
        return self.root / ATTEMPTS_DIR


def task_layout(settings: Settings, task_id: int, files_dir: str | None = None) -> TaskLayout:
    """The task's layout; ``files_dir`` is ``Data.files_dir`` of a task with data."""
    root = settings.tasks_dir / str(task_id)
    return TaskLayout(root, root / files_dir if files_dir else None)


def data_layout(settings: Settings, task_id: int, data) -> TaskLayout:
    """The layout of a task whose ``data`` row (or None) says where its files are."""
    return task_layout(settings, task_id, getattr(data, "files_dir", None))


def attempt_dir_name(request_id: str, number: int) -> str:
    return f"{request_id}-{number}"


def attempt_layout(settings: Settings, task_id: int, request_id: str, number: int) -> TaskLayout:
    """The layout one creation attempt writes into (its own generated-files directory)."""
    return task_layout(settings, task_id, f"{ATTEMPTS_DIR}/{attempt_dir_name(request_id, number)}")
