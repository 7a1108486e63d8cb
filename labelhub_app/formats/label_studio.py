"""Label Studio JSON export: a list of tasks <-> a Dataset, so a project moves both ways.

On disk (UTF-8; what Label Studio's "JSON" export writes and its import accepts)::

    [
      {
        "data": {"image": "/data/upload/1/dog.jpg",      # image_prefix + file name
                 "labelhub_width": 640, "labelhub_height": 480},   # LabelHub's, see below
        "annotations": [{
          "result": [
            {"id": "b0", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
             "original_width": 640, "original_height": 480, "image_rotation": 0,
             "value": {"x": 1.5625, "y": 4.1666, "width": 15.625, "height": 41.666,
                       "rotation": 0, "rectanglelabels": ["dog"]},
             "score": 0.93},                               # only for boxes with a score
            {"id": "c0", "type": "choices", "from_name": "choice", "to_name": "image",
             "value": {"choices": ["animal"]}}             # the image-level labels
          ]
        }]
      }
    ]

Box coordinates are PERCENT (0..100) of ``original_width``/``original_height``, the image's
size in pixels: ``x = 100 * box.x / width`` and so on, written at full float precision.
Images without any label are written with ``"annotations": []``. The labelling config that
matches (a ``RectangleLabels`` named ``label`` and a multiple ``Choices`` named ``choice``
over an ``Image`` named ``image``) comes from :func:`label_config`.

Reading takes every task's first annotation that was not cancelled (more are reported and
skipped; predictions are model output, not labels, and are not imported). The image size
is taken from the results' ``original_width``/``original_height``, else from the
``labelhub_width``/``labelhub_height`` data fields (Label Studio keeps unknown data fields,
and a task with no box has no other place for its size), else from ``sizes``; a task without
any is reported. The ``from_name``/``to_name`` of results are not checked, so any control
names import; a box with several labels becomes one box per label; rotated boxes and other
result types (polygons, text...) are reported and skipped.
Not kept: image ids and licences.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from labelhub_app.formats.records import (
    Box,
    Dataset,
    ImageRecord,
    ImportResult,
    Problem,
    clean_label,
    failed,
    file_name_problem,
    fit_box,
    json_number,
    json_size,
)

BOX_CONTROL = "label"
CHOICE_CONTROL = "choice"
IMAGE_OBJECT = "image"
WIDTH_FIELD = "labelhub_width"
HEIGHT_FIELD = "labelhub_height"
# Overhang (pixels) clipped silently on import: Label Studio's own percentages overshoot
# 100 by float rounding; further out is reported.
ROUNDING_SLACK_PX = 0.5


@dataclass(frozen=True)
class LabelStudioRectangle:
    """A ``rectanglelabels`` result: box in percent of the original image size."""

    labels: tuple[str, ...]
    x: float
    y: float
    width: float
    height: float
    original_width: int
    original_height: int
    rotation: float = 0.0
    score: float | None = None

    @classmethod
    def from_box(cls, box: Box, width: int, height: int) -> LabelStudioRectangle:
        return cls(
            (box.label,),
            100 * box.x / width,
            100 * box.y / height,
            100 * box.w / width,
            100 * box.h / height,
            width,
            height,
            0.0,
            box.score,
        )

    def to_pixels(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` in pixels of the original image (unchecked)."""
        sx, sy = self.original_width / 100, self.original_height / 100
        return self.x * sx, self.y * sy, self.width * sx, self.height * sy

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> LabelStudioRectangle:
        """Parse a ``rectanglelabels`` result; ValueError with a readable message if unusable."""
        value = result.get("value")
        if not isinstance(value, dict):
            raise ValueError(f"'value' must be an object, not {value!r}")
        numbers = {k: json_number(value.get(k)) for k in ("x", "y", "width", "height")}
        missing = [k for k, v in numbers.items() if v is None]
        if missing:
            raise ValueError(f"'value' needs numbers {', '.join(missing)}")
        rotation = json_number(value.get("rotation", 0))
        if rotation is None or rotation % 360 != 0:
            raise ValueError(f"the box is rotated by {value.get('rotation')!r} degrees")
        width = json_size(result.get("original_width"))
        height = json_size(result.get("original_height"))
        if width is None or height is None:
            raise ValueError("needs a positive whole original_width and original_height")
        raw_labels = value.get("rectanglelabels")
        if not isinstance(raw_labels, list) or not raw_labels:
            raise ValueError(f"'rectanglelabels' must be a non-empty list, not {raw_labels!r}")
        labels: list[str] = []
        for raw in raw_labels:
            name, problem = clean_label(raw)
            if name is None:
                raise ValueError(str(problem))
            labels.append(name)
        score = result.get("score")
        if score is not None and json_number(score) is None:
            raise ValueError(f"'score' must be a number, not {score!r}")
        x, y, w, h = (numbers[k] or 0.0 for k in ("x", "y", "width", "height"))
        return cls(
            tuple(labels), x, y, w, h, width, height, 0.0, None if score is None else float(score)
        )

    def to_result(self, region_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": region_id,
            "type": "rectanglelabels",
            "from_name": BOX_CONTROL,
            "to_name": IMAGE_OBJECT,
            "original_width": self.original_width,
            "original_height": self.original_height,
            "image_rotation": 0,
            "value": {
                "x": self.x,
                "y": self.y,
                "width": self.width,
                "height": self.height,
                "rotation": self.rotation,
                "rectanglelabels": list(self.labels),
            },
        }
        if self.score is not None:
            out["score"] = self.score
        return out


