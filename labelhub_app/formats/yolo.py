"""Ultralytics YOLO detection layout: a dataset <-> files (relative path -> bytes).

On disk (paths relative to the dataset root, the folder of ``data.yaml``)::

    data.yaml                  class names and image folders:
                                   train: "images"
                                   val: "images"
                                   nc: 3
                                   names: ["cat", "dog", "red car"]
    images/<file name>         the images themselves (not written or read here)
    labels/<file stem>.txt     one row per box, "class cx cy w h":
                                   1 0.500000 0.250000 0.100000 0.200000
    labelhub_image_labels.json image-level labels (LabelHub's side file, see below)

A label file sits at ``labels/`` + the image's path under ``images/`` with its suffix replaced
by ``.txt`` (``images/sub/a.jpg`` -> ``labels/sub/a.txt``), Ultralytics' rule. ``class`` is the
0-based index into ``names`` (``Dataset.categories`` order); ``cx cy`` is the box centre and
``w h`` its size, divided by the image width/height, so 0..1, written with 6 decimals (0.5e-6
of the image size: below 0.01 px up to 13 000 px images). A box with a score gets it as a
6th column (Ultralytics' ``save_conf`` layout: predictions, not training data). Every image
gets a label file, empty when it has no boxes (Ultralytics' "background" image).

YOLO files carry no image sizes, so :func:`read_yolo` takes them (``sizes``: image file name
relative to ``images/`` -> (width, height)); a label file whose image has no size is reported
and not imported. Images in ``sizes`` without a label file are imported without boxes.

Image-level labels cannot be expressed in YOLO (a class is only ever a box), so they go to
``labelhub_image_labels.json``, which :func:`read_yolo` reads when present and other YOLO
tools ignore::

    {"format": "labelhub-image-labels", "version": 1, "images": {"sub/a.jpg": ["cat"]}}

Not kept: ``ImageRecord.image_id`` and ``licence``. ``data.yaml`` is read by a small parser
for what data.yaml files hold (``names`` as a flow or block list or as an index mapping, and
``nc``); a ``classes.txt`` (one name per line, the older darknet layout) is used when there is
no yaml file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from labelhub_app.formats.records import (
    Box,
    Dataset,
    ImageRecord,
    ImportResult,
    Problem,
    clean_label,
    file_name_problem,
    fit_box,
    sidecar_paths,
)

DATA_YAML = "data.yaml"
CLASSES_TXT = "classes.txt"
LABELS_DIR = "labels"
IMAGE_LABELS_FILE = "labelhub_image_labels.json"
IMAGE_LABELS_FORMAT = "labelhub-image-labels"
# Overhang (pixels) clipped silently on import: a normalised value rounded to few decimals
# moves a box edge by up to that much; anything further out is reported.
ROUNDING_SLACK_PX = 0.5


@dataclass(frozen=True)
class YoloRow:
    """One label-file row: class index, normalised centre and size, optional confidence."""

    class_index: int
    cx: float
    cy: float
    w: float
    h: float
    confidence: float | None = None

    @classmethod
    def from_box(cls, box: Box, class_index: int, width: int, height: int) -> YoloRow:
        """Normalise a pixel box (clamped to 0..1, which only float rounding could leave)."""
        return cls(
            class_index,
            _unit((box.x + box.w / 2) / width),
            _unit((box.y + box.h / 2) / height),
            _unit(box.w / width),
            _unit(box.h / height),
            box.score,
        )

    def to_pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` in pixels of a ``width`` x ``height`` image (unchecked)."""
        w, h = self.w * width, self.h * height
        return self.cx * width - w / 2, self.cy * height - h / 2, w, h

    @classmethod
    def from_line(cls, line: str) -> YoloRow:
        """Parse a row; ValueError with a readable message when it is not a box row."""
        parts = line.split()
        if len(parts) >= 7 and len(parts) % 2 == 1:
            raise ValueError("a segmentation polygon row, not a box row; skipped")
        if len(parts) not in (5, 6):
            raise ValueError(f"expected 'class cx cy w h' (5 values), got {len(parts)}; skipped")
        try:
            class_index = int(parts[0])
        except ValueError:
            raise ValueError(f"class {parts[0]!r} is not a whole number; skipped") from None
        if class_index < 0:
            raise ValueError(f"class {class_index} is negative; skipped")
        values: list[float] = []
        for text in parts[1:]:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a number; skipped") from None
            if not math.isfinite(value):
                raise ValueError(f"{text!r} is not a finite number; skipped")
            values.append(value)
        cx, cy, w, h = values[:4]
        return cls(class_index, cx, cy, w, h, values[4] if len(values) == 5 else None)

    def to_line(self) -> str:
        row = f"{self.class_index} {self.cx:.6f} {self.cy:.6f} {self.w:.6f} {self.h:.6f}"
        return row if self.confidence is None else f"{row} {self.confidence!r}"


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class YoloDataConfig:
    """The part of ``data.yaml`` LabelHub writes and reads: class names and image folders."""

    names: tuple[str, ...]
    train: str = "images"
    val: str = "images"

    def to_yaml(self) -> str:
        # Names as JSON strings: a JSON string is a valid YAML double-quoted scalar, so any
        # label name (spaces, '#', ':', quotes) survives every YAML reader.
        names = ", ".join(json.dumps(n, ensure_ascii=False) for n in self.names)
        return (
            "# Ultralytics YOLO detection dataset written by LabelHub.\n"
            "# Boxes: labels/<image path>.txt, one 'class cx cy w h' row per box, normalised.\n"
            f"# Image-level labels: {IMAGE_LABELS_FILE} (YOLO has no place for them).\n"
            f"train: {json.dumps(self.train, ensure_ascii=False)}\n"
            f"val: {json.dumps(self.val, ensure_ascii=False)}\n"
            f"nc: {len(self.names)}\n"
            f"names: [{names}]\n"
        )

    @classmethod
    def from_yaml(cls, text: str) -> YoloDataConfig:
        """Parse ``names`` (and ``nc``, checked against it); raises YamlError naming the line."""
        names, nc, names_line = _parse_data_yaml(text)
        if names is None:
            raise YamlError("there is no 'names' entry", None)
        if nc is not None and nc != len(names):
            raise YamlError(f"'nc' is {nc} but 'names' lists {len(names)} classes", names_line)
        return cls(tuple(names))


