"""LabelMe JSON: round trips, the exact fields LabelMe writes, a real file, bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from labelhub_app.formats.labelme import (
    read_labelme,
    read_labelme_files,
    write_labelme,
    write_labelme_files,
)
from labelhub_app.formats.records import Box, Dataset, ImageRecord
from tests.formats.strategies import ROUND_TRIP, assert_same, datasets


@ROUND_TRIP
@given(datasets())
def test_round_trip(dataset: Dataset) -> None:
    result = read_labelme_files(write_labelme_files(dataset))
    assert result.problems == ()
    assert result.dataset.categories == tuple(sorted(dataset.categories))
    # Corners are stored, so w = (x + w) - x: exact for whole pixels, float rounding otherwise.
    assert_same(result.dataset, dataset, tolerance=1e-9)


def test_exact_fields() -> None:
    record = ImageRecord("sub/dog.jpg", 640, 480, ("animal",), (Box("dog", 10, 20.5, 100, 200),))
    files = write_labelme_files(Dataset.of([record]))
    assert list(files) == ["sub/dog.json"]
    assert json.loads(files["sub/dog.json"]) == {
        "version": "5.5.0",
        "flags": {"animal": True},
        "shapes": [
            {
                "label": "dog",
                "points": [[10, 20.5], [110, 220.5]],
                "group_id": None,
                "description": "",
                "shape_type": "rectangle",
                "flags": {},
                "mask": None,
            }
        ],
        "imagePath": "dog.jpg",
        "imageData": None,
        "imageHeight": 480,
        "imageWidth": 640,
    }


# As LabelMe 5.4 saves it: a rectangle drawn from its bottom-right corner, a polygon, a
# flag left unset, Windows path separators.
LABELME_FILE = json.dumps(
    {
        "version": "5.4.1",
        "flags": {"indoor": False, "night": True},
        "shapes": [
            {
                "label": "cat",
                "points": [[310.5, 220.0], [110.5, 20.0]],
                "group_id": None,
                "description": "",
                "shape_type": "rectangle",
                "flags": {},
                "mask": None,
            },
            {
                "label": "table",
                "points": [[1, 1], [5, 1], [5, 5]],
                "group_id": None,
                "description": "",
                "shape_type": "polygon",
                "flags": {},
                "mask": None,
            },
        ],
        "imagePath": "..\\images\\cat.jpg",
        "imageData": None,
        "imageHeight": 480,
        "imageWidth": 640,
    }
).encode()


def test_reads_a_labelme_file() -> None:
    result = read_labelme(LABELME_FILE, "json/cat.json", folder="json")
    assert result.dataset == Dataset(
        (ImageRecord("images/cat.jpg", 640, 480, ("night",), (Box("cat", 110.5, 20, 200, 200),)),),
        ("cat", "night"),
    )
    assert [str(p) for p in result.problems] == [
        "json/cat.json: images/cat.jpg: shape 2: a 'polygon' shape is not a box; skipped"
    ]


def test_bad_shapes_are_reported_and_the_rest_imported() -> None:
    doc = {
        "imagePath": "a.jpg",
        "imageWidth": 100,
        "imageHeight": 100,
        "flags": {"ok": True, "odd": "yes"},
        "shapes": [
            {"label": "good", "shape_type": "rectangle", "points": [[1, 1], [2, 2]]},
            {"label": "one point", "shape_type": "rectangle", "points": [[1, 1]]},
            {"label": "", "shape_type": "rectangle", "points": [[1, 1], [2, 2]]},
            {"label": "flat", "shape_type": "rectangle", "points": [[1, 1], [5, 1]]},
            {"label": "over", "shape_type": "rectangle", "points": [[90, 90], [120, 95]]},
            "nonsense",
        ],
    }
    result = read_labelme(json.dumps(doc).encode(), "a.json")
    assert result.dataset.images[0].labels == ("ok",)
    assert result.dataset.images[0].boxes == (
        Box("good", 1, 1, 1, 1),
        Box("over", 90, 90, 10, 5),
    )
    assert [p.message.split(";")[0] for p in result.problems] == [
        "flag 'odd' must be true or false, not 'yes'",
        "shape 2: 'one point': a rectangle needs two [x, y] points, not [[1, 1]]",
        "shape 3: a label name cannot be empty",
        "shape 4: box 'flat' has no area (4 x 0 px)",
        "shape 5: box 'over' at x=90, y=90, w=30, h=5 px sticks out of the 100x100 image",
        "shape 6 must be an object, not 'nonsense'",
    ]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b'{\n"imagePath": "a.jpg",\n}', 3, "not valid JSON"),
        (b'{"imagePath": "a.jpg", "imageWidth": 10}', None, "imageHeight"),
        (b'{"imageWidth": 10, "imageHeight": 10}', None, "imagePath"),
        (b"[]", None, "JSON object"),
    ],
)
def test_unreadable_files_are_one_problem(data: bytes, line: int | None, message: str) -> None:
    result = read_labelme(data, "bad.json")
    assert result.dataset.images == ()
    (problem,) = result.problems
    assert problem.line == line and message in problem.message


def test_write_uses_given_image_path() -> None:
    data = write_labelme(ImageRecord("a.jpg", 1, 1), image_path="../images/a.jpg")
    assert json.loads(data)["imagePath"] == "../images/a.jpg"
