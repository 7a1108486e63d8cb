"""Annotation imports: a producer brings labels and boxes made in another tool onto their images.

``import_annotations`` reads files in one of the dataset formats (``formats/``), matches every
record to one of the actor's own images and saves each matched image as one new annotation
revision through :func:`services.annotations.save_annotations_batch` (the rules, revisions and
operation-log rows of ``save_annotations``, written in bulk, one transaction per 500 images), so
the revision history and the operation log record the import exactly as they record the
editor's saves.

Matching (own images only)
--------------------------
A record names its image by file name; LabelHub keeps each image's uploaded base name. The
record's name is reduced to its base name (folders, URL parts and a Label Studio local-files
``?d=`` parameter removed, percent-escapes decoded) and compared case-insensitively. Label
Studio prefixes uploaded files with eight hex digits (``/data/upload/3/1a2b3c4d-dog.jpg``);
when the name as given matches nothing, the name without that prefix is tried. A COCO file
written by LabelHub also carries each image's public id (``labelhub_id``), which wins when it
names one of the actor's images. A name that none of the actor's images has, or that several
have, is reported as a problem and skipped. YOLO label files are matched by stem
(``labels/dog.txt`` -> ``dog.jpg``).

What an import changes (replace boxes, merge tags)
--------------------------------------------------
- Boxes: the file is the truth for every image it names. The image's boxes become the file's
  boxes: a box equal to one already there (same label and geometry after LabelHub's rounding to
  0.1 px) is kept as it is, the others are created, and the image's boxes that are not in the
  file are deleted. So importing the same file twice changes nothing the second time, and
  images the file does not name are not touched. An empty YOLO label file or a VOC/LabelMe file
  without objects says "no objects" and clears the image's boxes; a Label Studio task nobody
  labelled (no annotation, or only cancelled ones) says nothing and leaves them. The CSV
  manifest holds no boxes, so it never changes boxes.
- Tags (image-level labels): merged. The file's labels are added; none are removed. An image's
  tags are also its market labels, and most tools' files (plain COCO, YOLO, VOC) cannot hold
  image-level labels at all, so replacing would silently strip them. Remove a tag in the editor.
- Labels are normalised as everywhere in LabelHub (``Dog`` -> ``dog``); a label LabelHub cannot
  hold is reported and its box or tag skipped. New labels are created, as in the editor.

Sizes: YOLO files hold none, and a Label Studio task without boxes may hold none either; they
come from the matched images. A record whose size differs from the image's is skipped when its
boxes are in pixels (COCO, VOC, LabelMe, SageMaker): they would land in the wrong place. Label
Studio stores percentages, so its boxes are scaled to the image's size.

Bad input never stops the rest: every problem (the readers' per-record problems, unknown or
ambiguous names, records skipped, saves refused) is in :attr:`ImportReport.problems`, and a
save refused for one image (say, edited meanwhile) does not stop the others.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import unicodedata
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from labelhub_app.errors import InvalidInput
from labelhub_app.formats import coco, label_studio, labelme, sagemaker, voc, yolo
from labelhub_app.formats.csv_manifest import LABEL_SEPARATOR, unescape_cell
from labelhub_app.formats.records import Box, ImageRecord, ImportResult, Problem
from labelhub_app.models import SOURCE_HUMAN, SOURCE_MODEL, Image, ImageLabel, Label, User
from labelhub_app.models import Box as BoxRow
from labelhub_app.services.accounts import require_role
from labelhub_app.services.annotations import (
    BATCH_CHUNK,
    MAX_BOXES_PER_IMAGE,
    MIN_SIDE_PX,
    BatchItem,
    BoxEdit,
    save_annotations_batch,
)
from labelhub_app.services.labels import check_label_name

IMPORT_FORMATS = ("coco", "yolo", "voc", "labelme", "labelstudio", "sagemaker", "manifest")
_FORMAT_ALIASES = {"csv": "manifest", "label-studio": "labelstudio", "label_studio": "labelstudio"}
# File endings read from zips and folders, per format (images and other files are not read).
IMPORT_ENDINGS = {
    "coco": (".json",),
    "yolo": (".txt", ".yaml", ".yml", ".json"),
    "voc": (".xml",),
    "labelme": (".json",),
    "labelstudio": (".json",),
    "sagemaker": (".manifest", ".jsonl", ".ndjson", ".json"),
    "manifest": (".csv",),
}
MAX_ARCHIVE_BYTES = 1 << 30  # unpacked, per zip: refuses zip bombs
MAX_ARCHIVE_FILES = 200_000
_QUERY_BATCH = 500
_LS_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")
# Attribute types of SageMaker Ground Truth jobs, to find a job's attribute names.
_GT_BOX_TYPES = ("groundtruth/object-detection",)
_GT_LABEL_TYPES = ("groundtruth/image-classification-multilabel",)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    ``images_updated``: images that got a new revision. ``boxes``/``tags``: the boxes and
    image-level labels the file gives the matched images that were saved (unchanged ones
    included). ``images_matched``: records matched to one of the actor's images and saved or
    found unchanged.
    """

    images_updated: int
    boxes: int
    tags: int
    problems: list[Problem]
    images_matched: int = 0


