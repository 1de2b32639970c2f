"""Format names: CVAT's list, the names the official clients send by default, aliases."""

from __future__ import annotations

import argparse
import inspect

import pytest

from annotask.formats.registry import (
    UnknownFormat,
    dataset_formats,
    find_exporter,
    find_importer,
)


def test_dataset_formats_body() -> None:
    body = dataset_formats()
    assert set(body) == {"importers", "exporters"}
    assert [f["name"] for f in body["importers"]] == ["CVAT 1.1", "COCO 1.0"]
    assert [f["name"] for f in body["exporters"]] == [
        "CVAT for video 1.1",
        "CVAT for images 1.1",
        "COCO 1.0",
    ]
    for entry in body["importers"] + body["exporters"]:
        assert list(entry) == ["name", "ext", "version", "enabled", "dimension"]
        assert entry["enabled"] is True and entry["dimension"] == "2d"
        assert entry["name"].endswith(entry["version"])
    assert body["importers"][0]["ext"] == "XML, ZIP"
    assert body["importers"][1]["ext"] == "JSON, ZIP"


def test_cvat_cli_defaults_are_known_names() -> None:
    tasks = pytest.importorskip("cvat_cli._internal.commands_tasks")
    parser = argparse.ArgumentParser()
    tasks.TaskExportDataset().configure_parser(parser)
    export_default = parser.get_default("fileformat")
    assert export_default == "CVAT for images 1.1"
    assert find_exporter(export_default).name == "CVAT for images 1.1"

    parser = argparse.ArgumentParser()
    tasks.TaskImportDataset().configure_parser(parser)
    assert find_importer(parser.get_default("fileformat")).name == "CVAT 1.1"

    parser = argparse.ArgumentParser()
    tasks.TaskCreate().configure_parser(parser)
    assert find_importer(parser.get_default("annotation_format")).name == "CVAT 1.1"


def test_sdk_legacy_default_is_an_alias() -> None:
    proxies = pytest.importorskip("cvat_sdk.core.proxies.tasks")
    default = inspect.signature(proxies.TasksRepo.create_from_data).parameters["annotation_format"]
    assert default.default == "CVAT XML 1.1"
    assert find_importer(default.default).name == "CVAT 1.1"


def test_lookup_is_exact_first_then_case_insensitive() -> None:
    assert find_exporter("coco 1.0").name == "COCO 1.0"
    assert find_importer("COCO 1.0").load is not None
    assert find_exporter("CVAT for video 1.1").dump is not None


def test_unknown_names_raise_a_readable_key_error() -> None:
    with pytest.raises(KeyError) as caught:
        find_importer("YOLO 1.1")
    assert isinstance(caught.value, UnknownFormat)
    assert str(caught.value) == "Unknown import format 'YOLO 1.1'. Available: CVAT 1.1, COCO 1.0."
    with pytest.raises(UnknownFormat, match="CVAT for images 1.1"):
        find_exporter("CVAT 1.1")  # an importer name only
