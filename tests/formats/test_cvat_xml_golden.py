"""Byte-for-byte comparison with documents laid out the way CVAT's dumper writes them.

The expected texts are written by hand from cvat/apps/dataset_manager/formats/cvat.py
(``XmlAnnotationWriter``: ``XMLGenerator``, two-space indentation, attributes in
insertion order, ``{:.2f}`` coordinates) and the meta of bindings.py.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from annotask.annotations import AnnotationSet, LabelSet, Shape, Tag, Track, TrackedShape
from annotask.annotations.model import Attribute
from annotask.formats.common import FrameInfo
from annotask.formats.cvat_xml import (
    DumpMeta,
    Person,
    SegmentInfo,
    dump_cvat_images,
    dump_cvat_video,
)

IMAGE_LABELS = LabelSet.from_json(
    [
        {
            "id": 1,
            "name": "car",
            "color": "#fa3253",
            "type": "any",
            "attributes": [
                {
                    "id": 10,
                    "name": "color",
                    "mutable": False,
                    "input_type": "select",
                    "default_value": "red",
                    "values": ["red", "blue"],
                },
                {
                    "id": 11,
                    "name": "note",
                    "mutable": False,
                    "input_type": "text",
                    "default_value": "",
                    "values": [],
                },
            ],
        },
        {"id": 2, "name": "person", "color": "#00ff00", "type": "any", "attributes": []},
        {
            "id": 3,
            "name": "body",
            "color": "#ffffff",
            "type": "skeleton",
            "svg": '<circle data-label-id="4" cx="10"></circle>',
            "attributes": [],
            "sublabels": [{"id": 4, "name": "head", "color": "#aaaaaa", "type": "points"}],
        },
    ]
)

IMAGES_EXPECTED = """\
<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id>
      <name>street &amp; &lt;scenes&gt;</name>
      <size>2</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2025-03-04 09:20:01.123456+00:00</created>
      <updated>2025-03-04 09:25:00+00:00</updated>
      <subset>default</subset>
      <start_frame>0</start_frame>
      <stop_frame>1</stop_frame>
      <frame_filter></frame_filter>
      <segments>
        <segment>
          <id>1</id>
          <start>0</start>
          <stop>1</stop>
          <url>http://localhost:8080/api/jobs/1</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email>admin@example.com</email>
      </owner>
      <assignee></assignee>
      <labels>
        <label>
          <name>car</name>
          <color>#fa3253</color>
          <type>any</type>
          <attributes>
            <attribute>
              <name>color</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>red</default_value>
              <values>red
blue</values>
            </attribute>
            <attribute>
              <name>note</name>
              <mutable>False</mutable>
              <input_type>text</input_type>
              <default_value></default_value>
              <values></values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>person</name>
          <color>#00ff00</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>body</name>
          <color>#ffffff</color>
          <type>skeleton</type>
          <attributes>
          </attributes>
          <svg>&lt;circle data-label-name="head" cx="10"&gt;&lt;/circle&gt;</svg>
        </label>
        <label>
          <name>head</name>
          <color>#aaaaaa</color>
          <type>points</type>
          <attributes>
          </attributes>
          <parent>body</parent>
        </label>
      </labels>
    </task>
    <dumped>2025-03-05 10:00:00+00:00</dumped>
  </meta>
  <image id="0" name="images/a.jpg" width="640" height="480">
    <polygon label="person" source="manual" occluded="1" points="0.00,0.00;10.00,0.00;10.00,10.00" z_order="0">
    </polygon>
    <box label="car" source="auto" occluded="0" xtl="10.00" ytl="20.00" xbr="30.50" ybr="40.25" rotation="45.00" z_order="1" group_id="2">
      <attribute name="color">blue</attribute>
    </box>
    <tag label="person" source="manual">
    </tag>
  </image>
  <image id="1" name='b"1.png' width="320" height="240">
    <points label="car" source="manual" occluded="0" points="1.00,2.00;3.50,4.00" z_order="0">
      <attribute name="note">a &lt; b &amp; "c"</attribute>
    </points>
    <polyline label="person" source="manual" occluded="0" points="0.00,0.00;5.00,5.00" z_order="0">
    </polyline>
    <ellipse label="person" source="manual" occluded="0" cx="50.00" cy="50.00" rx="20.00" ry="10.00" z_order="0">
    </ellipse>
    <cuboid label="car" source="manual" occluded="0" xtl1="0.00" ytl1="1.00" xbl1="2.00" ybl1="3.00" xtr1="4.00" ytr1="5.00" xbr1="6.00" ybr1="7.00" xtl2="8.00" ytl2="9.00" xbl2="10.00" ybl2="11.00" xtr2="12.00" ytr2="13.00" xbr2="14.00" ybr2="15.00" z_order="0">
    </cuboid>
    <mask label="person" source="manual" occluded="0" rle="3, 2, 1" left="10" top="20" width="3" height="2" z_order="0">
    </mask>
    <skeleton label="body" source="manual" z_order="0">
      <points label="head" source="manual" outside="0" occluded="1" points="5.00,6.00">
      </points>
    </skeleton>
    <tag label="car" source="manual" group_id="5">
      <attribute name="color">red</attribute>
    </tag>
  </image>
