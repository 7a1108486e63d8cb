"""The one in-memory dataset model that every format reads into and writes from.

Coordinate convention (the only one in LabelHub)
-------------------------------------------------
A :class:`Box` is ``(x, y, w, h)`` in pixels of the *original* image, as floats: origin at the
top-left corner of the top-left pixel, x to the right, y down. Coordinates are continuous, so
the box that covers exactly the top-left pixel is ``(0, 0, 1, 1)`` and the box that covers the
whole image is ``(0, 0, width, height)``. A box lies inside its image:
``0 <= x``, ``x + w <= width``, ``0 <= y``, ``y + h <= height`` and ``w, h > 0``.

Each format converts at its edge, in its own module and nowhere else: VOC's 1-based inclusive
pixel indices (``voc.py``), YOLO's normalised centres (``yolo.py``), Label Studio's
percentages (``label_studio.py``); COCO, LabelMe and SageMaker Ground Truth store pixels as
above.

Labels
------
Image-level labels (``ImageRecord.labels``: "the image shows a dog somewhere") and box labels
are separate: a box labelled ``dog`` does not imply the image-level label ``dog``. A label
name is non-empty, has no surrounding white space and no control or line-separator
characters (every format here can hold such a name as is). ``Dataset.categories`` lists every
label name once; its order defines class ids/indices where a format needs them.

Importing
---------
Every ``read_<fmt>`` returns an :class:`ImportResult`: what could be imported, plus one
:class:`Problem` per record that could not be imported as written (bad JSON/XML/line, an image
without a size, an unknown class, a box outside its image...). Nothing is dropped or changed
without a problem saying so, and readers never raise for bad input.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from labelhub_app.errors import InvalidInput

# How far (pixels) a stored box may stick out of its image before that counts as an error;
# covers float rounding only. Normalising formats pass a larger slack (see fit_box).
EPSILON_PX = 1e-6
# Characters a label or file name may not contain: controls, surrogates, line/paragraph
# separators (YAML treats those as line breaks), and the XML non-characters.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_FORBIDDEN_CHARS = frozenset({"\ufffe", "\uffff"})


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in original-image pixels (see the module docstring).

    ``score`` is a detector's confidence, ``None`` for human labels.
    """

    label: str
    x: float
    y: float
    w: float
    h: float
    score: float | None = None

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class ImageRecord:
    """One image: its file name (relative to the image folder), pixel size and labels.

    ``image_id`` is LabelHub's public id when known, ``licence`` a licence code
    (``cc-by-4.0``); both ``""`` when unknown. Only COCO keeps them.
    """

    file_name: str
    width: int
    height: int
    labels: tuple[str, ...] = ()
    boxes: tuple[Box, ...] = ()
    image_id: str = ""
    licence: str = ""


@dataclass(frozen=True)
class Dataset:
    """Images plus the category list; validated on construction (ValueError when inconsistent).

    Use :meth:`of` to get the default category list (sorted unique label names).
    """

    images: tuple[ImageRecord, ...]
    categories: tuple[str, ...]

    def __post_init__(self) -> None:
        seen_categories: set[str] = set()
        for name in self.categories:
            if problem := label_problem(name):
                raise ValueError(f"category {name!r}: {problem}")
            if name in seen_categories:
                raise ValueError(f"category {name!r} is given twice")
            seen_categories.add(name)
        seen_files: set[str] = set()
        for image in self.images:
            _check_image(image, seen_categories)
            if image.file_name in seen_files:
                raise ValueError(f"image {image.file_name!r} is given twice")
            seen_files.add(image.file_name)

    @classmethod
    def of(cls, images: Iterable[ImageRecord], categories: Iterable[str] | None = None) -> Dataset:
        """A dataset of ``images``; ``categories`` default to the sorted unique label names."""
        images = tuple(images)
        if categories is None:
            return cls(images, tuple(sorted(used_labels(images))))
        return cls(images, tuple(categories))


def used_labels(images: Iterable[ImageRecord]) -> set[str]:
    """Every label name used by the images, on boxes or as image-level labels."""
    names: set[str] = set()
    for image in images:
        names.update(image.labels)
        names.update(box.label for box in image.boxes)
    return names


