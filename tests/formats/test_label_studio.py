"""Label Studio JSON: round trips, a real export, the task fields we write, bad input."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given

from labelhub_app.formats.label_studio import label_config, read_label_studio, write_label_studio
from labelhub_app.formats.records import Box, Dataset, ImageRecord
from tests.formats.strategies import ROUND_TRIP, assert_same, datasets

PREFIX = "/data/upload/3/"


@ROUND_TRIP
@given(datasets(scores=True))
def test_round_trip(dataset: Dataset) -> None:
    out = io.StringIO()
    write_label_studio(dataset, out, image_prefix=PREFIX)
    result = read_label_studio(io.StringIO(out.getvalue()), image_prefix=PREFIX)
    assert result.problems == ()
    assert result.dataset.categories == tuple(sorted(dataset.categories))
    # Percentages at full float precision: far inside the 0.01 px the format allows.
    assert_same(result.dataset, dataset, tolerance=1e-6, scores=True)


# A Label Studio 1.13 "JSON" export of one labelled and one unlabelled image, trimmed of
# nothing: every field Label Studio writes is here.
LABEL_STUDIO_EXPORT = """[
  {
    "id": 11,
    "annotations": [
      {
        "id": 4, "completed_by": 1,
        "result": [
          {"original_width": 2242, "original_height": 2802, "image_rotation": 0,
           "value": {"x": 7.6, "y": 4.3, "width": 37.1, "height": 21.8, "rotation": 0,
                     "rectanglelabels": ["Airplane"]},
           "id": "aJdqo5Mq7M", "from_name": "label", "to_name": "image",
           "type": "rectanglelabels", "origin": "manual"},
          {"value": {"choices": ["Outdoor", "Day"]}, "id": "Kd8sEQ0lsz", "from_name": "choice",
           "to_name": "image", "type": "choices", "origin": "manual"}
        ],
        "was_cancelled": false, "ground_truth": false,
        "created_at": "2024-05-02T10:11:12.123456Z", "updated_at": "2024-05-02T10:11:12.123456Z",
        "draft_created_at": null, "lead_time": 12.3, "prediction": {}, "result_count": 0,
        "unique_id": "5b0d0e7f-0f7e-4d7f-9a4b-0e1d2c3b4a59", "import_id": null,
        "last_action": null, "task": 11, "project": 3, "updated_by": 1,
        "parent_prediction": null, "parent_annotation": null, "last_created_by": null
      }
    ],
    "file_upload": "bd7b1d0f-airplane.jpg",
    "drafts": [],
    "predictions": [],
    "data": {"image": "/data/upload/3/bd7b1d0f-airplane.jpg"},
    "meta": {},
    "created_at": "2024-05-02T10:10:00.000000Z", "updated_at": "2024-05-02T10:11:12.123456Z",
    "inner_id": 1, "total_annotations": 1, "cancelled_annotations": 0, "total_predictions": 0,
    "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": null,
    "project": 3, "updated_by": 1, "comment_authors": []
  },
  {
    "id": 12, "annotations": [], "drafts": [], "predictions": [],
    "data": {"image": "/data/upload/3/0a1b-empty.jpg"}, "meta": {}, "project": 3
  }
]"""


def test_reads_a_real_export() -> None:
    result = read_label_studio(
        io.StringIO(LABEL_STUDIO_EXPORT),
        image_prefix=PREFIX,
        sizes={"0a1b-empty.jpg": (320, 200)},
    )
    assert result.problems == ()
    (plane, empty) = result.dataset.images
    assert (plane.file_name, plane.width, plane.height) == ("bd7b1d0f-airplane.jpg", 2242, 2802)
    assert plane.labels == ("Outdoor", "Day")
    (box,) = plane.boxes
    assert box.label == "Airplane"
    assert (box.x, box.y, box.w, box.h) == pytest.approx(
        (0.076 * 2242, 0.043 * 2802, 0.371 * 2242, 0.218 * 2802)
    )
    assert empty == ImageRecord("0a1b-empty.jpg", 320, 200)


def test_without_a_size_an_unlabelled_task_is_a_problem() -> None:
    result = read_label_studio(io.StringIO(LABEL_STUDIO_EXPORT), source="export.json")
    assert [i.file_name for i in result.dataset.images] == [PREFIX + "bd7b1d0f-airplane.jpg"]
    (problem,) = result.problems
    assert str(problem).startswith(
        "export.json: task 1 (id 12), /data/upload/3/0a1b-empty.jpg: no image size"
    )


def test_exact_task_fields() -> None:
    record = ImageRecord("a.jpg", 200, 100, ("day",), (Box("car", 50, 25, 20, 10, 0.5),))
    out = io.StringIO()
    write_label_studio(Dataset.of([record, ImageRecord("b.jpg", 3, 4)]), out, image_prefix=PREFIX)
    assert json.loads(out.getvalue()) == [
        {
            "data": {"image": PREFIX + "a.jpg", "labelhub_width": 200, "labelhub_height": 100},
            "annotations": [
                {
                    "result": [
                        {
                            "id": "b0",
                            "type": "rectanglelabels",
                            "from_name": "label",
                            "to_name": "image",
                            "original_width": 200,
                            "original_height": 100,
                            "image_rotation": 0,
                            "value": {
                                "x": 25.0,
                                "y": 25.0,
                                "width": 10.0,
                                "height": 10.0,
                                "rotation": 0.0,
                                "rectanglelabels": ["car"],
                            },
                            "score": 0.5,
                        },
                        {
                            "id": "c0",
                            "type": "choices",
                            "from_name": "choice",
                            "to_name": "image",
                            "value": {"choices": ["day"]},
                        },
                    ]
                }
            ],
        },
        {
            "data": {"image": PREFIX + "b.jpg", "labelhub_width": 3, "labelhub_height": 4},
            "annotations": [],
        },
    ]


def test_label_config_names_the_controls_the_export_uses() -> None:
    view = ET.fromstring(label_config(Dataset.of([ImageRecord("a.jpg", 1, 1, ("b & c",))])))
    assert view.find("Image").attrib == {"name": "image", "value": "$image"}  # type: ignore[union-attr]
    assert view.find("RectangleLabels").attrib == {"name": "label", "toName": "image"}  # type: ignore[union-attr]
    assert [e.get("value") for e in view.iter("Label")] == ["b & c"]
    assert [e.get("value") for e in view.iter("Choice")] == ["b & c"]
    assert view.find("Choices").get("choice") == "multiple"  # type: ignore[union-attr]


def test_bad_results_are_reported_and_the_rest_imported() -> None:
    def rect(value: dict[str, object], **extra: object) -> dict[str, object]:
        base = {"x": 10, "y": 10, "width": 10, "height": 10, "rectanglelabels": ["ok"]}
        return {
            "type": "rectanglelabels",
            "original_width": 100,
            "original_height": 100,
            "value": base | value,
            **extra,
        }

    tasks = [
        {
            "data": {"image": "a.jpg"},
            "annotations": [
                {"was_cancelled": True, "result": [rect({"rectanglelabels": ["cancelled"]})]},
                {
                    "result": [
                        rect({}),
                        rect({"rotation": 30}, id="rot"),
                        rect({"x": 95}, id="over"),
                        rect({"rectanglelabels": ["two", "names"]}),
                        rect({"width": "wide"}, id="words"),
                        rect({}, original_width=200, id="other size"),
                        {"type": "polygonlabels", "id": "poly", "value": {"points": []}},
                    ]
                },
                {"result": []},
            ],
        },
        {"data": {"text": "no image"}},
        {"data": {"image": "a.jpg", "labelhub_width": 5, "labelhub_height": 5}},
    ]
    result = read_label_studio(io.StringIO(json.dumps(tasks)))
    (image,) = result.dataset.images
    assert image.boxes == (
        Box("ok", 10, 10, 10, 10),
        Box("ok", 95, 10, 5, 10),
        Box("two", 10, 10, 10, 10),
        Box("names", 10, 10, 10, 10),
    )
    assert [p.message.split(";")[0] for p in result.problems] == [
        "has 2 annotations",
        "result 1 ('rot'): the box is rotated by 30 degrees",
        "result 4 ('words'): 'value' needs numbers width",
        "result 6 ('poly') of type 'polygonlabels' is not a box or choice",
        "result 2 ('over'): box 'ok' at x=95, y=10, w=10, h=10 px sticks out of the 100x100 image",
        "result 5 ('other size'): the box was drawn on a 200x100 image, but the image is 100x100",
        "a task needs 'data' with an 'image' URL",
        "image 'a.jpg' is in an earlier task",
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [("[\n{]", 2, "not valid JSON"), ('{"data": {}}', None, "a list of tasks")],
)
def test_unreadable_export_is_one_problem(text: str, line: int | None, message: str) -> None:
    result = read_label_studio(io.StringIO(text))
    (problem,) = result.problems
    assert problem.line == line and message in problem.message
