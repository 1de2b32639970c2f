"""Runs inside .venv-datumaro: import an extracted export with Datumaro, describe it as JSON.

Usage: python datumaro_read.py DIRECTORY FORMAT  (FORMAT: a Datumaro importer name)
Prints {"labels": [...], "items": [...]} on stdout; an import error is printed
on stderr and exits 1 (the test reads it as the reason).
"""

import json
import os
import sys

import datumaro as dm


def describe(directory: str, fmt: str) -> dict:
    dataset = dm.Dataset.import_from(directory, fmt)
    labels = [label.name for label in dataset.categories()[dm.AnnotationType.label].items]
    items = []
    for item in dataset:
        media = item.media
        path = getattr(media, "path", None)
        annotations = []
        for ann in item.annotations:
            label = labels[ann.label] if getattr(ann, "label", None) is not None else None
            annotations.append(
                {
                    "type": ann.type.name,
                    "label": label,
                    "track_id": ann.attributes.get("track_id"),
                    "points": [round(float(p), 2) for p in getattr(ann, "points", [])],
                }
            )
        items.append(
            {
                "id": item.id,
                "subset": item.subset,
                "path": path,
                "exists": bool(path) and os.path.isfile(path),
                # reading the pixels proves the file is the image Datumaro expects
                "shape": list(media.data.shape[:2]) if path and os.path.isfile(path) else None,
                "annotations": annotations,
            }
        )
    return {"labels": labels, "items": items}


if __name__ == "__main__":
    json.dump(describe(sys.argv[1], sys.argv[2]), sys.stdout)