</annotations>
"""  # noqa: E501


def test_cvat_for_images_matches_cvat_layout() -> None:
    data = AnnotationSet(
        tags=[
            Tag(2, 0),
            Tag(1, 1, group=5, attributes=[Attribute(10, "red")]),
        ],
        shapes=[
            Shape(
                "rectangle",
                0,
                1,
                [10, 20, 30.5, 40.25],
                rotation=45.0,
                z_order=1,
                group=2,
                source="auto",
                attributes=[Attribute(10, "blue")],
            ),
            Shape("polygon", 0, 2, [0, 0, 10, 0, 10, 10], occluded=True),
            Shape("points", 1, 1, [1, 2, 3.5, 4], attributes=[Attribute(11, 'a < b & "c"')]),
            Shape("polyline", 1, 2, [0, 0, 5, 5]),
            Shape("ellipse", 1, 2, [50, 50, 70, 40]),
            Shape("cuboid", 1, 1, [float(i) for i in range(16)]),
            Shape("mask", 1, 2, [3, 2, 1, 10, 20, 12, 21]),
            Shape("skeleton", 1, 3, [], elements=[Shape("points", 1, 4, [5, 6], occluded=True)]),
        ],
    )
    meta = DumpMeta(
        id=7,
        name="street & <scenes>",
        size=2,
        created=datetime(2025, 3, 4, 9, 20, 1, 123456, tzinfo=UTC),
        updated=datetime(2025, 3, 4, 9, 25, 0, tzinfo=UTC),
        stop_frame=1,
        segments=[SegmentInfo(1, 0, 1, "http://localhost:8080/api/jobs/1")],
        owner=Person("admin", "admin@example.com"),
        dumped=datetime(2025, 3, 5, 10, 0, 0, tzinfo=UTC),
    )
    frames = [FrameInfo(0, "images/a.jpg", 640, 480), FrameInfo(1, 'b"1.png', 320, 240)]
    out = io.BytesIO()
    dump_cvat_images(out, data, IMAGE_LABELS, frames, meta)
    assert out.getvalue().decode() == IMAGES_EXPECTED


VIDEO_LABELS = LabelSet.from_json(
    [
        {
            "id": 1,
            "name": "car",
            "color": "#fa3253",
            "type": "rectangle",
            "attributes": [
                {
                    "id": 10,
                    "name": "color",
                    "mutable": False,
                    "input_type": "radio",
                    "default_value": "red",
                    "values": ["red", "blue"],
                }
            ],
        },
        {"id": 2, "name": "person", "color": "#00ff00", "type": "any", "attributes": []},
    ]
)

VIDEO_EXPECTED = """\
<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>8</id>
      <name>video</name>
      <size>4</size>
      <mode>interpolation</mode>
      <overlap>5</overlap>
      <bugtracker>https://bugs.example.com/1</bugtracker>
      <created>2025-03-04 09:20:01+00:00</created>
      <updated>2025-03-04 09:20:02+00:00</updated>
      <subset>Train</subset>
      <start_frame>10</start_frame>
      <stop_frame>16</stop_frame>
      <frame_filter>step=2</frame_filter>
      <segments>
        <segment>
          <id>3</id>
          <start>0</start>
          <stop>3</stop>
          <url>http://localhost:8080/api/jobs/4</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <assignee>
        <username>anna</username>
        <email>anna@example.com</email>
      </assignee>
      <labels>
        <label>
          <name>car</name>
          <color>#fa3253</color>
          <type>rectangle</type>
          <attributes>
            <attribute>
              <name>color</name>
              <mutable>False</mutable>
              <input_type>radio</input_type>
              <default_value>red</default_value>
              <values>red
