"""Project downloads: the images a consumer bought into a project, as one streamed zip.

The zip holds::

    README.txt             what is inside
    LICENSE.txt            per licence: its title and the files under it, with purchase dates
    manifest.csv           one row per image (formats/csv_manifest.py)
    annotations/coco.json  COCO JSON with image-level labels (formats/coco.py)
    images/<name>          the stored originals, under sanitised unique names

It is written through ``zipfile`` into a write-only sink that is emptied after every chunk, so
memory stays flat whatever the project's size: the zip is never seekable, and ``zipfile`` then
writes each entry's CRC and sizes in a data descriptor after its data. Images are stored as is
(already compressed); the text files are deflated. Timestamps come from the purchases, so the
same project gives the same bytes on every download.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from labelhub_app.adapters.storage import get_store
from labelhub_app.errors import InvalidInput, NotFound
from labelhub_app.formats.coco import write_coco_dataset
from labelhub_app.formats.csv_manifest import ManifestRow, write_manifest
from labelhub_app.formats.records import Box as DatasetBox
from labelhub_app.formats.records import Dataset, ImageRecord
from labelhub_app.models import LICENCES, Box, Image, Label, Purchase, User
from labelhub_app.models.market import Project
from labelhub_app.services import market
from labelhub_app.services.images import labels_by_image

CHUNK_BYTES = 1024 * 1024
IMAGES_DIR = "images/"
MAX_STEM = 100
_LABEL_QUERY_BATCH = 500

_EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "TIFF": "tif",
    "BMP": "bmp",
}
_WINDOWS_RESERVED_CHARS = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
_USER_EXTENSION = re.compile(r"[A-Za-z0-9]{1,5}")


@dataclass(frozen=True)
class ExportSummary:
    file_name: str  # suggested download name, e.g. labelhub-street-scenes.zip
    images: int
    size_bytes: int  # of the whole zip


@dataclass(frozen=True)
class _ImageEntry:
    zip_name: str  # images/<safe unique name>
    object_key: str
    size: int
    bought_at: datetime


@dataclass(frozen=True, slots=True)
class _Row:
    """One bought image: columns only, no ORM objects, to keep a large project's plan small."""

    image_id: int
    public_id: str
    file_name: str
    object_key: str
    width: int
    height: int
    format: str
    licence: str  # as sold (copied on the purchase)
    price_cents: int  # as paid
    bought_at: datetime
    producer: str  # pseudonym


@dataclass(frozen=True)
class _Plan:
    """Everything the zip needs, loaded before the first byte so errors come before streaming."""

    file_name: str
    texts: tuple[tuple[str, bytes], ...]  # (name in zip, content), deflated
    images: tuple[_ImageEntry, ...]  # stored
    date_time: tuple[int, int, int, int, int, int]  # for the text entries


# --- file names -----------------------------------------------------------------------------------


def safe_file_name(name: str, image_format: str) -> str:
    """A file name safe to extract anywhere: no folders, '..', control or Windows-reserved
    characters, leading dots or reserved device names; the extension is the stored format's.

    'a/b\\c.png' (stored as JPEG) -> 'c.jpg'; '../../etc/passwd.jpg' -> 'passwd.jpg';
    '.hidden.jpg' -> 'hidden.jpg'; 'CON.jpg' -> 'CON_.jpg'; '' -> 'image.jpg'.
    """
    ext = _EXTENSIONS.get(image_format.upper(), "bin")
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _WINDOWS_RESERVED_CHARS.sub("_", name)
    stem, dot, user_ext = name.rpartition(".")
    if not dot or not _USER_EXTENSION.fullmatch(user_ext):
        stem = name
    stem = re.sub(r"\.{2,}", ".", re.sub(r"\s+", " ", stem)).strip(" .")
    stem = stem[:MAX_STEM].rstrip(" .") or "image"
    first, dot, rest = stem.partition(".")
    if first.rstrip(" ").upper() in _WINDOWS_RESERVED_NAMES:
        stem = f"{first}_{dot}{rest}"
    return f"{stem}.{ext}"


def unique_file_names(names: list[str]) -> list[str]:
    """The same names with '-2', '-3'... added before the extension where one repeats.

    Compared case-insensitively, since Windows and macOS folders are.
    """
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        candidate = name
        key = name.casefold()
        if key in taken:
            stem, dot, ext = name.rpartition(".")
            if not dot:
                stem, ext = name, ""
            n = next_suffix.get(key, 2)
            while (candidate := f"{stem}-{n}{dot}{ext}").casefold() in taken:
                n += 1
            next_suffix[key] = n + 1
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def project_export_name(session: Session, *, actor: User, project_id: str) -> str:
    """The suggested file name of a project's download: labelhub-<slug of the project name>.zip."""
    project = market.get_own_project(session, actor=actor, project_id=project_id)
    return _export_name(project)