def _check_image(image: ImageRecord, categories: set[str]) -> None:
    where = f"image {image.file_name!r}"
    if problem := file_name_problem(image.file_name):
        raise ValueError(f"{where}: {problem}")
    if not (_is_int(image.width) and _is_int(image.height)) or image.width < 1 or image.height < 1:
        raise ValueError(
            f"{where}: size must be positive whole pixels, not {image.width!r} x {image.height!r}"
        )
    if len(set(image.labels)) != len(image.labels):
        raise ValueError(f"{where}: an image-level label is given twice")
    for name in image.labels:
        if name not in categories:
            raise ValueError(f"{where}: label {name!r} is not a category")
    for box in image.boxes:
        if box.label not in categories:
            raise ValueError(f"{where}: box label {box.label!r} is not a category")
        coords = (box.x, box.y, box.w, box.h)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in coords):
            raise ValueError(f"{where}: box {box} has a non-finite coordinate")
        if box.score is not None and not math.isfinite(box.score):
            raise ValueError(f"{where}: box {box} has a non-finite score")
        if box.w <= 0 or box.h <= 0:
            raise ValueError(f"{where}: box {box} has no area")
        if (
            box.x < -EPSILON_PX
            or box.y < -EPSILON_PX
            or box.x2 > image.width + EPSILON_PX
            or box.y2 > image.height + EPSILON_PX
        ):
            raise ValueError(
                f"{where}: box {box} is not inside the {image.width}x{image.height} image"
            )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Problem:
    """One record that was not imported as written; ``record`` names it (image, annotation)."""

    source: str
    line: int | None
    record: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}, line {self.line}"
        return (
            f"{where}: {self.record}: {self.message}" if self.record else f"{where}: {self.message}"
        )


@dataclass(frozen=True)
class ImportResult:
    """What a reader imported, and a problem for each record it could not import as written."""

    dataset: Dataset
    problems: tuple[Problem, ...] = ()

    def raise_for_problems(self, limit: int = 20) -> Dataset:
        """The dataset, or InvalidInput listing (the first ``limit``) problems if there are any."""
        if not self.problems:
            return self.dataset
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problem(s).")
        raise InvalidInput("Fix these records and import again:\n" + "\n".join(lines))


EMPTY = Dataset((), ())


def failed(source: str, message: str, line: int | None = None, record: str = "") -> ImportResult:
    """The result of a file that could not be read at all (nothing imported, one problem)."""
    return ImportResult(EMPTY, (Problem(source, line, record, message),))


def _bad_char(text: str) -> str | None:
    for char in text:
        if char in _FORBIDDEN_CHARS or unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return char
    return None


def label_problem(name: object) -> str | None:
    """Why ``name`` cannot be a label name, or None when it can."""
    if not isinstance(name, str):
        return f"a label name must be text, not {name!r}"
    if not name.strip():
        return "a label name cannot be empty"
    if name != name.strip():
        return f"label {name!r} has white space at its start or end"
    if (char := _bad_char(name)) is not None:
        return f"label {name!r} contains the control character {char!r}"
    return None


def clean_label(raw: object) -> tuple[str | None, str | None]:
    """A label read from a file, white space stripped: ``(name, None)`` or ``(None, problem)``."""
    name = raw.strip() if isinstance(raw, str) else raw
    problem = label_problem(name)
    return (None, problem) if problem else (str(name), None)


