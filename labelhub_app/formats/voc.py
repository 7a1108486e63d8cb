"""Pascal VOC XML: one annotation file per image <-> an ImageRecord.

On disk (``Annotations/<file stem>.xml`` in a VOC tree; UTF-8)::

    <annotation xmlns:labelhub="urn:labelhub:voc">     <!-- xmlns only when there are labels -->
      <folder>images</folder>
      <filename>dog.jpg</filename>
      <source><database>LabelHub</database></source>
      <size><width>640</width><height>480</height><depth>3</depth></size>
      <segmented>0</segmented>
      <object>
        <name>dog</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
        <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>110</xmax><ymax>220</ymax></bndbox>
      </object>
      <labelhub:labels><labelhub:label>animal</labelhub:label></labelhub:labels>
    </annotation>

Coordinates: VOC numbers pixels from 1 and its boxes are inclusive, so the box covering the
top-left pixel alone is ``xmin=1, xmax=1``. From LabelHub's continuous pixels
(``records.Box``): ``xmin = x + 1``, ``xmax = x + w`` (same for y); back:
``x = xmin - 1``, ``w = xmax - xmin + 1``. Whole-pixel boxes are written as integers (what
most VOC readers parse); fractional ones as exact decimals (``12.5``), which those readers
that call ``int()`` on the text will refuse, rather than silently truncate.

Image-level labels have no VOC element (VOC keeps classification in ``ImageSets/`` lists),
so they go in ``<labelhub:labels>`` in our own XML namespace, which VOC readers skip and
:func:`read_voc` reads back. ``depth`` is written as 3 (LabelHub does not store channels);
``truncated``/``difficult`` as 0 and ignored on import. Not kept: box scores, image ids
and licences. Documents with a DTD (``<!DOCTYPE``) are refused: VOC never needs one and
entity expansion is an attack vector.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from xml.parsers import expat

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
    merge_results,
    sidecar_paths,
)

LABELHUB_NS = "urn:labelhub:voc"
ANNOTATIONS_DIR = "Annotations"
_LABELS = f"{{{LABELHUB_NS}}}labels"
_LABEL = f"{{{LABELHUB_NS}}}label"


@dataclass(frozen=True)
class VocBox:
    """A VOC ``<object>``: class name and 1-based inclusive pixel bounds."""

    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @classmethod
    def from_box(cls, box: Box) -> VocBox:
        return cls(box.label, box.x + 1, box.y + 1, box.x + box.w, box.y + box.h)

    def to_pixels(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` in LabelHub's continuous pixels (unchecked)."""
        return self.xmin - 1, self.ymin - 1, self.xmax - self.xmin + 1, self.ymax - self.ymin + 1

    def to_element(self) -> ET.Element:
        obj = ET.Element("object")
        for tag, text in (("name", self.name), ("pose", "Unspecified")):
            ET.SubElement(obj, tag).text = text
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in (
            ("xmin", self.xmin),
            ("ymin", self.ymin),
            ("xmax", self.xmax),
            ("ymax", self.ymax),
        ):
            ET.SubElement(bndbox, tag).text = _number_text(value)
        return obj


