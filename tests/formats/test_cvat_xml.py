"""CVAT XML 1.1: export → import round trips, CVAT's import rules, hostile input."""

from __future__ import annotations

import io
import zipfile

import pytest

from annotask.annotations import AnnotationSet, LabelSet, Shape, Tag, Track, TrackedShape
from annotask.annotations.model import Attribute
from annotask.formats.common import FormatError, FrameInfo
from annotask.formats.cvat_xml import DumpMeta, dump_cvat_images, dump_cvat_video, load_cvat
from annotask.formats.registry import export_archive
from annotask.security import UnsafeInput

LABELS = LabelSet.from_json(
    [
        {
            "id": 1,
            "name": "car",
            "attributes": [
                {"id": 10, "name": "color", "mutable": False, "input_type": "select",
                 "default_value": "red", "values": ["red", "blue"]},
                {"id": 11, "name": "speed", "mutable": True, "input_type": "number",
                 "default_value": "0", "values": ["0", "100", "1"]},
                {"id": 12, "name": "parked", "mutable": True, "input_type": "checkbox",
                 "default_value": "false", "values": ["false"]},
            ],
        },
        {"id": 2, "name": "person", "attributes": []},
        {"id": 3, "name": "body", "type": "skeleton", "attributes": [],
         "sublabels": [{"id": 4, "name": "head", "type": "points"},
                       {"id": 5, "name": "foot", "type": "points"}]},
    ]
)  # fmt: skip

FRAMES = [FrameInfo(i, f"dir/img_{i}.jpg", 640, 480) for i in range(6)]


def meta(mode: str = "annotation", **kw) -> DumpMeta:
    return DumpMeta(id=1, name="t", size=6, mode=mode, stop_frame=5, **kw)


def export(dump, data: AnnotationSet, frames=FRAMES, **kw) -> bytes:
    out = io.BytesIO()
    dump(out, data, LABELS, frames, meta(**kw))
    return out.getvalue()


def sort_key(obj) -> tuple:
    return (obj.frame, getattr(obj, "type", "tag"), obj.label_id, getattr(obj, "points", []))


IMAGE_DATA = AnnotationSet(
    tags=[Tag(2, 0, group=3), Tag(1, 4, attributes=[Attribute(10, "blue")])],
    shapes=[
        Shape("rectangle", 0, 1, [1.5, 2.25, 30, 40], rotation=12.5, z_order=3, occluded=True,
              attributes=[Attribute(10, "blue"), Attribute(11, "42"), Attribute(12, "true")]),
        Shape("polygon", 1, 2, [0, 0, 10, 0, 10, 10, 0.5, 9.75], group=7, source="auto"),
        Shape("polyline", 1, 2, [0, 0, 5, 5, 7, 1]),
        Shape("points", 2, 1, [1, 1]),
        Shape("ellipse", 2, 2, [50, 50, 70.5, 40.25], rotation=90.0),
        Shape("cuboid", 3, 1, [float(i) + 0.25 for i in range(16)]),
        Shape("mask", 3, 2, [0, 2, 4, 10, 20, 12, 21]),
        Shape("skeleton", 5, 3, [], elements=[
            Shape("points", 5, 4, [5, 6], occluded=True),
            Shape("points", 5, 5, [7, 8], outside=True),
        ]),
    ],
)  # fmt: skip


def test_images_round_trip() -> None:
    back = load_cvat(io.BytesIO(export(dump_cvat_images, IMAGE_DATA)), LABELS, FRAMES,
                     keep_source=True)  # fmt: skip
    assert sorted(back.shapes, key=sort_key) == sorted(IMAGE_DATA.shapes, key=sort_key)
    assert sorted(back.tags, key=sort_key) == sorted(IMAGE_DATA.tags, key=sort_key)
    assert back.tracks == []