def import_format(fmt: str) -> str:
    """The import format called ``fmt`` (case-insensitive; ``csv`` is ``manifest``)."""
    key = (fmt or "").strip().lower()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in IMPORT_FORMATS:
        raise InvalidInput(
            f"Unknown import format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)} (or csv)."
        )
    return key


# --- the actor's images and how records name them -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    id: int
    public_id: str
    file_name: str
    width: int
    height: int
    revision: int


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _stem(name: str) -> str:
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def base_name(reference: str) -> str:
    """The file name a record refers to: 'https://h/a/b%20c.jpg?x=1' -> 'b c.jpg'.

    Label Studio's local-files URLs carry the path in ``?d=``
    (``/data/local-files/?d=photos/dog.jpg`` -> ``dog.jpg``).
    """
    text = reference.strip()
    if "://" in text or text.startswith("/data/") or "?" in text:
        parts = urlsplit(text)
        local = parse_qs(parts.query).get("d")
        text = local[0] if local else unquote(parts.path)
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


class _Matcher:
    """Finds the actor's image a record names (see the module docstring)."""

    def __init__(self, targets: list[_Target]) -> None:
        self.targets = targets
        self.by_public = {t.public_id: t for t in targets}
        self.by_name: dict[str, list[_Target]] = defaultdict(list)
        self.by_stem: dict[str, list[_Target]] = defaultdict(list)
        for t in targets:
            self.by_name[_key(t.file_name)].append(t)
            self.by_stem[_key(_stem(t.file_name))].append(t)

    def match(self, reference: str, public_id: str = "") -> tuple[_Target | None, str]:
        """``(image, "")``, or ``(None, why not)``."""
        if public_id and public_id in self.by_public:
            return self.by_public[public_id], ""
        name = base_name(reference)
        found = self.by_name.get(_key(name), [])
        if not found and (upload := _LS_UPLOAD_PREFIX.match(name)):
            found = self.by_name.get(_key(upload[1]), [])
        return self._one(found, f"called {name!r}")

    def match_stem(self, stem: str) -> tuple[_Target | None, str]:
        name = stem.rsplit("/", 1)[-1]
        return self._one(self.by_stem.get(_key(name), []), f"named {name!r} (any extension)")

    @staticmethod
    def _one(found: list[_Target], what: str) -> tuple[_Target | None, str]:
        if len(found) == 1:
            return found[0], ""
        if not found:
            return None, f"none of your images is {what}; skipped"
        return None, (
            f"{len(found)} of your images are {what}, so it is unclear which one is meant; "
            "rename them apart and import again; skipped"
        )


