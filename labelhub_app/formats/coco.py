"""COCO JSON: our images, categories and image-level labels <-> a COCO annotation file.

The file is plain COCO (``pycocotools.coco.COCO`` loads it) plus two extra keys that COCO
readers ignore, so image-level labels are kept rather than dropped::

    {
      "info": {...},                            # as given to write_coco (description, version, ...)
      "licenses": [{"id": 1, "name": "Creative Commons Attribution 4.0", "url": "",
                    "code": "cc-by-4.0"}],     # one per licence used; "code" is LabelHub's key
      "images": [{"id": 1, "file_name": "dog.jpg", "width": 640, "height": 480,
                  "license": 1,                 # id into "licenses"; absent when no licence
                  "labels": ["animal", "dog"],  # extra: image-level label names
                  "labelhub_id": "<uuid>"}],    # extra, only when known: the image's public id
      "categories": [{"id": 1, "name": "dog", "supercategory": "animal"}],
      "annotations": [],                        # boxes and polygons (none yet)
      "image_labels": [{"image_id": 1, "category_id": 1}]   # extra: image-level labels
    }

``file_name`` is relative to the image folder (``images/`` in a LabelHub download), the usual
COCO convention: ``CocoDetection(root="images", annFile="annotations/coco.json")``.
Category ids are contiguous 1..N when made by :func:`make_categories`; ``supercategory`` is
the root of the label's parent chain, or the label itself when it has no parent.

Reading: ``image_labels`` is authoritative; a file without it falls back to each image's
``labels`` names, and a plain COCO file (neither key) labels each image with the categories of
its annotations, so a detection dataset still imports with image-level labels.

Boxes (:func:`write_coco_dataset` / :func:`read_coco_dataset`, over ``records.Dataset``)
-------------------------------------------------------------------------------------------
The same document, with one annotation per box::

    "annotations": [{"id": 1, "image_id": 1, "category_id": 2,
                     "bbox": [x, y, w, h],      # pixels, top-left origin: records' convention
                     "area": w * h, "iscrowd": 0, "segmentation": [],
                     "score": 0.93}]            # only for boxes with a score (detections)

Annotation ids are 1..M, image ids 1..N in dataset order, category ids 1..K in
``Dataset.categories`` order. ``labelhub_id`` carries ``ImageRecord.image_id`` and the
licence table ``ImageRecord.licence``, so nothing in a ``Dataset`` is lost.

:func:`read_coco_dataset` reads that and plain COCO: image-level labels come from
``image_labels`` (else the images' ``labels``); a plain COCO file has only boxes (its
annotations are *not* also turned into image-level labels, unlike :func:`read_coco`).
Crowd regions (``iscrowd: 1``) are not objects and are skipped with a problem, as are
annotations without a ``bbox``; every other bad record is reported and the rest imported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from labelhub_app.errors import InvalidInput
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


@dataclass(frozen=True)
class DatasetImage:
    """One image of a dataset; ``file_name`` relative to the image folder, sizes in pixels."""

    id: int
    file_name: str
    width: int
    height: int
    labels: tuple[str, ...] = ()
    licence: str = ""  # LabelHub licence code ("cc-by-4.0"), or "" when unknown
    public_id: str = ""  # LabelHub's public uuid, when the image came from LabelHub

    @classmethod
    def from_coco_dict(
        cls, data: Mapping[str, Any], *, labels: tuple[str, ...], licence: str
    ) -> DatasetImage:
        return cls(
            id=int(data["id"]),
            file_name=str(data["file_name"]),
            width=int(data["width"]),
            height=int(data["height"]),
            labels=labels,
            licence=licence,
            public_id=str(data.get("labelhub_id") or ""),
        )

    def to_coco_dict(self, licence_id: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "file_name": self.file_name,
            "width": self.width,
            "height": self.height,
        }
        if licence_id is not None:
            out["license"] = licence_id
        out["labels"] = list(self.labels)
        if self.public_id:
            out["labelhub_id"] = self.public_id
        return out


@dataclass(frozen=True)
class DatasetCategory:
    id: int
    name: str
    supercategory: str

    @classmethod
    def from_coco_dict(cls, data: Mapping[str, Any]) -> DatasetCategory:
        name = str(data["name"])
        return cls(int(data["id"]), name, str(data.get("supercategory") or name))

    def to_coco_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "supercategory": self.supercategory}


@dataclass(frozen=True)
class ImageLabelRef:
    """An image-level label: the image has the category somewhere in it (no box)."""

    image_id: int
    category_id: int


def root_of(name: str, parents: Mapping[str, str | None]) -> str:
    """The root of ``name``'s parent chain (``name`` itself when it has no parent; cycle-safe)."""
    seen = {name}
    current = name
    while (parent := parents.get(current)) and parent not in seen:
        seen.add(parent)
        current = parent
    return current


