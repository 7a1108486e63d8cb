"""Project downloads: the images a consumer bought into a project, as one streamed zip, and
exports of their labels and boxes in other dataset formats, full or incremental
(:func:`export_project`, :class:`ExportMark`).

The zip holds::

    README.txt             what is inside
    LICENSE.txt            per licence: its title and the files under it, with purchase dates
    manifest.csv           one row per image (formats/csv_manifest.py)
    annotations/coco.json  COCO JSON with boxes and image-level labels (formats/coco.py)
    images/<name>          the stored originals, under sanitised unique names (unique by stem,
                           case-insensitively, so per-image label files never collide)

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from labelhub_app.adapters.storage import get_store
from labelhub_app.errors import InvalidInput, NotFound
from labelhub_app.formats.coco import write_coco_dataset
from labelhub_app.formats.csv_manifest import ManifestRow, write_manifest
from labelhub_app.formats.label_studio import write_label_studio
from labelhub_app.formats.labelme import write_labelme_files
from labelhub_app.formats.records import Box as DatasetBox
from labelhub_app.formats.records import Dataset, ImageRecord
from labelhub_app.formats.sagemaker import write_sagemaker
from labelhub_app.formats.voc import write_voc_files
from labelhub_app.formats.yolo import write_yolo
from labelhub_app.models import (
    LICENCES,
    AnnotationRevision,
    Box,
    Image,
    ImageLabel,
    Label,
    Purchase,
    User,
)
from labelhub_app.models.market import Project
from labelhub_app.services import market
from labelhub_app.services.images import labels_by_image

CHUNK_BYTES = 1024 * 1024
IMAGES_DIR = "images/"
MAX_STEM = 100
_QUERY_BATCH = 500  # ids per IN (...) list

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
    purchase_id: int
    licence_kind: str = "standard"  # the market licence kind bought (services/licences.py)
    licence_version: int | None = None  # the exact version of its text

    @property
    def licence_code(self) -> str:
        """The licence and version, as the manifest and LICENSE.txt name it: standard-v1,
        extended-v2, exclusive-v1; an open licence bought as Standard keeps its own code
        (cc-by-4.0 names its version)."""
        if self.licence_kind == "standard" and self.licence != "standard":
            return self.licence
        return f"{self.licence_kind}-v{self.licence_version or 1}"


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

    Compared case-insensitively, since Windows and macOS folders are, and by stem (the name
    without its extension): formats that keep one annotation file per image (YOLO's
    ``labels/a.txt``, VOC's ``Annotations/a.xml``, LabelMe's ``a.json``) name it by the stem, so
    ``a.jpg`` and ``a.png`` must not both be exported.
    """
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate = name
        key = stem.casefold()
        if key in taken:
            n = next_suffix.get(key, 2)
            while f"{stem}-{n}".casefold() in taken:
                n += 1
            next_suffix[key] = n + 1
            candidate = f"{stem}-{n}{dot}{ext}"
            key = f"{stem}-{n}".casefold()
        taken.add(key)
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
    for start in range(0, len(image_ids), _QUERY_BATCH):
        out.update(labels_by_image(session, image_ids[start : start + _QUERY_BATCH]))
    return out


def _boxes_by_image(session: Session, image_ids: list[int]) -> dict[int, list[DatasetBox]]:
    """Each image's current boxes, in original-image pixels, oldest box first."""
    out: dict[int, list[DatasetBox]] = {}
    for start in range(0, len(image_ids), _QUERY_BATCH):
        columns = (Box.image_id, Label.name, Box.x, Box.y, Box.w, Box.h, Box.score)
        query: Select[*tuple[Any, ...]] = (
            Select(*(col(c) for c in columns))
            .join(Label, col(Label.id) == Box.label_id)
            .where(col(Box.image_id).in_(image_ids[start : start + _QUERY_BATCH]))
            .order_by(col(Box.image_id), col(Box.id))
        )
        for image_id, name, x, y, w, h, score in session.exec(query):
            out.setdefault(image_id, []).append(DatasetBox(name, x, y, w, h, score))
    return out


def _label_parents(session: Session) -> dict[str, str | None]:
    rows = session.exec(select(Label.id, Label.name, Label.parent_id)).all()
    name_of = {label_id: name for label_id, name, _ in rows}
    return {name: name_of.get(parent_id) if parent_id else None for _, name, parent_id in rows}


