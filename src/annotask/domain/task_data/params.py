"""The data parameters of ``POST /api/tasks/{id}/data/`` (spec 1.5, 1.6; semantics 1b).

Validated when the upload finishes, so a bad value is a 400 naming the field
before any work is queued; the creation job reads the same model back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from annotask.domain.bodies import LenientModel, note_ignored
from annotask.media.errors import MediaError
from annotask.media.frame_range import parse_frame_filter

NOT_SUPPORTED = {
    "cloud_storage_id": "Cloud storages are not supported yet: upload the files, or use "
    "server_files or remote_files.",
    "validation_params": "Validation frames (honeypots) are not supported yet.",
    "storage": "Cloud storages are not supported yet: use storage 'local' or 'share'.",
}

#: Frame numbers and sizes are 32-bit columns; larger values are refused here
#: rather than by the database.
MAX_INT32 = 2**31 - 1

SortingMethod = Literal["lexicographical", "natural", "predefined", "random"]


class DataParams(LenientModel):
    """Unknown fields are ignored (``annotask.domain.bodies``); options annotask does
    not implement yet are refused with a message saying so."""

    image_quality: int = Field(default=70, ge=1, le=100)
    use_zip_chunks: bool = False
    use_cache: bool = False
    copy_data: bool = False
    storage_method: Literal["cache", "file_system"] | None = None
    storage: Literal["local", "share", "cloud_storage"] | None = None
    chunk_size: int | None = Field(default=None, ge=1, le=MAX_INT32)
    start_frame: int = Field(default=0, ge=0, le=MAX_INT32)
    stop_frame: int | None = Field(default=None, ge=0, le=MAX_INT32)
    frame_filter: str = Field(default="", max_length=256)
    sorting_method: SortingMethod = "lexicographical"
    server_files: list[str] = Field(default_factory=list)
    server_files_exclude: list[str] = Field(default_factory=list)
    remote_files: list[str] = Field(default_factory=list)
    job_file_mapping: list[list[str]] | None = None
    upload_file_order: list[str] = Field(default_factory=list)
    # Accepted only with their "not used" values until annotask implements them.
    cloud_storage_id: Any = None
    validation_params: Any = None
    # CVAT uses it only to pick files of a cloud storage: ignored everywhere else.
    filename_pattern: Any = None
    # Filled by the server: the staged client file names, in arrival order.
    client_files: list[str] = Field(default_factory=list)
    # Seed for ``random`` sorting, chosen once so a re-run orders the same way.
    random_seed: int | None = Field(default=None, ge=0, le=2**63 - 1)

    @field_validator("cloud_storage_id", "validation_params")
    @classmethod
    def _not_supported_yet(cls, value, info: ValidationInfo):
        if value is not None:
            assert info.field_name is not None  # a field validator always names its field
            raise PydanticCustomError("not_supported", NOT_SUPPORTED[info.field_name])
        return None

    @field_validator("storage")
    @classmethod
    def _no_cloud_storage_yet(cls, value):
        if value == "cloud_storage":
            raise PydanticCustomError("not_supported", NOT_SUPPORTED["storage"])
        return value

    @field_validator("filename_pattern")
    @classmethod
    def _ignored_filename_pattern(cls, value):
        if value is not None:
            note_ignored("DataParams", ["filename_pattern"])
        return None

    @field_validator("chunk_size", mode="before")
    @classmethod
    def _zero_chunk_size_is_auto(cls, value):
        return None if value == 0 else value

    @field_validator("stop_frame", mode="before")
    @classmethod
    def _zero_stop_is_the_end(cls, value):
        return None if value == 0 else value

    @field_validator("frame_filter")
    @classmethod
    def _frame_filter(cls, value: str) -> str:
        try:
            parse_frame_filter(value)
        except MediaError as exc:
            raise ValueError(exc.message) from exc
        return value

    @model_validator(mode="after")
    def _combinations(self) -> DataParams:
        if self.stop_frame is not None and self.stop_frame < self.start_frame:
            raise ValueError("Stop frame must be more or equal start frame")
        if self.job_file_mapping is not None:
            _check_job_file_mapping(self)
        return self

    @property
    def frame_step(self) -> int:
        """The step of ``frame_filter`` (read once per creation, into the plan)."""
        return stored_frame_step(self.frame_filter)

    @property
    def uses_cache(self) -> bool:
        return self.use_cache or self.storage_method == "cache"


def stored_frame_step(frame_filter: str | None) -> int:
    """The frame step that ``frame_filter`` (``step=N``) names.

    ``Data.frame_filter`` is the one place a task's step is stored (CVAT's API
    returns it as given); everything that needs the step reads it through here.
    """
    return parse_frame_filter(frame_filter)


def _check_job_file_mapping(params: DataParams) -> None:
    mapping = params.job_file_mapping or []
    if not mapping or any(not job for job in mapping):
        raise ValueError("job_file_mapping cannot be empty")
    seen: set[str] = set()
    for job in mapping:
        for name in job:
            if name in seen:
                raise ValueError(
                    f"The same file '{name}' cannot be used multiple times in the job file mapping"
                )
            seen.add(name)
    if params.sorting_method != "lexicographical" and params.sorting_method != "predefined":
        raise ValueError(
            "job_file_mapping can't be used with sorting methods other than lexicographical"
        )
    if params.start_frame or params.stop_frame is not None or params.frame_step != 1:
        raise ValueError(
            "job_file_mapping can't be used with start_frame, stop_frame or frame_filter"
        )
    if params.server_files_exclude:
        raise ValueError("job_file_mapping can't be used with server_files_exclude")
