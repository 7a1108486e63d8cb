"""Pascal VOC: round trips, 1-based inclusive coordinates, a real VOC2007 file, bad input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given

from labelhub_app.formats.records import Box, Dataset, ImageRecord
from labelhub_app.formats.voc import VocBox, read_voc, read_voc_files, write_voc, write_voc_files
from tests.formats.strategies import ROUND_TRIP, assert_same, datasets


@ROUND_TRIP
@given(datasets())
def test_round_trip(dataset: Dataset) -> None:
    result = read_voc_files(write_voc_files(dataset))
    assert result.problems == ()
    assert result.dataset.categories == tuple(sorted(dataset.categories))
    # Exact for whole pixels; fractional ones pass through x + 1 - 1 (float rounding only).
    assert_same(result.dataset, dataset, tolerance=1e-9)


@ROUND_TRIP
@given(datasets())
def test_whole_pixel_boxes_round_trip_exactly(dataset: Dataset) -> None:
    for image in dataset.images:
        for box in image.boxes:
            voc = VocBox.from_box(box)
            if all(float(v).is_integer() for v in (box.x, box.y, box.w, box.h)):
                assert voc.to_pixels() == (box.x, box.y, box.w, box.h)


def test_one_based_inclusive_coordinates() -> None:
    assert VocBox.from_box(Box("a", 0, 0, 1, 1)) == VocBox("a", 1, 1, 1, 1)
    assert VocBox.from_box(Box("a", 0, 0, 640, 480)) == VocBox("a", 1, 1, 640, 480)
    assert VocBox("a", 48, 240, 195, 371).to_pixels() == (47, 239, 148, 132)


RECORD = ImageRecord(
    "dog.jpg",
    640,
    480,
    ("animal", "outdoor"),
    (Box("dog", 10, 20, 100, 200), Box("cat", 0.5, 0, 2.25, 1)),
)


def test_exact_document() -> None:
    assert write_voc(RECORD).decode() == (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<annotation xmlns:labelhub="urn:labelhub:voc">\n'
        "  <folder>images</folder>\n"
        "  <filename>dog.jpg</filename>\n"
        "  <source>\n"
        "    <database>LabelHub</database>\n"
        "  </source>\n"
        "  <size>\n"
        "    <width>640</width>\n"
        "    <height>480</height>\n"
        "    <depth>3</depth>\n"
        "  </size>\n"
        "  <segmented>0</segmented>\n"
        "  <object>\n"
        "    <name>dog</name>\n"
        "    <pose>Unspecified</pose>\n"
        "    <truncated>0</truncated>\n"
        "    <difficult>0</difficult>\n"
        "    <bndbox>\n"
        "      <xmin>11</xmin>\n"
        "      <ymin>21</ymin>\n"
        "      <xmax>110</xmax>\n"
        "      <ymax>220</ymax>\n"
        "    </bndbox>\n"
        "  </object>\n"
        "  <object>\n"
        "    <name>cat</name>\n"
        "    <pose>Unspecified</pose>\n"
        "    <truncated>0</truncated>\n"
        "    <difficult>0</difficult>\n"
        "    <bndbox>\n"
        "      <xmin>1.5</xmin>\n"
        "      <ymin>1</ymin>\n"
        "      <xmax>2.75</xmax>\n"
        "      <ymax>1</ymax>\n"
        "    </bndbox>\n"
        "  </object>\n"
        "  <labelhub:labels>\n"
        "    <labelhub:label>animal</labelhub:label>\n"
        "    <labelhub:label>outdoor</labelhub:label>\n"
        "  </labelhub:labels>\n"
        "</annotation>\n"
    )


def test_plain_voc_readers_see_only_the_objects() -> None:
    root = ET.fromstring(write_voc(RECORD))
    assert [o.findtext("name") for o in root.iter("object")] == ["dog", "cat"]
    assert int(root.findtext("object/bndbox/xmin") or "") == 11


VOC2007_000001 = b"""<annotation>
\t<folder>VOC2007</folder>
\t<filename>000001.jpg</filename>
\t<source>
\t\t<database>The VOC2007 Database</database>
\t\t<annotation>PASCAL VOC2007</annotation>
\t\t<image>flickr</image>
\t\t<flickrid>341012865</flickrid>
\t</source>
\t<owner>
\t\t<flickrid>Fried Camels</flickrid>
\t\t<name>Jinky the Fruit Bat</name>
\t</owner>
\t<size>
\t\t<width>353</width>
\t\t<height>500</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>dog</name>
\t\t<pose>Left</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>48</xmin>
\t\t\t<ymin>240</ymin>
\t\t\t<xmax>195</xmax>
\t\t\t<ymax>371</ymax>
\t\t</bndbox>
\t</object>
\t<object>
\t\t<name>person</name>
\t\t<pose>Left</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>8</xmin>
\t\t\t<ymin>12</ymin>
\t\t\t<xmax>352</xmax>
\t\t\t<ymax>498</ymax>
\t\t</bndbox>
\t</object>
</annotation>
"""


def test_reads_a_real_voc2007_file() -> None:
    result = read_voc(VOC2007_000001, "Annotations/000001.xml")
    assert result.problems == ()
    assert result.dataset == Dataset(
        (
            ImageRecord(
                "000001.jpg",
                353,
                500,
                (),
                (Box("dog", 47, 239, 148, 132), Box("person", 7, 11, 345, 487)),
            ),
        ),
        ("dog", "person"),
    )


def test_bad_objects_are_reported_with_their_line() -> None:
    data = b"""<annotation>
  <filename>a.jpg</filename>
  <size><width>100</width><height>50</height></size>
  <object><name>ok</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
  <object><name>nobox</name></object>
  <object><name>words</name><bndbox><xmin>one</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
  <object><name>zero</name><bndbox><xmin>0</xmin><ymin>1</ymin><xmax>10</xmax><ymax>60</ymax></bndbox></object>
  <object><name></name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
  <object><name>far</name><bndbox><xmin>200</xmin><ymin>1</ymin><xmax>210</xmax><ymax>10</ymax></bndbox></object>