def _bought(actor: User, project: Project) -> Any:
    """The ids of the images the actor bought into the project (a subquery)."""
    return select(Purchase.image_id).where(
        Purchase.buyer_id == actor.id, Purchase.project_id == project.id
    )


def _project_categories(session: Session, actor: User, project: Project) -> list[str]:
    """Every label used by a box or a tag of any image bought into the project, sorted.

    Taken over the whole project, not just the exported images, so an incremental export numbers
    its classes (YOLO indices, COCO category ids) as the full export does, until a new label
    appears in the project.
    """
    bought = _bought(actor, project)
    box_labels = select(Box.label_id).where(col(Box.image_id).in_(bought)).distinct()
    tag_labels = select(ImageLabel.label_id).where(col(ImageLabel.image_id).in_(bought)).distinct()
    names = session.exec(
        select(Label.name).where(col(Label.id).in_(box_labels) | col(Label.id).in_(tag_labels))
    ).all()
    return sorted(names)


# --- incremental exports: the mark ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportMark:
    """Where an export stopped: the newest annotation revision and purchase it had seen.

    Written as the opaque text ``m1.<revision id>.<purchase id>``. ``AnnotationRevision.id`` and
    ``Purchase.id`` only grow, and every change to an image's boxes or tags appends a revision (the
    editor, restores, tag changes on upload and on the dashboard, imports), so "changed after the
    mark" is "has a revision with a greater id, or was bought with a greater purchase id".
    The mark is read before the data, so a change that lands during an export is exported again
    next time rather than missed. On PostgreSQL a transaction that took its id before the mark
    was read but commits after the export can still be missed (ids are handed out before
    commit); SQLite writes one transaction at a time, so it cannot happen there.
    """

    revision_id: int
    purchase_id: int

    def __str__(self) -> str:
        return f"{MARK_PREFIX}.{self.revision_id}.{self.purchase_id}"

    @classmethod
    def parse(cls, text: str) -> ExportMark:
        match = _MARK.fullmatch(text.strip())
        if match is None:
            raise InvalidInput(
                f"{text!r} is not a mark LabelHub gave out (they look like "
                f"{MARK_PREFIX}.1234.56); export without 'since' to get everything."
            )
        return cls(int(match[1]), int(match[2]))


MARK_PREFIX = "m1"
_MARK = re.compile(rf"{MARK_PREFIX}\.(\d{{1,18}})\.(\d{{1,18}})")


def current_mark(session: Session) -> ExportMark:
    """The mark of everything committed so far (the next export's ``since``)."""
    revision = session.exec(select(func.max(AnnotationRevision.id))).one()
    purchase = session.exec(select(func.max(Purchase.id))).one()
    return ExportMark(int(revision or 0), int(purchase or 0))


# --- the selection: which images, under which names, with which labels ----------------------------


@dataclass(frozen=True)
class _Selection:
    """The images an export holds, in purchase order, and the dataset made of them.

    ``names`` are computed over every image bought into the project (then filtered), so an
    image keeps its file name in a full and an incremental export alike.
    """

    project: Project
    rows: tuple[_Row, ...]
    names: tuple[str, ...]  # safe unique file names, same order as rows
    dataset: Dataset  # one record per row, file_name = its name
    since: ExportMark | None
    last: datetime  # the latest purchase of the project: the files' timestamp


