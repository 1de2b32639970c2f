"""The one rule for request bodies (``annotask.domain.bodies``): unused fields are
ignored and logged at debug level; used fields keep their checks."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from annotask.api.schemas.tasks import TaskWrite
from annotask.domain.bodies import ignore_unknown
from annotask.domain.task_data.params import DataParams


def test_models_ignore_and_log_unknown_fields(caplog):
    with caplog.at_level(logging.DEBUG, logger="annotask.bodies"):
        task = TaskWrite.model_validate({"name": "t", "image_quality": 70, "url": "x"})
    assert task.name == "t" and not hasattr(task, "image_quality")
    assert "TaskWrite: ignored fields not used by annotask: image_quality, url" in caplog.text
    with pytest.raises(ValidationError):
        TaskWrite.model_validate({"name": "t", "segment_size": "3"})  # used: still strict


def test_hand_parsed_bodies_ignore_and_log_unknown_fields(caplog):
    with caplog.at_level(logging.DEBUG, logger="annotask.bodies"):
        kept = ignore_unknown({"url": "u", "branch": "b"}, ("url", "format"), "repository")
    assert kept == {"url": "u"}
    assert "repository: ignored fields not used by annotask: branch" in caplog.text


def test_data_params_ignore_filename_pattern_and_refuse_what_is_not_supported(caplog):
    with caplog.at_level(logging.DEBUG, logger="annotask.bodies"):
        params = DataParams.model_validate({"filename_pattern": "*.jpg", "newer_option": 1})
    assert params.filename_pattern is None
    assert "filename_pattern" in caplog.text and "newer_option" in caplog.text
    with pytest.raises(ValidationError) as refused:
        DataParams.model_validate({"cloud_storage_id": 3})
    (error,) = refused.value.errors()
    assert error["msg"].startswith("Cloud storages are not supported yet")
