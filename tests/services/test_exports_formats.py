"""export_project: every format reads back with its reader; incremental exports; access."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlmodel import Session

from labelhub_app.errors import Forbidden, InvalidInput, NotFound
from labelhub_app.formats.coco import read_coco_dataset
from labelhub_app.formats.csv_manifest import read_manifest
from labelhub_app.formats.label_studio import read_label_studio
from labelhub_app.formats.labelme import read_labelme_files
from labelhub_app.formats.records import Dataset
from labelhub_app.formats.sagemaker import read_sagemaker
from labelhub_app.formats.voc import read_voc_files
from labelhub_app.formats.yolo import read_yolo
from labelhub_app.models import Image, Project, User
from labelhub_app.services import annotations as ann
from labelhub_app.services import exports, market
from labelhub_app.services.exports import ExportMark, export_project
from tests.factories import make_image, make_project, make_user
from tests.images import make_png

BOXES = {
    "good dog.jpg": [("dog", 10, 20, 30, 40), ("cat", 100.5, 50, 20.5, 10)],
    "street.jpg": [("red car", 0, 0, 320, 240)],
    "empty.jpg": [],
}


def _save(session: Session, producer: User, image: Image, boxes, tags=None) -> None:  # type: ignore[no-untyped-def]
    image_row = session.get(Image, image.id)
    assert image_row is not None
    edits = [
        ann.BoxEdit(
            "create",
            {
                "id": f"{image.public_id[:8]}-{n}-{image_row.revision}",
                "label": label,
                "x": x,
                "y": y,
                "w": w,
                "h": h,
            },
        )
        for n, (label, x, y, w, h) in enumerate(boxes)
    ]
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=image_row.revision,
        edits=edits,
        tags=tags,
    )


@pytest.fixture
def bought(session: Session) -> tuple[User, User, Project, list[Image]]:
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    images = [
        make_image(session, producer, labels=("dog", "animal"), name="good dog.jpg"),
        make_image(session, producer, labels=("street",), name="street.jpg"),
        make_image(session, producer, labels=(), name="empty.jpg"),
    ]
    for image in images:
        _save(session, producer, image, BOXES[image.file_name])
    project = make_project(session, consumer, "Pets & streets")
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[i.public_id for i in images],
        idempotency_key="buy-1",
    )
    return producer, consumer, project, images


def _body(stream: exports.ExportStream) -> bytes:
    return b"".join(stream.chunks)


def _files(data: bytes) -> dict[str, bytes]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None
    return {n: zf.read(n) for n in zf.namelist()}


def _summary(dataset: Dataset, *, labels: bool = True) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {
        r.file_name: (
            tuple(sorted(r.labels)) if labels else (),
            sorted(
                (b.label, round(b.x, 2), round(b.y, 2), round(b.w, 2), round(b.h, 2))
                for b in r.boxes
            ),
        )
        for r in dataset.images
    }


EXPECTED = {
    "good dog.jpg": (
        ("animal", "dog"),
        [("cat", 100.5, 50.0, 20.5, 10.0), ("dog", 10.0, 20.0, 30.0, 40.0)],
    ),
    "street.jpg": (("street",), [("red car", 0.0, 0.0, 320.0, 240.0)]),
    "empty.jpg": ((), []),
}
SIZES = dict.fromkeys(EXPECTED, (320, 240))


def _read_back(fmt: str, data: bytes) -> Dataset:
    if fmt == "coco":
        result = read_coco_dataset(io.BytesIO(data))
    elif fmt == "labelstudio":
        result = read_label_studio(io.BytesIO(data))
    elif fmt == "sagemaker":
        result = read_sagemaker(io.BytesIO(data))
    elif fmt == "yolo":
        files = _files(data)  # YOLO holds no sizes: give those of the images with a label file
        stems = {n.removeprefix("labels/").removesuffix(".txt") for n in files}
        result = read_yolo(files, {n: s for n, s in SIZES.items() if n[:-4] in stems})
    elif fmt == "voc":
        result = read_voc_files(_files(data))
    elif fmt == "labelme":
        files = _files(data)
        assert all(n.startswith("images/") for n in files)
        result = read_labelme_files({n.removeprefix("images/"): d for n, d in files.items()})
    elif fmt == "zip":
        result = read_coco_dataset(io.BytesIO(_files(data)["annotations/coco.json"]))
    else:
        raise AssertionError(fmt)
    assert result.problems == ()
    return result.dataset


@pytest.mark.parametrize(
    ("fmt", "suffix", "media_type"),
    [
        ("coco", ".coco.json", "application/json"),
        ("yolo", "-yolo.zip", "application/zip"),
        ("voc", "-voc.zip", "application/zip"),
        ("labelme", "-labelme.zip", "application/zip"),
        ("labelstudio", ".labelstudio.json", "application/json"),
        ("sagemaker", ".sagemaker.manifest", "application/x-ndjson"),
        ("zip", ".zip", "application/zip"),
    ],
)
def test_each_format_reads_back_with_the_same_labels_and_boxes(
    session: Session,
    bought,  # type: ignore[no-untyped-def]
    fmt: str,
    suffix: str,
    media_type: str,
) -> None:
    _, consumer, project, _ = bought
    stream = export_project(session, actor=consumer, project_id=project.public_id, fmt=fmt)
    assert stream.file_name == f"labelhub-pets-streets{suffix}"
    assert stream.media_type == media_type
    ExportMark.parse(stream.mark)
    assert _summary(_read_back(fmt, _body(stream))) == EXPECTED


def test_manifest_export_holds_the_image_level_labels(session: Session, bought) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, images = bought
    for fmt in ("manifest", "CSV"):
        stream = export_project(session, actor=consumer, project_id=project.public_id, fmt=fmt)
        assert stream.file_name.endswith(".csv") and stream.media_type.startswith("text/csv")
        rows = read_manifest(io.StringIO(_body(stream).decode(), newline=""))
        assert [(r.image_id, r.file, r.labels) for r in rows] == [
            (images[0].public_id, "images/good dog.jpg", ("animal", "dog")),
            (images[1].public_id, "images/street.jpg", ("street",)),
            (images[2].public_id, "images/empty.jpg", ()),
        ]


def test_exports_use_the_zip_names_and_yolo_class_order(session: Session, bought) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = bought
    zip_names = {
        n
        for n in _files(
            _body(export_project(session, actor=consumer, project_id=project.public_id, fmt="zip"))
        )
        if n.startswith("images/")
    }
    yolo = _files(
        _body(export_project(session, actor=consumer, project_id=project.public_id, fmt="yolo"))
    )
    assert sorted(yolo) == [
        "data.yaml",
        "labelhub_image_labels.json",
        "labels/empty.txt",
        "labels/good dog.txt",
        "labels/street.txt",
    ]
    assert {
        "images/" + n.removeprefix("labels/").replace(".txt", ".jpg")
        for n in yolo
        if n.startswith("labels/")
    } == zip_names
    assert b"names:" in yolo["data.yaml"] and b'train: "images"' in yolo["data.yaml"]
    # categories are sorted: animal, cat, dog, red car, street -> "cat" is class 1
    assert yolo["labels/good dog.txt"].decode().splitlines()[1].startswith("1 ")
    voc = _files(
        _body(export_project(session, actor=consumer, project_id=project.public_id, fmt="voc"))
    )
    assert sorted(voc) == [
        "Annotations/empty.xml",
        "Annotations/good dog.xml",
        "Annotations/street.xml",
    ]
    assert b"<folder>images</folder>" in voc["Annotations/street.xml"]


def test_stem_clash_gets_unique_names(session: Session) -> None:
    producer, consumer = make_user(session, "producer"), make_user(session, "consumer")
    from labelhub_app.services import images as image_service

    jpg = make_image(session, producer, name="a.jpg")
    [png] = image_service.ingest_images(
        session,
        actor=producer,
        files=[image_service.UploadedFile("a.png", make_png(64, 48, seed=5))],
        labels=("cat",),
        price_cents=100,
        licence="standard",
    )
    project = make_project(session, consumer)
    market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[jpg.public_id, png.image_id or ""],
        idempotency_key="k",
    )
    names = sorted(
        _files(
            _body(export_project(session, actor=consumer, project_id=project.public_id, fmt="yolo"))
        )
    )
    assert "labels/a.txt" in names and "labels/a-2.txt" in names
    zip_names = sorted(
        n
        for n in _files(
            _body(export_project(session, actor=consumer, project_id=project.public_id, fmt="zip"))
        )
        if n.startswith("images/")
    )
    assert zip_names == ["images/a-2.png", "images/a.jpg"]


def test_incremental_export_holds_only_what_changed(session: Session, bought) -> None:  # type: ignore[no-untyped-def]
    producer, consumer, project, images = bought
    pid = project.public_id
    first = export_project(session, actor=consumer, project_id=pid, fmt="coco")
    assert len(_read_back("coco", _body(first)).images) == 3

    nothing = export_project(session, actor=consumer, project_id=pid, fmt="coco", since=first.mark)
    assert _read_back("coco", _body(nothing)).images == ()
    assert nothing.mark == first.mark

    _save(session, producer, images[1], [("bus", 5, 5, 50, 50)])
    second = export_project(session, actor=consumer, project_id=pid, fmt="coco", since=first.mark)
    changed = _read_back("coco", _body(second))
    assert [(r.file_name, r.image_id) for r in changed.images] == [
        ("street.jpg", images[1].public_id)
    ]
    assert sorted(b.label for b in changed.images[0].boxes) == ["bus", "red car"]
    assert second.mark != first.mark

    # every format honours since; the zip carries only that image's file
    for fmt in ("yolo", "voc", "labelme", "labelstudio", "sagemaker", "zip"):
        again = export_project(session, actor=consumer, project_id=pid, fmt=fmt, since=first.mark)
        assert [r.file_name for r in _read_back(fmt, _body(again)).images] == ["street.jpg"]
    zipped = _files(
        _body(export_project(session, actor=consumer, project_id=pid, fmt="zip", since=first.mark))
    )
    assert [n for n in zipped if n.startswith("images/")] == ["images/street.jpg"]
    assert first.mark in zipped["README.txt"].decode()

    # a tag change counts, and so does a new purchase
    _save(session, producer, images[2], [], tags=["night"])
    late = make_image(session, producer, name="late.jpg")
    market.buy_images(
        session, buyer=consumer, project_id=pid, image_ids=[late.public_id], idempotency_key="buy-2"
    )
    third = export_project(session, actor=consumer, project_id=pid, fmt="coco", since=second.mark)
    assert [r.file_name for r in _read_back("coco", _body(third)).images] == [
        "empty.jpg",
        "late.jpg",
    ]
    latest = export_project(session, actor=consumer, project_id=pid, fmt="coco", since=third.mark)
    assert _read_back("coco", _body(latest)).images == ()


def test_changes_to_images_outside_the_project_do_not_count(session: Session, bought) -> None:  # type: ignore[no-untyped-def]
    producer, consumer, project, _ = bought
    first = export_project(session, actor=consumer, project_id=project.public_id, fmt="coco")
    elsewhere = make_image(session, producer, name="elsewhere.jpg")
    _save(session, producer, elsewhere, [("dog", 1, 1, 10, 10)])
    again = export_project(
        session, actor=consumer, project_id=project.public_id, fmt="coco", since=first.mark
    )
    assert _read_back("coco", _body(again)).images == ()


def test_only_the_owner_consumer_may_export(session: Session, bought) -> None:  # type: ignore[no-untyped-def]
    producer, consumer, project, _ = bought
    rival = make_user(session, "consumer")
    for fmt in ("zip", "coco", "yolo"):
        with pytest.raises(NotFound):
            export_project(session, actor=rival, project_id=project.public_id, fmt=fmt)
    with pytest.raises(Forbidden):
        export_project(session, actor=producer, project_id=project.public_id, fmt="coco")
    with pytest.raises(NotFound):
        export_project(session, actor=consumer, project_id="no-such-project", fmt="coco")
    empty = make_project(session, consumer)
    with pytest.raises(InvalidInput, match="Nothing to download yet"):
        export_project(session, actor=consumer, project_id=empty.public_id, fmt="coco")


def test_bad_format_and_bad_mark_are_invalid_input(session: Session, bought) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = bought
    with pytest.raises(InvalidInput, match="Unknown export format 'tfrecord'"):
        export_project(session, actor=consumer, project_id=project.public_id, fmt="tfrecord")
    for mark in ("yesterday", "m1.1", "m1.-1.2", "m2.1.2"):
        with pytest.raises(InvalidInput, match="not a mark LabelHub gave out"):
            export_project(
                session, actor=consumer, project_id=project.public_id, fmt="coco", since=mark
            )


def test_chunks_need_no_session_and_are_bounded(session: Session, bought, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = bought
    monkeypatch.setattr(exports, "CHUNK_BYTES", 256)
    stream = export_project(session, actor=consumer, project_id=project.public_id, fmt="coco")
    session.close()
    chunks = list(stream.chunks)
    assert len(chunks) > 1 and max(map(len, chunks)) <= 256
    assert _summary(_read_back("coco", b"".join(chunks))) == EXPECTED
