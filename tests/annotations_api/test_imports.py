"""Imports and exports through the server (spec 2.8, 2.9): round trips in every format,
hand-written CVAT XML, values CVAT accepts, bad files that change nothing, and what an
overlap merge exports.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from xml.etree import ElementTree

import pytest

from tests.annotations_api.helpers import (
    attribute_id,
    box,
    label_id,
    make_task,
    upload_file,
    wait_request,
)
from tests.support.route_servers import BACKGROUND_REQUESTS

pytestmark = BACKGROUND_REQUESTS

LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]},
            {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "1"]},
            {"name": "parked", "mutable": True, "input_type": "checkbox", "values": ["false"]},
            {"name": "note", "mutable": False, "input_type": "text", "values": [""]},
        ],
    },
    {"name": "person"},
    {"name": "sunny", "type": "tag"},
]


def export(client, task_id: int, fmt: str) -> bytes:
    started = client.post(
        f"/api/tasks/{task_id}/dataset/export",
        params={"format": fmt, "save_images": "False", "location": "local"},
        headers={"Content-Type": "application/json"},
    )
    assert started.status_code == 202, started.text
    done = wait_request(client, started.json()["rq_id"])
    assert done["status"] == "finished", done
    return client.get(done["result_url"]).content


def member(content: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(content)).read(name)


def import_file(client, task_id: int, name: str, content: bytes, fmt: str) -> dict:
    url = f"/api/tasks/{task_id}/annotations/"
    started = upload_file(client, url, name, content, {"format": fmt})
    assert started.status_code == 202, started.text
    return wait_request(client, started.json()["rq_id"])


def canonical_xml(text: bytes) -> str:
    """The document without what differs between two tasks (ids, segments, dates), without
    ``source`` (an imported object's source is "file", as in CVAT), and with each object's
    ``<attribute>`` children sorted by name (a shape exported as a track lists its attributes
    in label order, a re-imported track its mutable ones first, as CVAT does)."""
    root = ElementTree.fromstring(text)
    meta = root.find("meta")
    assert meta is not None
    for parent in meta.iter():
        for child in list(parent):
            if child.tag in ("id", "created", "updated", "dumped", "segments", "source"):
                parent.remove(child)
    for el in root.iter():
        el.attrib.pop("source", None)
        attributes = [c for c in el if c.tag == "attribute"]
        if attributes and el.tag != "attributes":
            for child in attributes:
                el.remove(child)
            el.extend(sorted(attributes, key=lambda c: c.get("name", "")))
    return ElementTree.canonicalize(ElementTree.tostring(root, encoding="unicode"))


def rich_annotations(task: dict) -> dict:
    car, person, sunny = (label_id(task, n) for n in ("car", "person", "sunny"))
    color, speed, parked, note = (
        attribute_id(task, "car", n) for n in ("color", "speed", "parked", "note")
    )
    attrs = [
        {"spec_id": color, "value": "blue"},
        {"spec_id": speed, "value": "42"},
        {"spec_id": parked, "value": "true"},
        {"spec_id": note, "value": 'a "quoted" <note> & more'},
    ]
    return {
        "tags": [{"frame": 1, "label_id": sunny, "attributes": []}],
        "shapes": [
            box(car, 0, [1.5, 2.25, 30, 20], attributes=attrs, occluded=True, z_order=2),
            box(person, 1, [3, 4, 20, 30], rotation=30.0, group=1),
            {"type": "polygon", "frame": 0, "label_id": person, "points": [1, 1, 20, 1, 10, 15]},
            {"type": "polyline", "frame": 1, "label_id": person, "points": [1, 1, 20, 5, 9, 9]},
            {"type": "points", "frame": 2, "label_id": person, "points": [3, 3, 7, 8]},
            {"type": "ellipse", "frame": 2, "label_id": car, "points": [20, 20, 30, 15]},
        ],
        "tracks": [
            {
                "frame": 0,
                "label_id": car,
                "attributes": [{"spec_id": color, "value": "red"}],
                "shapes": [
                    {
                        "type": "rectangle",
                        "frame": 0,
                        "points": [0, 0, 10, 10],
                        "attributes": [{"spec_id": speed, "value": "3"}],
                    },
                    {
                        "type": "rectangle",
                        "frame": 2,
                        "points": [10, 10, 30, 30],
                        "attributes": [{"spec_id": speed, "value": "9"}],
                    },
                    {"type": "rectangle", "frame": 3, "points": [10, 10, 30, 30], "outside": True},
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("fmt", "file"),
    [("CVAT for images 1.1", "annotations.xml"), ("CVAT for video 1.1", "annotations.xml")],
)
def test_cvat_xml_round_trip_through_the_server(server, admin, fmt, file):
    source = make_task(admin, 4, name="rt", labels=LABELS)
    put = admin.put(f"/api/tasks/{source['id']}/annotations/", json=rich_annotations(source))
    assert put.status_code == 200, put.text
    first = export(admin, source["id"], fmt)
    fresh = make_task(admin, 4, name="rt", labels=LABELS)
    done = import_file(admin, fresh["id"], "export.zip", first, "CVAT 1.1")
    assert done["status"] == "finished" and done["message"] == "", done
    second = export(admin, fresh["id"], fmt)
    one, two = canonical_xml(member(first, file)), canonical_xml(member(second, file))
    assert one.splitlines() == two.splitlines()
    for tag in ("<box", "<polygon", "<polyline", "<points", "<ellipse", "quoted"):
        assert tag in one, tag
    assert ("<tag" in one) == (fmt == "CVAT for images 1.1")  # the video format has no tags
    if fmt == "CVAT for video 1.1":  # the track is still one track with its keyframes
        tracks = admin.get(f"/api/tasks/{fresh['id']}/annotations/").json()["tracks"]
        keyframes = [[s["frame"] for s in t["shapes"]] for t in tracks if len(t["shapes"]) > 2]
        assert keyframes == [[0, 2, 3]]


def test_coco_round_trip_through_the_server(server, admin):
    """COCO holds boxes, polygons and masks with their attributes, tracks frame by frame;
    points, polylines, ellipses and tags are not exported (docs/annotations.md)."""
    source = make_task(admin, 4, name="rt", labels=LABELS)
    put = admin.put(f"/api/tasks/{source['id']}/annotations/", json=rich_annotations(source))
    assert put.status_code == 200, put.text
    first = export(admin, source["id"], "COCO 1.0")
    fresh = make_task(admin, 4, name="rt", labels=LABELS)
    done = import_file(admin, fresh["id"], "export.zip", first, "COCO 1.0")
    assert done["status"] == "finished", done
    second = export(admin, fresh["id"], "COCO 1.0")
    name = "annotations/instances_default.json"
    one, two = json.loads(member(first, name)), json.loads(member(second, name))
    for doc in (one, two):
        doc["info"].pop("date_created", None)
    # a track comes back as its shapes, frame by frame (as in CVAT): no track_id/keyframe
    tracked = [a for a in one["annotations"] if "track_id" in a["attributes"]]
    assert [a["image_id"] for a in tracked] == [1, 2, 3]
    for ann in tracked:
        del ann["attributes"]["track_id"], ann["attributes"]["keyframe"]
    assert one == two
    assert len(one["annotations"]) == 2 + 1 + 3  # 2 boxes, 1 polygon, the track on 0..2


IMAGES_DOC = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <name>written by hand</name>
      <size>3</size>
      <mode>annotation</mode>
      <labels>
        <label><name>car</name><type>any</type><attributes>
          <attribute><name>color</name><mutable>False</mutable><input_type>select</input_type>
            <default_value>red</default_value><values>red
blue</values></attribute>
        </attributes></label>
      </labels>
    </task>
  </meta>
  <image id="0" name="f0.jpg" width="64" height="48">
    <box label="car" source="manual" occluded="1" xtl="1.00" ytl="2.00" xbr="11.50" ybr="12.00"
         z_order="1" rotation="15.0">
      <attribute name="color">blue</attribute>
      <attribute name="parked">True</attribute>
    </box>
    <tag label="sunny" source="manual"></tag>
  </image>
  <image id="1" name="f1.jpg" width="65" height="49">
    <polygon label="person" occluded="0" points="1.00,1.00;20.00,1.00;10.00,15.00" z_order="0"/>
    <polyline label="person" occluded="0" points="1.00,1.00;20.00,5.00" z_order="0"/>
    <points label="person" occluded="0" points="3.00,3.00" z_order="0"/>
    <ellipse label="car" occluded="0" cx="20.00" cy="20.00" rx="5.00" ry="3.00" z_order="0"/>
  </image>
  <image id="2" name="f2.jpg" width="66" height="50"></image>
</annotations>
"""

VIDEO_DOC = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>hand</name><size>3</size><start_frame>0</start_frame>
    <stop_frame>2</stop_frame></task></meta>
  <track id="0" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="0" ytl="0" xbr="10" ybr="10"
         z_order="0"><attribute name="color">blue</attribute><attribute name="speed">5</attribute>
    </box>
    <box frame="1" keyframe="0" outside="0" occluded="0" xtl="5" ytl="5" xbr="15" ybr="15"
         z_order="0"><attribute name="color">blue</attribute><attribute name="speed">5</attribute>
    </box>
    <box frame="2" keyframe="1" outside="1" occluded="0" xtl="10" ytl="10" xbr="20" ybr="20"
         z_order="0"><attribute name="color">blue</attribute><attribute name="speed">7</attribute>
    </box>
  </track>
</annotations>
"""


def test_hand_written_cvat_xml_imports(server, admin):
    task = make_task(admin, 3, labels=LABELS)
    done = import_file(admin, task["id"], "hand.xml", IMAGES_DOC.encode(), "CVAT 1.1")
    assert done["status"] == "finished", done
    got = admin.get(f"/api/tasks/{task['id']}/annotations/").json()
    car, person, sunny = (label_id(task, n) for n in ("car", "person", "sunny"))
    color, parked = attribute_id(task, "car", "color"), attribute_id(task, "car", "parked")
    shapes = {s["type"]: s for s in got["shapes"]}
    assert set(shapes) == {"rectangle", "polygon", "polyline", "points", "ellipse"}
    rect = shapes["rectangle"]
    assert (rect["frame"], rect["label_id"], rect["points"]) == (0, car, [1.0, 2.0, 11.5, 12.0])
    assert (rect["occluded"], rect["z_order"], rect["rotation"]) == (True, 1, 15.0)
    assert sorted((a["spec_id"], a["value"]) for a in rect["attributes"]) == sorted(
        [(color, "blue"), (parked, "true")]
    )
    assert shapes["polygon"]["points"] == [1.0, 1.0, 20.0, 1.0, 10.0, 15.0]
    assert shapes["polyline"]["frame"] == 1 and shapes["polyline"]["label_id"] == person
    assert shapes["ellipse"]["points"] == [20.0, 20.0, 25.0, 17.0]
    assert [(t["frame"], t["label_id"]) for t in got["tags"]] == [(0, sunny)]

    done = import_file(admin, task["id"], "video.xml", VIDEO_DOC.encode(), "CVAT 1.1")
    assert done["status"] == "finished", done
    got = admin.get(f"/api/tasks/{task['id']}/annotations/").json()
    assert got["shapes"] == [] and got["tags"] == []  # replace is the default
    (track,) = got["tracks"]
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [(0, False), (2, True)]
    assert track["attributes"] == [{"spec_id": color, "value": "blue"}]


def test_values_cvat_accepts_are_imported_and_the_drops_reported(server, admin):
    task = make_task(admin, 3, labels=LABELS)
    doc = (
        '<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version>'
        '<image id="0" name="f0.jpg" width="64" height="48">'
        '<box label="car" xtl="1" ytl="1" xbr="9" ybr="9" occluded="0">'
        '<attribute name="color">green</attribute><attribute name="speed">250</attribute>'
        '<attribute name="note">kept</attribute></box>'
        '<box label="car" xtl="2" ytl="2" xbr="8" ybr="8" occluded="0">'
        '<attribute name="speed">1.5</attribute></box>'
        "</image></annotations>"
    )
    done = import_file(admin, task["id"], "lax.xml", doc.encode(), "CVAT 1.1")
    assert done["status"] == "finished", done
    message = done["message"]
    assert "3 attribute values dropped" in message, message
    assert '"green"' in message and '"250"' in message and '"1.5"' in message
    shapes = admin.get(f"/api/tasks/{task['id']}/annotations/").json()["shapes"]
    assert len(shapes) == 2
    note = attribute_id(task, "car", "note")
    assert [s["attributes"] for s in shapes] == [[{"spec_id": note, "value": "kept"}], []]


def _truncated_zip(client, task_id: int) -> bytes:
    whole = export(client, task_id, "CVAT for images 1.1")
    return whole[: len(whole) // 2]


def _corrupt_zip_member() -> bytes:
    """A zip whose directory is intact but whose annotations.xml data is garbled."""
    doc = b"<annotations>" + b'<image id="0" name="f0.jpg"></image>' * 200 + b"</annotations>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("annotations.xml", doc)
    data = bytearray(buffer.getvalue())
    for i in range(40, 60):
        data[i] ^= 0xFF
    return bytes(data)


BAD_FILES = {
    "entities": (
        "a.xml",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "boom">]><annotations>&x;</annotations>',
        "CVAT 1.1",
        r"(?i)entit|DTD|DOCTYPE",
    ),
    "wrong structure": (
        "a.xml",
        b'<annotations><image id="0" name="f0.jpg"><box label="car" xtl="x"/></image>'
        b"</annotations>",
        "CVAT 1.1",
        r"xtl|ytl|number",
    ),
    "wrong root": ("a.xml", b"<dataset><item/></dataset>", "CVAT 1.1", r"not a CVAT XML"),
    "not xml": ("a.xml", b"<annotations><image", "CVAT 1.1", r"(?i)xml|parse|malformed|token"),
    "wrong json": ("a.json", b'{"images": 5}', "COCO 1.0", r"(?i)images|coco|json"),
    "unknown labels": (
        "a.xml",
        b'<annotations><image id="0" name="f0.jpg"><box label="truck" xtl="1" ytl="1" '
        b'xbr="2" ybr="2"/><tag label="zebra"/></image></annotations>',
        "CVAT 1.1",
        r"truck.*zebra|zebra.*truck",
    ),
    "frame out of range": (
        "a.xml",
        b'<annotations><track id="0" label="car"><box frame="99" keyframe="1" outside="0" '
        b'occluded="0" xtl="1" ytl="1" xbr="2" ybr="2"/></track></annotations>',
        "CVAT 1.1",
        r"99",
    ),
    "image out of range": (
        "a.xml",
        b'<annotations><image id="7" name="f7.jpg"><box label="car" xtl="1" ytl="1" '
        b'xbr="2" ybr="2"/></image></annotations>',
        "CVAT 1.1",
        r"f7\.jpg",
    ),
    "wrong attribute value": (
        "a.xml",
        b'<annotations><image id="0" name="f0.jpg"><box label="car" xtl="1" ytl="1" '
        b'xbr="2" ybr="2"><attribute name="parked">maybe</attribute></box></image>'
        b"</annotations>",
        "CVAT 1.1",
        r"parked.*maybe|maybe.*parked",
    ),
    "truncated zip": ("a.zip", None, "CVAT 1.1", r"(?i)zip archive.*(damaged|truncated)"),
    "corrupt zip member": ("a.zip", _corrupt_zip_member(), "CVAT 1.1", r"(?i)damaged|truncated"),
}


def test_bad_files_fail_readably_and_change_nothing(server, admin):
    task = make_task(admin, 3, labels=LABELS)
    url = f"/api/tasks/{task['id']}/annotations/"
    car = label_id(task, "car")
    assert admin.put(url, json={"shapes": [box(car, 1, [1, 2, 3, 4])]}).status_code == 200
    before = admin.get(url).json()
    for case, (name, content, fmt, expected) in BAD_FILES.items():
        if content is None:
            content = _truncated_zip(admin, task["id"])
        done = import_file(admin, task["id"], name, content, fmt)
        assert done["status"] == "failed", (case, done)
        message = done["message"]
        assert re.search(expected, message), (case, message)
        assert "Traceback" not in message and len(message) < 2000, (case, message)
        assert admin.get(url).json() == before, case


def test_overlap_exports_polygons_and_tags_once_points_and_polylines_twice(server, admin):
    task = make_task(admin, 5, segment_size=3, overlap=1, labels=LABELS)
    person, sunny = label_id(task, "person"), label_id(task, "sunny")
    a_url, b_url = (f"/api/jobs/{j['id']}/annotations/" for j in task["jobs_list"])

    def shapes(dx: float) -> dict:
        return {
            "tags": [{"frame": 2, "label_id": sunny}],
            "shapes": [
                {
                    "type": "polygon",
                    "frame": 2,
                    "label_id": person,
                    "points": [10 + dx, 10, 50 + dx, 10, 50 + dx, 40, 10 + dx, 40],
                },
                {"type": "points", "frame": 2, "label_id": person, "points": [5, 5]},
                {"type": "polyline", "frame": 2, "label_id": person, "points": [1, 1, 9, 9]},
            ],
        }

    def counts() -> dict:
        xml = member(export(admin, task["id"], "CVAT for images 1.1"), "annotations.xml").decode()
        return {t: len(re.findall(f"<{t} ", xml)) for t in ("polygon", "tag", "points", "polyline")}

    assert admin.put(a_url, json=shapes(0)).status_code == 200
    assert admin.put(b_url, json=shapes(1)).status_code == 200  # IoU 0.95
    assert counts() == {"polygon": 1, "tag": 1, "points": 2, "polyline": 2}
    assert admin.put(b_url, json=shapes(15)).status_code == 200  # IoU 0.45
    assert counts() == {"polygon": 2, "tag": 1, "points": 2, "polyline": 2}