def file_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an image file name, or None when it can."""
    if not isinstance(name, str):
        return f"a file name must be text, not {name!r}"
    if not name:
        return "the file name is empty"
    if (char := _bad_char(name)) is not None:
        return f"file name {name!r} contains the control character {char!r}"
    return None


def json_number(value: object) -> float | None:
    """A finite JSON number as float; None for anything else (strings, booleans, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def json_size(value: object) -> int | None:
    """A positive whole pixel count (``640`` or ``640.0``); None for anything else."""
    number = json_number(value)
    if number is None or number < 1 or not number.is_integer():
        return None
    return int(number)


def fit_box(
    label: str,
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    width: int,
    height: int,
    score: float | None = None,
    slack: float = EPSILON_PX,
) -> tuple[Box | None, str | None]:
    """Check a box read from a file against its ``width`` x ``height`` image.

    Returns ``(box, None)`` when it is inside (the values kept exactly), ``(clipped box,
    problem)`` when it sticks out, ``(None, problem)`` when nothing can be kept (non-finite,
    zero or negative size, wholly outside). ``slack`` pixels of overhang are clipped without
    a problem: formats that store normalised or rounded values pass their rounding error.
    """
    values = (x, y, w, h)
    if not all(math.isfinite(v) for v in values):
        return None, f"box {label!r} has a coordinate that is not a finite number; dropped"
    if score is not None and not math.isfinite(score):
        return None, f"box {label!r} has a score that is not a finite number; dropped"
    if w <= 0 or h <= 0:
        return None, f"box {label!r} has no area ({_px(w)} x {_px(h)} px); dropped"
    x2, y2 = x + w, y + h
    if x2 <= 0 or y2 <= 0 or x >= width or y >= height:
        return None, (
            f"box {label!r} at x={_px(x)}, y={_px(y)}, w={_px(w)}, h={_px(h)} px lies outside "
            f"the {width}x{height} image; dropped"
        )
    if (
        x >= -EPSILON_PX
        and y >= -EPSILON_PX
        and x2 <= width + EPSILON_PX
        and y2 <= height + EPSILON_PX
    ):
        # Inside, or out by float rounding only: keep the values exactly as stored.
        return Box(label, x, y, w, h, score), None
    cx, cy = max(x, 0.0), max(y, 0.0)
    clipped = Box(label, cx, cy, min(x2, width) - cx, min(y2, height) - cy, score)
    if x < -slack or y < -slack or x2 > width + slack or y2 > height + slack:
        return clipped, (
            f"box {label!r} at x={_px(x)}, y={_px(y)}, w={_px(w)}, h={_px(h)} px sticks out of "
            f"the {width}x{height} image; clipped to x={_px(clipped.x)}, y={_px(clipped.y)}, "
            f"w={_px(clipped.w)}, h={_px(clipped.h)}"
        )
    return clipped, None


def sidecar_paths(
    images: Iterable[ImageRecord], folder: str, suffix: str
) -> dict[str, ImageRecord]:
    """One file per image: ``<folder>/<file name, suffix replaced>`` -> image, in image order.

    Raises ValueError when a file name cannot be a path inside an export (absolute, ``..``,
    backslashes) or when two images map to the same file (``a.jpg`` and ``a.png``).
    """
    paths: dict[str, ImageRecord] = {}
    for image in images:
        name = PurePosixPath(image.file_name)
        if name.is_absolute() or ".." in name.parts or "\\" in image.file_name or not name.name:
            raise ValueError(f"image {image.file_name!r} cannot be written as a path in the export")
        path = str(
            PurePosixPath(folder, name.with_suffix(suffix) if name.suffix else f"{name}{suffix}")
        )
        if path in paths:
            raise ValueError(
                f"images {paths[path].file_name!r} and {image.file_name!r} would both be "
                f"written to {path}; rename one"
            )
        paths[path] = image
    return paths


def _px(value: float) -> str:
    return f"{value:.6g}"


def merge_results(
    parts: Iterable[tuple[str, ImportResult]], categories: Iterable[str] | None = None
) -> ImportResult:
    """Join per-file results (``(source, result)`` pairs) into one dataset.

    A file name seen before is reported and its later record skipped. ``categories`` default
    to the sorted unique label names.
    """
    images: list[ImageRecord] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for source, result in parts:
        problems.extend(result.problems)
        for image in result.dataset.images:
            if image.file_name in seen:
                problems.append(
                    Problem(
                        source,
                        None,
                        image.file_name,
                        f"image already imported from {seen[image.file_name]}; skipped",
                    )
                )
                continue
            seen[image.file_name] = source
            images.append(image)
    if categories is not None:
        names = list(dict.fromkeys(categories))
        names += sorted(used_labels(images) - set(names))
        return ImportResult(Dataset(tuple(images), tuple(names)), tuple(problems))
    return ImportResult(Dataset.of(images), tuple(problems))
