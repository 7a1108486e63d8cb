"""SageMaker Ground Truth output manifest (JSON lines) <-> a Dataset.

On disk: one JSON object per line (UTF-8, ``\\n``-terminated), one line per image. With the
default attribute names ``bounding-box`` and ``image-labels``::

    {"source-ref": "s3://bucket/images/dog.jpg",
     "bounding-box": {
       "image_size": [{"width": 640, "height": 480, "depth": 3}],
       "annotations": [{"class_id": 1, "left": 10, "top": 20, "width": 100, "height": 200}]},
     "bounding-box-metadata": {
       "objects": [{"confidence": 0.93}],          # one per annotation; confidence = score
       "class-map": {"1": "dog"},
       "type": "groundtruth/object-detection",
       "human-annotated": "yes",
       "creation-date": "2025-01-31T12:00:00.000000",
       "job-name": "labeling-job/labelhub"},
     "image-labels": [0],
     "image-labels-metadata": {
       "class-map": {"0": "animal"},
       "type": "groundtruth/image-classification-multilabel",
       "human-annotated": "yes",
       "creation-date": "2025-01-31T12:00:00.000000",
       "job-name": "labeling-job/labelhub"}}

``left``/``top``/``width``/``height`` are pixels with LabelHub's convention (top-left
origin), exactly as stored: whole pixels as JSON integers, Ground Truth's own form, and
fractional ones as JSON floats. ``class_id`` is the index in ``Dataset.categories`` for both
attributes, and each line's ``class-map`` lists the classes that line uses (so categories no
image uses are not kept). Every line gets both attributes, empty when the image has no boxes
or labels, so every image keeps its size. An object's ``confidence`` is written only for
boxes with a score, and read back as the score (Ground Truth writes one for human boxes too).

Reading takes the class names from each line's own ``class-map`` (Ground Truth's box and
classification jobs number their classes independently), orders categories by class id,
and takes the image size from the box attribute's ``image_size``, else from ``sizes``.
``source-ref`` minus ``source_prefix`` is the file name. Not kept: image ids and licences.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from labelhub_app.formats.records import (
    EPSILON_PX,
    Box,
    Dataset,
    ImageRecord,
    ImportResult,
    Problem,
    clean_label,
    file_name_problem,
    fit_box,
    json_number,
    json_size,
)

BOX_TYPE = "groundtruth/object-detection"
LABELS_TYPE = "groundtruth/image-classification-multilabel"
BOX_ATTRIBUTE = "bounding-box"
LABELS_ATTRIBUTE = "image-labels"
JOB_NAME = "labeling-job/labelhub"


@dataclass(frozen=True)
class GroundTruthBox:
    """One Ground Truth box annotation: class id and pixel box, optional confidence."""

    class_id: int
    left: float
    top: float
    width: float
    height: float
    confidence: float | None = None

    @classmethod
    def from_box(cls, box: Box, class_id: int) -> GroundTruthBox:
        return cls(class_id, box.x, box.y, box.w, box.h, box.score)

    @classmethod
    def from_dict(cls, data: object, confidence: float | None) -> GroundTruthBox:
        """Parse an annotation dict; ValueError with a readable message when malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"an annotation must be an object, not {data!r}")
        class_id = data.get("class_id")
        if not isinstance(class_id, int) or isinstance(class_id, bool):
            raise ValueError(f"'class_id' must be a whole number, not {class_id!r}")
        keys = ("left", "top", "width", "height")
        values = [json_number(data.get(k)) for k in keys]
        if None in values:
            raise ValueError(f"needs numbers {', '.join(keys)}, not {data!r}")
        left, top, width, height = (v for v in values if v is not None)
        return cls(class_id, left, top, width, height, confidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "left": _pixel(self.left),
            "top": _pixel(self.top),
            "width": _pixel(self.width),
            "height": _pixel(self.height),
        }


