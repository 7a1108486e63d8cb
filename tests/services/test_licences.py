"""Licences: versioned texts, per-licence offers, Extended and Exclusive purchases, downloads."""

from __future__ import annotations

import io
import threading
import uuid
import zipfile

import pytest
from sqlmodel import select

from labelhub_app import db
from labelhub_app.errors import Conflict, Forbidden, InvalidInput
from labelhub_app.formats.csv_manifest import read_manifest
from labelhub_app.models import Purchase, User
from labelhub_app.models.licences import STATUS_SOLD_EXCLUSIVE
from labelhub_app.services import exports, ledger, licences, market
from tests.factories import make_image, make_project, make_user


@pytest.fixture
def shop(session):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    image = make_image(session, producer, price_cents=300)
    project = make_project(session, consumer, "Cars")
    return producer, consumer, image, project


def _buy(session, consumer, project, image, licence, key=None):
    return market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[image.public_id],
        idempotency_key=key or uuid.uuid4().hex,
        licence=licence,
    )


def test_three_licences_have_version_one_texts(session):
    texts = licences.current_texts(session)
    assert sorted(texts) == ["exclusive", "extended", "standard"]
    assert {t.version for t in texts.values()} == {1}
    assert "train" in texts["standard"].allows.lower()
    assert "redistribute" in texts["extended"].allows.lower()
    assert "only buyer" in texts["exclusive"].allows.lower()


def test_every_image_has_a_standard_offer_at_its_price(session, shop):
    _, _, image, _ = shop
    choices = {c.kind: c for c in licences.licence_choices(session, image=image)}
    assert choices["standard"].price_cents == 300 and choices["standard"].available
    assert choices["extended"].price_cents is None and not choices["extended"].available
    assert "does not offer" in choices["extended"].note
    assert choices["standard"].allows and choices["standard"].forbids


def test_producer_sets_prices_per_licence(session, shop):
    producer, consumer, image, _ = shop
    prices = licences.set_offers(
        session,
        actor=producer,
        image_id=image.public_id,
        standard_cents=250,
        extended_cents=900,
        exclusive_cents=5000,
    )
    assert prices == {"standard": 250, "extended": 900, "exclusive": 5000}
    session.refresh(image)
    assert image.price_cents == 250  # the Standard price stays the image's "from" price
    choices = {c.kind: c for c in licences.licence_choices(session, image=image)}
    assert [choices[k].price_cents for k in ("standard", "extended", "exclusive")] == [
        250,
        900,
        5000,
    ]
    with pytest.raises(InvalidInput, match="at least the Standard price"):
        licences.set_offers(
            session, actor=producer, image_id=image.public_id, standard_cents=250, extended_cents=1
        )
    with pytest.raises(InvalidInput):
        licences.set_offers(session, actor=producer, image_id=image.public_id, standard_cents=-1)
    with pytest.raises(Exception, match="No such image"):
        licences.set_offers(session, actor=consumer, image_id=image.public_id, standard_cents=1)
    # Taking an offer away.
    licences.set_offers(session, actor=producer, image_id=image.public_id, standard_cents=250)
    assert set(licences.offer_prices(session, [image])[image.id]) == {"standard"}


def test_extended_purchase_records_kind_price_and_version(session, shop):
    producer, consumer, image, project = shop
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, extended_cents=800
    )
    before = ledger.balance(session, user=consumer)
    [purchase] = _buy(session, consumer, project, image, "extended")
    assert (purchase.licence_kind, purchase.licence, purchase.licence_version) == (
        "extended",
        "extended",
        1,
    )
    assert purchase.price_cents == 800
    assert ledger.balance(session, user=consumer) == before - 800
    assert ledger.income(session, user=producer) == 800 - ledger.commission_of(800)


def test_licence_not_offered_is_refused(session, shop):
    _, consumer, image, project = shop
    with pytest.raises(Conflict, match="not offered under the Exclusive licence"):
        _buy(session, consumer, project, image, "exclusive")
    with pytest.raises(InvalidInput, match="Unknown licence"):
        _buy(session, consumer, project, image, "forever")