def _select(
    session: Session, *, actor: User, project_id: str, since: ExportMark | None = None
) -> _Selection:
    project = market.get_own_project(session, actor=actor, project_id=project_id)
    columns = (
        Image.id, Image.public_id, Image.file_name, Image.object_key, Image.width, Image.height,
        Image.format, Purchase.licence, Purchase.price_cents, Purchase.created_at, User.pseudonym,
        Purchase.id, Purchase.licence_kind, Purchase.licence_version,
    )  # fmt: skip
    query: Select[*tuple[Any, ...]] = (
        Select(*(col(c) for c in columns))
        .join(Image, col(Image.id) == Purchase.image_id)
        .join(User, col(User.id) == Image.owner_id)
        .where(Purchase.buyer_id == actor.id, Purchase.project_id == project.id)
        .order_by(col(Purchase.created_at), col(Purchase.id))
    )
    every = [_Row(*values) for values in session.exec(query)]
    if not every:
        raise InvalidInput("Nothing to download yet: buy images into this project first.")
    every_name = unique_file_names([safe_file_name(r.file_name, r.format) for r in every])
    pairs = list(zip(every, every_name, strict=True))
    if since is not None:
        revised = set(
            session.exec(
                select(AnnotationRevision.image_id)
                .where(
                    col(AnnotationRevision.id) > since.revision_id,
                    col(AnnotationRevision.image_id).in_(_bought(actor, project)),
                )
                .distinct()
            )
        )
        pairs = [
            (r, n) for r, n in pairs if r.purchase_id > since.purchase_id or r.image_id in revised
        ]
    rows = tuple(r for r, _ in pairs)
    ids = [r.image_id for r in rows]
    labels = _label_names(session, ids)
    boxes = _boxes_by_image(session, ids)
    dataset = Dataset.of(
        (
            ImageRecord(
                file_name=name,
                width=r.width,
                height=r.height,
                labels=tuple(labels.get(r.image_id, ())),
                boxes=tuple(boxes.get(r.image_id, ())),
                image_id=r.public_id,
                licence=r.licence,
            )
            for r, name in pairs
        ),
        _project_categories(session, actor, project),
    )
    last = max(r.bought_at for r in every)
    return _Selection(project, rows, tuple(n for _, n in pairs), dataset, since, last)


# --- the full download: images and every text file --------------------------------------------