def make_categories(
    names: Iterable[str], parents: Mapping[str, str | None] | None = None
) -> tuple[DatasetCategory, ...]:
    """Categories for the given label names: ids 1..N in name order, supercategory = root label."""
    parents = parents or {}
    return tuple(
        DatasetCategory(i, name, root_of(name, parents))
        for i, name in enumerate(sorted(set(names)), start=1)
    )


def to_coco_dict(
    images: Iterable[DatasetImage],
    categories: Iterable[DatasetCategory],
    *,
    info: Mapping[str, Any],
    licence_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The COCO document as a dict; see the module docstring for its shape."""
    images = list(images)
    categories = list(categories)
    licence_names = licence_names or {}
    cat_ids: dict[str, int] = {}
    for cat in categories:
        if cat.name in cat_ids:
            raise ValueError(f"category {cat.name!r} is given twice")
        cat_ids[cat.name] = cat.id
    if len({c.id for c in categories}) != len(categories):
        raise ValueError("category ids must be unique")
    licence_ids: dict[str, int] = {}
    for image in images:
        if image.licence and image.licence not in licence_ids:
            licence_ids[image.licence] = len(licence_ids) + 1
    seen_ids: set[int] = set()
    image_dicts: list[dict[str, Any]] = []
    image_labels: list[dict[str, int]] = []
    for image in images:
        if image.id in seen_ids:
            raise ValueError(f"image id {image.id} is given twice")
        seen_ids.add(image.id)
        image_dicts.append(image.to_coco_dict(licence_ids.get(image.licence)))
        for name in image.labels:
            if name not in cat_ids:
                raise ValueError(f"image {image.file_name!r} has label {name!r}, not a category")
            image_labels.append({"image_id": image.id, "category_id": cat_ids[name]})
    return {
        "info": dict(info),
        "licenses": [
            {"id": lid, "name": licence_names.get(code, code), "url": "", "code": code}
            for code, lid in licence_ids.items()
        ],
        "images": image_dicts,
        "categories": [c.to_coco_dict() for c in categories],
        "annotations": [],
        "image_labels": image_labels,
    }


def write_coco(
    images: Iterable[DatasetImage],
    categories: Iterable[DatasetCategory],
    stream: IO[str],
    *,
    info: Mapping[str, Any],
    licence_names: Mapping[str, str] | None = None,
) -> None:
    """Write a COCO JSON document to a text stream (UTF-8 recommended; non-ASCII kept as is).

    ``licence_names`` maps licence codes to the titles written as each licence's ``name``.
    Raises ValueError for inconsistent records (an image label without a category, duplicate ids).
    """
    doc = to_coco_dict(images, categories, info=info, licence_names=licence_names)
    json.dump(doc, stream, ensure_ascii=False, separators=(",", ":"))
    stream.write("\n")


def _require_list(doc: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise InvalidInput(f"{source}: {key!r} must be a list.")
    return value


def read_coco(
    stream: IO[str] | IO[bytes], *, source: str = "coco.json"
) -> tuple[list[DatasetImage], list[DatasetCategory], list[ImageLabelRef]]:
    """Read a COCO JSON document: images (with label names), categories and image-level labels.

    ``source`` names the file in error messages. Raises InvalidInput for a file that is not
    COCO JSON or whose references do not resolve.
    """
    try:
        doc = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidInput(
            f"{source}: a COCO file is a JSON object with 'images' and 'categories'."
        )
    try:
        categories = [
            DatasetCategory.from_coco_dict(c) for c in _require_list(doc, "categories", source)
        ]
        licences = {
            int(lic["id"]): str(lic.get("code") or lic.get("name") or "")
            for lic in _require_list(doc, "licenses", source)
        }
        raw_images = _require_list(doc, "images", source)
        image_ids = [int(img["id"]) for img in raw_images]
        annotation_refs: list[ImageLabelRef] = []
        if "image_labels" in doc:
            refs = [
                ImageLabelRef(int(r["image_id"]), int(r["category_id"]))
                for r in _require_list(doc, "image_labels", source)
            ]
            explicit = True
        else:
            refs = []
            explicit = False
            annotation_refs = [
                ImageLabelRef(int(a["image_id"]), int(a["category_id"]))
                for a in _require_list(doc, "annotations", source)
            ]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{source}: malformed COCO entry ({exc!r}).") from exc
    cat_by_id = {c.id: c for c in categories}
    if len(cat_by_id) != len(categories):
        raise InvalidInput(f"{source}: two categories share an id.")
    cat_by_name = {c.name: c for c in categories}
    if len(set(image_ids)) != len(image_ids):
        raise InvalidInput(f"{source}: two images share an id.")
    known_images = set(image_ids)
    if not explicit:
        by_names: list[ImageLabelRef] = []
        has_names = any("labels" in img for img in raw_images)
        for img in raw_images:
            for name in img.get("labels", []) if has_names else []:
                if name not in cat_by_name:
                    raise InvalidInput(
                        f"{source}: image {img['id']} has label {name!r}, not a category."
                    )
                by_names.append(ImageLabelRef(int(img["id"]), cat_by_name[name].id))
        refs = by_names if has_names else list(dict.fromkeys(annotation_refs))
    labels: dict[int, list[str]] = defaultdict(list)
    for ref in refs:
        if ref.image_id not in known_images:
            raise InvalidInput(f"{source}: an image label refers to unknown image {ref.image_id}.")
        if ref.category_id not in cat_by_id:
            raise InvalidInput(
                f"{source}: an image label refers to unknown category {ref.category_id}."
            )
        name = cat_by_id[ref.category_id].name
        if name not in labels[ref.image_id]:
            labels[ref.image_id].append(name)
    images: list[DatasetImage] = []
    for img in raw_images:
        lic_id = img.get("license")
        if lic_id is not None and int(lic_id) not in licences:
            raise InvalidInput(f"{source}: image {img['id']} refers to unknown licence {lic_id}.")
        try:
            images.append(
                DatasetImage.from_coco_dict(
                    img,
                    labels=tuple(labels.get(int(img["id"]), ())),
                    licence=licences[int(lic_id)] if lic_id is not None else "",
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{source}: malformed image entry ({exc!r}).") from exc
    return images, categories, refs


# --- Boxes: records.Dataset <-> COCO detection JSON --------------------------------------


@dataclass(frozen=True)
class CocoAnnotation:
    """One COCO object annotation: a box ``[x, y, w, h]`` in pixels (records' convention)."""

    id: int | None  # None only when read from a file without one (detection results)
    image_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    iscrowd: int = 0
    score: float | None = None

    @property
    def area(self) -> float:
        return self.bbox[2] * self.bbox[3]

    @classmethod
    def from_box(
        cls, box: Box, *, annotation_id: int, image_id: int, category_id: int
    ) -> CocoAnnotation:
        return cls(annotation_id, image_id, category_id, (box.x, box.y, box.w, box.h), 0, box.score)

    def to_box(self, label: str) -> Box:
        """The box as stored (unchecked; readers pass it through ``records.fit_box``)."""
        return Box(label, *self.bbox, score=self.score)

    @classmethod
    def from_coco_dict(cls, data: Mapping[str, Any]) -> CocoAnnotation:
        """Parse an annotation dict; ValueError (with a readable message) when malformed."""
        ann_id = data.get("id")
        if ann_id is not None and not _is_int(ann_id):
            raise ValueError(f"'id' must be a whole number, not {ann_id!r}")
        for key in ("image_id", "category_id"):
            if not _is_int(data.get(key)):
                raise ValueError(f"{key!r} must be a whole number, not {data.get(key)!r}")
        if "bbox" not in data:
            raise ValueError("has no 'bbox' (segmentation-only annotations are not imported)")
        raw = data["bbox"]
        bbox = [json_number(v) for v in raw] if isinstance(raw, list) else []
        if len(bbox) != 4 or any(v is None for v in bbox):
            raise ValueError(f"'bbox' must be four finite numbers [x, y, w, h], not {raw!r}")
        iscrowd = data.get("iscrowd", 0)
        if iscrowd not in (0, 1) or isinstance(iscrowd, bool):
            raise ValueError(f"'iscrowd' must be 0 or 1, not {iscrowd!r}")
        score = data.get("score")
        if score is not None and json_number(score) is None:
            raise ValueError(f"'score' must be a finite number, not {score!r}")
        x, y, w, h = (float(v) for v in bbox if v is not None)
        return cls(
            ann_id,
            int(data["image_id"]),
            int(data["category_id"]),
            (x, y, w, h),
            int(iscrowd),
            None if score is None else float(score),
        )

    def to_coco_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "image_id": self.image_id,
            "category_id": self.category_id,
            "bbox": list(self.bbox),
            "area": self.area,
            "iscrowd": self.iscrowd,
            "segmentation": [],
        }
        if self.score is not None:
            out["score"] = self.score
        return out


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: object) -> int | None:
    """A JSON whole number (not a boolean, not ``1.0``), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def write_coco_dataset(
    dataset: Dataset,
    stream: IO[str],
    *,
    info: Mapping[str, Any] | None = None,
    licence_names: Mapping[str, str] | None = None,
    parents: Mapping[str, str | None] | None = None,
) -> None:
    """Write ``dataset`` as COCO detection JSON (boxes and image-level labels) to a text stream.

    ``parents`` (label -> parent label) sets each category's ``supercategory`` to its root
    label; without it ``supercategory`` is the label itself. See the module docstring.
    """
    parents = parents or {}
    cat_ids = {name: i for i, name in enumerate(dataset.categories, start=1)}
    images = [
        DatasetImage(i, r.file_name, r.width, r.height, r.labels, r.licence, r.image_id)
        for i, r in enumerate(dataset.images, start=1)
    ]
    categories = [
        DatasetCategory(cid, name, root_of(name, parents)) for name, cid in cat_ids.items()
    ]
    doc = to_coco_dict(images, categories, info=info or {}, licence_names=licence_names)
    annotations: list[dict[str, Any]] = []
    for image_id, record in enumerate(dataset.images, start=1):
        for box in record.boxes:
            ann = CocoAnnotation.from_box(
                box,
                annotation_id=len(annotations) + 1,
                image_id=image_id,
                category_id=cat_ids[box.label],
            )
            annotations.append(ann.to_coco_dict())
    doc["annotations"] = annotations
    json.dump(doc, stream, ensure_ascii=False, separators=(",", ":"))
    stream.write("\n")


@dataclass(frozen=True)
class _CocoImage:
    record: str  # how problems name it
    file_name: str
    width: int
    height: int
    licence: str
    public_id: str
    raw_labels: object


def read_coco_dataset(stream: IO[str] | IO[bytes], *, source: str = "coco.json") -> ImportResult:
    """Read COCO JSON (LabelHub's or plain) into a Dataset; bad records become problems.

    Categories come back in category-id order (then any other label names, sorted).
    """
    try:
        doc = json.load(stream)
    except json.JSONDecodeError as exc:
        return failed(source, f"not valid JSON: {exc.msg} (column {exc.colno}).", exc.lineno)
    except UnicodeDecodeError as exc:
        return failed(source, f"not UTF-8 text ({exc.reason} at byte {exc.start}).")
    if not isinstance(doc, dict):
        return failed(
            source, "a COCO file is a JSON object with 'images', 'categories' and 'annotations'."
        )
    problems: list[Problem] = []

    def report(record: str, message: str) -> None:
        problems.append(Problem(source, None, record, message))

    def entries(key: str, *, required: bool = False) -> list[Any]:
        if key not in doc:
            if required:
                report(key, f"the file has no {key!r} list")
            return []
        value = doc[key]
        if not isinstance(value, list):
            report(key, f"{key!r} must be a list, not {type(value).__name__}; ignored")
            return []
        return value

    def dicts(key: str, *, required: bool = False) -> Iterable[tuple[str, dict[str, Any]]]:
        for i, raw in enumerate(entries(key, required=required)):
            record = f"{key}[{i}]"
            if isinstance(raw, dict):
                yield record, raw
            else:
                report(record, f"must be a JSON object, not {raw!r}; skipped")

    cat_names: dict[int, str] = {}
    for record, raw in dicts("categories", required=True):
        cid = _as_int(raw.get("id"))
        name, problem = clean_label(raw.get("name"))
        if cid is None:
            report(record, f"category 'id' must be a whole number, not {raw.get('id')!r}; skipped")
        elif name is None:
            report(f"{record} (id {cid})", f"{problem}; skipped")
        elif cid in cat_names:
            report(f"{record} (id {cid})", "another category has this id; skipped")
        else:
            cat_names[cid] = name

    licences: dict[int, str] = {}
    for record, raw in dicts("licenses"):
        lid, code = _as_int(raw.get("id")), raw.get("code") or raw.get("name") or ""
        if lid is None or not isinstance(code, str):
            report(
                record, "a licence needs a whole-number 'id' and a text 'code' or 'name'; skipped"
            )
        else:
            licences[lid] = code

    images: dict[int, _CocoImage] = {}
    seen_files: set[str] = set()
    for record, raw in dicts("images", required=True):
        iid, file_name = _as_int(raw.get("id")), raw.get("file_name")
        if iid is None:
            report(record, f"image 'id' must be a whole number, not {raw.get('id')!r}; skipped")
            continue
        record = f"image {iid}"
        problem = file_name_problem(file_name)
        if problem or not isinstance(file_name, str):
            report(record, f"{problem}; skipped")
            continue
        record = f"image {iid} ({file_name})"
        width, height = json_size(raw.get("width")), json_size(raw.get("height"))
        if width is None or height is None:
            report(
                record,
                f"needs a positive whole 'width' and 'height', not {raw.get('width')!r} x "
                f"{raw.get('height')!r}; skipped with its annotations",
            )
            continue
        if iid in images:
            report(record, "another image has this id; skipped")
            continue
        if file_name in seen_files:
            report(record, "another image has this file name; skipped")
            continue
        lic = raw.get("license")
        licence = ""
        if lic is not None:
            lid = _as_int(lic)
            if lid is not None and lid in licences:
                licence = licences[lid]
            else:
                report(record, f"refers to unknown licence {lic!r}; imported without a licence")
        public_id = raw.get("labelhub_id") or ""
        if not isinstance(public_id, str):
            report(record, f"'labelhub_id' must be text, not {public_id!r}; ignored")
            public_id = ""
        seen_files.add(file_name)
        images[iid] = _CocoImage(
            record, file_name, width, height, licence, public_id, raw.get("labels", [])
        )

    labels: dict[int, list[str]] = {iid: [] for iid in images}
    if "image_labels" in doc:
        for record, raw in dicts("image_labels"):
            iid, cid = _as_int(raw.get("image_id")), _as_int(raw.get("category_id"))
            if iid is None or iid not in images:
                report(
                    record,
                    f"refers to image {raw.get('image_id')!r}, which was not imported; skipped",
                )
            elif cid is None or cid not in cat_names:
                report(record, f"refers to unknown category {raw.get('category_id')!r}; skipped")
            elif cat_names[cid] not in labels[iid]:
                labels[iid].append(cat_names[cid])
    else:
        for iid, image in images.items():
            if not isinstance(image.raw_labels, list):
                report(image.record, f"'labels' must be a list, not {image.raw_labels!r}; ignored")
                continue
            for raw_name in image.raw_labels:
                name, problem = clean_label(raw_name)
                if name is None:
                    report(image.record, f"{problem}; label skipped")
                elif name not in labels[iid]:
                    labels[iid].append(name)

    boxes: dict[int, list[Box]] = {iid: [] for iid in images}
    for record, raw in dicts("annotations"):
        if "id" in raw:
            record = f"{record} (id {raw['id']!r})"
        try:
            ann = CocoAnnotation.from_coco_dict(raw)
        except ValueError as exc:
            report(record, f"{exc}; skipped")
            continue
        if ann.image_id not in images:
            report(record, f"refers to image {ann.image_id}, which was not imported; skipped")
            continue
        image = images[ann.image_id]
        record = f"{record} on {image.file_name}"
        if ann.category_id not in cat_names:
            report(record, f"refers to unknown category {ann.category_id}; skipped")
            continue
        if ann.iscrowd:
            report(record, "is a crowd region (iscrowd 1), not one object; skipped")
            continue
        box, problem = fit_box(
            cat_names[ann.category_id],
            *ann.bbox,
            width=image.width,
            height=image.height,
            score=ann.score,
        )
        if problem:
            report(record, problem)
        if box is not None:
            boxes[ann.image_id].append(box)

    records = [
        ImageRecord(
            image.file_name,
            image.width,
            image.height,
            tuple(labels[iid]),
            tuple(boxes[iid]),
            image.public_id,
            image.licence,
        )
        for iid, image in images.items()
    ]
    names = list(dict.fromkeys(cat_names[cid] for cid in sorted(cat_names)))
    names += sorted({n for r in records for n in r.labels} - set(names))
    return ImportResult(Dataset(tuple(records), tuple(names)), tuple(problems))
