"""Market search: labels (with their descendants), AND/OR, a price range, sorting, exact facets.

The page, API and CLI call ``search_market``. Behind it is one search index per process (the
embedded pyroaring/numpy index by default, see docs/search-notes.md), derived from the database:
built from it on first use, then kept current from the ``search_outbox`` table, which every
service that changes an image appends to in the same transaction. Before each query the index
applies the outbox rows it has not seen (one ``SELECT max(id)`` when nothing changed), so writes
from any process (app, API, CLI, worker) show up in the next search.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import bindparam, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from labelhub_app.adapters.search.base import (
    SORT_KEYS,
    ImageDoc,
    IndexQuery,
    SearchIndex,
    SortKey,
)
from labelhub_app.config import get_settings
from labelhub_app.errors import InvalidInput
from labelhub_app.models import (
    STATUS_ON_SALE,
    Image,
    ImageLabel,
    Label,
    ProducerReputation,
    Purchase,
    SearchOutbox,
    User,
)
from labelhub_app.services.labels import normalise_label

MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page; deeper paging is refused (narrow the search)
FACET_LIMIT = 20
_CHUNK = 500  # ids per IN (...) list
_GAP_TTL_S = 300.0  # how long a skipped outbox id is re-checked (it may commit late)
_MAX_GAPS = 10_000


@dataclass(frozen=True)
class MarketQuery:
    """What a person asked for. ``labels`` are names as typed; prices are inclusive cents."""

    labels: tuple[str, ...] = ()
    mode: Literal["all", "any"] = "all"
    min_price: int | None = None
    max_price: int | None = None
    sort: SortKey = "newest"
    page: int = 1
    per_page: int = 24
    min_quality: float | None = None  # the producer's score, 0..1 (services/reputation.py)


@dataclass(frozen=True)
class MarketCard:
    public_id: str
    file_name: str
    price_cents: int
    licence: str
    labels: list[str]
    producer_pseudonym: str
    width: int
    height: int
    sales_count: int
    owned: bool
    created_at: datetime
    producer_score: int = 0  # 0-100: the producer's reputation lower bound (services/reputation.py)
    producer_reviews: int = 0


@dataclass(frozen=True)
class FacetCount:
    label: str
    count: int


@dataclass(frozen=True)
class MarketPage:
    """One page of results; ``total`` and ``facets`` are over all matches, not just this page."""

    items: list[MarketCard]
    total: int
    facets: list[FacetCount]
    page: int
    per_page: int
    unknown_labels: list[str]


# ------------------------------------------------------------------------------- the index
def _quality(lower: float | None) -> float:
    """What the index stores as an image's quality: its producer's score (the prior's if none)."""
    if lower is None:
        from labelhub_app.services.reputation import PRIOR

        return PRIOR.lower
    return float(lower)


@dataclass
class _IndexState:
    index: SearchIndex
    database: str  # the URL it was built from; another database gets another build
    last_outbox_id: int
    # outbox ids below last_outbox_id that were missing when we passed them (a transaction that
    # had taken the id but not committed yet, on databases that allow that) -> when first missed
    gaps: dict[int, float] = field(default_factory=dict)


_state: _IndexState | None = None
_state_lock = threading.RLock()


def _database_of(session: Session) -> str:
    return str(session.get_bind().engine.url)


def _new_index() -> SearchIndex:
    backend = get_settings().search_backend
    if backend == "embedded":
        from labelhub_app.adapters.search.embedded import EmbeddedIndex

        return EmbeddedIndex()
    raise InvalidInput(f"Unknown search backend {backend!r}; set LABELHUB_SEARCH_BACKEND=embedded.")


def _max_outbox_id(session: Session) -> int:
    return session.exec(select(func.max(SearchOutbox.id))).one() or 0


def _build(session: Session) -> _IndexState:
    """Build a fresh index from the database and make it the process-wide one."""
    global _state
    # Read the outbox position first: a change committed while we load is then applied again
    # by the next sync, which is harmless (applying a row is idempotent).
    last = _max_outbox_id(session)
    index = _new_index()
    _load_everything(session, index)
    _state = _IndexState(index=index, database=_database_of(session), last_outbox_id=last)
    return _state


def _current_state(session: Session) -> tuple[_IndexState, bool]:
    """The process-wide index state for this session's database, and whether it was just built."""
    with _state_lock:
        if _state is not None and _state.database == _database_of(session):
            return _state, False
        return _build(session), True


def get_index(session: Session) -> SearchIndex:
    """The process-wide index: built from the database on first use, synced with the outbox."""
    if get_settings().search_backend == "opensearch":  # kept current by `labelhub dispatch-search`
        from labelhub_app.services.search_dispatch import shared_opensearch_index

        return shared_opensearch_index()
    return _sync(session)[0].index


def reset_index() -> None:
    """Forget the process-wide index; the next search builds a new one (tests call this)."""
    global _state
    with _state_lock:
        _state = None


def rebuild_index(session: Session) -> int:
    """Rebuild the process-wide index from the database (``labelhub reindex``); image count."""
    with _state_lock:
        return len(_build(session).index)


def sync_index(session: Session) -> int:
    """Apply outbox rows newer than the last applied one; returns how many rows were applied.

    Each row names an image: it is reloaded from the database and upserted if on sale, removed
    otherwise. Building the index on first use applies everything and counts as 0 rows.
    """
    return _sync(session)[1]


def _sync(session: Session) -> tuple[_IndexState, int]:
    with _state_lock:
        state, fresh = _current_state(session)
        if fresh:
            return state, 0
        newest = _max_outbox_id(session)  # the one query when nothing changed
        if newest <= state.last_outbox_id and not state.gaps:
            return state, 0
        rows = _outbox_rows(session, state, newest)
        _apply(session, state.index, [image_id for _, image_id in rows])
        _track_gaps(state, rows, newest)
        state.last_outbox_id = max(state.last_outbox_id, newest)
        return state, len(rows)


def _outbox_rows(session: Session, state: _IndexState, newest: int) -> list[tuple[int, int]]:
    outbox_id = col(SearchOutbox.id)
    wanted: ColumnElement[bool] = (outbox_id > state.last_outbox_id) & (outbox_id <= newest)
    if state.gaps:
        wanted = or_(wanted, outbox_id.in_(list(state.gaps)))
    rows = [
        (row_id or 0, image_id)
        for row_id, image_id in session.exec(
            select(SearchOutbox.id, SearchOutbox.image_id).where(wanted)
        )
    ]
    for row_id, _ in rows:
        state.gaps.pop(row_id, None)
    return rows


def _track_gaps(state: _IndexState, rows: list[tuple[int, int]], newest: int) -> None:
    now = time.monotonic()
    seen = {outbox_id for outbox_id, _ in rows}
    for outbox_id in range(state.last_outbox_id + 1, newest + 1):
        if outbox_id not in seen:
            state.gaps.setdefault(outbox_id, now)
        if len(state.gaps) > _MAX_GAPS:
            break
    for outbox_id, since in list(state.gaps.items()):
        if now - since > _GAP_TTL_S:
            del state.gaps[outbox_id]


def _apply(session: Session, index: SearchIndex, image_ids: Iterable[int]) -> None:
    wanted = list(dict.fromkeys(image_ids))
    docs = _load_docs(session, wanted)
    for image_id in wanted:
        doc = docs.get(image_id)
        if doc is None:
            index.remove(image_id)
        else:
            index.upsert(doc)


def image_doc(session: Session, image_id: int) -> ImageDoc | None:
    """What the index should hold for an image: None unless it exists and is on sale."""
    return _load_docs(session, [image_id]).get(image_id)


def _load_docs(session: Session, image_ids: Sequence[int]) -> dict[int, ImageDoc]:
    """ImageDocs of the on-sale images among ``image_ids`` (two queries per 500 ids)."""
    docs: dict[int, ImageDoc] = {}
    for start in range(0, len(image_ids), _CHUNK):
        chunk = list(image_ids[start : start + _CHUNK])
        labels: dict[int, list[int]] = defaultdict(list)
        for image_id, label_id in session.exec(
            select(ImageLabel.image_id, ImageLabel.label_id).where(
                col(ImageLabel.image_id).in_(chunk)
            )
        ):
            labels[image_id].append(label_id)
        for row_id, price, created, sales, quality in session.exec(
            select(
                Image.id,
                Image.price_cents,
                Image.created_at,
                Image.sales_count,
                ProducerReputation.lower,
            )
            .join(
                ProducerReputation,
                col(ProducerReputation.user_id) == col(Image.owner_id),
                isouter=True,
            )
            .where(col(Image.id).in_(chunk), Image.status == STATUS_ON_SALE)
        ):
            assert row_id is not None
            docs[row_id] = ImageDoc(
                image_id=row_id,
                label_ids=tuple(sorted(labels.get(row_id, ()))),
                price_cents=price,
                created_ts=created.timestamp(),
                sales_count=sales,
                quality=_quality(quality),
            )
    return docs


def _load_everything(session: Session, index: SearchIndex) -> None:
    """Fill ``index`` with every on-sale image: columnar and fast on SQLite, generic elsewhere."""
    load_columns = getattr(index, "load_columns", None)
    if load_columns is not None and session.get_bind().dialect.name == "sqlite":
        load_columns(**_sqlite_columns(session))
        return
    index.replace_all(_all_docs(session))


def _sqlite_columns(session: Session) -> dict[str, Any]:
    """All on-sale images as numpy columns, read with group_concat (about 1 s for 1M images).

    Fetching a million row tuples is the slow part of a rebuild; one row of long strings per
    column (parsed by numpy) is several times faster. Timestamps are stored by SQLAlchemy as
    'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; numpy parses them to the same microseconds that
    ``datetime.timestamp()`` gives for the incremental path.
    """
    conn = session.connection()
    ids_s, prices_s, sales_s, created_s, owners_s = conn.execute(
        text(
            "SELECT group_concat(id), group_concat(price_cents), group_concat(sales_count),"
            " group_concat(created_at, '|'), group_concat(owner_id)"
            # a scan beats the status index: nearly every image is on sale
            " FROM images NOT INDEXED WHERE status = :status"
        ),
        {"status": STATUS_ON_SALE},
    ).one()
    # producers' scores (one row per reviewed producer), mapped onto images by owner id
    scores = dict(conn.execute(text("SELECT user_id, lower FROM producer_reputation")).all())

    def ints(csv: str | None) -> np.ndarray[Any, np.dtype[np.int64]]:
        if not csv:
            return np.zeros(0, dtype=np.int64)
        return np.fromstring(csv, dtype=np.int64, sep=",")  # text mode: 10x faster than split

    created = (
        np.array(created_s.split("|"), dtype="datetime64[us]").astype(np.int64) / 1e6
        if created_s
        else np.zeros(0, dtype=np.float64)
    )
    pair_images: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    pair_labels: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    for label_id, csv in conn.execute(
        text("SELECT label_id, group_concat(image_id) FROM image_labels GROUP BY label_id")
    ):
        members = ints(csv)
        pair_images.append(members)
        pair_labels.append(np.full(len(members), label_id, dtype=np.int64))
    empty = np.zeros(0, dtype=np.int64)
    owners = ints(owners_s)
    top = max([int(owners.max()) if len(owners) else 0, *scores])
    by_owner = np.full(top + 1, _quality(None), dtype=np.float64)
    if scores:
        by_owner[np.fromiter(scores, dtype=np.int64)] = np.fromiter(
            scores.values(), dtype=np.float64
        )
    quality = by_owner[owners]
    return {
        "image_ids": ints(ids_s),
        "prices": ints(prices_s),
        "created_ts": created,
        "sales": ints(sales_s),
        "quality": quality,
        # pairs of images that are not on sale are dropped by the index
        "pair_image_ids": np.concatenate(pair_images) if pair_images else empty,
        "pair_label_ids": np.concatenate(pair_labels) if pair_labels else empty,
    }


def _all_docs(session: Session) -> Iterable[ImageDoc]:
    labels: dict[int, list[int]] = defaultdict(list)
    on_sale = select(Image.id).where(Image.status == STATUS_ON_SALE)
    for image_id, label_id in session.exec(
        select(ImageLabel.image_id, ImageLabel.label_id).where(
            col(ImageLabel.image_id).in_(on_sale)
        )
    ):
        labels[image_id].append(label_id)
    scores = dict(session.exec(select(ProducerReputation.user_id, ProducerReputation.lower)).all())
    for row_id, price, created, sales, owner_id in session.exec(
        select(
            Image.id, Image.price_cents, Image.created_at, Image.sales_count, Image.owner_id
        ).where(Image.status == STATUS_ON_SALE)
    ):
        assert row_id is not None
        yield ImageDoc(
            row_id,
            tuple(labels.pop(row_id, ())),
            price,
            created.timestamp(),
            sales,
            _quality(scores.get(owner_id)),
        )


# ------------------------------------------------------------------------------- the query
def _check(query: MarketQuery) -> None:
    if query.mode not in ("all", "any"):
        raise InvalidInput(f"Mode must be 'all' or 'any', not {query.mode!r}.")
    if query.sort not in SORT_KEYS:
        raise InvalidInput(f"Sort must be one of {', '.join(SORT_KEYS)}; {query.sort!r} is not.")
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"Results per page must be between 1 and {MAX_PER_PAGE}.")
    if query.page < 1:
        raise InvalidInput("Page numbers start at 1.")
    if query.page * query.per_page > MAX_RESULT_WINDOW:
        raise InvalidInput(
            f"Only the first {MAX_RESULT_WINDOW:,} results can be paged through; "
            "add labels or a price range to narrow the search."
        )
    if query.min_quality is not None and not 0.0 <= query.min_quality <= 1.0:
        raise InvalidInput("The minimum quality is a score from 0 to 100.")
    for name, value in (("Minimum", query.min_price), ("Maximum", query.max_price)):
        if value is not None and value < 0:
            raise InvalidInput(f"{name} price cannot be negative.")
    if (
        query.min_price is not None
        and query.max_price is not None
        and query.min_price > query.max_price
    ):
        raise InvalidInput("The minimum price is above the maximum price; swap or clear them.")


