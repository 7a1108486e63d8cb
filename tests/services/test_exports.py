"""Project downloads: a real database and file store, images made and bought through services."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from pycocotools.coco import COCO
from sqlmodel import Session

from labelhub_app.adapters.storage import get_store
from labelhub_app.errors import InvalidInput, NotFound
from labelhub_app.formats.coco import read_coco
from labelhub_app.formats.csv_manifest import read_manifest
from labelhub_app.models import Image, Project, User
from labelhub_app.services import exports, market
from labelhub_app.services.exports import (
    iter_project_zip,
    project_export_name,
    safe_file_name,
    unique_file_names,
    write_project_zip,
)
from tests.factories import make_image, make_project, make_user


def _buy(session: Session, buyer: User, project: Project, images: list[Image], key: str) -> None:
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[i.public_id for i in images],
        idempotency_key=key,
    )


def _zip(session: Session, actor: User, project: Project) -> zipfile.ZipFile:
    data = b"".join(iter_project_zip(session, actor=actor, project_id=project.public_id))
    return zipfile.ZipFile(io.BytesIO(data))


def _image_names(zf: zipfile.ZipFile) -> list[str]:
    return [n for n in zf.namelist() if n.startswith("images/")]


def _stored(image: Image) -> bytes:
    with get_store().open(image.object_key) as fh:
        return fh.read()


@pytest.fixture
def market_setup(session: Session) -> tuple[User, User, Project, list[Image]]:
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    images = [
        make_image(
            session,
            producer,
            labels=("dog",),
            price_cents=250,
            licence="cc-by-4.0",
            name="good dog.jpg",
        ),
        make_image(
            session,
            producer,
            labels=("car", "red car"),
            price_cents=100,
            licence="standard",
            name="=HYPERLINK(1).jpg",
        ),
        make_image(session, producer, labels=("cat",), price_cents=300, name="not-bought.jpg"),
    ]
    project = make_project(session, consumer, "Street scenes: 2025!")
    market.add_to_project(
        session,
        actor=consumer,
        project_id=project.public_id,
        image_ids=[i.public_id for i in images],
    )
    _buy(session, consumer, project, images[:2], "k1")
    return producer, consumer, project, images


def test_zip_holds_exactly_the_bought_images(session: Session, market_setup) -> None:  # type: ignore[no-untyped-def]
    producer, consumer, project, images = market_setup
    zf = _zip(session, consumer, project)
    assert zf.testzip() is None
    assert sorted(zf.namelist()) == sorted(
        [
            "README.txt",
            "LICENSE.txt",
            "manifest.csv",
            "annotations/coco.json",
            "images/good dog.jpg",
            "images/=HYPERLINK(1).jpg",
        ]
    )
    assert zf.read("images/good dog.jpg") == _stored(images[0])
    assert zf.read("images/=HYPERLINK(1).jpg") == _stored(images[1])
    assert zf.getinfo("images/good dog.jpg").compress_type == zipfile.ZIP_STORED
    assert zf.getinfo("annotations/coco.json").compress_type == zipfile.ZIP_DEFLATED

    coco_images, cats, _ = read_coco(io.BytesIO(zf.read("annotations/coco.json")))
    assert [(i.file_name, i.labels, i.licence, i.public_id) for i in coco_images] == [
        ("good dog.jpg", ("dog",), "cc-by-4.0", images[0].public_id),
        ("=HYPERLINK(1).jpg", ("car", "red car"), "standard", images[1].public_id),
    ]
    assert (coco_images[0].width, coco_images[0].height) == (images[0].width, images[0].height)
    # The starter taxonomy puts car under vehicle and dog under animal; "red car" is new.
    assert {c.name: c.supercategory for c in cats} == {
        "car": "vehicle",
        "dog": "animal",
        "red car": "red car",
    }
    assert [c.id for c in cats] == [1, 2, 3]

    rows = read_manifest(io.StringIO(zf.read("manifest.csv").decode("utf-8"), newline=""))
    assert [(r.image_id, r.file, r.labels, r.licence, r.producer, r.price_cents) for r in rows] == [
        (
            images[0].public_id,
            "images/good dog.jpg",
            ("dog",),
            "cc-by-4.0",
            producer.pseudonym,
            250,
        ),
        (
            images[1].public_id,
            "images/=HYPERLINK(1).jpg",
            ("car", "red car"),
            "standard-v1",
            producer.pseudonym,
            100,
        ),
    ]

    licence = zf.read("LICENSE.txt").decode("utf-8")
    after_standard = licence.split("LabelHub Standard licence, version 1 (standard-v1)")
    std_part, cc_part = after_standard[1].split("Creative Commons Attribution 4.0 (cc-by-4.0)")
    assert "images/good dog.jpg" in cc_part and "images/=HYPERLINK(1).jpg" in std_part
    assert "good dog" not in std_part and "HYPERLINK" not in cc_part
    purchased = market.consumer_summary(session, actor=consumer).purchases[0].created_at
    assert f"bought {purchased:%Y-%m-%d}" in licence
    assert producer.pseudonym in licence
    assert "not-bought" not in licence
    readme = zf.read("README.txt").decode("utf-8")
    assert "Street scenes: 2025!" in readme and "annotations/coco.json" in readme


def test_pycocotools_loads_the_exported_file(session: Session, market_setup, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = market_setup
    path = tmp_path / "coco.json"
    path.write_bytes(_zip(session, consumer, project).read("annotations/coco.json"))
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == 2
    assert len(coco.getCatIds()) == 3
    assert json.loads(path.read_text())["image_labels"] == [
        {"image_id": 1, "category_id": 2},
        {"image_id": 2, "category_id": 1},
        {"image_id": 2, "category_id": 3},
    ]


def test_streamed_zip_equals_written_zip(session: Session, market_setup) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = market_setup
    chunks = list(iter_project_zip(session, actor=consumer, project_id=project.public_id))
    assert len(chunks) > 2 and all(chunks)
    out = io.BytesIO()
    summary = write_project_zip(session, actor=consumer, project_id=project.public_id, out=out)
    assert out.getvalue() == b"".join(chunks)
    size = len(out.getvalue())
    assert summary == exports.ExportSummary("labelhub-street-scenes-2025.zip", 2, size)


def test_streams_in_bounded_chunks(session: Session, market_setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = market_setup
    monkeypatch.setattr(exports, "CHUNK_BYTES", 4096)
    chunks = list(iter_project_zip(session, actor=consumer, project_id=project.public_id))
    assert max(len(c) for c in chunks) < 4096 + 1024  # a chunk plus a header or descriptor
    assert zipfile.ZipFile(io.BytesIO(b"".join(chunks))).testzip() is None


def test_export_name(session: Session, market_setup) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, _ = market_setup
    assert project_export_name(session, actor=consumer, project_id=project.public_id) == (
        "labelhub-street-scenes-2025.zip"
    )
    odd = make_project(session, consumer, "☀☀☀")
    assert project_export_name(session, actor=consumer, project_id=odd.public_id) == (
        f"labelhub-{odd.public_id[:8]}.zip"
    )


def test_another_consumer_gets_not_found(session: Session, market_setup) -> None:  # type: ignore[no-untyped-def]
    _, _, project, _ = market_setup
    other = make_user(session, "consumer")
    with pytest.raises(NotFound):
        iter_project_zip(session, actor=other, project_id=project.public_id)
    with pytest.raises(NotFound):
        write_project_zip(session, actor=other, project_id=project.public_id, out=io.BytesIO())
    with pytest.raises(NotFound):
        project_export_name(session, actor=other, project_id=project.public_id)


def test_only_the_actors_purchases_into_this_project(session: Session, market_setup) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, images = market_setup
    other_project = make_project(session, consumer)
    _buy(session, consumer, other_project, [images[2]], "k2")
    assert len(_image_names(_zip(session, consumer, project))) == 2
    other_zip = _zip(session, consumer, other_project)
    assert _image_names(other_zip) == ["images/not-bought.jpg"]
    # Another consumer buying into their own project changes nothing here.
    rival = make_user(session, "consumer")
    rival_project = make_project(session, rival)
    _buy(session, rival, rival_project, [images[0]], "k3")
    assert len(_image_names(_zip(session, consumer, project))) == 2


def test_empty_project_is_invalid_input(session: Session) -> None:
    consumer = make_user(session, "consumer")
    project = make_project(session, consumer)
    with pytest.raises(InvalidInput, match="Nothing to download yet"):
        iter_project_zip(session, actor=consumer, project_id=project.public_id)


def test_missing_stored_file_fails_before_streaming(session: Session, market_setup) -> None:  # type: ignore[no-untyped-def]
    _, consumer, project, images = market_setup
    get_store().delete(images[0].object_key)
    with pytest.raises(NotFound, match=r"good dog\.jpg is missing"):
        iter_project_zip(session, actor=consumer, project_id=project.public_id)


def test_hostile_names_become_safe_unique_names(session: Session) -> None:
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    hostile = [
        "../../etc/passwd.jpg",
        "a/b\\c.jpg",
        ".hidden.jpg",
        "CON.jpg",
        "same.jpg",
        "same.jpg",
        "SAME.jpg",
        "..",
        "x\x00y\x1b.jpg",
        "a..b.jpg",
        "photo.png",
    ]
    images = [make_image(session, producer, name=n) for n in hostile]
    project = make_project(session, consumer)
    _buy(session, consumer, project, images, "k")
    zf = _zip(session, consumer, project)
    names = _image_names(zf)
    assert names == [
        "images/passwd.jpg",
        "images/c.jpg",
        "images/hidden.jpg",
        "images/CON_.jpg",
        "images/same.jpg",
        "images/same-2.jpg",
        "images/SAME-3.jpg",
        "images/image.jpg",
        "images/xy.jpg",
        "images/a.b.jpg",
        "images/photo.jpg",
    ]
    for name in zf.namelist():
        assert not name.startswith("/") and ".." not in name
        assert name.count("/") <= 1
    for name, image in zip(names, images, strict=True):
        assert zf.read(name) == _stored(image)


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("../../etc/passwd.jpg", "JPEG", "passwd.jpg"),
        ("a/b\\c.jpg", "JPEG", "c.jpg"),
        ("C:\\Users\\me\\cat.jpeg", "JPEG", "cat.jpg"),
        (".hidden.jpg", "JPEG", "hidden.jpg"),
        ("...", "PNG", "image.png"),
        ("", "JPEG", "image.jpg"),
        ("CON.jpg", "JPEG", "CON_.jpg"),
        ("lpt1.tar.jpg", "JPEG", "lpt1_.tar.jpg"),
        ("console.jpg", "JPEG", "console.jpg"),
        ('a<b>c:d"e|f?g*h.jpg', "JPEG", "a_b_c_d_e_f_g_h.jpg"),
        ("trailing. .jpg", "JPEG", "trailing.jpg"),
        ("photo.PNG", "JPEG", "photo.jpg"),
        ("no extension", "WEBP", "no extension.webp"),
        ("v1.2 final", "GIF", "v1.2 final.gif"),
        ("evil\u202egpj.exe", "JPEG", "evilgpj.jpg"),
        ("x" * 300 + ".jpg", "JPEG", "x" * 100 + ".jpg"),
        ("Straße ☀.jpg", "JPEG", "Straße ☀.jpg"),
        ("weird.bin", "XYZ", "weird.bin"),
    ],
)
def test_safe_file_name(name: str, fmt: str, expected: str) -> None:
    assert safe_file_name(name, fmt) == expected


def test_unique_file_names() -> None:
    assert unique_file_names(["a.jpg", "a.jpg", "a-2.jpg", "A.JPG", "b.jpg", "a.jpg"]) == [
        "a.jpg",
        "a-2.jpg",
        "a-2-2.jpg",
        "A-3.JPG",
        "b.jpg",
        "a-4.jpg",
    ]


def test_coco_export_includes_boxes_with_category_ids_and_areas(session, tmp_path):
    import json

    from pycocotools.coco import COCO

    from labelhub_app.services import annotations as ann
    from labelhub_app.services import exports, market
    from tests.factories import make_image, make_project, make_user

    producer, buyer = make_user(session, "producer"), make_user(session, "consumer")
    image = make_image(session, producer, labels=("street",))
    ann.save_annotations(
        session,
        actor=producer,
        image_id=image.public_id,
        base_revision=1,
        edits=[
            ann.BoxEdit("create", {"id": "b1", "label": "dog", "x": 10, "y": 20, "w": 30, "h": 40}),
            ann.BoxEdit(
                "create", {"id": "b2", "label": "cat", "x": 100, "y": 50, "w": 20.5, "h": 10}
            ),
        ],
    )
    project = make_project(session, buyer)
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key="k",
    )
    out = tmp_path / "p.zip"
    with out.open("wb") as fh:
        exports.write_project_zip(session, actor=buyer, project_id=project.public_id, out=fh)
    import zipfile

    doc = json.loads(zipfile.ZipFile(out).read("annotations/coco.json"))
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    assert sorted(cats) == list(range(1, len(cats) + 1))  # contiguous
    got = sorted((cats[a["category_id"]], a["bbox"], a["area"]) for a in doc["annotations"])
    assert got == [("cat", [100, 50, 20.5, 10], 205.0), ("dog", [10, 20, 30, 40], 1200.0)]
    assert {cats[x["category_id"]] for x in doc["image_labels"]} == {"street"}
    coco_path = tmp_path / "coco.json"
    coco_path.write_text(json.dumps(doc))
    coco = COCO(str(coco_path))
    assert len(coco.getAnnIds()) == 2 and coco.getCatIds(catNms=["dog"])
