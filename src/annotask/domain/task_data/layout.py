"""Where a task's files live inside the data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from annotask.settings import Settings


@dataclass(frozen=True)
class TaskLayout:
    root: Path

    @property
    def upload(self) -> Path:
        """Files the client uploaded, moved here from staging; the pipeline only reads them."""
        return self.root / "upload"

    @property
    def raw(self) -> Path:
        """Media the pipeline made: copies from the share, downloads, extracted archives.
        Rebuilt from scratch by every attempt, so a re-run after a crash starts clean."""
        return self.root / "raw"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.jsonl"

    @property
    def preview(self) -> Path:
        return self.root / "preview.jpeg"

    def chunk(self, quality: str, index: int, ext: str) -> Path:
        return self.root / "chunks" / quality / f"{index:06d}.{ext}"

    @property
    def chunks(self) -> Path:
        return self.root / "chunks"


def task_layout(settings: Settings, task_id: int) -> TaskLayout:
    return TaskLayout(settings.tasks_dir / str(task_id))