def _expand_labels(session: Session, names: list[str]) -> tuple[list[frozenset[int]], list[str]]:
    """Each known name -> itself plus all its descendants; and the names that do not exist."""
    if not names:
        return [], []
    found = {
        name: label_id
        for name, label_id in session.exec(
            select(Label.name, Label.id).where(col(Label.name).in_(names))
        )
        if label_id is not None
    }
    unknown = [name for name in names if name not in found]
    roots = [found[name] for name in names if name in found]
    if not roots:
        return [], unknown
    # UNION (not UNION ALL) also stops on a cycle in the tree
    tree = text(
        "WITH RECURSIVE tree(root, id) AS ("
        " SELECT id, id FROM labels WHERE id IN :roots"
        " UNION SELECT tree.root, labels.id FROM labels JOIN tree ON labels.parent_id = tree.id"
        ") SELECT root, id FROM tree"
    ).bindparams(bindparam("roots", expanding=True))
    members: dict[int, set[int]] = defaultdict(set)
    for root, label_id in session.connection().execute(tree, {"roots": roots}):
        members[root].add(label_id)
    return [frozenset(members[root]) for root in roots], unknown


def search_market(
    session: Session, *, query: MarketQuery, viewer_id: int | None = None
) -> MarketPage:
    """One page of on-sale images matching ``query``, with the exact total and label facets.

    Label names are normalised and each matches itself or any label below it. With mode "all" a
    label that does not exist means no results; with "any" it is ignored (and a query whose
    labels all do not exist finds nothing). Unknown names are listed in ``unknown_labels``.
    ``owned`` is true for images ``viewer_id`` has bought.
    """
    _check(query)
    names = list(dict.fromkeys(n for n in map(normalise_label, query.labels) if n))
    groups, unknown = _expand_labels(session, names)

    def empty() -> MarketPage:
        return MarketPage([], 0, [], query.page, query.per_page, unknown)

    if names and (not groups or (unknown and query.mode == "all")):
        return empty()

    hits = get_index(session).search(
        IndexQuery(
            label_groups=tuple(groups),
            mode=query.mode,
            min_price=query.min_price,
            max_price=query.max_price,
            min_quality=query.min_quality,
            sort=query.sort,
            offset=(query.page - 1) * query.per_page,
            limit=query.per_page,
            facet_limit=FACET_LIMIT,
        )
    )
    return MarketPage(
        items=_cards(session, hits.image_ids, viewer_id),
        total=hits.total,
        facets=_facet_names(session, hits.facets),
        page=query.page,
        per_page=query.per_page,
        unknown_labels=unknown,
    )