</annotation>"""
    result = read_voc(data, "x.xml")
    assert result.dataset.images[0].boxes == (Box("ok", 0, 0, 10, 10), Box("zero", 0, 0, 10, 50))
    assert [(p.line, p.record, p.message.split(";")[0]) for p in result.problems] == [
        (5, "a.jpg", "object 2: 'nobox' has no <bndbox>"),
        (
            6,
            "a.jpg",
            "object 3: 'words': <bndbox> needs numbers xmin, ymin, xmax, ymax, not "
            "['one', '1', '10', '10']",
        ),
        (
            7,
            "a.jpg",
            "object 4: box 'zero' at x=-1, y=0, w=11, h=60 px sticks out of the 100x50 image",
        ),
        (8, "a.jpg", "object 5: a label name cannot be empty"),
        (
            9,
            "a.jpg",
            "object 6: box 'far' at x=199, y=0, w=11, h=10 px lies outside the 100x50 image",
        ),
    ]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"<annotation>\n<filename>a.jpg</filename>\n<size>", 3, "not valid XML"),
        (b"<annotation><filename>a.jpg</filename></annotation>", None, "no valid <size>"),
        (
            b"<annotation><size><width>5</width><height>5</height></size></annotation>",
            None,
            "<filename>",
        ),
        (b"<voc/>", None, "not <annotation>"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x "xx">]>\n<annotation/>',
            None,
            "<!DOCTYPE>",
        ),
    ],
)
def test_unreadable_documents_are_one_problem(data: bytes, line: int | None, message: str) -> None:
    result = read_voc(data, "bad.xml")
    assert result.dataset.images == ()
    (problem,) = result.problems
    assert problem.line == line and message in problem.message


def test_files_helpers_report_duplicate_images() -> None:
    files = {"A/x.xml": write_voc(RECORD), "B/y.xml": write_voc(RECORD), "notes.txt": b"hi"}
    result = read_voc_files(files)
    assert len(result.dataset.images) == 1
    assert [str(p) for p in result.problems] == [
        "B/y.xml: dog.jpg: image already imported from A/x.xml; skipped"
    ]
