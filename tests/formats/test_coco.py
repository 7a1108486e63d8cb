"""COCO JSON: write -> read round trips, pycocotools compatibility, and bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from labelhub_app.errors import InvalidInput
from labelhub_app.formats.coco import (
    DatasetCategory,
    DatasetImage,
    ImageLabelRef,
    make_categories,
    read_coco,
    root_of,
    write_coco,
)

PARENTS = {"dog": "animal", "cat": "animal", "animal": None, "car": "vehicle", "puppy": "dog"}
IMAGES = [
    DatasetImage(1, "dog.jpg", 640, 480, ("dog", "puppy"), "cc-by-4.0", "uuid-1"),
    DatasetImage(2, "Straße ☀.png", 320, 240, ("car",), "standard", "uuid-2"),
    DatasetImage(3, "none.jpg", 10, 20, (), "cc-by-4.0"),
    DatasetImage(4, "animal.jpg", 64, 64, ("animal", "cat"), "cc0-1.0"),
]
INFO = {"description": "test export", "version": "1.0", "year": 2025}


def _write(images: list[DatasetImage] = IMAGES) -> str:
    cats = make_categories({n for i in images for n in i.labels}, PARENTS)
    out = io.StringIO()
    write_coco(images, cats, out, info=INFO, licence_names={"cc-by-4.0": "CC BY 4.0"})
    return out.getvalue()


def test_make_categories_contiguous_with_root_supercategory() -> None:
    cats = make_categories(["puppy", "dog", "car", "animal", "dog"], PARENTS)
    assert [c.id for c in cats] == [1, 2, 3, 4]
    assert {c.name: c.supercategory for c in cats} == {
        "animal": "animal",
        "car": "vehicle",
        "dog": "animal",
        "puppy": "animal",
    }


def test_root_of_survives_a_cycle() -> None:
    assert root_of("a", {"a": "b", "b": "a"}) in {"a", "b"}


def test_round_trip() -> None:
    text = _write()
    images, cats, refs = read_coco(io.StringIO(text))
    assert images == IMAGES
    assert cats == list(make_categories({"dog", "puppy", "car", "animal", "cat"}, PARENTS))
    by_name = {c.id: c.name for c in cats}
    assert [(r.image_id, by_name[r.category_id]) for r in refs] == [
        (1, "dog"),
        (1, "puppy"),
        (2, "car"),
        (4, "animal"),
        (4, "cat"),
    ]


def test_document_shape() -> None:
    doc = json.loads(_write())
    assert doc["info"] == INFO
    assert doc["annotations"] == []
    assert doc["licenses"] == [
        {"id": 1, "name": "CC BY 4.0", "url": "", "code": "cc-by-4.0"},
        {"id": 2, "name": "standard", "url": "", "code": "standard"},
        {"id": 3, "name": "cc0-1.0", "url": "", "code": "cc0-1.0"},
    ]
    first = doc["images"][0]
    assert first == {
        "id": 1,
        "file_name": "dog.jpg",
        "width": 640,
        "height": 480,
        "license": 1,
        "labels": ["dog", "puppy"],
        "labelhub_id": "uuid-1",
    }
    assert {"image_id": 2, "category_id": 2} in doc["image_labels"]  # car is category 2


def test_pycocotools_loads_it(tmp_path: Path) -> None:
    path = tmp_path / "coco.json"
    path.write_text(_write(), encoding="utf-8")
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == 4
    assert len(coco.getCatIds()) == 5
    assert coco.getCatIds(supNms=["animal"]) == [1, 3, 4, 5]  # animal, cat, dog, puppy
    assert coco.getCatIds(supNms=["vehicle"]) == [2]  # car
    assert coco.loadImgs([2])[0]["file_name"] == "Straße ☀.png"
    assert coco.getAnnIds() == []


def test_read_accepts_bytes_stream() -> None:
    images, _, _ = read_coco(io.BytesIO(_write().encode("utf-8")))
    assert images == IMAGES


def test_plain_coco_gets_labels_from_annotations() -> None:
    doc = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 4, "height": 3}],
        "categories": [
            {"id": 18, "name": "dog", "supercategory": "animal"},
            {"id": 3, "name": "car", "supercategory": "vehicle"},
        ],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 18, "bbox": [0, 0, 1, 1]},
            {"id": 2, "image_id": 7, "category_id": 18, "bbox": [1, 1, 1, 1]},
        ],
    }
    images, cats, refs = read_coco(io.StringIO(json.dumps(doc)))
    assert images == [DatasetImage(7, "a.jpg", 4, 3, ("dog",), "")]
    assert cats[0] == DatasetCategory(18, "dog", "animal")
    assert refs == [ImageLabelRef(7, 18)]


def test_label_names_used_when_image_labels_key_absent() -> None:
    doc = json.loads(_write())
    del doc["image_labels"]
    images, _, _ = read_coco(io.StringIO(json.dumps(doc)))
    assert images == IMAGES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"images": {}}', "must be a list"),
        ('{"images": [{"file_name": "x"}]}', "malformed"),
        (
            '{"images": [{"id": 1, "file_name": "a", "width": 1, "height": 1}], "categories": [],'
            ' "image_labels": [{"image_id": 1, "category_id": 9}]}',
            "unknown category 9",
        ),
        (
            '{"images": [], "categories": [], "image_labels": [{"image_id": 5, "category_id": 1}]}',
            "unknown image 5",
        ),
        (
            '{"images": [{"id": 1, "file_name": "a", "width": 1, "height": 1, "license": 4}]}',
            "unknown licence 4",
        ),
    ],
)
def test_bad_input_is_reported(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        read_coco(io.StringIO(text), source="upload.json")
    assert info.value.message.startswith("upload.json")


def test_write_refuses_a_label_without_category() -> None:
    with pytest.raises(ValueError, match="not a category"):
        write_coco([IMAGES[0]], [DatasetCategory(1, "dog", "animal")], io.StringIO(), info={})


def test_write_refuses_duplicate_image_ids() -> None:
    with pytest.raises(ValueError, match="twice"):
        write_coco([IMAGES[2], IMAGES[2]], [], io.StringIO(), info={})