def _cards(session: Session, image_ids: list[int], viewer_id: int | None) -> list[MarketCard]:
    """The page's cards in index order: three queries whatever the page size."""
    if not image_ids:
        return []
    rows = {
        row[0]: row
        for row in session.connection().execute(
            sa_select(
                col(Image.id),
                col(Image.public_id),
                col(Image.file_name),
                col(Image.price_cents),
                col(Image.licence),
                col(Image.width),
                col(Image.height),
                col(Image.sales_count),
                col(Image.created_at),
                col(User.pseudonym),
                col(Image.owner_id),
            )
            .join(User, col(User.id) == col(Image.owner_id))
            .where(col(Image.id).in_(image_ids))
        )
    }
    from labelhub_app.services.reputation import reputations

    scores = reputations(session, [row[-1] for row in rows.values()])
    labels: dict[int, list[str]] = defaultdict(list)
    for image_id, name in session.exec(
        select(ImageLabel.image_id, Label.name)
        .join(Label, col(Label.id) == col(ImageLabel.label_id))
        .where(col(ImageLabel.image_id).in_(image_ids))
        .order_by(col(Label.name))
    ):
        labels[image_id].append(name)
    owned: set[int] = set()
    if viewer_id is not None:
        owned = set(
            session.exec(
                select(Purchase.image_id).where(
                    Purchase.buyer_id == viewer_id, col(Purchase.image_id).in_(image_ids)
                )
            ).all()
        )
    cards = []
    for image_id in image_ids:
        row = rows.get(image_id)
        if row is None:  # gone between the index and this read; the next sync drops it
            continue
        _, public_id, file_name, price, licence, width, height, sales, created, pseudonym, owner = (
            row
        )
        cards.append(
            MarketCard(
                public_id=public_id,
                file_name=file_name,
                price_cents=price,
                licence=licence,
                labels=labels.get(image_id, []),
                producer_pseudonym=pseudonym,
                width=width,
                height=height,
                sales_count=sales,
                owned=image_id in owned,
                created_at=created,
                producer_score=scores[owner].score,
                producer_reviews=scores[owner].reviews,
            )
        )
    return cards


def _facet_names(session: Session, facets: list[tuple[int, int]]) -> list[FacetCount]:
    if not facets:
        return []
    names = dict(
        session.exec(
            select(Label.id, Label.name).where(col(Label.id).in_([i for i, _ in facets]))
        ).all()
    )
    return [FacetCount(names[i], count) for i, count in facets if i in names]
