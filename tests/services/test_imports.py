"""import_annotations: files from our writers and from the real tools land on the producer's
images as revisions; bad records are reported and the rest still lands."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from labelhub_app.errors import Forbidden, InvalidInput
from labelhub_app.formats.coco import write_coco_dataset
from labelhub_app.formats.label_studio import write_label_studio
from labelhub_app.formats.labelme import write_labelme_files
from labelhub_app.formats.records import Box, Dataset, ImageRecord
from labelhub_app.formats.sagemaker import write_sagemaker
from labelhub_app.formats.voc import write_voc_files
from labelhub_app.formats.yolo import write_yolo
from labelhub_app.models import AnnotationRevision, Image, Operation, User
from labelhub_app.services import annotations as ann
from labelhub_app.services.imports import base_name, import_annotations
from tests.factories import make_image, make_user

W, H = 320, 240  # make_image's size


def _boxes(session: Session, image: Image) -> list[tuple[str, float, float, float, float]]:
    return sorted(
        (b["label"], b["x"], b["y"], b["w"], b["h"])
        for b in ann.current_boxes(session, image.id)  # type: ignore[arg-type]
    )


def _tags(session: Session, image: Image) -> list[str]:
    return ann.current_tags(session, image.id)  # type: ignore[arg-type]


def _revisions(session: Session, image: Image) -> list[AnnotationRevision]:
    return list(
        session.exec(
            select(AnnotationRevision)
            .where(AnnotationRevision.image_id == image.id)
            .order_by(col(AnnotationRevision.number))
        )
    )


@pytest.fixture
def producer(session: Session) -> User:
    return make_user(session, "producer")


@pytest.fixture
def pictures(session: Session, producer: User) -> dict[str, Image]:
    return {
        name: make_image(session, producer, labels=("street",), name=name)
        for name in ("dog.jpg", "Cat.PNG.jpg", "street scene.jpg")
    }


DATASET = Dataset.of(
    [
        ImageRecord(
            "DOG.jpg",
            W,
            H,
            ("Animal",),
            (Box("Dog", 10, 20, 30, 40), Box("cat", 100.5, 50, 20.5, 10)),
        ),
        ImageRecord("cat.png.jpg", W, H, (), (Box("cat", 0, 0, W, H),)),
        ImageRecord("street scene.jpg", W, H, ("night",), ()),
    ]
)
EXPECTED = {
    "dog.jpg": (
        [("cat", 100.5, 50.0, 20.5, 10.0), ("dog", 10.0, 20.0, 30.0, 40.0)],
        ["animal", "street"],
    ),
    "Cat.PNG.jpg": ([("cat", 0.0, 0.0, 320.0, 240.0)], ["street"]),
    "street scene.jpg": ([], ["night", "street"]),
}


def _text(write) -> bytes:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    write(out)
    return out.getvalue().encode()


def _written(fmt: str) -> dict[str, bytes]:
    if fmt == "coco":
        return {"coco.json": _text(lambda o: write_coco_dataset(DATASET, o))}
    if fmt == "labelstudio":
        return {"ls.json": _text(lambda o: write_label_studio(DATASET, o, image_prefix="/x/"))}
    if fmt == "sagemaker":
        when = datetime(2025, 1, 1, tzinfo=UTC)
        return {"out.manifest": _text(lambda o: write_sagemaker(DATASET, o, creation_date=when))}
    if fmt == "yolo":
        return write_yolo(DATASET)
    if fmt == "voc":
        return write_voc_files(DATASET)
    if fmt == "labelme":
        return write_labelme_files(DATASET)
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc", "labelme", "labelstudio", "sagemaker"])
def test_round_trip_from_our_writers(
    session: Session, producer: User, pictures: dict[str, Image], fmt: str
) -> None:
    report = import_annotations(session, actor=producer, fmt=fmt, files=_written(fmt))
    assert report.problems == []
    assert (report.images_updated, report.boxes, report.tags, report.images_matched) == (3, 3, 2, 3)
    session.expire_all()
    for name, image in pictures.items():
        assert (_boxes(session, image), _tags(session, image)) == EXPECTED[name], name
        revisions = _revisions(session, image)
        assert [r.kind for r in revisions] == ["upload", "edit"]
        assert revisions[-1].author_id == producer.id
    ops = session.exec(
        select(Operation.action).where(Operation.image_id == pictures["dog.jpg"].id)
    ).all()
    assert sorted(ops) == ["create", "create", "tag_add", "tag_add"]  # upload's street, animal

    # the same file again changes nothing: no new revisions
    again = import_annotations(session, actor=producer, fmt=fmt, files=_written(fmt))
    assert (again.images_updated, again.images_matched, again.problems) == (0, 3, [])
    assert len(_revisions(session, pictures["dog.jpg"])) == 2


def test_boxes_are_replaced_and_tags_merged(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    dog = pictures["dog.jpg"]
    ann.save_annotations(
        session,
        actor=producer,
        image_id=dog.public_id,
        base_revision=1,
        edits=[
            ann.BoxEdit(
                "create", {"id": "keep", "label": "dog", "x": 10, "y": 20, "w": 30, "h": 40}
            ),
            ann.BoxEdit("create", {"id": "gone", "label": "cat", "x": 1, "y": 1, "w": 5, "h": 5}),
        ],
    )
    dataset = Dataset.of(
        [
            ImageRecord(
                "dog.jpg",
                W,
                H,
                ("animal",),
                (Box("dog", 10, 20, 30, 40), Box("bird", 50, 50, 10, 10)),
            )
        ]
    )
    report = import_annotations(
        session,
        actor=producer,
        fmt="coco",
        files={"c.json": _text(lambda o: write_coco_dataset(dataset, o))},
    )
    assert (report.images_updated, report.boxes, report.tags) == (1, 2, 1)
    session.expire_all()
    boxes = {b["id"]: b["label"] for b in ann.current_boxes(session, dog.id)}  # type: ignore[arg-type]
    assert boxes.pop("keep") == "dog" and list(boxes.values()) == ["bird"]
    assert _tags(session, dog) == ["animal", "street"]
    latest = _revisions(session, dog)[-1]
    assert latest.number == 3 and latest.summary == "1 added, 1 removed, 1 tags added"
    actions = session.exec(
        select(Operation.action).where(Operation.image_id == dog.id, Operation.revision == 3)
    ).all()
    assert sorted(actions) == ["create", "delete", "tag_add"]


LABEL_STUDIO_EXPORT = [
    {  # a real Label Studio JSON export: upload-prefixed names, manual and cancelled annotations
        "id": 101,
        "annotations": [
            {"id": 7, "completed_by": 1, "was_cancelled": True, "result": []},
            {
                "id": 8,
                "completed_by": 1,
                "was_cancelled": False,
                "ground_truth": False,
                "lead_time": 12.5,
                "created_at": "2025-05-01T10:00:00.000000Z",
                "result": [
                    {
                        "original_width": 320,
                        "original_height": 240,
                        "image_rotation": 0,
                        "value": {
                            "x": 12.5,
                            "y": 25,
                            "width": 25,
                            "height": 50,
                            "rotation": 0,
                            "rectanglelabels": ["Dog"],
                        },
                        "id": "aB3dE9",
                        "from_name": "label",
                        "to_name": "image",
                        "type": "rectanglelabels",
                        "origin": "manual",
                    },
                    {
                        "original_width": 320,
                        "original_height": 240,
                        "image_rotation": 0,
                        "value": {
                            "points": [[1, 1], [5, 5], [1, 5]],
                            "closed": True,
                            "polygonlabels": ["Dog"],
                        },
                        "id": "poly1",
                        "from_name": "poly",
                        "to_name": "image",
                        "type": "polygonlabels",
                        "origin": "manual",
                    },
                    {
                        "value": {"choices": ["Outdoor"]},
                        "id": "ch1",
                        "from_name": "choice",
                        "to_name": "image",
                        "type": "choices",
                        "origin": "manual",
                    },
                ],
            },
        ],
        "predictions": [],
        "data": {"image": "/data/upload/3/1a2b3c4d-dog.jpg"},
        "meta": {},
        "created_at": "2025-05-01T09:00:00.000000Z",
        "inner_id": 1,
    },
    {  # labelled on a half-size copy: percentages scale to the real image
        "id": 102,
        "annotations": [
            {
                "id": 9,
                "was_cancelled": False,
                "result": [
                    {
                        "original_width": 160,
                        "original_height": 120,
                        "image_rotation": 0,
                        "value": {
                            "x": 50,
                            "y": 50,
                            "width": 50,
                            "height": 50,
                            "rotation": 0,
                            "rectanglelabels": ["cat"],
                        },
                        "id": "r2",
                        "from_name": "label",
                        "to_name": "image",
                        "type": "rectanglelabels",
                    }
                ],
            }
        ],
        "data": {"image": "/data/local-files/?d=photos/Cat.PNG.jpg"},
    },
    {  # never labelled in Label Studio: left as it is
        "id": 103,
        "annotations": [],
        "predictions": [],
        "data": {"image": "/data/upload/3/9f8e7d6c-street%20scene.jpg"},
    },
    {  # not one of the producer's images
        "id": 104,
        "annotations": [
            {
                "id": 10,
                "result": [
                    {
                        "original_width": 320,
                        "original_height": 240,
                        "value": {
                            "x": 1,
                            "y": 1,
                            "width": 5,
                            "height": 5,
                            "rectanglelabels": ["dog"],
                        },
                        "id": "r3",
                        "from_name": "label",
                        "to_name": "image",
                        "type": "rectanglelabels",
                    }
                ],
            }
        ],
        "data": {"image": "/data/upload/3/deadbeef-somebody-else.jpg"},
    },
]


def test_label_studio_export_from_the_real_tool(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    street = pictures["street scene.jpg"]
    ann.save_annotations(
        session,
        actor=producer,
        image_id=street.public_id,
        base_revision=1,
        edits=[ann.BoxEdit("create", {"id": "s1", "label": "car", "x": 1, "y": 1, "w": 9, "h": 9})],
    )
    data = json.dumps(LABEL_STUDIO_EXPORT).encode()
    report = import_annotations(
        session, actor=producer, fmt="labelstudio", files={"project-3-at-2025.json": data}
    )
    messages = [(p.record, p.message) for p in report.problems]
    assert any("polygonlabels" in m and "task 0" in r for r, m in messages), messages
    assert any("only the first" in m for _, m in messages) is False  # cancelled one is ignored
    assert any(
        "somebody-else.jpg" in r and "none of your images is called" in m for r, m in messages
    )
    assert len(report.problems) == 2
    assert (report.images_updated, report.images_matched) == (2, 3)
    session.expire_all()
    assert _boxes(session, pictures["dog.jpg"]) == [("dog", 40.0, 60.0, 80.0, 120.0)]
    assert _tags(session, pictures["dog.jpg"]) == ["outdoor", "street"]
    assert _boxes(session, pictures["Cat.PNG.jpg"]) == [("cat", 160.0, 120.0, 160.0, 120.0)]
    assert _boxes(session, street) == [("car", 1.0, 1.0, 9.0, 9.0)]  # unlabelled task: untouched


def test_yolo_folder_from_ultralytics_tools(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    files = {
        # a Roboflow-style export: data.yaml at the root, split folders with images/ and labels/
        "my-dataset/data.yaml": (
            b"train: ../train/images\nval: ../valid/images\n\nnc: 2\n"
            b"names:\n  - dog\n  - cat\n\nroboflow:\n  workspace: me\n  version: 1\n"
        ),
        "my-dataset/train/labels/dog.txt": (
            b"0 0.5 0.5 0.25 0.5\n"  # fine
            b"1 0.5 0.5\n"  # too few numbers
            b"7 0.5 0.5 0.1 0.1\n"  # unknown class
        ),
        "my-dataset/valid/labels/Cat.PNG.txt": b"",  # a background image: no boxes
        "my-dataset/train/labels/unknown.txt": b"0 0.5 0.5 0.1 0.1\n",
        "my-dataset/README.roboflow.txt": b"exported from roboflow",
    }
    cat = pictures["Cat.PNG.jpg"]
    ann.save_annotations(
        session,
        actor=producer,
        image_id=cat.public_id,
        base_revision=1,
        edits=[ann.BoxEdit("create", {"id": "c1", "label": "cat", "x": 1, "y": 1, "w": 9, "h": 9})],
    )
    report = import_annotations(session, actor=producer, fmt="yolo", files=files)
    problems = {(p.source, p.line): p.message for p in report.problems}
    assert set(problems) == {
        ("labels/train/dog.txt", 2),
        ("labels/train/dog.txt", 3),
        ("labels/train/unknown.txt", None),
    }, problems
    assert "unknown class index 7" in problems[("labels/train/dog.txt", 3)]
    assert "none of your images is named 'unknown'" in problems[("labels/train/unknown.txt", None)]
    assert report.images_updated == 2
    session.expire_all()
    assert _boxes(session, pictures["dog.jpg"]) == [("dog", 120.0, 60.0, 80.0, 120.0)]
    assert _boxes(session, cat) == []  # the empty label file says: no objects


LABELIMG_VOC = b"""<annotation>
\t<folder>JPEGImages</folder>
\t<filename>dog.jpg</filename>
\t<path>C:\\Users\\me\\Pictures\\JPEGImages\\dog.jpg</path>
\t<source>
\t\t<database>Unknown</database>
\t</source>
\t<size>
\t\t<width>320</width>
\t\t<height>240</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>dog</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>11</xmin>
\t\t\t<ymin>21</ymin>
\t\t\t<xmax>40</xmax>
\t\t\t<ymax>60</ymax>
\t\t</bndbox>
\t</object>
\t<object>
\t\t<name>person</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>0</difficult>
\t</object>
\t<object>
\t\t<name>dog/cat</name>
\t\t<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox>
\t</object>
</annotation>
"""


def test_voc_xml_from_labelimg(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    wrong_size = LABELIMG_VOC.replace(b"<width>320", b"<width>640").replace(
        b"dog.jpg", b"street scene.jpg"
    )
    report = import_annotations(
        session,
        actor=producer,
        fmt="voc",
        files={
            "Annotations/dog.xml": LABELIMG_VOC,
            "Annotations/street.xml": wrong_size,
            "Annotations/broken.xml": b"<annotation><filename>x.jpg",
        },
    )
    by_source: dict[str, list[str]] = {}
    for p in report.problems:
        by_source.setdefault(p.source, []).append(p.message)
    assert any("has no <bndbox>" in m for m in by_source["Annotations/dog.xml"])
    assert any("'dog/cat'" in m and "Box skipped" in m for m in by_source["Annotations/dog.xml"])
    assert any(
        "640x240 image" in m and "wrong place" in m for m in by_source["Annotations/street.xml"]
    )
    assert any("not valid XML" in m for m in by_source["Annotations/broken.xml"])
    assert report.images_updated == 1
    session.expire_all()
    assert _boxes(session, pictures["dog.jpg"]) == [("dog", 10.0, 20.0, 30.0, 40.0)]
    assert _boxes(session, pictures["street scene.jpg"]) == []


def test_names_must_match_exactly_one_own_image(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    make_image(session, producer, name="twin.jpg")
    make_image(session, producer, name="TWIN.jpg")
    rival = make_user(session, "producer")
    theirs = make_image(session, rival, name="theirs.jpg")
    dataset = Dataset.of(
        [
            ImageRecord(name, W, H, (), (Box("dog", 1, 1, 10, 10),))
            for name in ("twin.jpg", "theirs.jpg", "dog.jpg")
        ]
    )
    report = import_annotations(
        session,
        actor=producer,
        fmt="coco",
        files={"c.json": _text(lambda o: write_coco_dataset(dataset, o))},
    )
    messages = {p.record: p.message for p in report.problems}
    assert "2 of your images are called 'twin.jpg'" in messages["twin.jpg"]
    assert "none of your images is called 'theirs.jpg'" in messages["theirs.jpg"]
    assert report.images_updated == 1
    session.expire_all()
    assert _boxes(session, theirs) == []


def test_coco_labelhub_id_wins_and_duplicates_are_reported(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    dog = pictures["dog.jpg"]
    dataset = Dataset.of(
        [
            ImageRecord(
                "renamed.jpg", W, H, (), (Box("dog", 1, 1, 10, 10),), image_id=dog.public_id
            ),
        ]
    )
    twice = Dataset.of([ImageRecord("dog.jpg", W, H, (), (Box("cat", 1, 1, 10, 10),))])
    report = import_annotations(
        session,
        actor=producer,
        fmt="coco",
        files={
            "a.json": _text(lambda o: write_coco_dataset(dataset, o)),
            "b.json": _text(lambda o: write_coco_dataset(twice, o)),
        },
    )
    assert [(p.source, p.message) for p in report.problems] == [
        ("b.json", "dog.jpg was already imported from a.json; skipped")
    ]
    session.expire_all()
    assert _boxes(session, dog) == [("dog", 1.0, 1.0, 10.0, 10.0)]


def test_a_zip_and_the_csv_manifest(
    session: Session, producer: User, pictures: dict[str, Image]
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, data in write_voc_files(DATASET).items():
            zf.writestr(f"export/{path}", data)
        zf.writestr("export/JPEGImages/dog.jpg", b"not read")
        zf.writestr("__MACOSX/export/._dog.xml", b"junk")
    report = import_annotations(
        session,
        actor=producer,
        fmt="voc",
        files={"voc.zip": buffer.getvalue(), "broken.zip": b"PK\x03\x04 nope"},
    )
    assert [(p.source, "cannot unpack" in p.message) for p in report.problems] == [
        ("broken.zip", True)
    ]
    assert report.images_updated == 3
    dog = pictures["dog.jpg"]
    csv_text = (
        "image_id,file,labels,licence,producer,price_cents\r\n"
        f"{dog.public_id},images/renamed.jpg,outdoor;Sunny,standard,me,1\r\n"
        ",images/Cat.PNG.jpg,bad/label,standard,me,1\r\n"
        ",images/nobody.jpg,x,standard,me,1\r\n"
    )
    report = import_annotations(
        session, actor=producer, fmt="csv", files={"manifest.csv": csv_text.encode()}
    )
    assert report.images_updated == 1 and len(report.problems) == 2
    session.expire_all()
    assert _tags(session, dog) == ["animal", "outdoor", "street", "sunny"]
    assert len(_boxes(session, dog)) == 2  # a manifest never touches boxes


def test_who_may_import_and_what(session: Session, producer: User) -> None:
    consumer = make_user(session, "consumer")
    with pytest.raises(Forbidden):
        import_annotations(session, actor=consumer, fmt="coco", files={"c.json": b"{}"})
    with pytest.raises(InvalidInput, match="Unknown import format 'kitti'"):
        import_annotations(session, actor=producer, fmt="kitti", files={"c.json": b"{}"})
    with pytest.raises(InvalidInput, match="No voc files"):
        import_annotations(session, actor=producer, fmt="voc", files={})
    report = import_annotations(session, actor=producer, fmt="coco", files={"c.json": b"[1,"})
    assert report.images_updated == 0 and "not valid JSON" in report.problems[0].message


def test_progress_is_reported(session: Session, producer: User, pictures) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int]] = []
    import_annotations(
        session,
        actor=producer,
        fmt="coco",
        files=_written("coco"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("dog.jpg", "dog.jpg"),
        ("/data/upload/3/1a2b3c4d-dog.jpg", "1a2b3c4d-dog.jpg"),
        ("/data/local-files/?d=photos/sub/dog.jpg", "dog.jpg"),
        ("https://example.com/a/b%20c.jpg?token=1", "b c.jpg"),
        ("s3://bucket/images/dog.jpg", "dog.jpg"),
        ("C:\\Users\\me\\dog.jpg", "dog.jpg"),
        ("images/sub/dog.jpg", "dog.jpg"),
    ],
)
def test_base_name(reference: str, name: str) -> None:
    assert base_name(reference) == name