def _export_name(project: Project) -> str:
    ascii_name = unicodedata.normalize("NFKD", project.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return f"labelhub-{slug or project.public_id[:8]}.zip"


# --- what goes in ---------------------------------------------------------------------------------


def _label_names(session: Session, image_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for start in range(0, len(image_ids), _LABEL_QUERY_BATCH):
        out.update(labels_by_image(session, image_ids[start : start + _LABEL_QUERY_BATCH]))
    return out


def _boxes_by_image(session: Session, image_ids: list[int]) -> dict[int, list[DatasetBox]]:
    """Each image's current boxes, in original-image pixels, for the COCO annotations."""
    out: dict[int, list[DatasetBox]] = {}
    for image_id, name, x, y, w, h, score in session.exec(
        select(Box.image_id, Label.name, Box.x, Box.y, Box.w, Box.h, Box.score)
        .join(Label, col(Label.id) == Box.label_id)
        .where(col(Box.image_id).in_(image_ids))
        .order_by(col(Box.image_id), col(Box.id))
    ):
        out.setdefault(image_id, []).append(DatasetBox(name, x, y, w, h, score))
    return out


def _label_parents(session: Session) -> dict[str, str | None]:
    rows = session.exec(select(Label.id, Label.name, Label.parent_id)).all()
    name_of = {label_id: name for label_id, name, _ in rows}
    return {name: name_of.get(parent_id) if parent_id else None for _, name, parent_id in rows}


def _plan(session: Session, *, actor: User, project_id: str) -> _Plan:
    project = market.get_own_project(session, actor=actor, project_id=project_id)
    columns = (
        Image.id, Image.public_id, Image.file_name, Image.object_key, Image.width, Image.height,
        Image.format, Purchase.licence, Purchase.price_cents, Purchase.created_at, User.pseudonym,
    )  # fmt: skip
    query: Select[*tuple[Any, ...]] = (
        Select(*(col(c) for c in columns))
        .join(Image, col(Image.id) == Purchase.image_id)
        .join(User, col(User.id) == Image.owner_id)
        .where(Purchase.buyer_id == actor.id, Purchase.project_id == project.id)
        .order_by(col(Purchase.created_at), col(Purchase.id))
    )
    rows = [_Row(*values) for values in session.exec(query)]
    if not rows:
        raise InvalidInput("Nothing to download yet: buy images into this project first.")
    names = unique_file_names([safe_file_name(r.file_name, r.format) for r in rows])
    labels = _label_names(session, [r.image_id for r in rows])
    store = get_store()
    entries: list[_ImageEntry] = []
    for row, name in zip(rows, names, strict=True):
        try:
            size = store.size(row.object_key)
        except KeyError:
            raise NotFound(
                f"The stored file of {row.file_name} is missing, so the download cannot "
                "be made; please report this to LabelHub support."
            ) from None
        entries.append(_ImageEntry(IMAGES_DIR + name, row.object_key, size, row.bought_at))

    boxes = _boxes_by_image(session, [r.image_id for r in rows])
    dataset = Dataset.of(
        ImageRecord(
            file_name=name,
            width=r.width,
            height=r.height,
            labels=tuple(labels.get(r.image_id, ())),
            boxes=tuple(boxes.get(r.image_id, ())),
            image_id=r.public_id,
            licence=r.licence,
        )
        for r, name in zip(rows, names, strict=True)
    )
    last = max(r.bought_at for r in rows)
    coco = io.StringIO()
    write_coco_dataset(
        dataset,
        coco,
        licence_names=LICENCES,
        parents=_label_parents(session),
        info={
            "description": f"LabelHub project {project.name}",
            "version": "1.0",
            "year": last.year,
            "contributor": "LabelHub producers (see LICENSE.txt)",
            "url": "",
            "date_created": last.isoformat(),
            "labelhub_project_id": project.public_id,
        },
    )
    manifest = io.StringIO(newline="")
    write_manifest(
        (
            ManifestRow(
                r.public_id,
                e.zip_name,
                d.labels,
                r.licence,
                r.producer,
                r.price_cents,
            )
            for r, e, d in zip(rows, entries, dataset.images, strict=True)
        ),
        manifest,
    )
    licence_text = _licence_text(
        project.name,
        [
            (e.zip_name, r.licence, r.bought_at, r.producer)
            for r, e in zip(rows, entries, strict=True)
        ],
    )
    texts = (
        ("README.txt", _readme_text(project.name, len(rows)).encode("utf-8")),
        ("LICENSE.txt", licence_text.encode("utf-8")),
        ("manifest.csv", manifest.getvalue().encode("utf-8")),
        ("annotations/coco.json", coco.getvalue().encode("utf-8")),
    )
    return _Plan(_export_name(project), texts, tuple(entries), _zip_time(last))


def _readme_text(project_name: str, count: int) -> str:
    return (
        f'LabelHub download of the project "{project_name}"\n\n'
        f"{count} image(s) you bought into this project, with their labels and licences.\n\n"
        "  images/                the image files as stored on LabelHub\n"
        "  annotations/coco.json  COCO JSON: one category per label (supercategory = its root\n"
        '                         label); image-level labels in "image_labels" and in each\n'
        '                         image\'s "labels"; "annotations" (boxes) is empty for now.\n'
        "                         file_name is relative to images/.\n"
        "  manifest.csv           one row per image: image_id, file, labels (;-separated),\n"
        "                         licence, producer, price_cents\n"
        "  LICENSE.txt            the licence of each image and when you bought it\n\n"
        'Python: pycocotools.coco.COCO("annotations/coco.json"), or\n'
        'torchvision.datasets.CocoDetection("images", "annotations/coco.json").\n'
        "image_id in manifest.csv and labelhub_id in coco.json are the images' ids on LabelHub.\n"
    )


def _licence_text(project_name: str, items: list[tuple[str, str, datetime, str]]) -> str:
    """LICENSE.txt: per licence (in LabelHub's order), its title and every file it covers."""
    order = {code: i for i, code in enumerate(LICENCES)}
    codes = sorted({code for _, code, _, _ in items}, key=lambda c: (order.get(c, len(order)), c))
    lines = [
        f'Licences of the images in the LabelHub project "{project_name}"',
        "",
        "Each image is licensed to the LabelHub account that bought it, under the licence it was",
        "sold with, from its purchase date. Dates are UTC; producers are named by their LabelHub",
        "pseudonym (use it for attribution where the licence asks for it).",
    ]
    for code in codes:
        files = [(name, at, producer) for name, c, at, producer in items if c == code]
        lines += ["", f"{LICENCES.get(code, code)} ({code}): {len(files)} file(s)"]
        lines += [f"  {name}  bought {at:%Y-%m-%d}  producer {who}" for name, at, who in files]
    return "\n".join(lines) + "\n"


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    return max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # zip dates start in 1980


# --- the zip stream -------------------------------------------------------------------------------


class _Sink:
    """A write-only, unseekable file for zipfile: keeps what is written until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


_DateTime = tuple[int, int, int, int, int, int]


def _zip_info(name: str, date_time: _DateTime, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.compress_type = compress
    info.external_attr = 0o644 << 16  # a plain file, rw-r--r--
    return info


def _stream(plan: _Plan) -> Iterator[bytes]:
    sink = _Sink()
    store = get_store()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        for name, content in plan.texts:
            info = _zip_info(name, plan.date_time, zipfile.ZIP_DEFLATED)
            with zf.open(info, "w") as dst:
                for start in range(0, len(content), CHUNK_BYTES):
                    dst.write(content[start : start + CHUNK_BYTES])
            if data := sink.drain():
                yield data
        for entry in plan.images:
            info = _zip_info(entry.zip_name, _zip_time(entry.bought_at), zipfile.ZIP_STORED)
            info.file_size = entry.size
            force_zip64 = entry.size * 1.05 > zipfile.ZIP64_LIMIT
            with (
                store.open(entry.object_key) as src,
                zf.open(info, "w", force_zip64=force_zip64) as dst,
            ):
                while chunk := src.read(CHUNK_BYTES):
                    dst.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():  # the data descriptor
                yield data
    if data := sink.drain():  # the central directory
        yield data


def iter_project_zip(session: Session, *, actor: User, project_id: str) -> Iterator[bytes]:
    """The project's download as zip bytes, chunk by chunk (about 1 MiB at most each).

    Access and content are checked now, before the first chunk, so a caller can still answer
    with an error; the returned iterator then needs neither the session nor the database.
    Raises NotFound for a project that is not the actor's, InvalidInput when nothing was bought.
    """
    return _stream(_plan(session, actor=actor, project_id=project_id))


def write_project_zip(
    session: Session, *, actor: User, project_id: str, out: BinaryIO
) -> ExportSummary:
    """Write the project's download to ``out`` (the CLI's ``labelhub export``); same bytes as
    :func:`iter_project_zip`."""
    plan = _plan(session, actor=actor, project_id=project_id)
    size = 0
    for chunk in _stream(plan):
        out.write(chunk)
        size += len(chunk)
    return ExportSummary(plan.file_name, len(plan.images), size)