def label_config(dataset: Dataset) -> str:
    """The Label Studio labelling config for the export: every category as box label and choice."""
    view = ET.Element("View")
    ET.SubElement(view, "Image", name=IMAGE_OBJECT, value=f"${IMAGE_OBJECT}")
    boxes = ET.SubElement(view, "RectangleLabels", name=BOX_CONTROL, toName=IMAGE_OBJECT)
    choices = ET.SubElement(
        view, "Choices", name=CHOICE_CONTROL, toName=IMAGE_OBJECT, choice="multiple"
    )
    for name in dataset.categories:
        ET.SubElement(boxes, "Label", value=name)
        ET.SubElement(choices, "Choice", value=name)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def to_task(record: ImageRecord, *, image_prefix: str = "") -> dict[str, Any]:
    """One image as a Label Studio task dict."""
    result = [
        LabelStudioRectangle.from_box(box, record.width, record.height).to_result(f"b{n}")
        for n, box in enumerate(record.boxes)
    ]
    if record.labels:
        result.append(
            {
                "id": "c0",
                "type": "choices",
                "from_name": CHOICE_CONTROL,
                "to_name": IMAGE_OBJECT,
                "value": {"choices": list(record.labels)},
            }
        )
    return {
        "data": {
            IMAGE_OBJECT: image_prefix + record.file_name,
            WIDTH_FIELD: record.width,
            HEIGHT_FIELD: record.height,
        },
        "annotations": [{"result": result}] if result else [],
    }


def write_label_studio(dataset: Dataset, stream: IO[str], *, image_prefix: str = "") -> None:
    """Write ``dataset`` as a Label Studio JSON task list; ``data.image`` = prefix + file name."""
    tasks = [to_task(record, image_prefix=image_prefix) for record in dataset.images]
    json.dump(tasks, stream, ensure_ascii=False, indent=1)
    stream.write("\n")


def read_label_studio(
    stream: IO[str] | IO[bytes],
    *,
    source: str = "label_studio.json",
    image_prefix: str = "",
    sizes: Mapping[str, tuple[int, int]] | None = None,
) -> ImportResult:
    """Read a Label Studio JSON export; ``image_prefix`` is cut from ``data.image``.

    ``sizes`` (file name -> (width, height)) is used only for tasks that carry no size.
    """
    try:
        tasks = json.load(stream)
    except json.JSONDecodeError as exc:
        return failed(source, f"not valid JSON: {exc.msg} (column {exc.colno}).", exc.lineno)
    except UnicodeDecodeError as exc:
        return failed(source, f"not UTF-8 text ({exc.reason} at byte {exc.start}).")
    if not isinstance(tasks, list):
        return failed(source, "a Label Studio JSON export is a list of tasks.")
    problems: list[Problem] = []
    records: list[ImageRecord] = []
    seen: set[str] = set()
    for n, task in enumerate(tasks):
        record = _read_task(task, n, source, image_prefix, sizes or {}, problems)
        if record is None:
            continue
        if record.file_name in seen:
            problems.append(
                Problem(
                    source,
                    None,
                    f"task {n}",
                    f"image {record.file_name!r} is in an earlier task; skipped",
                )
            )
            continue
        seen.add(record.file_name)
        records.append(record)
    return ImportResult(Dataset.of(records), tuple(problems))