class _Sizes(Mapping[str, tuple[int, int]]):
    """Image sizes for readers, looked up by whatever name a record uses."""

    def __init__(self, matcher: _Matcher) -> None:
        self._matcher = matcher

    def __getitem__(self, name: str) -> tuple[int, int]:
        target, _ = self._matcher.match(name)
        if target is None:
            raise KeyError(name)
        return target.width, target.height

    def __iter__(self) -> Iterator[str]:
        return (t.file_name for t in self._matcher.targets)

    def __len__(self) -> int:
        return len(self._matcher.targets)


def _own_images(session: Session, actor: User) -> list[_Target]:
    columns = (
        Image.id,
        Image.public_id,
        Image.file_name,
        Image.width,
        Image.height,
        Image.revision,
    )
    query: Select[*tuple[Any, ...]] = Select(*(col(c) for c in columns)).where(
        Image.owner_id == actor.id
    )
    return [_Target(*row) for row in session.exec(query)]


# --- what the files say ---------------------------------------------------------------------------


@dataclass
class _Incoming:
    """One record as read, before matching; ``boxes`` None: the format holds no boxes."""

    source: str
    record: ImageRecord
    boxes: tuple[Box, ...] | None
    relative: bool = False  # boxes were made from percentages and the record's size
    target: _Target | None = None


@dataclass
class _Read:
    incoming: list[_Incoming] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, source: str, result: ImportResult, *, relative: bool = False) -> None:
        self.problems.extend(result.problems)
        for record in result.dataset.images:
            self.incoming.append(_Incoming(source, record, record.boxes, relative))


def _clean_path(name: str) -> str:
    path = posixpath.normpath(name.replace("\\", "/")).lstrip("/")
    return "" if path in (".", "..") or path.startswith("../") else path


def _expand(
    files: Mapping[str, bytes], endings: tuple[str, ...]
) -> tuple[dict[str, bytes], list[Problem]]:
    """Direct files as given; ``*.zip`` files unpacked (their files with ``endings`` only)."""
    out: dict[str, bytes] = {}
    problems: list[Problem] = []
    for raw_name, data in files.items():
        name = _clean_path(raw_name) or raw_name
        if not name.lower().endswith(".zip"):
            out[name] = data
            continue
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir()
                and not m.filename.startswith("__MACOSX/")
                and not posixpath.basename(m.filename).startswith("._")
                and m.filename.lower().endswith(endings)
            ]
            if len(members) > MAX_ARCHIVE_FILES:
                raise InvalidInput(f"more than {MAX_ARCHIVE_FILES:,} files")
            if sum(m.file_size for m in members) > MAX_ARCHIVE_BYTES:
                raise InvalidInput(f"more than {MAX_ARCHIVE_BYTES >> 20} MiB of files unpacked")
            for member in members:
                if path := _clean_path(member.filename):
                    out[path] = archive.read(member)
        except (zipfile.BadZipFile, InvalidInput, OSError, ValueError) as exc:
            why = exc.message if isinstance(exc, InvalidInput) else str(exc)
            problems.append(Problem(name, None, "", f"cannot unpack this zip ({why}); skipped"))
    return out, problems