class YamlError(ValueError):
    """data.yaml could not be read; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def write_yolo(dataset: Dataset, *, train: str = "images", val: str = "images") -> dict[str, bytes]:
    """The YOLO files of ``dataset``: data.yaml, one label file per image, the side file.

    Raises ValueError when two images would share a label file (``a.jpg`` and ``a.png``).
    """
    index = {name: i for i, name in enumerate(dataset.categories)}
    files = {DATA_YAML: YoloDataConfig(dataset.categories, train, val).to_yaml().encode()}
    for path, image in sidecar_paths(dataset.images, LABELS_DIR, ".txt").items():
        rows = [
            YoloRow.from_box(box, index[box.label], image.width, image.height).to_line() + "\n"
            for box in image.boxes
        ]
        files[path] = "".join(rows).encode()
    labelled = {image.file_name: list(image.labels) for image in dataset.images if image.labels}
    if labelled:
        side = {"format": IMAGE_LABELS_FORMAT, "version": 1, "images": labelled}
        files[IMAGE_LABELS_FILE] = (json.dumps(side, ensure_ascii=False, indent=1) + "\n").encode()
    return files


def read_yolo(files: Mapping[str, bytes], sizes: Mapping[str, tuple[int, int]]) -> ImportResult:
    """Read YOLO files (as written by :func:`write_yolo` or Ultralytics) into a Dataset.

    ``files`` maps paths relative to the dataset root to contents (other files, such as the
    images, are ignored); ``sizes`` maps each image's path relative to ``images/`` to its
    (width, height) in pixels, and lists the dataset's images in order.
    """
    problems: list[Problem] = []
    names = _read_names(files, problems)
    categories = list(names or ())

    images: dict[str, tuple[int, int]] = {}
    by_stem: dict[str, str] = {}
    ambiguous: set[str] = set()
    for file_name, size in sizes.items():
        if problem := file_name_problem(file_name):
            problems.append(Problem("sizes", None, repr(file_name), f"{problem}; skipped"))
            continue
        if not _is_size(size):
            problems.append(
                Problem(
                    "sizes",
                    None,
                    file_name,
                    f"size must be (width, height) in whole pixels, not {size!r}; skipped",
                )
            )
            continue
        images[file_name] = (int(size[0]), int(size[1]))
        stem = str(PurePosixPath(file_name).with_suffix(""))
        if stem in by_stem:
            ambiguous.add(stem)
        by_stem[stem] = file_name

    boxes: dict[str, list[Box]] = {name: [] for name in images}
    prefix = LABELS_DIR + "/"
    for path, data in files.items():
        if not (path.startswith(prefix) and path.endswith(".txt")):
            continue
        stem = path[len(prefix) : -len(".txt")]
        text = _decode(path, data, problems)
        if text is None:
            continue
        rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if stem in ambiguous:
            problems.append(
                Problem(
                    path,
                    None,
                    stem,
                    "several images in 'sizes' have this stem; "
                    f"its {len(rows)} row(s) were not imported",
                )
            )
            continue
        image_name = by_stem.get(stem)
        if image_name is None:
            problems.append(
                Problem(
                    path,
                    None,
                    stem,
                    "no size given for this label file's image "
                    f"(YOLO stores none); its {len(rows)} row(s) were not imported",
                )
            )
            continue
        width, height = images[image_name]
        for line_no, line in rows:
            try:
                row = YoloRow.from_line(line)
            except ValueError as exc:
                problems.append(Problem(path, line_no, image_name, str(exc)))
                continue
            if names is None or row.class_index >= len(names):
                known = "no class names" if names is None else f"{len(names)} class names"
                problems.append(
                    Problem(
                        path,
                        line_no,
                        image_name,
                        f"unknown class index {row.class_index} ({known}); skipped",
                    )
                )
                continue
            box, problem = fit_box(
                names[row.class_index],
                *row.to_pixels(width, height),
                width=width,
                height=height,
                score=row.confidence,
                slack=ROUNDING_SLACK_PX,
            )
            if problem:
                problems.append(Problem(path, line_no, image_name, problem))
            if box is not None:
                boxes[image_name].append(box)

    labels = _read_image_labels(files, images, problems)
    records = [
        ImageRecord(name, w, h, tuple(labels.get(name, ())), tuple(boxes[name]))
        for name, (w, h) in images.items()
    ]
    for record in records:
        categories.extend(n for n in record.labels if n not in categories)
    return ImportResult(Dataset(tuple(records), tuple(categories)), tuple(problems))


def _is_size(size: object) -> bool:
    return (
        isinstance(size, tuple | list)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)
    )


def _decode(path: str, data: bytes, problems: list[Problem]) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(
                path, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); not imported"
            )
        )
        return None


def _read_names(files: Mapping[str, bytes], problems: list[Problem]) -> list[str] | None:
    """Class names from data.yaml (or the one top-level *.yaml, or classes.txt)."""
    yamls = [p for p in files if "/" not in p and p.endswith((".yaml", ".yml"))]
    path = DATA_YAML if DATA_YAML in files else (yamls[0] if len(yamls) == 1 else None)
    if path is None and CLASSES_TXT in files:
        text = _decode(CLASSES_TXT, files[CLASSES_TXT], problems)
        if text is None:
            return None
        return _checked_names(
            CLASSES_TXT,
            [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()],
            problems,
        )
    if path is None:
        problems.append(
            Problem(
                DATA_YAML,
                None,
                "",
                "there is no data.yaml (or classes.txt), so class indices cannot be named",
            )
        )
        return None
    text = _decode(path, files[path], problems)
    if text is None:
        return None
    try:
        config = YoloDataConfig.from_yaml(text)
    except YamlError as exc:
        problems.append(Problem(path, exc.line, "names", f"{exc}; class indices cannot be named"))
        return None
    return _checked_names(path, [(None, n) for n in config.names], problems)


def _checked_names(
    path: str, entries: list[tuple[int | None, str]], problems: list[Problem]
) -> list[str] | None:
    names: list[str] = []
    for index, (line, raw) in enumerate(entries):
        name, problem = clean_label(raw)
        if name is None or name in names:
            why = problem or f"class name {name!r} is given twice"
            problems.append(Problem(path, line, f"class {index}", f"{why}; class names not used"))
            return None
        names.append(name)
    return names


def _read_image_labels(
    files: Mapping[str, bytes], images: Mapping[str, tuple[int, int]], problems: list[Problem]
) -> dict[str, list[str]]:
    if IMAGE_LABELS_FILE not in files:
        return {}
    source = IMAGE_LABELS_FILE
    text = _decode(source, files[source], problems)
    if text is None:
        return {}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                source,
                exc.lineno,
                "",
                f"not valid JSON: {exc.msg} (column {exc.colno}); no image-level labels imported",
            )
        )
        return {}
    entries = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        problems.append(
            Problem(
                source,
                None,
                "",
                "expected an object with an 'images' object; no image-level labels imported",
            )
        )
        return {}
    labels: dict[str, list[str]] = {}
    for file_name, raw_names in entries.items():
        if file_name not in images:
            problems.append(
                Problem(
                    source,
                    None,
                    file_name,
                    "image not in 'sizes'; its image-level labels were not imported",
                )
            )
            continue
        if not isinstance(raw_names, list):
            problems.append(
                Problem(
                    source, None, file_name, f"labels must be a list, not {raw_names!r}; skipped"
                )
            )
            continue
        names = labels.setdefault(file_name, [])
        for raw in raw_names:
            name, problem = clean_label(raw)
            if name is None:
                problems.append(Problem(source, None, file_name, f"{problem}; skipped"))
            elif name not in names:
                names.append(name)
    return labels


# --- data.yaml: the small YAML subset data.yaml files use ----------------------------------


def _parse_data_yaml(text: str) -> tuple[list[str] | None, int | None, int | None]:
    """``(names, nc, line of names)`` from a data.yaml; other keys are skipped unread."""
    lines = text.splitlines()
    names: list[str] | None = None
    names_line: int | None = None
    nc: int | None = None
    i = 0
    while i < len(lines):
        raw, line_no = lines[i], i + 1
        i += 1
        if not raw.strip() or raw[0] in " \t#" or raw.startswith(("---", "...", "%")):
            continue  # blank, comment, or the indented body of a key (say a download script)
        key, _, rest = raw.partition(":")
        key = key.strip()
        if key not in ("names", "nc"):
            continue  # not read, so not parsed either
        value = _strip_comment(rest, line_no).strip()
        if key == "nc":
            try:
                nc = int(value)
            except ValueError:
                raise YamlError(f"'nc' must be a whole number, not {value!r}", line_no) from None
        elif key == "names":
            names_line = line_no
            if value.startswith(("[", "{")):
                while not _balanced(value) and i < len(lines):
                    value += " " + _strip_comment(lines[i], i + 1).strip()
                    i += 1
                names = _names_from_items(_flow_items(value, line_no), value[0] == "{", line_no)
            elif value:
                raise YamlError("'names' must be a list or a mapping", line_no)
            else:
                items: list[tuple[str, int]] = []
                is_map = False
                while i < len(lines):
                    body = _strip_comment(lines[i], i + 1)
                    if body.strip() and body[0] not in " \t-":
                        break
                    i += 1
                    item = body.strip()
                    if not item:
                        continue
                    if item.startswith("- ") or item == "-":
                        items.append((item[1:].strip(), i))
                    else:
                        is_map = True
                        items.append((item, i))
                names = _names_from_items(items, is_map, line_no)
    return names, nc, names_line


def _outside_quotes(text: str, line_no: int | None) -> Iterator[tuple[int, str]]:
    """``(index, char)`` for each character of ``text`` outside quoted scalars."""
    n, quote = 0, ""
    while n < len(text):
        char = text[n]
        if quote:
            if quote == '"' and char == "\\":
                n += 1  # an escaped character
            elif char == quote:
                if quote == "'" and text[n + 1 : n + 2] == "'":
                    n += 1  # '' is a quote inside a single-quoted scalar
                else:
                    quote = ""
        elif char in "'\"" and (n == 0 or text[n - 1] in " \t[{,:"):
            quote = char
        else:
            yield n, char
        n += 1
    if quote:
        raise YamlError("a quoted name is not closed on its line", line_no)


def _strip_comment(line: str, line_no: int) -> str:
    for n, char in _outside_quotes(line, line_no):
        if char == "#" and (n == 0 or line[n - 1] in " \t"):
            return line[:n].rstrip()
    return line.rstrip()


def _balanced(value: str) -> bool:
    return _split_flow(value, None)[1] == 0


def _split_flow(text: str, line_no: int | None) -> tuple[list[str], int]:
    """Split a flow collection at its top-level commas; also the final bracket depth."""
    parts, depth, start = [], 0, 0
    for n, char in _outside_quotes(text, line_no):
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 1:
            parts.append(text[start:n])
            start = n + 1
    parts.append(text[start:])
    return parts, depth


def _flow_items(value: str, line_no: int) -> list[tuple[str, int]]:
    closing = "]" if value[0] == "[" else "}"
    if not value.endswith(closing):
        raise YamlError(f"the list of names does not end with {closing!r}", line_no)
    parts, _ = _split_flow(value, line_no)
    if any(char in "[{" for part in parts for _, char in _outside_quotes(part[1:], line_no)):
        raise YamlError("nested lists are not class names", line_no)
    parts[0] = parts[0][1:]
    parts[-1] = parts[-1][:-1]  # the same item when there is only one
    items = [part.strip() for part in parts]
    if items and not items[-1]:
        items.pop()  # a trailing comma
    return [(item, line_no) for item in items]


def _names_from_items(items: list[tuple[str, int]], is_map: bool, line_no: int) -> list[str]:
    if not is_map:
        return [_scalar(item, n) for item, n in items]
    by_index: dict[int, str] = {}
    for item, n in items:
        key_text, sep, value = _split_key(item, n)
        if not sep:
            raise YamlError(f"expected 'index: name', not {item!r}", n)
        try:
            index = int(_scalar(key_text, n))
        except ValueError:
            raise YamlError(f"class index {key_text!r} is not a whole number", n) from None
        if index in by_index:
            raise YamlError(f"class index {index} is given twice", n)
        by_index[index] = _scalar(value, n)
    if sorted(by_index) != list(range(len(by_index))):
        raise YamlError("class indices must be 0, 1, 2, ... without gaps", line_no)
    return [by_index[i] for i in range(len(by_index))]


def _split_key(item: str, line_no: int) -> tuple[str, str, str]:
    for n, char in _outside_quotes(item, line_no):
        if char == ":" and (n + 1 == len(item) or item[n + 1] in " \t"):
            return item[:n].strip(), ":", item[n + 1 :].strip()
    return item, "", ""


def _scalar(text: str, line_no: int) -> str:
    text = text.strip()
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise YamlError(f"cannot read the quoted name {text}", line_no) from None
        if not isinstance(value, str):
            raise YamlError(f"cannot read the quoted name {text}", line_no)
        return value
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise YamlError(f"cannot read the quoted name {text}", line_no)
        return text[1:-1].replace("''", "'")
    if text[:1] in ("[", "{", "&", "*", "!", "|", ">"):
        raise YamlError(f"unsupported YAML in a class name: {text}", line_no)
    return text
