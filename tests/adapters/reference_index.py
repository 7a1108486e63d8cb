"""A naive, obviously correct SearchIndex: a dict of documents and Python sorts.

The contract suite compares every backend with it. Speed does not matter here; clarity does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from labelhub_app.adapters.search.base import ImageDoc, IndexHits, IndexQuery


class ReferenceIndex:
    def __init__(self) -> None:
        self._docs: dict[int, ImageDoc] = {}

    def replace_all(self, docs: Iterable[ImageDoc]) -> None:
        self._docs = {doc.image_id: doc for doc in docs}

    def upsert(self, doc: ImageDoc) -> None:
        self._docs[doc.image_id] = doc

    def remove(self, image_id: int) -> None:
        self._docs.pop(image_id, None)

    def __len__(self) -> int:
        return len(self._docs)

    def _matches(self, doc: ImageDoc, query: IndexQuery) -> bool:
        if query.label_groups:
            labels = set(doc.label_ids)
            hits = [bool(labels & group) for group in query.label_groups]
            if not (all(hits) if query.mode == "all" else any(hits)):
                return False
        if query.min_price is not None and doc.price_cents < query.min_price:
            return False
        if query.min_quality is not None and doc.quality < query.min_quality:
            return False
        return query.max_price is None or doc.price_cents <= query.max_price

    def search(self, query: IndexQuery) -> IndexHits:
        matched = [doc for doc in self._docs.values() if self._matches(doc, query)]
        keys = {
            "newest": lambda d: (-d.created_ts, -d.image_id),
            "price_asc": lambda d: (d.price_cents, d.image_id),
            "price_desc": lambda d: (-d.price_cents, -d.image_id),
            "best_selling": lambda d: (-d.sales_count, -d.image_id),
            "quality": lambda d: (-d.quality, -d.image_id),
        }
        matched.sort(key=keys[query.sort])
        page = matched[query.offset : query.offset + query.limit]
        counts: Counter[int] = Counter()
        for doc in matched:
            counts.update(set(doc.label_ids))
        facets = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: query.facet_limit]
        return IndexHits(
            image_ids=[doc.image_id for doc in page], total=len(matched), facets=facets
        )