def _coco_text(session: Session, selection: _Selection) -> bytes:
    project, last = selection.project, selection.last
    coco = io.StringIO()
    write_coco_dataset(
        selection.dataset,
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
    return coco.getvalue().encode("utf-8")


def _manifest_text(selection: _Selection) -> bytes:
    manifest = io.StringIO(newline="")
    write_manifest(
        (
            ManifestRow(
                r.public_id, IMAGES_DIR + name, d.labels, r.licence_code, r.producer, r.price_cents
            )
            for r, name, d in zip(
                selection.rows, selection.names, selection.dataset.images, strict=True
            )
        ),
        manifest,
    )
    return manifest.getvalue().encode("utf-8")


def _plan(
    session: Session, *, actor: User, project_id: str, since: ExportMark | None = None
) -> _Plan:
    return _zip_plan(session, _select(session, actor=actor, project_id=project_id, since=since))


def _zip_plan(session: Session, selection: _Selection) -> _Plan:
    store = get_store()
    entries: list[_ImageEntry] = []
    for row, name in zip(selection.rows, selection.names, strict=True):
        try:
            size = store.size(row.object_key)
        except KeyError:
            raise NotFound(
                f"The stored file of {row.file_name} is missing, so the download cannot "
                "be made; please report this to LabelHub support."
            ) from None
        entries.append(_ImageEntry(IMAGES_DIR + name, row.object_key, size, row.bought_at))
    project = selection.project
    licence_text = _licence_text(
        project.name,
        [
            (e.zip_name, r.licence_code, r.bought_at, r.producer)
            for r, e in zip(selection.rows, entries, strict=True)
        ],
        _market_licence_texts(session, selection.rows),
    )
    readme = _readme_text(project.name, len(selection.rows), selection.since)
    texts = (
        ("README.txt", readme.encode("utf-8")),
        ("LICENSE.txt", licence_text.encode("utf-8")),
        ("manifest.csv", _manifest_text(selection)),
        ("annotations/coco.json", _coco_text(session, selection)),
    )
    return _Plan(_export_name(project), texts, tuple(entries), _zip_time(selection.last))


def _readme_text(project_name: str, count: int, since: ExportMark | None = None) -> str:
    scope = (
        f"{count} image(s) of this project that you bought, or whose labels changed, after the "
        f"mark {since}.\n\n"
        if since is not None
        else f"{count} image(s) you bought into this project, with their labels and licences.\n\n"
    )
    return (
        f'LabelHub download of the project "{project_name}"\n\n'
        + scope
        + "  images/                the image files as stored on LabelHub\n"
        "  annotations/coco.json  COCO JSON: one category per label (supercategory = its root\n"
        '                         label); boxes in "annotations" (bbox = [x, y, w, h] in\n'
        "                         pixels, top-left origin); image-level labels in\n"
        '                         "image_labels" and in each image\'s "labels".\n'
        "                         file_name is relative to images/.\n"
        "  manifest.csv           one row per image: image_id, file, labels (;-separated),\n"
        "                         licence, producer, price_cents\n"
        "  LICENSE.txt            the licence of each image and when you bought it\n\n"
        'Python: pycocotools.coco.COCO("annotations/coco.json"), or\n'
        'torchvision.datasets.CocoDetection("images", "annotations/coco.json").\n'
        "image_id in manifest.csv and labelhub_id in coco.json are the images' ids on LabelHub.\n"
    )


def _market_licence_texts(session: Session, rows: tuple[_Row, ...]) -> dict[str, tuple[str, str]]:
    """licence code (standard-v1...) -> (title with version, full text) for the rows' licences."""
    from labelhub_app.models.licences import LicenceText

    wanted = {(r.licence_kind, r.licence_version or 1) for r in rows if r.licence_code != r.licence}
    found: dict[str, tuple[str, str]] = {}
    for kind, version in sorted(wanted):
        text = session.exec(
            select(LicenceText).where(LicenceText.kind == kind, LicenceText.version == version)
        ).first()
        if text is not None:
            found[f"{kind}-v{version}"] = (f"{text.title}, version {version}", text.body)
    return found


def _licence_text(
    project_name: str,
    items: list[tuple[str, str, datetime, str]],
    market_texts: dict[str, tuple[str, str]] | None = None,
) -> str:
    """LICENSE.txt: per licence (in LabelHub's order), its title and every file it covers.

    LabelHub's market licences (``standard-v1``, ``extended-v1``, ...) are named with their
    version, and their full text follows the list of files they cover.
    """
    market_texts = market_texts or {}
    kinds = ("standard", "extended", "exclusive")
    market_order = sorted(market_texts, key=lambda c: (kinds.index(c.rsplit("-v", 1)[0]), c))
    order = {code: i for i, code in enumerate((*market_order, *LICENCES))}
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
        title = market_texts[code][0] if code in market_texts else LICENCES.get(code, code)
        lines += ["", f"{title} ({code}): {len(files)} file(s)"]
        lines += [f"  {name}  bought {at:%Y-%m-%d}  producer {who}" for name, at, who in files]
    for code in market_order:
        title, body = market_texts[code]
        if code in codes:
            lines += ["", "-" * 72, f"{title} ({code})", "", body]
    return "\n".join(lines) + "\n"


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    return max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # zip dates start in 1980


# --- the zip stream -------------------------------------------------------------------------------


class _Sink:
    """A write-only, unseekable file for zipfile: keeps what is written until it is drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.pending = 0  # bytes written and not yet drained

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        self.pending += len(data)
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
        self.pending = 0
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


# --- export_project: every format, full or incremental --------------------------------------------


@dataclass(frozen=True)
class ExportFormat:
    key: str
    title: str
    suffix: str  # after labelhub-<project slug>
    media_type: str


_ZIP = "application/zip"
EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("zip", "Dataset zip: images, COCO, CSV manifest, LICENSE", ".zip", _ZIP),
        ExportFormat("coco", "COCO detection JSON", ".coco.json", "application/json"),
        ExportFormat("yolo", "Ultralytics YOLO labels (zip)", "-yolo.zip", _ZIP),
        ExportFormat("voc", "Pascal VOC XML (zip)", "-voc.zip", _ZIP),
        ExportFormat("labelme", "LabelMe JSON (zip)", "-labelme.zip", _ZIP),
        ExportFormat(
            "labelstudio", "Label Studio JSON tasks", ".labelstudio.json", "application/json"
        ),
        ExportFormat(
            "sagemaker",
            "SageMaker Ground Truth output manifest",
            ".sagemaker.manifest",
            "application/x-ndjson",
        ),
        ExportFormat(
            "manifest", "CSV manifest (image-level labels)", ".csv", "text/csv; charset=utf-8"
        ),
    )
}
_FORMAT_ALIASES = {"csv": "manifest", "label-studio": "labelstudio", "label_studio": "labelstudio"}


def export_format(fmt: str) -> ExportFormat:
    """The export format called ``fmt`` (case-insensitive; ``csv`` is ``manifest``)."""
    key = (fmt or "").strip().lower()
    spec = EXPORT_FORMATS.get(_FORMAT_ALIASES.get(key, key))
    if spec is None:
        raise InvalidInput(
            f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)} (or csv)."
        )
    return spec


@dataclass(frozen=True)
class ExportStream:
    """One export, ready to send: its suggested file name, media type and bytes.

    ``chunks`` needs neither the session nor the database (everything was checked and loaded
    before it was returned). ``mark`` is the opaque text to pass as ``since`` next time to get
    only what changed after this export (see :class:`ExportMark`).
    """

    file_name: str
    media_type: str
    chunks: Iterator[bytes]
    mark: str
    images: int = 0  # how many images it holds


def export_project(
    session: Session, *, actor: User, project_id: str, fmt: str, since: str | None = None
) -> ExportStream:
    """Export the images the actor bought into one of their projects, in format ``fmt``.

    ``zip`` is the full download (images, COCO with boxes, CSV manifest, LICENSE.txt, README);
    every other format holds labels and boxes only, named as the images are in the zip (its
    ``images/`` folder): ``coco``, ``labelstudio``, ``sagemaker`` and ``manifest`` (``csv``) as
    one file; ``yolo`` (``data.yaml``, ``labels/``), ``voc`` (``Annotations/``) and ``labelme``
    (``images/<stem>.json``) as a zip to unpack beside the zip's ``images/``.

    ``since``: the ``mark`` of an earlier export; then only the images bought, or whose boxes or
    tags changed, after it are exported (possibly none). Raises NotFound for a project that is
    not the actor's, Forbidden without the consumer role, InvalidInput for an unknown format, a
    malformed mark or a project with nothing bought.
    """
    spec = export_format(fmt)
    mark_from = ExportMark.parse(since) if since else None
    market.get_own_project(session, actor=actor, project_id=project_id)
    mark = current_mark(session)  # before the data: a change made meanwhile comes again
    selection = _select(session, actor=actor, project_id=project_id, since=mark_from)
    base = _export_name(selection.project).removesuffix(".zip")
    chunks = (
        _stream(_zip_plan(session, selection))
        if spec.key == "zip"
        else _BUILDERS[spec.key](session, selection)
    )
    return ExportStream(base + spec.suffix, spec.media_type, chunks, str(mark), len(selection.rows))


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]


def _text_file(write: Any) -> bytes:
    out = io.StringIO(newline="")
    write(out)
    return out.getvalue().encode("utf-8")


def _stream_files(files: list[tuple[str, bytes]], date_time: _DateTime) -> Iterator[bytes]:
    """A deflated zip of small text files, in chunks of about CHUNK_BYTES."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        for name, content in files:
            with zf.open(_zip_info(name, date_time, zipfile.ZIP_DEFLATED), "w") as dst:
                for start in range(0, len(content), CHUNK_BYTES):
                    dst.write(content[start : start + CHUNK_BYTES])
            if sink.pending >= CHUNK_BYTES:
                yield sink.drain()
    if data := sink.drain():
        yield data


def _coco_export(session: Session, selection: _Selection) -> Iterator[bytes]:
    return _chunks(_coco_text(session, selection))


def _label_studio_export(_session: Session, selection: _Selection) -> Iterator[bytes]:
    return _chunks(_text_file(lambda out: write_label_studio(selection.dataset, out)))


def _sagemaker_export(_session: Session, selection: _Selection) -> Iterator[bytes]:
    return _chunks(
        _text_file(
            lambda out: write_sagemaker(selection.dataset, out, creation_date=selection.last)
        )
    )


def _manifest_export(_session: Session, selection: _Selection) -> Iterator[bytes]:
    return _chunks(_manifest_text(selection))


def _yolo_export(_session: Session, selection: _Selection) -> Iterator[bytes]:
    files = write_yolo(selection.dataset)
    return _stream_files(list(files.items()), _zip_time(selection.last))


def _voc_export(_session: Session, selection: _Selection) -> Iterator[bytes]:
    files = write_voc_files(selection.dataset, image_folder=IMAGES_DIR.rstrip("/"))
    return _stream_files(list(files.items()), _zip_time(selection.last))


def _labelme_export(_session: Session, selection: _Selection) -> Iterator[bytes]:
    files = write_labelme_files(selection.dataset)
    return _stream_files(
        [(IMAGES_DIR + path, data) for path, data in files.items()], _zip_time(selection.last)
    )


_BUILDERS: dict[str, Callable[[Session, _Selection], Iterator[bytes]]] = {
    "coco": _coco_export,
    "labelstudio": _label_studio_export,
    "sagemaker": _sagemaker_export,
    "manifest": _manifest_export,
    "yolo": _yolo_export,
    "voc": _voc_export,
    "labelme": _labelme_export,
}
