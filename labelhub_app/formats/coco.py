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
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from labelhub_app.errors import InvalidInput


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