blue</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>person</name>
          <color>#00ff00</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
      </labels>
      <original_size>
        <width>1920</width>
        <height>1080</height>
      </original_size>
      <source>street.mp4</source>
    </task>
    <dumped>2025-03-05 10:00:00+00:00</dumped>
  </meta>
  <track id="0" label="car" source="manual">
    <box frame="10" keyframe="1" outside="0" occluded="0" xtl="0.00" ytl="0.00" xbr="10.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
    <box frame="12" keyframe="0" outside="0" occluded="0" xtl="10.00" ytl="0.00" xbr="20.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
    <box frame="14" keyframe="1" outside="0" occluded="0" xtl="20.00" ytl="0.00" xbr="30.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
    <box frame="16" keyframe="1" outside="1" occluded="0" xtl="20.00" ytl="0.00" xbr="30.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
  </track>
  <track id="1" label="person" source="manual" group_id="1">
    <box frame="12" keyframe="1" outside="0" occluded="1" xtl="1.00" ytl="2.00" xbr="3.00" ybr="4.00" z_order="2">
    </box>
    <box frame="14" keyframe="1" outside="1" occluded="1" xtl="1.00" ytl="2.00" xbr="3.00" ybr="4.00" z_order="2">
    </box>
  </track>
  <track id="2" label="person" source="auto">
    <polygon frame="16" keyframe="1" outside="0" occluded="0" points="0.00,0.00;4.00,0.00;4.00,4.00" z_order="0">
    </polygon>
  </track>
</annotations>
"""  # noqa: E501


def test_cvat_for_video_matches_cvat_layout() -> None:
    data = AnnotationSet(
        tags=[Tag(2, 0)],  # CVAT for video has no tags
        shapes=[
            Shape("rectangle", 1, 2, [1, 2, 3, 4], occluded=True, z_order=2, group=1),
            Shape("polygon", 3, 2, [0, 0, 4, 0, 4, 4], source="auto"),
        ],
        tracks=[
            Track(
                1,
                0,
                [
                    TrackedShape("rectangle", 0, [0, 0, 10, 10]),
                    TrackedShape("rectangle", 2, [20, 0, 30, 10]),
                    TrackedShape("rectangle", 3, [20, 0, 30, 10], outside=True),
                ],
                attributes=[Attribute(10, "blue")],
            )
        ],
    )
    meta = DumpMeta(
        id=8,
        name="video",
        size=4,
        mode="interpolation",
        overlap=5,
        bugtracker="https://bugs.example.com/1",
        created=datetime(2025, 3, 4, 9, 20, 1, tzinfo=UTC),
        updated="2025-03-04 09:20:02+00:00",
        subset="Train",
        start_frame=10,
        stop_frame=16,
        frame_filter="step=2",
        segments=[SegmentInfo(3, 0, 3, "http://localhost:8080/api/jobs/4")],
        owner=Person("admin"),
        assignee=Person("anna", "anna@example.com"),
        dumped="2025-03-05 10:00:00+00:00",
        original_size=(1920, 1080),
        source="street.mp4",
        data_start_frame=10,
        frame_step=2,
    )
    frames = [FrameInfo(i, f"frame_{10 + 2 * i:06d}", 1920, 1080) for i in range(4)]
    out = io.BytesIO()
    dump_cvat_video(out, data, VIDEO_LABELS, frames, meta)
    assert out.getvalue().decode() == VIDEO_EXPECTED