def test_a_new_version_does_not_change_what_earlier_buyers_got(session, shop):
    _, consumer, image, project = shop
    [first] = _buy(session, consumer, project, image, "standard")
    admin = make_user(session, "consumer")
    with pytest.raises(Forbidden):
        licences.publish_version(
            session, actor=admin, kind="standard", title="x", allows="a", forbids="b", body="c"
        )
    admin.is_admin = True
    session.add(admin)
    session.commit()
    v2 = licences.publish_version(
        session,
        actor=admin,
        kind="standard",
        title="LabelHub Standard licence",
        allows="Train models",
        forbids="Redistribution",
        body="LabelHub Standard licence, version 2: new wording.",
    )
    assert v2.version == 2
    other = make_user(session, "consumer")
    [second] = _buy(session, other, make_project(session, other), image, "standard")
    session.refresh(first)
    assert (first.licence_version, second.licence_version) == (1, 2)
    assert licences.get_text(session, kind="standard", version=1).body.startswith(
        "LabelHub Standard licence, version 1"
    )
    # The first buyer's download still names version 1 and carries its text.
    data = b"".join(exports.iter_project_zip(session, actor=consumer, project_id=project.public_id))
    zf = zipfile.ZipFile(io.BytesIO(data))
    text = zf.read("LICENSE.txt").decode()
    assert "(standard-v1)" in text and "version 2" not in text
    [row] = read_manifest(io.StringIO(zf.read("manifest.csv").decode(), newline=""))
    assert row.licence == "standard-v1"


def test_exclusive_sale_takes_the_image_off_the_market(session, shop):
    producer, consumer, image, project = shop
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, exclusive_cents=4000
    )
    [purchase] = _buy(session, consumer, project, image, "exclusive")
    session.refresh(image)
    assert image.status == STATUS_SOLD_EXCLUSIVE and purchase.licence_kind == "exclusive"
    choices = licences.licence_choices(session, image=image)
    assert not any(c.available for c in choices)
    assert all(
        "Sold under the Exclusive licence" in c.note for c in choices if c.price_cents is not None
    )
    other = make_user(session, "consumer")
    with pytest.raises(Conflict, match="no longer on sale"):
        _buy(session, other, make_project(session, other), image, "standard")
    data = b"".join(exports.iter_project_zip(session, actor=consumer, project_id=project.public_id))
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert "LabelHub Exclusive licence, version 1 (exclusive-v1)" in zf.read("LICENSE.txt").decode()
    [row] = read_manifest(io.StringIO(zf.read("manifest.csv").decode(), newline=""))
    assert (row.licence, row.price_cents) == ("exclusive-v1", 4000)


def test_exclusive_is_not_sold_once_others_hold_a_licence(session, shop):
    producer, consumer, image, project = shop
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, exclusive_cents=4000
    )
    _buy(session, consumer, project, image, "standard")
    session.refresh(image)
    choices = {c.kind: c for c in licences.licence_choices(session, image=image)}
    assert not choices["exclusive"].available and "already license" in choices["exclusive"].note
    other = make_user(session, "consumer")
    with pytest.raises(Conflict, match="already has buyers"):
        _buy(session, other, make_project(session, other), image, "exclusive")


def test_two_buyers_racing_for_an_exclusive_licence_one_wins(session, shop):
    producer, _, image, _ = shop
    licences.set_offers(
        session, actor=producer, image_id=image.public_id, standard_cents=300, exclusive_cents=900
    )
    buyers = [make_user(session, "consumer") for _ in range(6)]
    projects = [make_project(session, b) for b in buyers]
    results: list[str] = []
    barrier = threading.Barrier(len(buyers))

    def buy(i: int) -> None:
        with db.session_scope() as s:
            buyer = s.get(User, buyers[i].id)
            s.commit()
            barrier.wait()
            try:
                _buy(s, buyer, projects[i], image, "exclusive")
                results.append("won")
            except Conflict:
                results.append("lost")

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(len(buyers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost"] * 5 + ["won"]
    assert len(session.exec(select(Purchase).where(Purchase.image_id == image.id)).all()) == 1
    session.refresh(image)
    assert image.status == STATUS_SOLD_EXCLUSIVE
    assert ledger.ledger_report(session).ok