def _pick(files: dict[str, bytes], endings: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """The files of a one-file-per-export format: those with the ending, or the only file."""
    if len(files) == 1:
        return list(files.items())
    return [(p, d) for p, d in files.items() if p.lower().endswith(endings)]


def _read_coco(files: dict[str, bytes], _matcher: _Matcher) -> _Read:
    read = _Read()
    for path, data in _pick(files, IMPORT_ENDINGS["coco"]):
        read.add(path, coco.read_coco_dataset(io.BytesIO(data), source=path))
    return read


def _unlabelled_tasks(data: bytes) -> set[str]:
    """The images of tasks that nobody labelled in Label Studio (no annotation, or only
    cancelled ones): an import leaves their boxes alone rather than clearing them."""
    try:
        tasks = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return set()  # read_label_studio reports it
    out: set[str] = set()
    for task in tasks if isinstance(tasks, list) else ():
        payload = task.get("data") if isinstance(task, dict) else None
        image = payload.get(label_studio.IMAGE_OBJECT) if isinstance(payload, dict) else None
        annotations = task.get("annotations") if isinstance(task, dict) else None
        if isinstance(image, str) and not any(
            isinstance(a, dict) and not a.get("was_cancelled")
            for a in (annotations if isinstance(annotations, list) else ())
        ):
            out.add(image)
    return out


def _read_label_studio(files: dict[str, bytes], matcher: _Matcher) -> _Read:
    read = _Read()
    for path, data in _pick(files, IMPORT_ENDINGS["labelstudio"]):
        result = label_studio.read_label_studio(
            io.BytesIO(data), source=path, sizes=_Sizes(matcher)
        )
        unlabelled = _unlabelled_tasks(data)
        read.problems.extend(result.problems)
        for record in result.dataset.images:
            boxes = None if record.file_name in unlabelled else record.boxes
            read.incoming.append(_Incoming(path, record, boxes, relative=True))
    return read


def _gt_attributes(data: bytes) -> tuple[str, str]:
    """A Ground Truth manifest's box and label attribute names (a job names them after itself)."""
    box, labels = sagemaker.BOX_ATTRIBUTE, sagemaker.LABELS_ATTRIBUTE
    for line in data.splitlines()[:50]:
        try:
            doc = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not isinstance(doc, dict):
            continue
        for key, value in doc.items():
            kind = value.get("type") if isinstance(value, dict) else None
            if key.endswith("-metadata") and kind in _GT_BOX_TYPES:
                box = key.removesuffix("-metadata")
            elif key.endswith("-metadata") and kind in _GT_LABEL_TYPES:
                labels = key.removesuffix("-metadata")
    return box, labels


def _read_sagemaker(files: dict[str, bytes], matcher: _Matcher) -> _Read:
    read = _Read()
    for path, data in _pick(files, IMPORT_ENDINGS["sagemaker"]):
        box, labels = _gt_attributes(data)
        if box == labels:
            labels = sagemaker.LABELS_ATTRIBUTE
        result = sagemaker.read_sagemaker(
            io.BytesIO(data),
            source=path,
            box_attribute=box,
            labels_attribute=labels,
            sizes=_Sizes(matcher),
        )
        read.add(path, result)
    return read


def _read_voc(files: dict[str, bytes], _matcher: _Matcher) -> _Read:
    read = _Read()
    for path, data in files.items():
        if path.lower().endswith(".xml"):
            read.add(path, voc.read_voc(data, path))
    return read


def _read_labelme(files: dict[str, bytes], _matcher: _Matcher) -> _Read:
    read = _Read()
    for path, data in files.items():
        if path.lower().endswith(".json"):
            read.add(path, labelme.read_labelme(data, path, folder=posixpath.dirname(path)))
    return read


def _yolo_layout(files: dict[str, bytes]) -> dict[str, bytes]:
    """Re-root a YOLO tree at its data.yaml (or classes.txt) and gather label files under
    ``labels/``: Roboflow's ``train/labels/a.txt`` becomes ``labels/train/a.txt``."""
    configs = [
        p
        for p in files
        if posixpath.basename(p) in (yolo.DATA_YAML, yolo.CLASSES_TXT)
        or (p.endswith((".yaml", ".yml")) and p.count("/") == 0)
    ]
    root = min((posixpath.dirname(p) for p in configs), key=len, default="")
    out: dict[str, bytes] = {}
    for path, data in files.items():
        if root:
            if not path.startswith(root + "/"):
                continue
            path = path[len(root) + 1 :]
        parts = path.split("/")
        if path.endswith(".txt") and yolo.LABELS_DIR in parts[:-1]:
            at = parts.index(yolo.LABELS_DIR)
            path = "/".join([yolo.LABELS_DIR, *parts[:at], *parts[at + 1 :]])
        out[path] = data
    return out


def _read_yolo(files: dict[str, bytes], matcher: _Matcher) -> _Read:
    tree = _yolo_layout(files)
    read = _Read()
    sizes: dict[str, tuple[int, int]] = {}
    named: dict[str, _Target] = {}
    prefix = yolo.LABELS_DIR + "/"
    for path in list(tree):
        if not (path.startswith(prefix) and path.endswith(".txt")):
            continue
        stem = path[len(prefix) : -len(".txt")]
        target, why = matcher.match_stem(stem)
        if target is None:
            read.problems.append(Problem(path, None, stem, why))
            del tree[path]
            continue
        key = stem + posixpath.splitext(target.file_name)[1]
        sizes[key], named[key] = (target.width, target.height), target
    if yolo.IMAGE_LABELS_FILE in tree:  # image-level labels of images without a label file
        try:
            entries = json.loads(tree[yolo.IMAGE_LABELS_FILE]).get("images", {})
        except (ValueError, AttributeError):
            entries = {}  # read_yolo reports it
        for name in entries if isinstance(entries, dict) else ():
            target, _ = matcher.match(name)
            if target is not None and name not in sizes:
                sizes[name], named[name] = (target.width, target.height), target
    result = yolo.read_yolo(tree, sizes)
    read.problems.extend(result.problems)
    for record in result.dataset.images:
        read.incoming.append(
            _Incoming(yolo.LABELS_DIR, record, record.boxes, target=named.get(record.file_name))
        )
    return read


def _read_manifest(files: dict[str, bytes], _matcher: _Matcher) -> _Read:
    """The CSV manifest's image-level labels (``file`` or ``image_id`` names the image)."""
    read = _Read()
    for path, data in _pick(files, IMPORT_ENDINGS["manifest"]):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            read.problems.append(Problem(path, None, "", f"not UTF-8 text ({exc.reason})"))
            continue
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        if "labels" not in header or not {"file", "image_id"} & set(header):
            read.problems.append(
                Problem(path, 1, "", "the header needs a 'labels' column and 'file' or 'image_id'")
            )
            continue
        try:
            for row in reader:
                line = reader.line_num
                name = unescape_cell(row.get("file") or "")
                public_id = unescape_cell(row.get("image_id") or "")
                labels = tuple(
                    dict.fromkeys(
                        s.strip()
                        for s in unescape_cell(row.get("labels") or "").split(LABEL_SEPARATOR)
                        if s.strip()
                    )
                )
                if not name and not public_id:
                    read.problems.append(Problem(path, line, "", "no file or image_id; skipped"))
                    continue
                record = ImageRecord(name or public_id, 1, 1, labels, (), public_id)
                read.incoming.append(_Incoming(f"{path}, line {line}", record, None))
        except csv.Error as exc:
            read.problems.append(Problem(path, reader.line_num, "", f"{exc}; the rest skipped"))
    return read


_READERS: dict[str, Callable[[dict[str, bytes], _Matcher], _Read]] = {
    "coco": _read_coco,
    "yolo": _read_yolo,
    "voc": _read_voc,
    "labelme": _read_labelme,
    "labelstudio": _read_label_studio,
    "sagemaker": _read_sagemaker,
    "manifest": _read_manifest,
}


# --- from records to edits ------------------------------------------------------------------------


def _box_key(box: Mapping[str, Any]) -> tuple[Any, ...]:
    return (box["label"], box["x"], box["y"], box["w"], box["h"], box["score"])


def _clean_box(box: Box, target: _Target) -> tuple[dict[str, Any] | None, str]:
    """The box as the editor would store it (clipped, rounded to 0.1 px), or why it cannot be."""
    try:
        label = check_label_name(box.label)
    except InvalidInput as exc:
        return None, f"box {box.label!r}: {exc.message} Box skipped."
    x0, y0 = max(0.0, box.x), max(0.0, box.y)
    x1, y1 = min(float(target.width), box.x + box.w), min(float(target.height), box.y + box.h)
    if x1 - x0 < MIN_SIDE_PX or y1 - y0 < MIN_SIDE_PX:
        return None, f"box {box.label!r} is smaller than 1x1 pixel inside the image; skipped"
    return {
        "label": label,
        "x": round(x0, 1),
        "y": round(y0, 1),
        "w": round(x1 - x0, 1),
        "h": round(y1 - y0, 1),
        "source": SOURCE_HUMAN if box.score is None else SOURCE_MODEL,
        "score": box.score,
    }, ""


def _scaled(boxes: tuple[Box, ...], record: ImageRecord, target: _Target) -> tuple[Box, ...]:
    sx, sy = target.width / record.width, target.height / record.height
    return tuple(replace(b, x=b.x * sx, y=b.y * sy, w=b.w * sx, h=b.h * sy) for b in boxes)


def _current(
    session: Session, image_ids: list[int]
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[str]]]:
    """The boxes (as the editor's box dicts) and tags of the images, batched."""
    boxes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(image_ids), _QUERY_BATCH):
        batch = image_ids[start : start + _QUERY_BATCH]
        columns = (BoxRow.image_id, BoxRow.public_id, Label.name, BoxRow.x, BoxRow.y, BoxRow.w,
                   BoxRow.h, BoxRow.score)  # fmt: skip
        query: Select[*tuple[Any, ...]] = (
            Select(*(col(c) for c in columns))
            .join(Label, col(Label.id) == BoxRow.label_id)
            .where(col(BoxRow.image_id).in_(batch))
            .order_by(col(BoxRow.id))
        )
        for image_id, public_id, name, x, y, w, h, score in session.exec(query):
            boxes[image_id].append(
                {"id": public_id, "label": name, "x": x, "y": y, "w": w, "h": h, "score": score}
            )
        for image_id, name in session.exec(
            select(ImageLabel.image_id, Label.name)
            .join(Label, col(Label.id) == ImageLabel.label_id)
            .where(col(ImageLabel.image_id).in_(batch))
        ):
            tags[image_id].append(name)
    return boxes, tags


