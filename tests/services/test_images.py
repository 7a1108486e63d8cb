import pytest
from sqlmodel import select

from labelhub_app.adapters.storage import get_store
from labelhub_app.errors import Forbidden, InvalidInput
from labelhub_app.models import Image, ImageLabel, SearchOutbox
from labelhub_app.services import images
from labelhub_app.services.images import UploadedFile
from tests.factories import make_image, make_user
from tests.images import broken_jpeg, make_jpeg


def test_batch_with_a_broken_file_lands_the_good_ones(session):
    producer = make_user(session, "producer")
    files = [UploadedFile(f"good-{i}.jpg", make_jpeg(64, 48, seed=i)) for i in range(3)]
    files.insert(1, UploadedFile("broken.jpg", broken_jpeg()))
    files.append(UploadedFile("notes.txt", b"just some text"))
    results = images.ingest_images(
        session,
        actor=producer,
        files=files,
        labels=["Dog", "park"],
        price_cents=199,
        licence="standard",
    )
    assert [r.ok for r in results] == [True, False, True, True, False]
    assert "broken.jpg" in results[1].message and "notes.txt" in results[4].message
    rows = session.exec(select(Image)).all()
    assert len(rows) == 3 and {r.price_cents for r in rows} == {199}
    assert len(session.exec(select(ImageLabel)).all()) == 6
    assert len(session.exec(select(SearchOutbox)).all()) == 3
    for row in rows:
        assert get_store().exists(row.object_key)
        assert get_store().exists(images.thumbnail_key(row, 256))


def test_per_file_labels_add_to_batch_labels(session):
    producer = make_user(session, "producer")
    [r] = images.ingest_images(
        session,
        actor=producer,
        price_cents=5,
        licence="cc0-1.0",
        labels=["dog"],
        files=[UploadedFile("a.jpg", make_jpeg(seed=5), ("Sofa Dog",))],
    )
    page = images.list_own_images(session, actor=producer)
    assert page.items[0].labels == ["dog", "sofa dog"]
    assert r.ok


def test_exact_duplicate_is_refused_with_link(session):
    producer = make_user(session, "producer")
    data = make_jpeg(seed=42)
    [first] = images.ingest_images(
        session,
        actor=producer,
        files=[UploadedFile("a.jpg", data)],
        price_cents=1,
        licence="standard",
    )
    [again] = images.ingest_images(
        session,
        actor=producer,
        files=[UploadedFile("b.jpg", data)],
        price_cents=1,
        licence="standard",
    )
    assert not again.ok and again.duplicate_of == first.image_id
    assert "duplicate" in again.message


def test_near_duplicate_is_flagged(session):
    from io import BytesIO

    from PIL import Image as PILImage

    producer = make_user(session, "producer")
    data = make_jpeg(640, 480, seed=7)
    smaller = BytesIO()
    PILImage.open(BytesIO(data)).resize((320, 240)).save(smaller, "JPEG", quality=70)
    results = images.ingest_images(
        session,
        actor=producer,
        price_cents=1,
        licence="standard",
        files=[
            UploadedFile("orig.jpg", data),
            UploadedFile("copy.jpg", smaller.getvalue()),
            UploadedFile("other.jpg", make_jpeg(640, 480, seed=8)),
        ],
    )
    assert all(r.ok for r in results)
    assert results[1].near_duplicate_of == results[0].image_id
    assert results[2].near_duplicate_of is None


def test_batch_settings_are_checked_first(session):
    producer = make_user(session, "producer")
    one = [UploadedFile("a.jpg", make_jpeg(seed=1))]
    with pytest.raises(InvalidInput, match="negative"):
        images.ingest_images(session, actor=producer, files=one, price_cents=-1, licence="standard")
    with pytest.raises(InvalidInput, match="licence"):
        images.ingest_images(
            session, actor=producer, files=one, price_cents=1, licence="mine-all-mine"
        )
    with pytest.raises(InvalidInput, match="at least one"):
        images.ingest_images(session, actor=producer, files=[], price_cents=1, licence="standard")
    with pytest.raises(Forbidden):
        images.ingest_images(
            session,
            actor=make_user(session, "consumer"),
            files=one,
            price_cents=1,
            licence="standard",
        )
    assert session.exec(select(Image)).all() == []


def test_crash_mid_upload_leaves_no_row_and_sweeper_cleans(session, monkeypatch):
    producer = make_user(session, "producer")

    def crash():
        raise RuntimeError("power cut")

    monkeypatch.setattr(session, "commit", crash)
    with pytest.raises(RuntimeError):
        images.ingest_images(
            session,
            actor=producer,
            files=[UploadedFile("a.jpg", make_jpeg(seed=3))],
            price_cents=1,
            licence="standard",
        )
    monkeypatch.undo()
    session.rollback()
    assert session.exec(select(Image)).all() == []
    orphans = list(get_store().iter_keys("originals/"))
    assert len(orphans) == 1
    kept = make_image(session, producer)
    assert images.sweep_unreferenced_objects(session) == []  # too young: may be an upload in flight
    removed = images.sweep_unreferenced_objects(session, min_age_s=0)
    assert orphans[0] in removed
    assert not get_store().exists(orphans[0]) and get_store().exists(kept.object_key)


def test_edit_withdraw_and_permissions(session):
    producer = make_user(session, "producer")
    image = make_image(session, producer, labels=("dog",), price_cents=100)
    images.update_image(
        session,
        actor=producer,
        public_id=image.public_id,
        labels=["cat", " New Thing "],
        price_cents=250,
        licence="cc-by-4.0",
    )
    row = images.list_own_images(session, actor=producer).items[0]
    assert (row.labels, row.price_cents, row.licence) == (["cat", "new thing"], 250, "cc-by-4.0")
    images.set_image_on_sale(session, actor=producer, public_id=image.public_id, on_sale=False)
    assert images.list_own_images(session, actor=producer, status="withdrawn").total == 1
    other = make_user(session, "producer")
    with pytest.raises(Forbidden):
        images.update_image(session, actor=other, public_id=image.public_id, price_cents=1)
    with pytest.raises(InvalidInput):
        images.update_image(session, actor=producer, public_id=image.public_id, price_cents=-3)
    outbox = session.exec(select(SearchOutbox).where(SearchOutbox.image_id == image.id)).all()
    assert len(outbox) == 3  # upload, edit, withdraw


def test_own_list_filters_and_sorts(session):
    producer = make_user(session, "producer")
    make_image(session, producer, labels=("dog",), price_cents=300, name="b.jpg")
    make_image(session, producer, labels=("cat",), price_cents=100, name="a.jpg")
    assert [
        r.file_name for r in images.list_own_images(session, actor=producer, sort="price_asc").items
    ] == ["a.jpg", "b.jpg"]
    assert [
        r.file_name for r in images.list_own_images(session, actor=producer, label="DOG").items
    ] == ["b.jpg"]
    assert images.list_own_images(session, actor=producer, text="a.j").total == 1
    assert images.list_own_images(session, actor=make_user(session, "producer")).total == 0


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.jpg", "y.jpg"),
        (".hidden.jpg", "hidden.jpg"),
        ("a\x00b.jpg", "ab.jpg"),
        ("", "image"),
    ],
)
def test_clean_file_name(raw, clean):
    assert images.clean_file_name(raw) == clean


def test_view_image_hides_owner_identity(session):
    producer = make_user(session, "producer")
    image = make_image(session, producer)
    view = images.view_image(session, public_id=image.public_id, viewer=None)
    assert view.producer_pseudonym == producer.pseudonym
    assert producer.email not in repr(view)
