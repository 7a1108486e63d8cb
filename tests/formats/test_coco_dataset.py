"""COCO with boxes (write_coco_dataset/read_coco_dataset): round trips, pycocotools, bad input."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labelhub_app.formats.coco import read_coco, read_coco_dataset, write_coco_dataset
from labelhub_app.formats.records import Box, Dataset, ImageRecord
from tests.formats.strategies import ROUND_TRIP, assert_same, datasets

DATASET = Dataset(
    (
        ImageRecord(
            "dog.jpg",
            640,
            480,
            ("animal",),
            (Box("dog", 10, 20, 100, 200), Box("cat", 0.5, 0.25, 30.5, 40.75)),
            "uuid-1",
            "cc-by-4.0",
        ),
        ImageRecord("empty.png", 32, 16),
        ImageRecord("cat.jpg", 100, 100, (), (Box("cat", 0, 0, 100, 100),)),
    ),
    ("dog", "cat", "animal"),
)


def _write(dataset: Dataset = DATASET) -> str:
    out = io.StringIO()
    write_coco_dataset(dataset, out)
    return out.getvalue()


@ROUND_TRIP
@given(datasets(scores=True, metadata=True, unused_categories=True))
def test_round_trip_is_exact(dataset: Dataset) -> None:
    result = read_coco_dataset(io.StringIO(_write(dataset)))
    assert result.problems == ()
    assert result.dataset.categories == dataset.categories
    assert_same(result.dataset, dataset, scores=True, metadata=True)


def test_document_fields() -> None:
    doc = json.loads(_write())
    assert doc["categories"] == [
        {"id": 1, "name": "dog", "supercategory": "dog"},
        {"id": 2, "name": "cat", "supercategory": "cat"},
        {"id": 3, "name": "animal", "supercategory": "animal"},
    ]
    assert doc["annotations"][:2] == [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [10, 20, 100, 200],
            "area": 20000,
            "iscrowd": 0,
            "segmentation": [],
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 2,
            "bbox": [0.5, 0.25, 30.5, 40.75],
            "area": 30.5 * 40.75,
            "iscrowd": 0,
            "segmentation": [],
        },
    ]
    assert doc["image_labels"] == [{"image_id": 1, "category_id": 3}]
    assert doc["images"][0]["labelhub_id"] == "uuid-1"
    assert doc["licenses"][0]["code"] == "cc-by-4.0"


def test_supercategory_from_parents() -> None:
    out = io.StringIO()
    write_coco_dataset(DATASET, out, parents={"dog": "animal", "cat": "animal"})
    assert [c["supercategory"] for c in json.loads(out.getvalue())["categories"]] == [
        "animal",
        "animal",
        "animal",
    ]


def test_older_reader_still_reads_the_export() -> None:
    images, categories, _ = read_coco(io.StringIO(_write()))
    assert [(i.file_name, i.labels) for i in images] == [
        ("dog.jpg", ("animal",)),
        ("empty.png", ()),
        ("cat.jpg", ()),
    ]
    assert [c.name for c in categories] == ["dog", "cat", "animal"]


def test_pycocotools_loads_it_and_cocoeval_scores_it_perfect(tmp_path: Path) -> None:
    path = tmp_path / "coco.json"
    path.write_text(_write(), encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        assert len(gt.getAnnIds()) == 3 and gt.loadCats([2])[0]["name"] == "cat"
        detections = [
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "bbox": a["bbox"],
                "score": 1.0,
            }
            for a in gt.loadAnns(gt.getAnnIds())
        ]
        evaluation = COCOeval(gt, gt.loadRes(detections), iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]
    assert evaluation.stats[1] == pytest.approx(1.0)  # AP@.5


def test_reads_plain_coco() -> None:
    plain = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [
            {
                "id": 3,
                "image_id": 7,
                "category_id": 18,
                "bbox": [1.5, 2, 10, 20],
                "area": 200,
                "iscrowd": 0,
                "segmentation": [[1.5, 2, 11.5, 2, 11.5, 22]],
            },
        ],
        "categories": [
            {"id": 18, "name": "dog", "supercategory": "animal"},
            {"id": 1, "name": "person", "supercategory": "person"},
        ],
    }
    result = read_coco_dataset(io.BytesIO(json.dumps(plain).encode()))
    assert result.problems == ()
    assert result.dataset == Dataset(
        (ImageRecord("a.jpg", 64, 48, (), (Box("dog", 1.5, 2, 10, 20),)),), ("person", "dog")
    )


def test_bad_records_are_reported_and_the_rest_imported() -> None:
    doc = {
        "images": [
            {"id": 1, "file_name": "ok.jpg", "width": 100, "height": 50, "labels": ["x", ""]},
            {"id": 2, "file_name": "nosize.jpg"},
            {"id": 1, "file_name": "dup-id.jpg", "width": 1, "height": 1},
            "not an object",
        ],
        "categories": [{"id": 1, "name": "x"}, {"id": 2, "name": " "}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [90, 40, 20, 20]},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [200, 10, 20, 20]},
            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [10, 10, 0, 20]},
            {"id": 5, "image_id": 1, "category_id": 9, "bbox": [10, 10, 5, 5]},
            {"id": 6, "image_id": 2, "category_id": 1, "bbox": [10, 10, 5, 5]},
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": "10 10 5 5"},
            {"id": 8, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "iscrowd": 1},
            {"id": 9, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 2, 2, 3, 1]]},
        ],
    }
    result = read_coco_dataset(io.StringIO(json.dumps(doc)), source="upload.json")
    assert result.dataset == Dataset(
        (
            ImageRecord(
                "ok.jpg", 100, 50, ("x",), (Box("x", 10, 10, 20, 20), Box("x", 90, 40, 10, 10))
            ),
        ),
        ("x",),
    )
    messages = [str(p) for p in result.problems]
    expected = [
        "categories[1] (id 2): a label name cannot be empty; skipped",
        "image 2 (nosize.jpg): needs a positive whole 'width' and 'height'",
        "image 1 (dup-id.jpg): another image has this id; skipped",
        "images[3]: must be a JSON object",
        "image 1 (ok.jpg): a label name cannot be empty; label skipped",
        "annotations[1] (id 2) on ok.jpg: box 'x' at x=90, y=40, w=20, h=20 px sticks out",
        "annotations[2] (id 3) on ok.jpg: box 'x' at x=200, y=10, w=20, h=20 px lies outside",
        "annotations[3] (id 4) on ok.jpg: box 'x' has no area",
        "annotations[4] (id 5) on ok.jpg: refers to unknown category 9; skipped",
        "annotations[5] (id 6): refers to image 2, which was not imported; skipped",
        "annotations[6] (id 7): 'bbox' must be four finite numbers",
        "annotations[7] (id 8) on ok.jpg: is a crowd region (iscrowd 1), not one object; skipped",
        "annotations[8] (id 9): has no 'bbox'",
    ]
    assert len(messages) == len(expected)
    for message, start in zip(messages, expected, strict=True):
        assert message.startswith("upload.json: " + start), message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"images": [\n  {"id": 1,,}]}', 2, "not valid JSON"),
        ("[1, 2]", None, "JSON object"),
    ],
)
def test_unreadable_file_is_one_problem(text: str, line: int | None, message: str) -> None:
    result = read_coco_dataset(io.StringIO(text), source="bad.json")
    assert result.dataset.images == ()
    (problem,) = result.problems
    assert (problem.source, problem.line) == ("bad.json", line) and message in problem.message