@dataclass
class _Plan:
    item: _Incoming
    edits: list[BoxEdit]
    tags: list[str] | None  # the merged tag list, None when the tags do not change
    boxes: int
    labels: int


def _plan(
    item: _Incoming,
    target: _Target,
    current_boxes: list[dict[str, Any]],
    current_tags: list[str],
    problems: list[Problem],
) -> _Plan | None:
    record = item.record

    def report(message: str) -> None:
        problems.append(Problem(item.source, None, record.file_name, message))

    boxes = item.boxes
    if boxes is not None and (record.width, record.height) != (target.width, target.height):
        if not item.relative:
            report(
                f"the file describes a {record.width}x{record.height} image, but "
                f"{target.file_name} is {target.width}x{target.height} on LabelHub, so its boxes "
                "would land in the wrong place; skipped"
            )
            return None
        boxes = _scaled(boxes, record, target)
    edits: list[BoxEdit] = []
    kept = 0
    if boxes is not None:
        if len(boxes) > MAX_BOXES_PER_IMAGE:
            report(f"has {len(boxes):,} boxes; an image holds at most {MAX_BOXES_PER_IMAGE:,}")
            return None
        unused: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for box in current_boxes:
            unused[_box_key(box)].append(box["id"])
        for given in boxes:
            clean, why = _clean_box(given, target)
            if clean is None:
                report(why)
                continue
            kept += 1
            if ids := unused.get(_box_key(clean)):
                ids.pop()
                continue
            edits.append(BoxEdit("create", {"id": uuid.uuid4().hex, **clean}))
        edits += [BoxEdit("delete", {"id": i}) for ids in unused.values() for i in ids]
    labels: list[str] = []
    for raw in record.labels:
        try:
            name = check_label_name(raw)
        except InvalidInput as exc:
            report(f"image-level label {raw!r}: {exc.message} Label skipped.")
            continue
        if name not in labels:
            labels.append(name)
    new_tags = [t for t in labels if t not in current_tags]
    tags = [*current_tags, *new_tags] if new_tags else None
    return _Plan(item, edits, tags, kept, len(labels))