def _pixel(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _date(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def to_manifest_line(
    record: ImageRecord,
    categories: Mapping[str, int],
    *,
    creation_date: datetime,
    box_attribute: str = BOX_ATTRIBUTE,
    labels_attribute: str = LABELS_ATTRIBUTE,
    source_prefix: str = "",
    job_name: str = JOB_NAME,
    depth: int = 3,
) -> dict[str, Any]:
    """One image as a manifest line's object; ``categories`` maps label -> class id."""
    date = _date(creation_date)
    box_classes = {str(categories[b.label]): b.label for b in record.boxes}
    label_ids = [categories[name] for name in record.labels]
    return {
        "source-ref": source_prefix + record.file_name,
        box_attribute: {
            "image_size": [{"width": record.width, "height": record.height, "depth": depth}],
            "annotations": [
                GroundTruthBox.from_box(b, categories[b.label]).to_dict() for b in record.boxes
            ],
        },
        f"{box_attribute}-metadata": {
            "objects": [{} if b.score is None else {"confidence": b.score} for b in record.boxes],
            "class-map": dict(sorted(box_classes.items(), key=lambda kv: int(kv[0]))),
            "type": BOX_TYPE,
            "human-annotated": "yes",
            "creation-date": date,
            "job-name": job_name,
        },
        labels_attribute: label_ids,
        f"{labels_attribute}-metadata": {
            "class-map": {str(categories[name]): name for name in record.labels},
            "type": LABELS_TYPE,
            "human-annotated": "yes",
            "creation-date": date,
            "job-name": job_name,
        },
    }


def write_sagemaker(
    dataset: Dataset,
    stream: IO[str],
    *,
    creation_date: datetime,
    box_attribute: str = BOX_ATTRIBUTE,
    labels_attribute: str = LABELS_ATTRIBUTE,
    source_prefix: str = "",
    job_name: str = JOB_NAME,
) -> int:
    """Write ``dataset`` as an output manifest, one line per image; returns the line count.

    ``source_prefix`` turns file names into ``source-ref`` URIs (``s3://bucket/images/``);
    ``creation_date`` is written as every label's creation date (given, to stay pure).
    """
    if box_attribute == labels_attribute:
        raise ValueError("the box and label attributes need different names")
    categories = {name: i for i, name in enumerate(dataset.categories)}
    for record in dataset.images:
        line = to_manifest_line(
            record,
            categories,
            creation_date=creation_date,
            box_attribute=box_attribute,
            labels_attribute=labels_attribute,
            source_prefix=source_prefix,
            job_name=job_name,
        )
        stream.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(dataset.images)


def read_sagemaker(
    stream: Iterable[str | bytes],
    *,
    source: str = "output.manifest",
    box_attribute: str = BOX_ATTRIBUTE,
    labels_attribute: str = LABELS_ATTRIBUTE,
    source_prefix: str = "",
    sizes: Mapping[str, tuple[int, int]] | None = None,
) -> ImportResult:
    """Read an output manifest line by line; bad lines and records become problems.

    ``sizes`` (file name -> (width, height)) is used for lines without ``image_size``.
    """
    problems: list[Problem] = []
    records: list[ImageRecord] = []
    seen: set[str] = set()
    class_ids: dict[str, int] = {}
    for line_no, raw_line in enumerate(stream, start=1):
        reader = _LineReader(source, line_no, problems)
        record = reader.read(
            raw_line, box_attribute, labels_attribute, source_prefix, sizes or {}, class_ids
        )
        if record is None:
            continue
        if record.file_name in seen:
            reader.report(record.file_name, "image is on an earlier line; skipped")
            continue
        seen.add(record.file_name)
        records.append(record)
    categories = sorted(class_ids, key=lambda name: (class_ids[name], name))
    return ImportResult(Dataset.of(records, categories), tuple(problems))


@dataclass
class _LineReader:
    source: str
    line: int
    problems: list[Problem]

    def report(self, record: str, message: str) -> None:
        self.problems.append(Problem(self.source, self.line, record, message))

    def read(
        self,
        raw_line: str | bytes,
        box_attribute: str,
        labels_attribute: str,
        source_prefix: str,
        sizes: Mapping[str, tuple[int, int]],
        class_ids: dict[str, int],
    ) -> ImageRecord | None:
        try:
            text = raw_line.decode("utf-8") if isinstance(raw_line, bytes) else raw_line
        except UnicodeDecodeError as exc:
            self.report("", f"not UTF-8 text ({exc.reason} at byte {exc.start}); skipped")
            return None
        if not text.strip():
            return None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            self.report("", f"not valid JSON: {exc.msg} (column {exc.colno}); skipped")
            return None
        ref = doc.get("source-ref") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or not isinstance(ref, str):
            self.report("", "a manifest line is a JSON object with a 'source-ref'; skipped")
            return None
        file_name = (
            ref[len(source_prefix) :] if source_prefix and ref.startswith(source_prefix) else ref
        )
        if problem := file_name_problem(file_name):
            self.report(ref, f"{problem}; skipped")
            return None

        size = sizes.get(file_name)
        box_value = doc.get(box_attribute)
        if box_value is not None:
            image_size = box_value.get("image_size") if isinstance(box_value, dict) else None
            first = image_size[0] if isinstance(image_size, list) and image_size else None
            width = json_size(first.get("width")) if isinstance(first, dict) else None
            height = json_size(first.get("height")) if isinstance(first, dict) else None
            if width is not None and height is not None:
                size = (width, height)
        if size is None:
            self.report(
                file_name,
                f"no image size ({box_attribute}.image_size) and not in "
                "'sizes'; skipped with its labels",
            )
            return None
        width, height = size
        boxes = self._boxes(doc, file_name, box_attribute, width, height, class_ids)
        labels = self._labels(doc, file_name, labels_attribute, class_ids)
        return ImageRecord(file_name, width, height, tuple(labels), tuple(boxes))

    def _class_map(
        self, doc: Mapping[str, Any], file_name: str, attribute: str, kind: str
    ) -> dict[int, str] | None:
        metadata = doc.get(f"{attribute}-metadata")
        if not isinstance(metadata, dict):
            self.report(
                file_name,
                f"{attribute!r} has no '{attribute}-metadata'; its labels were not imported",
            )
            return None
        if metadata.get("type", kind) != kind:
            self.report(
                file_name,
                f"'{attribute}-metadata' has type {metadata.get('type')!r}, "
                f"not {kind!r}; not imported",
            )
            return None
        raw_map = metadata.get("class-map", {})
        if not isinstance(raw_map, dict):
            self.report(
                file_name,
                f"'{attribute}-metadata.class-map' must be an object; {attribute!r} not imported",
            )
            return None
        class_map: dict[int, str] = {}
        for key, raw_name in raw_map.items():
            name, problem = clean_label(raw_name)
            try:
                class_id = int(key)
            except ValueError:
                self.report(file_name, f"class-map key {key!r} is not a class id; skipped")
                continue
            if name is None:
                self.report(file_name, f"class-map entry {key}: {problem}; skipped")
                continue
            class_map[class_id] = name
        return class_map

    def _boxes(
        self,
        doc: Mapping[str, Any],
        file_name: str,
        attribute: str,
        width: int,
        height: int,
        class_ids: dict[str, int],
    ) -> list[Box]:
        value = doc.get(attribute)
        if value is None:
            return []
        annotations = value.get("annotations", []) if isinstance(value, dict) else None
        if not isinstance(annotations, list):
            self.report(file_name, f"'{attribute}.annotations' must be a list; no boxes imported")
            return []
        if not annotations:
            return []
        class_map = self._class_map(doc, file_name, attribute, BOX_TYPE)
        if class_map is None:
            return []
        objects = doc[f"{attribute}-metadata"].get("objects", [])
        if not isinstance(objects, list):
            objects = []
        boxes: list[Box] = []
        for n, raw in enumerate(annotations):
            obj = objects[n] if n < len(objects) and isinstance(objects[n], dict) else {}
            confidence = obj.get("confidence")
            if confidence is not None and json_number(confidence) is None:
                self.report(
                    file_name,
                    f"box {n}: confidence {confidence!r} is not a number; imported without a score",
                )
                confidence = None
            try:
                gt_box = GroundTruthBox.from_dict(
                    raw, None if confidence is None else float(confidence)
                )
            except ValueError as exc:
                self.report(file_name, f"box {n}: {exc}; skipped")
                continue
            label = class_map.get(gt_box.class_id)
            if label is None:
                self.report(
                    file_name,
                    f"box {n}: unknown class id {gt_box.class_id} (not in the class-map); skipped",
                )
                continue
            class_ids.setdefault(label, gt_box.class_id)
            box, problem = fit_box(
                label,
                gt_box.left,
                gt_box.top,
                gt_box.width,
                gt_box.height,
                width=width,
                height=height,
                score=gt_box.confidence,
                slack=EPSILON_PX,
            )
            if problem:
                self.report(file_name, f"box {n}: {problem}")
            if box is not None:
                boxes.append(box)
        return boxes

    def _labels(
        self, doc: Mapping[str, Any], file_name: str, attribute: str, class_ids: dict[str, int]
    ) -> list[str]:
        value = doc.get(attribute)
        if value is None:
            return []
        if not isinstance(value, list):
            self.report(file_name, f"{attribute!r} must be a list of class ids; not imported")
            return []
        if not value:
            return []
        class_map = self._class_map(doc, file_name, attribute, LABELS_TYPE)
        if class_map is None:
            return []
        labels: list[str] = []
        for class_id in value:
            label = (
                class_map.get(class_id)
                if isinstance(class_id, int) and not isinstance(class_id, bool)
                else None
            )
            if label is None:
                self.report(
                    file_name,
                    f"{attribute}: unknown class id {class_id!r} (not in the class-map); skipped",
                )
                continue
            class_ids.setdefault(label, class_id)
            if label not in labels:
                labels.append(label)
        return labels
