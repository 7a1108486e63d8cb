"""The search index port: what the market search asks of any index (embedded, OpenSearch, ...).

An index holds one ``ImageDoc`` per image that is on sale, derived from the database and kept
current through the search outbox. It answers label queries (groups of label ids, already expanded
to descendants by the caller) with an optional price range, a sort, one page of ids, the exact total
and the exact label facets over all matches.

Ordering contract, the same for every backend so that pagination is stable:

- ``newest``:       created_ts desc, then image_id desc
- ``price_asc``:    price_cents asc, then image_id asc
- ``price_desc``:   price_cents desc, then image_id desc
- ``best_selling``: sales_count desc, then image_id desc
- ``quality``:      quality desc, then image_id desc (the producer's reputation score)

Facets are ``(label_id, count)`` over all matches (not just the page), labels with a count of zero
left out, ordered by count desc then label_id asc, at most ``facet_limit`` of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

SortKey = Literal["newest", "price_asc", "price_desc", "best_selling", "quality"]
SORT_KEYS: tuple[SortKey, ...] = ("newest", "price_asc", "price_desc", "best_selling", "quality")
Mode = Literal["all", "any"]


@dataclass(frozen=True, slots=True)
class ImageDoc:
    """What an index knows about one on-sale image.

    ``created_ts`` is epoch seconds (UTC) as a float, microsecond precision; ``price_cents`` is
    integer cents. ``label_ids`` are the image's own labels, not their ancestors. ``quality`` is
    the producer's reputation score in 0..1 (the lower bound of services/reputation.py).
    """

    image_id: int
    label_ids: tuple[int, ...]
    price_cents: int
    created_ts: float
    sales_count: int
    quality: float = 0.0


@dataclass(frozen=True, slots=True)
class IndexQuery:
    """One index query.

    ``label_groups``: each group is one requested label expanded to itself plus its descendants; an
    image matches a group when it has any label in it. ``mode`` combines the groups: ``all`` (AND)
    or ``any`` (OR). No groups means every image in the index. An empty group matches nothing.
    ``min_price``/``max_price`` are inclusive cents; ``min_quality`` keeps images whose
    ``quality`` is at least it (inclusive).
    """

    label_groups: tuple[frozenset[int], ...] = ()
    mode: Mode = "all"
    min_price: int | None = None
    max_price: int | None = None
    min_quality: float | None = None
    sort: SortKey = "newest"
    offset: int = 0
    limit: int = 24
    facet_limit: int = 20


@dataclass(frozen=True, slots=True)
class IndexHits:
    """One page of image ids in sort order, the exact number of matches, and the label facets."""

    image_ids: list[int]
    total: int
    facets: list[tuple[int, int]]


@runtime_checkable
class SearchIndex(Protocol):
    def replace_all(self, docs: Iterable[ImageDoc]) -> None:
        """Forget everything and index exactly ``docs``."""

    def upsert(self, doc: ImageDoc) -> None:
        """Add the image or replace what is known about it (idempotent)."""

    def remove(self, image_id: int) -> None:
        """Take the image out; removing an image that is not there is not an error."""

    def search(self, query: IndexQuery) -> IndexHits: ...

    def __len__(self) -> int:
        """The number of images in the index."""