# --- the service ----------------------------------------------------------------------------------


def import_annotations(
    session: Session,
    *,
    actor: User,
    fmt: str,
    files: Mapping[str, bytes],
    progress: Progress | None = None,
) -> ImportReport:
    """Import labels and boxes for the actor's own images from files in format ``fmt``.

    ``files`` maps file names (paths inside a folder) to contents; a ``*.zip`` among them is
    unpacked. Formats: coco, yolo (``data.yaml`` or ``classes.txt`` plus ``labels/*.txt``), voc
    (``*.xml``), labelme (``*.json``), labelstudio (a JSON export), sagemaker (an output
    manifest) and manifest/csv (image-level labels only). ``progress(done, total)`` is called
    as images are saved. See the module docstring for matching and what changes.

    Raises Forbidden without the producer role and InvalidInput for an unknown format or when
    no file of the format is there; everything else is a problem in the report.
    """
    require_role(actor, "producer")
    key = import_format(fmt)
    tree, problems = _expand(files, IMPORT_ENDINGS[key])
    if not tree:
        raise InvalidInput(
            f"No {key} files to import"
            + (" (see the problems with the zip files)." if problems else ".")
            + f" Give {', '.join(IMPORT_ENDINGS[key])} files, a folder or a zip of them."
        )
    matcher = _Matcher(_own_images(session, actor))
    read = _READERS[key](tree, matcher)
    problems += read.problems

    claimed: dict[int, str] = {}
    matched: list[tuple[_Incoming, _Target]] = []
    for item in read.incoming:
        target = item.target
        if target is None:
            target, why = matcher.match(item.record.file_name, item.record.image_id)
            if target is None:
                problems.append(Problem(item.source, None, item.record.file_name, why))
                continue
        if target.id in claimed:
            problems.append(
                Problem(
                    item.source,
                    None,
                    item.record.file_name,
                    f"{target.file_name} was already imported from {claimed[target.id]}; skipped",
                )
            )
            continue
        claimed[target.id] = item.source
        matched.append((item, target))

    current_boxes, current_tags = _current(session, [t.id for _, t in matched])
    updated = boxes = tags = saved = 0
    for start in range(0, len(matched), BATCH_CHUNK):
        slice_ = matched[start : start + BATCH_CHUNK]
        plans = [
            (plan, target)
            for item, target in slice_
            if (
                plan := _plan(
                    item, target, current_boxes[target.id], current_tags[target.id], problems
                )
            )
            is not None
        ]
        changing = [(p, t) for p, t in plans if p.edits or p.tags is not None]
        outcomes = save_annotations_batch(
            session,
            actor=actor,
            items=[
                BatchItem(t.public_id, p.edits, p.tags, base_revision=t.revision)
                for p, t in changing
            ],
        )
        refused: set[int] = set()
        for (plan, target), outcome in zip(changing, outcomes, strict=True):
            if outcome.error is not None:
                refused.add(target.id)
                record = plan.item.record
                problems.append(
                    Problem(
                        plan.item.source,
                        None,
                        record.file_name,
                        f"not saved: {outcome.error.message}",
                    )
                )
            elif outcome.result is not None:
                updated += outcome.result.revision != target.revision
        for plan, target in plans:
            if target.id not in refused:
                saved += 1
                boxes += plan.boxes
                tags += plan.labels
        if progress is not None:
            for done in range(start + 1, start + len(slice_) + 1):
                progress(done, len(matched))
    return ImportReport(updated, boxes, tags, problems, saved)
