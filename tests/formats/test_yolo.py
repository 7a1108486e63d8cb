"""YOLO: round trips, the exact files Ultralytics reads, data.yaml variants, bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from labelhub_app.formats.records import Box, Dataset, ImageRecord
from labelhub_app.formats.yolo import (
    YamlError,
    YoloDataConfig,
    YoloRow,
    read_yolo,
    write_yolo,
)
from tests.formats.strategies import ROUND_TRIP, assert_same, datasets


def _sizes(dataset: Dataset) -> dict[str, tuple[int, int]]:
    return {i.file_name: (i.width, i.height) for i in dataset.images}


@ROUND_TRIP
@given(datasets(scores=True, unused_categories=True))
def test_round_trip_within_a_hundredth_of_a_pixel(dataset: Dataset) -> None:
    result = read_yolo(write_yolo(dataset), _sizes(dataset))
    assert result.problems == ()
    assert result.dataset.categories == dataset.categories
    assert_same(result.dataset, dataset, tolerance=0.01, scores=True)


DATASET = Dataset(
    (
        ImageRecord("a.jpg", 200, 100, ("scene",), (Box("red car", 50, 25, 20, 10),)),
        ImageRecord("sub/b.png", 10, 10),
    ),
    ("red car", "scene"),
)


def test_exact_files() -> None:
    files = write_yolo(DATASET)
    assert list(files) == [
        "data.yaml",
        "labels/a.txt",
        "labels/sub/b.txt",
        "labelhub_image_labels.json",
    ]
    assert files["labels/a.txt"] == b"0 0.300000 0.300000 0.100000 0.100000\n"
    assert files["labels/sub/b.txt"] == b""
    yaml = files["data.yaml"].decode()
    assert 'train: "images"\nval: "images"\nnc: 2\nnames: ["red car", "scene"]\n' in yaml
    assert json.loads(files["labelhub_image_labels.json"]) == {
        "format": "labelhub-image-labels",
        "version": 1,
        "images": {"a.jpg": ["scene"]},
    }


def test_row_with_score_is_ultralytics_save_conf_layout() -> None:
    row = YoloRow.from_box(Box("x", 0, 0, 10, 10, 0.25), 3, 20, 40)
    assert row.to_line() == "3 0.250000 0.125000 0.500000 0.250000 0.25"
    assert YoloRow.from_line(row.to_line()) == row


@pytest.mark.parametrize(
    "text",
    [
        "names: ['person', 'red car', \"it's\"]\n",
        "path: ../datasets/x  # root\ntrain: images/train\nnames:\n  0: person\n  1: red car\n"
        '  2: "it\'s"\n',
        "names:\n- person\n- 'red car'  # comment\n- it's\ndownload: |\n  print('it's')\n  x: 1\n"
        "url: 'https://example.com/#x'\n",
        "nc: 3\nnames: [person,\n  red car, it's]\n",
        "names: {0: person, 1: 'red car', 2: 'it''s'}\n",
    ],
)
def test_reads_data_yaml_as_tools_write_it(text: str) -> None:
    assert YoloDataConfig.from_yaml(text).names == ("person", "red car", "it's")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("train: x\n", None, "no 'names'"),
        ("nc: 2\nnames: [a]\n", 2, "'nc' is 2"),
        ("names:\n  0: a\n  2: b\n", 1, "without gaps"),
        ("names: 'a\n", 1, "not closed"),
        ("names: [[a]]\n", 1, "nested"),
    ],
)
def test_bad_data_yaml(text: str, line: int | None, message: str) -> None:
    with pytest.raises(YamlError, match=message) as info:
        YoloDataConfig.from_yaml(text)
    assert info.value.line == line


def test_classes_txt_when_there_is_no_yaml() -> None:
    files = {"classes.txt": b"dog\ncat\n", "labels/a.txt": b"1 0.5 0.5 1 1\n"}
    result = read_yolo(files, {"a.jpg": (10, 10)})
    assert result.problems == ()
    assert result.dataset.images[0].boxes == (Box("cat", 0, 0, 10, 10),)


def test_bad_rows_are_reported_and_the_rest_imported() -> None:
    files = {
        "data.yaml": b"names: [dog, cat]\n",
        "labels/a.txt": (
            b"0 0.5 0.5 0.5 0.5\n"
            b"\n"
            b"2 0.5 0.5 0.1 0.1\n"
            b"0 0.5 0.5 0.1\n"
            b"0 0.1 0.1 0.2 0.2 0.3 0.3 0.1 0.4\n"
            b"x 0.5 0.5 0.1 0.1\n"
            b"1 0.5 nan 0.1 0.1\n"
            b"1 0.95 0.5 0.2 0.2\n"
            b"1 1.5 0.5 0.2 0.2\n"
        ),
        "labels/orphan.txt": b"0 0.5 0.5 0.5 0.5\n",
        "labelhub_image_labels.json": b'{"images": {"a.jpg": ["cat"], "zzz.jpg": ["dog"]}}',
        "images/a.jpg": b"\xff\xd8 not read",
    }
    result = read_yolo(files, {"a.jpg": (100, 100), "b.jpg": (0, 5)})
    assert result.dataset == Dataset(
        (
            ImageRecord(
                "a.jpg",
                100,
                100,
                ("cat",),
                (Box("dog", 25, 25, 50, 50), Box("cat", 85, 40, 15, 20)),
            ),
        ),
        ("dog", "cat"),
    )
    found = [(p.source, p.line, p.message.split(";")[0]) for p in result.problems]
    assert found[0] == ("sizes", None, "size must be (width, height) in whole pixels, not (0, 5)")
    assert found[1:7] == [
        ("labels/a.txt", 3, "unknown class index 2 (2 class names)"),
        ("labels/a.txt", 4, "expected 'class cx cy w h' (5 values), got 4"),
        ("labels/a.txt", 5, "a segmentation polygon row, not a box row"),
        ("labels/a.txt", 6, "class 'x' is not a whole number"),
        ("labels/a.txt", 7, "'nan' is not a finite number"),
        (
            "labels/a.txt",
            8,
            "box 'cat' at x=85, y=40, w=20, h=20 px sticks out of the 100x100 image",
        ),
    ]
    assert found[7][:2] == ("labels/a.txt", 9) and "lies outside" in found[7][2]
    assert found[8][0] == "labels/orphan.txt" and "no size given" in found[8][2]
    assert found[9] == ("labelhub_image_labels.json", None, "image not in 'sizes'")
    assert len(found) == 10


def test_missing_names_makes_every_row_a_problem() -> None:
    result = read_yolo({"labels/a.txt": b"0 0.5 0.5 0.5 0.5\n"}, {"a.jpg": (10, 10)})
    assert result.dataset.images == (ImageRecord("a.jpg", 10, 10),)
    assert [p.message for p in result.problems] == [
        "there is no data.yaml (or classes.txt), so class indices cannot be named",
        "unknown class index 0 (no class names); skipped",
    ]


def test_write_refuses_colliding_label_files() -> None:
    dataset = Dataset.of([ImageRecord("a.jpg", 1, 1), ImageRecord("a.png", 1, 1)])
    with pytest.raises(ValueError, match="rename one"):
        write_yolo(dataset)
