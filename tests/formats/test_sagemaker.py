"""SageMaker Ground Truth manifests: round trips, AWS's documented lines, bad input."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from hypothesis import given

from labelhub_app.formats.records import Box, Dataset, ImageRecord
from labelhub_app.formats.sagemaker import read_sagemaker, write_sagemaker
from tests.formats.strategies import ROUND_TRIP, assert_same, datasets

WHEN = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
PREFIX = "s3://bucket/images/"


def _write(dataset: Dataset, **kwargs: str) -> str:
    out = io.StringIO()
    assert write_sagemaker(dataset, out, creation_date=WHEN, **kwargs) == len(dataset.images)
    return out.getvalue()


@ROUND_TRIP
@given(datasets(scores=True, unused_categories=True))
def test_round_trip_is_exact(dataset: Dataset) -> None:
    text = _write(dataset, source_prefix=PREFIX)
    result = read_sagemaker(io.StringIO(text), source_prefix=PREFIX)
    assert result.problems == ()
    used = {n for i in dataset.images for n in (*i.labels, *(b.label for b in i.boxes))}
    assert result.dataset.categories == tuple(c for c in dataset.categories if c in used)
    assert_same(result.dataset, dataset, scores=True)


def test_attribute_names_are_parameters() -> None:
    dataset = Dataset.of([ImageRecord("a.jpg", 9, 9, ("x",), (Box("y", 1, 1, 2, 2),))])
    text = _write(dataset, box_attribute="boxes", labels_attribute="tags")
    assert set(json.loads(text)) == {
        "source-ref",
        "boxes",
        "boxes-metadata",
        "tags",
        "tags-metadata",
    }
    result = read_sagemaker(
        io.BytesIO(text.encode()), box_attribute="boxes", labels_attribute="tags"
    )
    assert result.dataset == dataset and result.problems == ()


def test_exact_line() -> None:
    record = ImageRecord(
        "dog.jpg",
        640,
        480,
        ("animal",),
        (Box("dog", 10, 20, 100, 200), Box("cat", 0.5, 1, 2, 3, 0.9)),
    )
    line = json.loads(_write(Dataset(((record,)), ("animal", "cat", "dog")), source_prefix=PREFIX))
    metadata = {
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2025-01-31T12:00:00.000000",
        "job-name": "labeling-job/labelhub",
    }
    assert line == {
        "source-ref": "s3://bucket/images/dog.jpg",
        "bounding-box": {
            "image_size": [{"width": 640, "height": 480, "depth": 3}],
            "annotations": [
                {"class_id": 2, "left": 10, "top": 20, "width": 100, "height": 200},
                {"class_id": 1, "left": 0.5, "top": 1, "width": 2, "height": 3},
            ],
        },
        "bounding-box-metadata": {
            "objects": [{}, {"confidence": 0.9}],
            "class-map": {"1": "cat", "2": "dog"},
            **metadata,
        },
        "image-labels": [0],
        "image-labels-metadata": {
            "class-map": {"0": "animal"},
            **metadata,
            "type": "groundtruth/image-classification-multilabel",
        },
    }


# AWS's documented object detection output, chained with a multi-label classification job
# (their class ids are independent: 0 is "dog" for boxes but "outdoor" for image labels).
AWS_LINE = {
    "source-ref": "s3://AWSDOC-EXAMPLE-BUCKET/example_image.png",
    "bounding-box-attribute-name": {
        "image_size": [{"width": 500, "height": 400, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 111, "top": 134, "width": 61, "height": 128},
            {"class_id": 5, "left": 161, "top": 250, "width": 30, "height": 30},
            {"class_id": 5, "left": 20, "top": 20, "width": 30, "height": 30},
        ],
    },
    "bounding-box-attribute-name-metadata": {
        "objects": [{"confidence": 0.8}, {"confidence": 0.9}, {"confidence": 0.9}],
        "class-map": {"0": "dog", "5": "bone"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2018-10-18T22:18:13.527256",
        "job-name": "identify-dogs-and-toys",
    },
    "image-label-attribute-name": [1, 0],
    "image-label-attribute-name-metadata": {
        "job-name": "labeling-job/image-label-attribute-name",
        "class-map": {"1": "cat", "0": "outdoor"},
        "human-annotated": "yes",
        "creation-date": "2021-01-21T18:40:38.013Z",
        "confidence-map": {"1": 0.95, "0": 0.77},
        "type": "groundtruth/image-classification-multilabel",
    },
}


def test_reads_aws_documented_output() -> None:
    result = read_sagemaker(
        io.StringIO(json.dumps(AWS_LINE) + "\n"),
        box_attribute="bounding-box-attribute-name",
        labels_attribute="image-label-attribute-name",
        source_prefix="s3://AWSDOC-EXAMPLE-BUCKET/",
    )
    assert result.problems == ()
    assert result.dataset == Dataset(
        (
            ImageRecord(
                "example_image.png",
                500,
                400,
                ("cat", "outdoor"),
                (
                    Box("dog", 111, 134, 61, 128, 0.8),
                    Box("bone", 161, 250, 30, 30, 0.9),
                    Box("bone", 20, 20, 30, 30, 0.9),
                ),
            ),
        ),
        ("dog", "outdoor", "cat", "bone"),
    )


def test_bad_lines_are_reported_with_their_number() -> None:
    def line(name: str, **changes: object) -> str:
        doc = json.loads(
            _write(Dataset.of([ImageRecord(name, 50, 50, ("x",), (Box("y", 1, 1, 5, 5),))]))
        )
        return json.dumps(doc | changes)

    good = json.loads(line("ok.jpg"))
    text = "\n".join(
        [
            line("ok.jpg"),
            "{not json",
            "",
            json.dumps({"bounding-box": {}}),
            line("unknown-class.jpg", **{"image-labels": [7]}),
            line(
                "outside.jpg",
                **{
                    "bounding-box": {
                        **good["bounding-box"],
                        "annotations": [
                            {"class_id": 1, "left": 45, "top": 1, "width": 10, "height": 5},
                            {"class_id": 1, "left": 60, "top": 1, "width": 10, "height": 5},
                            {"class_id": 9, "left": 1, "top": 1, "width": 1, "height": 1},
                            {"class_id": 1, "left": "1", "top": 1, "width": 1, "height": 1},
                        ],
                    }
                },
            ),
            json.dumps({"source-ref": "nosize.jpg", "image-labels": []}),
            line("ok.jpg"),
        ]
    )
    result = read_sagemaker(io.StringIO(text), source="job.manifest")
    assert [i.file_name for i in result.dataset.images] == [
        "ok.jpg",
        "unknown-class.jpg",
        "outside.jpg",
    ]
    assert result.dataset.images[2].boxes == (Box("y", 45, 1, 5, 5),)
    assert [(p.line, p.record, p.message.split(";")[0]) for p in result.problems] == [
        (2, "", "not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
        (4, "", "a manifest line is a JSON object with a 'source-ref'"),
        (5, "unknown-class.jpg", "image-labels: unknown class id 7 (not in the class-map)"),
        (
            6,
            "outside.jpg",
            "box 0: box 'y' at x=45, y=1, w=10, h=5 px sticks out of the 50x50 image",
        ),
        (
            6,
            "outside.jpg",
            "box 1: box 'y' at x=60, y=1, w=10, h=5 px lies outside the 50x50 image",
        ),
        (6, "outside.jpg", "box 2: unknown class id 9 (not in the class-map)"),
        (
            6,
            "outside.jpg",
            "box 3: needs numbers left, top, width, height, not {'class_id': 1, "
            "'left': '1', 'top': 1, 'width': 1, 'height': 1}",
        ),
        (7, "nosize.jpg", "no image size (bounding-box.image_size) and not in 'sizes'"),
        (8, "ok.jpg", "image is on an earlier line"),
    ]
