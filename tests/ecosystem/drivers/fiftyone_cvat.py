"""Runs inside .venv-fiftyone: FiftyOne's CVAT backend, one step per call.

Usage: python fiftyone_cvat.py STEP JSON
  annotate  {"dataset", "media": "image"|"video", "files": [...], "anno_key",
             "label_field", "label_type", "classes", "project_name"?, "segment_size"?}
            make a persistent dataset of the files and send it to CVAT
            (``dataset.annotate(..., backend="cvat")``); prints the run's
            task, job and project ids.
  load      {"dataset", "anno_key", "label_field", "media"}
            ``load_annotations`` (which also deletes the server's tasks), then
            ``delete_annotation_run``; prints the labels per sample (and frame).
  drop      {"dataset"}  delete the dataset.

The server comes from FIFTYONE_CVAT_URL/_USERNAME/_PASSWORD; the database
from FIFTYONE_DATABASE_URI. Output: one JSON line on stdout.
"""

import json
import sys

import fiftyone as fo


def annotate(args: dict) -> dict:
    if fo.dataset_exists(args["dataset"]):
        fo.delete_dataset(args["dataset"])
    dataset = fo.Dataset(args["dataset"], persistent=True)
    dataset.add_samples([fo.Sample(filepath=path) for path in args["files"]])
    dataset.compute_metadata()
    options = {}
    if args.get("project_name"):
        options["project_name"] = args["project_name"]
    if args.get("segment_size"):
        options["segment_size"] = args["segment_size"]
    dataset.annotate(
        args["anno_key"],
        backend="cvat",
        label_field=args["label_field"],
        label_type=args["label_type"],
        classes=args["classes"],
        launch_editor=False,
        **options,
    )
    results = dataset.load_annotation_results(args["anno_key"])
    samples = {sample.id: sample.filepath for sample in dataset}
    return {
        "task_ids": list(results.task_ids),
        "job_ids": {str(k): list(v) for k, v in results.job_ids.items()},
        "project_ids": list(results.project_ids or []),
        # task id -> {frame number in the task: file path}
        "frames": {
            str(task): {str(frame): samples[sample_id] for frame, sample_id in _frames(ids)}
            for task, ids in results.frame_id_map.items()
        },
        "runs": dataset.list_annotation_runs(),
    }


def _frames(ids: dict):
    for frame, entry in ids.items():
        yield int(frame), entry["sample_id"]


def load(args: dict) -> dict:
    dataset = fo.load_dataset(args["dataset"])
    key, field = args["anno_key"], args["label_field"]
    dataset.load_annotations(key, cleanup=True)
    dataset.delete_annotation_run(key)
    out = {}
    for sample in dataset:
        if args["media"] == "video":
            frame_field = field.split(".", 1)[1]
            out[sample.filepath] = {
                str(number): _labels(frame[frame_field]) for number, frame in sample.frames.items()
            }
        else:
            out[sample.filepath] = _labels(sample[field])
    return {"samples": out, "runs": dataset.list_annotation_runs()}


def _labels(value) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, fo.Classification):
        return [{"label": value.label}]
    if isinstance(value, fo.Classifications):
        return [{"label": c.label} for c in value.classifications]
    return [
        {
            "label": d.label,
            "box": [round(v, 4) for v in d.bounding_box],
            "index": d.index,
        }
        for d in value.detections
    ]


def drop(args: dict) -> dict:
    if fo.dataset_exists(args["dataset"]):
        fo.delete_dataset(args["dataset"])
    return {}


if __name__ == "__main__":
    step, body = sys.argv[1], json.loads(sys.argv[2])
    result = {"annotate": annotate, "load": load, "drop": drop}[step](body)
    print(json.dumps(result))