def _read_task(
    task: object,
    n: int,
    source: str,
    image_prefix: str,
    sizes: Mapping[str, tuple[int, int]],
    problems: list[Problem],
) -> ImageRecord | None:
    where = f"task {n}"
    if isinstance(task, dict) and task.get("id") is not None:
        where = f"task {n} (id {task['id']!r})"

    def report(message: str) -> None:
        problems.append(Problem(source, None, where, message))

    data = task.get("data") if isinstance(task, dict) else None
    image = data.get(IMAGE_OBJECT) if isinstance(data, dict) else None
    if not isinstance(task, dict) or not isinstance(data, dict) or not isinstance(image, str):
        report("a task needs 'data' with an 'image' URL; skipped")
        return None
    file_name = (
        image[len(image_prefix) :] if image_prefix and image.startswith(image_prefix) else image
    )
    if problem := file_name_problem(file_name):
        report(f"{problem}; skipped")
        return None
    where = f"{where}, {file_name}"

    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        report(f"'annotations' must be a list, not {annotations!r}; skipped")
        return None
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if any(not isinstance(a, dict) for a in annotations):
        report("an annotation that is not a JSON object was skipped")
    if len(usable) > 1:
        report(f"has {len(usable)} annotations; only the first was imported")
    results = usable[0].get("result", []) if usable else []
    if not isinstance(results, list):
        report(f"'result' must be a list, not {results!r}; no labels imported")
        results = []

    rectangles: list[tuple[str, LabelStudioRectangle]] = []
    labels: list[str] = []
    for r, result in enumerate(results):
        kind = result.get("type") if isinstance(result, dict) else None
        if not isinstance(result, dict):
            report(f"result {r} must be an object, not {result!r}; skipped")
        elif kind == "rectanglelabels":
            try:
                rect = LabelStudioRectangle.from_result(result)
                rectangles.append((f"result {r} ({result.get('id')!r})", rect))
            except ValueError as exc:
                report(f"result {r} ({result.get('id')!r}): {exc}; skipped")
        elif kind == "choices":
            value = result.get("value")
            choices = value.get("choices") if isinstance(value, dict) else None
            if not isinstance(choices, list):
                report(
                    f"result {r} ({result.get('id')!r}): 'value.choices' must be a list; skipped"
                )
                continue
            for raw in choices:
                name, problem = clean_label(raw)
                if name is None:
                    report(f"result {r} ({result.get('id')!r}): {problem}; skipped")
                elif name not in labels:
                    labels.append(name)
        else:
            report(
                f"result {r} ({result.get('id')!r}) of type {kind!r} is not a box or choice; "
                "skipped"
            )

    size = _task_size(data, [rect for _, rect in rectangles], sizes.get(file_name))
    if size is None:
        report(
            "no image size (no box with original_width/original_height, no "
            f"{WIDTH_FIELD}/{HEIGHT_FIELD}, not in 'sizes'); skipped with its labels"
        )
        return None
    width, height = size
    boxes: list[Box] = []
    for result_name, rect in rectangles:
        if (rect.original_width, rect.original_height) != size:
            report(
                f"{result_name}: the box was drawn on a {rect.original_width}x"
                f"{rect.original_height} image, but the image is {width}x{height}; skipped"
            )
            continue
        for label in rect.labels:
            box, problem = fit_box(
                label,
                *rect.to_pixels(),
                width=width,
                height=height,
                score=rect.score,
                slack=ROUNDING_SLACK_PX,
            )
            if problem:
                report(f"{result_name}: {problem}")
            if box is not None:
                boxes.append(box)
    return ImageRecord(file_name, width, height, tuple(labels), tuple(boxes))


def _task_size(
    data: Mapping[str, Any],
    rectangles: list[LabelStudioRectangle],
    fallback: tuple[int, int] | None,
) -> tuple[int, int] | None:
    if rectangles:
        return rectangles[0].original_width, rectangles[0].original_height
    width, height = json_size(data.get(WIDTH_FIELD)), json_size(data.get(HEIGHT_FIELD))
    if width is not None and height is not None:
        return width, height
    return fallback