def _number_text(value: float) -> str:
    """Whole numbers as integers ("12"), others as the shortest exact decimal ("12.5")."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def write_voc(record: ImageRecord, *, folder: str = "images", depth: int = 3) -> bytes:
    """The VOC XML document of one image (UTF-8 with an XML declaration)."""
    root = ET.Element("annotation")
    if record.labels:
        root.set("xmlns:labelhub", LABELHUB_NS)
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = record.file_name
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "LabelHub"
    size = ET.SubElement(root, "size")
    for tag, value in (("width", record.width), ("height", record.height), ("depth", depth)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for box in record.boxes:
        root.append(VocBox.from_box(box).to_element())
    if record.labels:
        labels = ET.SubElement(root, "labelhub:labels")
        for name in record.labels:
            ET.SubElement(labels, "labelhub:label").text = name
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


class _DoctypeRefused(Exception):
    pass


def _object_lines(data: bytes) -> list[int]:
    """Line numbers of the top-level ``<object>`` start tags; raises ExpatError/_DoctypeRefused."""
    parser = expat.ParserCreate()
    lines: list[int] = []
    depth = 0

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth == 2 and name == "object":
            lines.append(parser.CurrentLineNumber)

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def doctype(*_args: object) -> None:
        raise _DoctypeRefused

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.Parse(data, True)
    return lines


def read_voc(data: bytes, source: str = "annotation.xml") -> ImportResult:
    """Read one VOC XML document; bad objects become problems, the rest is imported."""
    try:
        object_lines = _object_lines(data)
        root = ET.fromstring(data)
    except expat.ExpatError as exc:
        return failed(source, f"not valid XML: {expat.ErrorString(exc.code)}.", exc.lineno)
    except ET.ParseError as exc:
        return failed(source, f"not valid XML: {exc}.", exc.position[0])
    except _DoctypeRefused:
        return failed(source, "has a <!DOCTYPE>, which VOC files never need; not imported.")
    if root.tag != "annotation":
        return failed(source, f"the root element is <{root.tag}>, not <annotation>.")
    file_name = (root.findtext("filename") or "").strip()
    if problem := file_name_problem(file_name):
        return failed(source, f"<filename>: {problem}; not imported.")
    width, height = _size(root.findtext("size/width")), _size(root.findtext("size/height"))
    if width is None or height is None:
        return failed(
            source,
            "has no valid <size> (positive whole <width> and <height>), so its boxes cannot be "
            "placed; not imported.",
            record=file_name,
        )
    problems: list[Problem] = []
    boxes: list[Box] = []
    for n, obj in enumerate(root.findall("object")):
        line = object_lines[n] if n < len(object_lines) else None

        def report(message: str, line: int | None = line, n: int = n) -> None:
            problems.append(Problem(source, line, file_name, f"object {n + 1}: {message}"))

        name, problem = clean_label(obj.findtext("name") or "")
        if name is None:
            report(f"{problem}; skipped")
            continue
        if obj.find("bndbox") is None:
            report(f"{name!r} has no <bndbox>; skipped")
            continue
        texts = [obj.findtext(f"bndbox/{tag}") for tag in ("xmin", "ymin", "xmax", "ymax")]
        coords = [_coordinate(t) for t in texts]
        if None in coords:
            report(f"{name!r}: <bndbox> needs numbers xmin, ymin, xmax, ymax, not {texts}; skipped")
            continue
        xmin, ymin, xmax, ymax = (c for c in coords if c is not None)
        box, problem = fit_box(
            name,
            *VocBox(name, xmin, ymin, xmax, ymax).to_pixels(),
            width=width,
            height=height,
            slack=EPSILON_PX,
        )
        if problem:
            report(problem)
        if box is not None:
            boxes.append(box)
        if obj.find("part") is not None:
            report(f"{name!r} has <part> boxes (person layout), which were not imported")
    labels: list[str] = []
    for element in root.findall(f"{_LABELS}/{_LABEL}"):
        name, problem = clean_label(element.text or "")
        if name is None:
            problems.append(Problem(source, None, file_name, f"image-level label: {problem}"))
        elif name not in labels:
            labels.append(name)
    record = ImageRecord(file_name, width, height, tuple(labels), tuple(boxes))
    return ImportResult(Dataset.of([record]), tuple(problems))


def _size(text: str | None) -> int | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 1 else None


def _coordinate(text: str | None) -> float | None:
    try:
        return float((text or "").strip())
    except ValueError:
        return None


def write_voc_files(
    dataset: Dataset, *, folder: str = ANNOTATIONS_DIR, image_folder: str = "images"
) -> dict[str, bytes]:
    """One VOC file per image: ``<folder>/<file stem>.xml`` -> bytes, in dataset order.

    Raises ValueError when two images would share a file (``a.jpg`` and ``a.png``).
    """
    return {
        path: write_voc(image, folder=image_folder)
        for path, image in sidecar_paths(dataset.images, folder, ".xml").items()
    }


def read_voc_files(files: Mapping[str, bytes]) -> ImportResult:
    """Read every ``*.xml`` in ``files`` (path -> contents) into one dataset."""
    return merge_results(
        (path, read_voc(data, path))
        for path, data in files.items()
        if posixpath.splitext(path)[1].lower() == ".xml"
    )