def test_import_marks_objects_as_from_a_file() -> None:
    back = load_cvat(io.BytesIO(export(dump_cvat_images, IMAGE_DATA)), LABELS, FRAMES)
    assert {s.source for s in back.shapes} | {t.source for t in back.tags} == {"file"}


TRACK_DATA = AnnotationSet(
    tracks=[
        Track(1, 0, [
            TrackedShape("rectangle", 0, [0, 0, 10, 10],
                         attributes=[Attribute(11, "1"), Attribute(12, "false")]),
            TrackedShape("rectangle", 3, [30, 0, 40, 10], rotation=30.0, z_order=1,
                         attributes=[Attribute(11, "3"), Attribute(12, "true")]),
            TrackedShape("rectangle", 4, [30, 0, 40, 10], outside=True, rotation=30.0, z_order=1,
                         attributes=[Attribute(11, "3"), Attribute(12, "true")]),
        ], attributes=[Attribute(10, "blue")], group=2, source="semi-auto"),
        Track(2, 1, [
            TrackedShape("polygon", 1, [0, 0, 4, 0, 4, 4], occluded=True),
            TrackedShape("polygon", 5, [1, 0, 5, 0, 5, 4, 1, 4]),
        ]),
        Track(3, 2, [TrackedShape("skeleton", 2, []), TrackedShape("skeleton", 4, [])], elements=[
            Track(4, 2, [TrackedShape("points", 2, [1, 1]), TrackedShape("points", 4, [3, 3])]),
            Track(5, 2, [TrackedShape("points", 2, [2, 2]),
                         TrackedShape("points", 4, [2, 2], outside=True)]),
        ]),
    ]
)  # fmt: skip


def test_video_round_trip() -> None:
    back = load_cvat(io.BytesIO(export(dump_cvat_video, TRACK_DATA, mode="interpolation")),
                     LABELS, FRAMES, keep_source=True)  # fmt: skip
    assert back.tracks == TRACK_DATA.tracks
    assert back.shapes == [] and back.tags == []


def test_video_export_is_stable_through_import() -> None:
    first = export(dump_cvat_video, TRACK_DATA, mode="interpolation")
    back = load_cvat(io.BytesIO(first), LABELS, FRAMES, keep_source=True)
    assert export(dump_cvat_video, back, mode="interpolation") == first


def test_video_export_of_shapes_imports_as_short_tracks() -> None:
    data = AnnotationSet(
        shapes=[
            Shape("rectangle", 1, 2, [0, 0, 1, 1]),
            Shape("rectangle", 4, 2, [0, 0, 1, 1]),  # CVAT leaves this one open (frame 5 too)
            Shape("rectangle", 5, 2, [0, 0, 1, 1]),
        ]
    )
    back = load_cvat(
        io.BytesIO(export(dump_cvat_video, data, mode="interpolation")), LABELS, FRAMES
    )
    assert [[(s.frame, s.outside) for s in t.shapes] for t in back.tracks] == [
        [(1, False), (2, True)],
        [(4, False), (5, True)],
        [(5, False)],
    ]


def test_images_export_of_tracks_shows_each_visible_frame() -> None:
    back = load_cvat(io.BytesIO(export(dump_cvat_images, TRACK_DATA)), LABELS, FRAMES)
    boxes = [s for s in back.shapes if s.type == "rectangle"]
    assert [s.frame for s in boxes] == [0, 1, 2, 3]  # the outside keyframe at 4 is not shown
    assert boxes[1].points == [10, 0, 20, 10]
    assert set(boxes[1].attributes) == {
        Attribute(11, "1"),
        Attribute(12, "false"),
        Attribute(10, "blue"),
    }
    skeletons = [s for s in back.shapes if s.type == "skeleton"]
    assert [s.frame for s in skeletons] == [2, 3, 4, 5]
    assert [e.outside for e in skeletons[2].elements] == [False, True]


