"""LabelMe JSON: one file per image, next to it <-> an ImageRecord.

On disk (``<image stem>.json`` beside the image; UTF-8)::

    {
      "version": "5.5.0",
      "flags": {"animal": true},                    # image-level labels (true = set)
      "shapes": [{"label": "dog",
                  "points": [[10.0, 20.0], [110.0, 220.0]],   # two opposite corners
                  "group_id": null, "description": "", "shape_type": "rectangle",
                  "flags": {}, "mask": null}],
      "imagePath": "dog.jpg",                       # relative to this JSON file
      "imageData": null,                            # no embedded image
      "imageHeight": 480,
      "imageWidth": 640
    }

Points are continuous pixel coordinates with LabelHub's convention (top-left origin), so a
rectangle is ``[[x, y], [x + w, y + h]]``; on import the corners may come in any order.
Image-level labels are LabelMe's image ``flags`` whose value is ``true`` (``false`` means
"not set" and is not a label). Shapes other than rectangles (polygons, points, ...) are not
boxes: they are reported and skipped. Not kept: box scores, image ids and licences.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelhub_app.formats.records import (
    EPSILON_PX,
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
    merge_results,
    sidecar_paths,
)

LABELME_VERSION = "5.5.0"


@dataclass(frozen=True)
class LabelmeRectangle:
    """A LabelMe ``rectangle`` shape: label and two opposite corners, in pixels."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def from_box(cls, box: Box) -> LabelmeRectangle:
        return cls(box.label, box.x, box.y, box.x + box.w, box.y + box.h)

    def to_pixels(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` with the corners in any order (unchecked)."""
        x, y = min(self.x1, self.x2), min(self.y1, self.y2)
        return x, y, max(self.x1, self.x2) - x, max(self.y1, self.y2) - y

    @classmethod
    def from_shape_dict(cls, data: Mapping[str, Any]) -> LabelmeRectangle:
        """Parse a shape; ValueError with a readable message when it is not a usable rectangle."""
        shape_type = data.get("shape_type") or "polygon"  # LabelMe's default
        if shape_type != "rectangle":
            raise ValueError(f"a {shape_type!r} shape is not a box; skipped")
        label, problem = clean_label(data.get("label"))
        if label is None:
            raise ValueError(f"{problem}; skipped")
        points = data.get("points")
        coords = (
            [json_number(v) for p in points if isinstance(p, list) for v in p]
            if isinstance(points, list)
            else []
        )
        if len(points or []) != 2 or len(coords) != 4 or None in coords:
            raise ValueError(f"{label!r}: a rectangle needs two [x, y] points, not {points!r}")
        x1, y1, x2, y2 = (c for c in coords if c is not None)
        return cls(label, x1, y1, x2, y2)

    def to_shape_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "points": [[self.x1, self.y1], [self.x2, self.y2]],
            "group_id": None,
            "description": "",
            "shape_type": "rectangle",
            "flags": {},
            "mask": None,
        }


def write_labelme(record: ImageRecord, *, image_path: str | None = None) -> bytes:
    """The LabelMe JSON of one image; ``imagePath`` defaults to the file name's last part."""
    doc = {
        "version": LABELME_VERSION,
        "flags": dict.fromkeys(record.labels, True),
        "shapes": [LabelmeRectangle.from_box(box).to_shape_dict() for box in record.boxes],
        "imagePath": image_path or posixpath.basename(record.file_name),
        "imageData": None,
        "imageHeight": record.height,
        "imageWidth": record.width,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def read_labelme(data: bytes, source: str = "labelme.json", *, folder: str = "") -> ImportResult:
    """Read one LabelMe JSON file; the image's file name is ``folder`` joined with imagePath.

    ``folder`` is the JSON file's folder relative to the image folder (LabelMe's imagePath
    is relative to the JSON file; Windows back-slashes are read as ``/``).
    """
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        return failed(source, f"not valid JSON: {exc.msg} (column {exc.colno}).", exc.lineno)
    except UnicodeDecodeError as exc:
        return failed(source, f"not UTF-8 text ({exc.reason} at byte {exc.start}).")
    if not isinstance(doc, dict):
        return failed(source, "a LabelMe file is a JSON object with 'shapes' and 'imagePath'.")
    image_path = doc.get("imagePath")
    if problem := file_name_problem(image_path):
        return failed(source, f"imagePath: {problem}; not imported.")
    file_name = posixpath.normpath(posixpath.join(folder, str(image_path).replace("\\", "/")))
    width, height = json_size(doc.get("imageWidth")), json_size(doc.get("imageHeight"))
    if width is None or height is None:
        return failed(
            source,
            "needs a positive whole imageWidth and imageHeight, not "
            f"{doc.get('imageWidth')!r} x {doc.get('imageHeight')!r}; not imported.",
            record=file_name,
        )
    problems: list[Problem] = []

    def report(message: str) -> None:
        problems.append(Problem(source, None, file_name, message))

    labels: list[str] = []
    flags = doc.get("flags") or {}
    if not isinstance(flags, dict):
        report(f"'flags' must be an object, not {flags!r}; no image-level labels imported")
        flags = {}
    for raw_name, value in flags.items():
        if not isinstance(value, bool):
            report(f"flag {raw_name!r} must be true or false, not {value!r}; skipped")
            continue
        name, problem = clean_label(raw_name)
        if name is None:
            report(f"flag: {problem}; skipped")
        elif value and name not in labels:
            labels.append(name)

    boxes: list[Box] = []
    shapes = doc.get("shapes", [])
    if not isinstance(shapes, list):
        report(f"'shapes' must be a list, not {shapes!r}; no boxes imported")
        shapes = []
    for n, shape in enumerate(shapes, start=1):
        if not isinstance(shape, dict):
            report(f"shape {n} must be an object, not {shape!r}; skipped")
            continue
        try:
            rect = LabelmeRectangle.from_shape_dict(shape)
        except ValueError as exc:
            report(f"shape {n}: {exc}")
            continue
        box, problem = fit_box(
            rect.label, *rect.to_pixels(), width=width, height=height, slack=EPSILON_PX
        )
        if problem:
            report(f"shape {n}: {problem}")
        if box is not None:
            boxes.append(box)
    record = ImageRecord(file_name, width, height, tuple(labels), tuple(boxes))
    return ImportResult(Dataset.of([record]), tuple(problems))


def write_labelme_files(dataset: Dataset) -> dict[str, bytes]:
    """One LabelMe file per image, beside it: ``<file stem>.json`` -> bytes, in dataset order.

    Paths are relative to the image folder. Raises ValueError when two images would share a
    file (``a.jpg`` and ``a.png``).
    """
    return {
        path: write_labelme(image)
        for path, image in sidecar_paths(dataset.images, "", ".json").items()
    }


def read_labelme_files(files: Mapping[str, bytes]) -> ImportResult:
    """Read every ``*.json`` in ``files`` (path relative to the image folder -> contents)."""
    return merge_results(
        (path, read_labelme(data, path, folder=posixpath.dirname(path)))
        for path, data in files.items()
        if posixpath.splitext(path)[1].lower() == ".json"
    )
