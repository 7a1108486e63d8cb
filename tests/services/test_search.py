"""Market search against a real database: rows are made directly with the models.

Catalogue (label tree: animal > dog > puppy, animal > cat, vehicle > car):

    image  labels       price  created  sales  status
    a      dog            100  +1 h         5  on sale
    b      puppy, cat     300  +2 h         0  on sale
    c      cat            500  +3 h         2  on sale   (bought by the consumer)
    d      car            200  +4 h         9  on sale
    e      dog, car        50  +5 h         1  on sale
    w      dog            100  +6 h         0  withdrawn
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import Session, select

from labelhub_app import db
from labelhub_app.errors import InvalidInput
from labelhub_app.models import (
    STATUS_ON_SALE,
    STATUS_WITHDRAWN,
    Image,
    ImageLabel,
    Label,
    LedgerTransaction,
    Project,
    Purchase,
    SearchOutbox,
    User,
)
from labelhub_app.services import search
from labelhub_app.services.search import FacetCount, MarketQuery, search_market

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_seq = itertools.count(1)


@dataclass
class Catalog:
    producer: User
    consumer: User
    labels: dict[str, Label]
    images: dict[str, Image]


def add_user(session: Session, pseudonym: str) -> User:
    user = User(email=f"{pseudonym}@example.com", password_hash="x", pseudonym=pseudonym)
    session.add(user)
    session.flush()
    return user


def add_label(session: Session, name: str, parent: Label | None = None) -> Label:
    """The label ``name`` under ``parent``; the starter taxonomy may already hold it."""
    label = session.exec(select(Label).where(Label.name == name)).first() or Label(name=name)
    label.parent_id = parent.id if parent else None
    session.add(label)
    session.flush()
    return label


def add_image(
    session: Session,
    owner: User,
    labels: list[Label],
    *,
    price: int,
    hours: float,
    sales: int = 0,
    status: str = STATUS_ON_SALE,
) -> Image:
    n = next(_seq)
    image = Image(
        owner_id=owner.id,  # type: ignore[arg-type]
        file_name=f"photo-{n}.jpg",
        upload_sha256=f"{n:064x}",
        object_key=f"originals/{n}.jpg",
        phash=f"{n:016x}",
        width=640,
        height=480,
        format="JPEG",
        size_bytes=1000,
        price_cents=price,
        licence="standard",
        status=status,
        sales_count=sales,
        created_at=T0 + timedelta(hours=hours),
    )
    session.add(image)
    session.flush()
    for label in labels:
        session.add(ImageLabel(image_id=image.id, label_id=label.id))  # type: ignore[arg-type]
    session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
    return image


@pytest.fixture
def catalog(session: Session) -> Catalog:
    producer = add_user(session, "pixel-fox")
    consumer = add_user(session, "data-owl")
    labels: dict[str, Label] = {}
    labels["animal"] = add_label(session, "animal")
    labels["dog"] = add_label(session, "dog", labels["animal"])
    labels["puppy"] = add_label(session, "puppy", labels["dog"])
    labels["cat"] = add_label(session, "cat", labels["animal"])
    labels["vehicle"] = add_label(session, "vehicle")
    labels["car"] = add_label(session, "car", labels["vehicle"])
    L = labels
    images = {
        "a": add_image(session, producer, [L["dog"]], price=100, hours=1, sales=5),
        "b": add_image(session, producer, [L["puppy"], L["cat"]], price=300, hours=2),
        "c": add_image(session, producer, [L["cat"]], price=500, hours=3, sales=2),
        "d": add_image(session, producer, [L["car"]], price=200, hours=4, sales=9),
        "e": add_image(session, producer, [L["dog"], L["car"]], price=50, hours=5, sales=1),
        "w": add_image(session, producer, [L["dog"]], price=100, hours=6, status=STATUS_WITHDRAWN),
    }
    project = Project(owner_id=consumer.id, name="training set")  # type: ignore[arg-type]
    txn = LedgerTransaction(kind="purchase")
    session.add_all([project, txn])
    session.flush()
    session.add(
        Purchase(
            buyer_id=consumer.id,  # type: ignore[arg-type]
            image_id=images["c"].id,  # type: ignore[arg-type]
            project_id=project.id,  # type: ignore[arg-type]
            price_cents=500,
            licence="standard",
            ledger_txn_id=txn.id,  # type: ignore[arg-type]
        )
    )
    session.commit()
    return Catalog(producer, consumer, labels, images)


def names(catalog: Catalog, page: search.MarketPage) -> list[str]:
    by_public_id = {image.public_id: key for key, image in catalog.images.items()}
    return [by_public_id[card.public_id] for card in page.items]


def run(session: Session, catalog: Catalog, **kwargs: object) -> list[str]:
    return names(catalog, search_market(session, query=MarketQuery(**kwargs)))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- queries
def test_no_labels_lists_every_image_on_sale_newest_first(
    session: Session, catalog: Catalog
) -> None:
    page = search_market(session, query=MarketQuery())
    assert names(catalog, page) == ["e", "d", "c", "b", "a"]  # w is withdrawn
    assert page.total == 5
    assert (page.page, page.per_page, page.unknown_labels) == (1, 24, [])


def test_a_label_matches_itself_and_all_its_descendants(session: Session, catalog: Catalog) -> None:
    assert run(session, catalog, labels=("animal",)) == ["e", "c", "b", "a"]
    assert run(session, catalog, labels=("dog",)) == ["e", "b", "a"]  # b is a puppy
    assert run(session, catalog, labels=("puppy",)) == ["b"]
    assert run(session, catalog, labels=("  Dog ",)) == ["e", "b", "a"]  # normalised


def test_all_and_any(session: Session, catalog: Catalog) -> None:
    assert run(session, catalog, labels=("dog", "vehicle")) == ["e"]
    assert run(session, catalog, labels=("cat", "car"), mode="any") == ["e", "d", "c", "b"]
    assert run(session, catalog, labels=("dog", "DOG")) == ["e", "b", "a"]  # duplicates merge


def test_unknown_labels(session: Session, catalog: Catalog) -> None:
    page = search_market(session, query=MarketQuery(labels=("dog", "Uni  Corn")))
    assert (page.items, page.total, page.facets) == ([], 0, [])
    assert page.unknown_labels == ["uni corn"]

    page = search_market(session, query=MarketQuery(labels=("dog", "unicorn"), mode="any"))
    assert names(catalog, page) == ["e", "b", "a"]
    assert page.unknown_labels == ["unicorn"]

    page = search_market(session, query=MarketQuery(labels=("unicorn",), mode="any"))
    assert (page.total, page.unknown_labels) == (0, ["unicorn"])


def test_price_range_and_sorts(session: Session, catalog: Catalog) -> None:
    assert run(session, catalog, min_price=100, max_price=300, sort="price_asc") == ["a", "d", "b"]
    assert run(session, catalog, sort="price_desc") == ["c", "b", "d", "a", "e"]
    assert run(session, catalog, sort="best_selling") == ["d", "a", "c", "e", "b"]
    assert run(session, catalog, labels=("animal",), max_price=100, sort="price_asc") == ["e", "a"]
    assert run(session, catalog, min_price=501) == []


def test_pages(session: Session, catalog: Catalog) -> None:
    pages = [
        search_market(session, query=MarketQuery(sort="price_asc", page=p, per_page=2))
        for p in (1, 2, 3, 4)
    ]
    assert [names(catalog, p) for p in pages] == [["e", "a"], ["d", "b"], ["c"], []]
    assert {p.total for p in pages} == {5}


def test_facets_count_all_matches_and_carry_names(session: Session, catalog: Catalog) -> None:
    page = search_market(session, query=MarketQuery(labels=("animal",), per_page=1))
    assert len(page.items) == 1
    counts = {"dog": 2, "cat": 2, "puppy": 1, "car": 1}  # the images' own labels, not ancestors
    expected = sorted(counts, key=lambda name: (-counts[name], catalog.labels[name].id))
    assert page.facets == [FacetCount(name, counts[name]) for name in expected]


def test_cards(session: Session, catalog: Catalog) -> None:
    page = search_market(
        session, query=MarketQuery(labels=("animal",)), viewer_id=catalog.consumer.id
    )
    cards = {card.public_id: card for card in page.items}
    b = cards[catalog.images["b"].public_id]
    assert b.labels == ["cat", "puppy"]
    assert b.producer_pseudonym == "pixel-fox"
    assert (b.price_cents, b.licence, b.width, b.height, b.sales_count) == (
        300,
        "standard",
        640,
        480,
        0,
    )
    assert b.file_name == catalog.images["b"].file_name
    assert b.created_at == T0 + timedelta(hours=2)
    assert [card.owned for card in page.items] == [False, True, False, False]  # e c b a

    anonymous = search_market(session, query=MarketQuery(labels=("animal",)))
    assert not any(card.owned for card in anonymous.items)
    producer_view = search_market(
        session, query=MarketQuery(labels=("animal",)), viewer_id=catalog.producer.id
    )
    assert not any(card.owned for card in producer_view.items)


# ------------------------------------------------------------------------------- freshness
def test_changes_from_another_process_show_up_in_the_next_search(
    session: Session, catalog: Catalog
) -> None:
    assert run(session, catalog, labels=("dog",)) == ["e", "b", "a"]  # index built here

    with db.session_scope() as other:  # another process: its own connection and transaction
        a = other.get(Image, catalog.images["a"].id)
        assert a is not None
        a.price_cents = 999
        a.sales_count = 50
        e = other.get(Image, catalog.images["e"].id)
        assert e is not None
        e.status = STATUS_WITHDRAWN
        terrier = add_label(other, "terrier", other.get(Label, catalog.labels["dog"].id))
        producer = other.get(User, catalog.producer.id)
        assert producer is not None
        new = add_image(other, producer, [terrier], price=10, hours=10)
        other.add_all([a, e, SearchOutbox(image_id=a.id), SearchOutbox(image_id=e.id)])  # type: ignore[arg-type]
        other.commit()
        catalog.images["t"] = new

    assert run(session, catalog, labels=("dog",)) == ["t", "b", "a"]  # new label under dog
    assert run(session, catalog, labels=("dog",), sort="price_desc") == ["a", "b", "t"]
    assert run(session, catalog, sort="best_selling")[0] == "a"
    assert "e" not in run(session, catalog, labels=("vehicle",))
    facets = search_market(session, query=MarketQuery(labels=("vehicle",))).facets
    assert facets == [FacetCount("car", 1)]


def test_withdrawn_image_disappears(session: Session, catalog: Catalog) -> None:
    assert "c" in run(session, catalog)
    image = catalog.images["c"]
    image.status = STATUS_WITHDRAWN
    session.add_all([image, SearchOutbox(image_id=image.id)])  # type: ignore[arg-type]
    session.commit()
    assert "c" not in run(session, catalog)
    assert search_market(session, query=MarketQuery(labels=("cat",))).total == 1


def test_sync_counts_rows_and_is_cheap_when_nothing_changed(
    session: Session, catalog: Catalog
) -> None:
    assert search.sync_index(session) == 0  # first use builds the index
    assert len(search.get_index(session)) == 5
    image = catalog.images["d"]
    image.sales_count += 1
    session.add_all([image, SearchOutbox(image_id=image.id), SearchOutbox(image_id=image.id)])  # type: ignore[arg-type]
    session.commit()
    assert search.sync_index(session) == 2
    assert search.sync_index(session) == 0


def test_outbox_row_that_commits_late_is_not_missed(session: Session, catalog: Catalog) -> None:
    """On PostgreSQL an outbox id can become visible after a higher one; it is re-checked."""
    search.sync_index(session)
    last = session.exec(select(SearchOutbox.id).order_by(SearchOutbox.id.desc())).first()  # type: ignore[union-attr]
    assert last is not None
    d = catalog.images["d"]
    session.add(SearchOutbox(id=last + 3, image_id=catalog.images["a"].id))  # type: ignore[arg-type]
    session.commit()
    assert search.sync_index(session) == 1
    d.status = STATUS_WITHDRAWN
    session.add_all([d, SearchOutbox(id=last + 1, image_id=d.id)])  # type: ignore[arg-type]
    session.commit()
    assert "d" not in run(session, catalog)


def test_rebuild_reset_and_image_doc(session: Session, catalog: Catalog) -> None:
    assert search.rebuild_index(session) == 5
    search.reset_index()
    assert run(session, catalog, labels=("car",)) == ["e", "d"]

    doc = search.image_doc(session, catalog.images["b"].id)  # type: ignore[arg-type]
    assert doc is not None
    assert set(doc.label_ids) == {catalog.labels["puppy"].id, catalog.labels["cat"].id}
    assert (doc.price_cents, doc.sales_count) == (300, 0)
    assert doc.created_ts == (T0 + timedelta(hours=2)).timestamp()
    assert search.image_doc(session, catalog.images["w"].id) is None  # type: ignore[arg-type]
    assert search.image_doc(session, 987_654) is None


def test_fast_sqlite_build_agrees_with_the_orm(session: Session, catalog: Catalog) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the columnar build reads SQLite only; other databases use the ORM path")
    image = catalog.images["a"]
    image.created_at = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    session.add(image)
    session.commit()
    cols = search._sqlite_columns(session)
    docs = search._load_docs(session, [int(i) for i in cols["image_ids"]])
    for i, image_id in enumerate(cols["image_ids"]):
        doc = docs[int(image_id)]
        assert cols["created_ts"][i] == doc.created_ts
        assert cols["prices"][i] == doc.price_cents
        assert cols["sales"][i] == doc.sales_count
        mine = cols["pair_label_ids"][cols["pair_image_ids"] == image_id]
        assert sorted(mine.tolist()) == sorted(doc.label_ids)
    assert isinstance(cols["created_ts"], np.ndarray)


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("query", "message"),
    [
        (MarketQuery(per_page=0), "per page"),
        (MarketQuery(per_page=101), "per page"),
        (MarketQuery(page=0), "start at 1"),
        (MarketQuery(page=101, per_page=100), "first 10,000"),
        (MarketQuery(page=418, per_page=24), "first 10,000"),
        (MarketQuery(min_price=300, max_price=100), "minimum price is above"),
        (MarketQuery(min_price=-1), "cannot be negative"),
        (MarketQuery(sort="cheapest"), "Sort must be"),  # type: ignore[arg-type]
        (MarketQuery(mode="some"), "Mode must be"),  # type: ignore[arg-type]
    ],
)
def test_invalid_input(session: Session, query: MarketQuery, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        search_market(session, query=query)


@pytest.mark.usefixtures("catalog")
def test_deepest_allowed_page_is_fine(session: Session) -> None:
    page = search_market(session, query=MarketQuery(page=100, per_page=100))
    assert (page.items, page.total) == ([], 5)