def test_absolute_frame_ids_with_start_and_step() -> None:
    frames = [FrameInfo(i, f"frame_{10 + 3 * i:06d}", 100, 100) for i in range(6)]
    doc = export(dump_cvat_video, TRACK_DATA, frames=frames, mode="interpolation",
                 data_start_frame=10, frame_step=3)  # fmt: skip
    assert b'<box frame="19" keyframe="1"' in doc
    back = load_cvat(
        io.BytesIO(doc), LABELS, frames, start_frame=10, frame_step=3, keep_source=True
    )
    assert back.tracks == TRACK_DATA.tracks
    images = export(dump_cvat_images, IMAGE_DATA, frames=frames, data_start_frame=10, frame_step=3)
    assert b'<image id="13" name="frame_000013"' in images
    back = load_cvat(io.BytesIO(images), LABELS, frames, start_frame=10, frame_step=3)
    assert sorted(s.frame for s in back.shapes) == sorted(s.frame for s in IMAGE_DATA.shapes)


def test_zip_with_annotations_xml() -> None:
    buffer = io.BytesIO()
    export_archive("CVAT for images 1.1", buffer, IMAGE_DATA, LABELS, FRAMES, meta()).close()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert archive.namelist() == ["annotations.xml"]
    back = load_cvat(io.BytesIO(buffer.getvalue()), LABELS, FRAMES)
    assert len(back.shapes) == len(IMAGE_DATA.shapes)


def doc(body: str) -> io.BytesIO:
    head = '<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version>'
    return io.BytesIO(f"{head}{body}</annotations>".encode())


def test_frames_match_by_path_then_base_name_then_id() -> None:
    body = (
        '<image id="99" name="dir/img_1.jpg"><tag label="person"/></image>'
        '<image id="98" name="elsewhere/img_2.png"><tag label="person"/></image>'
        '<image id="3" name="unknown.jpg"><tag label="person"/></image>'
    )
    back = load_cvat(doc(body), LABELS, FRAMES)
    assert [t.frame for t in back.tags] == [1, 2, 3]


def test_unmatched_image_is_an_error() -> None:
    with pytest.raises(FormatError, match="Could not match item id: 'nothing.jpg'"):
        load_cvat(
            doc('<image id="42" name="nothing.jpg"><tag label="person"/></image>'), LABELS, FRAMES
        )


def test_unknown_labels_are_all_named() -> None:
    body = (
        '<image id="0" name="dir/img_0.jpg"><box label="truck" xtl="0" ytl="0" xbr="1" ybr="1"/>'
        '<tag label="bike"/><box label="truck" xtl="0" ytl="0" xbr="1" ybr="1"/></image>'
        '<track id="0" label="tram">'
        '<box frame="0" keyframe="1" xtl="0" ytl="0" xbr="1" ybr="1"/></track>'
    )
    with pytest.raises(FormatError) as caught:
        load_cvat(doc(body), LABELS, FRAMES)
    assert str(caught.value) == "Labels not registered for this task: 'truck', 'bike', 'tram'."


def test_attribute_rules_of_cvat_import() -> None:
    body = (
        '<image id="0" name="dir/img_0.jpg"><box label="car" xtl="0" ytl="0" xbr="1" ybr="1">'
        '<attribute name="parked">True</attribute><attribute name="wheels">4</attribute>'
        "</box></image>"
        '<track id="0" label="car">'
        '<box frame="1" keyframe="1" outside="0" occluded="0" xtl="0" ytl="0" xbr="1" ybr="1">'
        '<attribute name="speed">7</attribute><attribute name="color">red</attribute></box>'
        '<box frame="2" keyframe="0" outside="0" occluded="0" xtl="0" ytl="0" xbr="1" ybr="1">'
        '<attribute name="speed">7</attribute><attribute name="color">red</attribute></box>'
        '<box frame="3" keyframe="1" outside="0" occluded="0" xtl="0" ytl="0" xbr="1" ybr="1">'
        '<attribute name="speed">9</attribute><attribute name="color">blue</attribute></box>'
        "</track>"
    )
    back = load_cvat(doc(body), LABELS, FRAMES)
    assert back.shapes[0].attributes == [Attribute(12, "true")]  # unknown "wheels" dropped
    track = back.tracks[0]
    assert [s.frame for s in track.shapes] == [1, 3]  # only keyframes
    assert track.frame == 1
    assert [s.attributes for s in track.shapes] == [[Attribute(11, "7")], [Attribute(11, "9")]]
    assert track.attributes == [Attribute(10, "blue")]  # immutable ones, from the last keyframe


def test_bad_checkbox_value_is_an_error() -> None:
    body = (
        '<image id="0" name="dir/img_0.jpg"><box label="car" xtl="0" ytl="0" xbr="1" ybr="1">'
        '<attribute name="parked">maybe</attribute></box></image>'
    )
    with pytest.raises(FormatError, match="checkbox"):
        load_cvat(doc(body), LABELS, FRAMES)


def test_mask_track_becomes_a_shape() -> None:
    body = (
        '<track id="0" label="person">'
        '<mask frame="2" keyframe="1" outside="0" occluded="0" rle="1, 1" left="3" top="4"'
        ' width="2" height="1" z_order="0"/>'
        "</track>"
    )
    back = load_cvat(doc(body), LABELS, FRAMES)
    assert back.tracks == []
    assert back.shapes[0].type == "mask" and back.shapes[0].points == [1, 1, 3, 4, 4, 4]


def test_track_frame_outside_the_task_is_an_error() -> None:
    body = (
        '<track id="0" label="person">'
        '<box frame="60" keyframe="1" xtl="0" ytl="0" xbr="1" ybr="1"/></track>'
    )
    with pytest.raises(FormatError, match="Frame 60 is not a frame of this task"):
        load_cvat(doc(body), LABELS, FRAMES)


def test_broken_coordinates_are_an_error() -> None:
    body = (
        '<image id="0" name="dir/img_0.jpg">'
        '<box label="car" xtl="zero" ytl="0" xbr="1" ybr="1"/></image>'
    )
    with pytest.raises(FormatError, match='xtl="zero"'):
        load_cvat(doc(body), LABELS, FRAMES)
    with pytest.raises(FormatError, match="not a CVAT XML document"):
        load_cvat(io.BytesIO(b"<dataset/>"), LABELS, FRAMES)


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x"><!ENTITY f "&e;&e;&e;">]>'
        b"<annotations>&f;</annotations>",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<annotations>&xxe;</annotations>",
        b'<?xml version="1.0"?><!DOCTYPE annotations SYSTEM "http://127.0.0.1:9/x.dtd"><annotations/>',
        b"<annotations><image></annotations>",
    ],
)
def test_hostile_or_broken_xml_is_refused(payload: bytes) -> None:
    with pytest.raises(UnsafeInput):
        load_cvat(io.BytesIO(payload), LABELS, FRAMES)


def test_hostile_xml_inside_a_zip_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "annotations.xml", b'<!DOCTYPE a [<!ENTITY e "x">]><annotations>&e;</annotations>'
        )
    with pytest.raises(UnsafeInput, match="DTD or entities"):
        load_cvat(buffer, LABELS, FRAMES)


def test_large_document_streams() -> None:
    frames = [FrameInfo(i, f"f{i}.jpg", 10, 10) for i in range(3000)]
    data = AnnotationSet(shapes=[Shape("rectangle", i, 2, [0, 0, 1, 1]) for i in range(3000)])
    out = io.BytesIO()
    dump_cvat_images(out, data, LABELS, frames, DumpMeta(id=1, size=3000, stop_frame=2999))
    back = load_cvat(io.BytesIO(out.getvalue()), LABELS, frames)
    assert len(back.shapes) == 3000 and back.shapes[-1].frame == 2999
