"""OpenSearch search index (opensearch-py): the ``SearchIndex`` port on an OpenSearch cluster.

The requests are built by pure functions (``index_body``, ``doc_body``, ``search_body``,
``hits_from``, ``alias_swap_actions``) so that they are unit-tested without a server; the class
only sends them. The contract suite (tests/adapters/test_search_contract.py) runs this adapter
against a real cluster when OPENSEARCH_URL is set.

Layout: the app reads and writes through an alias (``labelhub-images``); the real index behind it
is ``<alias>-<UTC timestamp>``. A rebuild (``replace_all``, ``labelhub reindex``) fills a new
index and then moves the alias in one atomic ``_aliases`` request, so searches never see a
half-built index (zero downtime), and drops the old index afterwards.

Exactness: one primary shard, so totals (``track_total_hits``) and label facets (a ``terms``
aggregation) are exact, as the port requires; the service never pages beyond 10,000 results.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from opensearchpy.exceptions import NotFoundError

from labelhub_app.adapters.search.base import ImageDoc, IndexHits, IndexQuery

SORTS: dict[str, list[dict[str, str]]] = {
    "newest": [{"created_ts": "desc"}, {"image_id": "desc"}],
    "price_asc": [{"price_cents": "asc"}, {"image_id": "asc"}],
    "price_desc": [{"price_cents": "desc"}, {"image_id": "desc"}],
    "best_selling": [{"sales_count": "desc"}, {"image_id": "desc"}],
    "quality": [{"quality": "desc"}, {"image_id": "desc"}],
}
FACET_SHARD_SIZE = 10_000  # more distinct labels than this in one result set: facets approximate
MAX_RESULT_WINDOW = 10_000


# ------------------------------------------------------------------------------- pure builders
def taxonomy_synonyms(labels: Iterable[tuple[int, str, int | None]]) -> list[str]:
    """Synonym rules from the label tree: a name also finds everything below it.

    ``labels`` are ``(id, name, parent_id)``. "vehicle" has children "car" and "truck", so the
    rule ``vehicle => vehicle, car, truck`` makes a text search for "vehicle" match images
    labelled "car". Leaves need no rule. Commas and "=>" cannot occur in normalised names.
    """
    rows = list(labels)
    names = {label_id: name for label_id, name, _ in rows}
    children: dict[int, list[int]] = {}
    for label_id, _, parent in rows:
        if parent is not None and parent in names:
            children.setdefault(parent, []).append(label_id)

    def below(label_id: int, seen: set[int]) -> Iterator[int]:
        for child in sorted(children.get(label_id, ())):
            if child not in seen:  # a cycle in the tree stops here
                seen.add(child)
                yield child
                yield from below(child, seen)

    rules = []
    for label_id in sorted(children, key=lambda i: names[i]):
        expanded = [names[i] for i in below(label_id, {label_id})]
        rules.append(f"{names[label_id]} => {', '.join([names[label_id], *expanded])}")
    return rules


def index_body(*, synonyms: Sequence[str] = (), replicas: int = 0) -> dict[str, Any]:
    """Settings and mapping of one image index.

    ``label_ids``: the labels as integer ids (filters and facets); ``label_names``: their names as
    text (lower-cased standard tokens) searched with the taxonomy's synonyms at query time, with
    a ``.raw`` keyword sub-field; price in cents, creation as exact epoch seconds (``created_ts``,
    used to sort) and as a date (``created_at``, for ranges and people), sales and quality.
    """
    return {
        "settings": {
            "index": {
                "number_of_shards": 1,  # exact totals and facets
                "number_of_replicas": replicas,
                "max_result_window": MAX_RESULT_WINDOW,
            },
            "analysis": {
                "filter": {
                    "label_synonyms": {
                        "type": "synonym_graph",
                        "synonyms": list(synonyms),
                        "lenient": True,
                    }
                },
                "analyzer": {
                    "label_index": {"tokenizer": "standard", "filter": ["lowercase"]},
                    "label_search": {
                        "tokenizer": "standard",
                        "filter": ["lowercase", "label_synonyms"],
                    },
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "image_id": {"type": "long"},
                "label_ids": {"type": "integer"},
                "label_names": {
                    "type": "text",
                    "analyzer": "label_index",
                    "search_analyzer": "label_search",
                    "fields": {"raw": {"type": "keyword"}},
                },
                "price_cents": {"type": "long"},
                "created_ts": {"type": "double"},
                "created_at": {"type": "date", "format": "epoch_millis"},
                "sales_count": {"type": "long"},
                "quality": {"type": "double"},
            },
        },
    }


def doc_body(doc: ImageDoc, label_names: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The stored document of one image (its id is the document id)."""
    names = label_names or {}
    return {
        "image_id": doc.image_id,
        "label_ids": sorted(set(doc.label_ids)),
        "label_names": sorted({names[i] for i in doc.label_ids if i in names}),
        "price_cents": doc.price_cents,
        "created_ts": doc.created_ts,
        "created_at": round(doc.created_ts * 1000),
        "sales_count": doc.sales_count,
        "quality": float(getattr(doc, "quality", 0.0)),
    }


def doc_from_source(source: Mapping[str, Any]) -> ImageDoc:
    """An ImageDoc back from a stored document (the dispatcher's checks and tests use it)."""
    fields = {
        "image_id": int(source["image_id"]),
        "label_ids": tuple(source["label_ids"]),
        "price_cents": int(source["price_cents"]),
        "created_ts": float(source["created_ts"]),
        "sales_count": int(source["sales_count"]),
    }
    if "quality" in ImageDoc.__dataclass_fields__:
        fields["quality"] = float(source.get("quality", 0.0))
    return ImageDoc(**fields)


def _filters(query: IndexQuery) -> list[dict[str, Any]] | None:
    """The filter clauses, or None when the query can match nothing."""
    filters: list[dict[str, Any]] = []
    groups = [sorted(group) for group in query.label_groups]
    if groups:
        if query.mode == "all":
            if any(not group for group in groups):
                return None
            filters += [{"terms": {"label_ids": group}} for group in groups]
        else:
            wanted = sorted({label for group in groups for label in group})
            if not wanted:
                return None
            filters.append({"terms": {"label_ids": wanted}})  # any of any group
    price: dict[str, int] = {}
    if query.min_price is not None:
        price["gte"] = query.min_price
    if query.max_price is not None:
        price["lte"] = query.max_price
    if price:
        filters.append({"range": {"price_cents": price}})
    min_quality = getattr(query, "min_quality", None)
    if min_quality is not None:
        filters.append({"range": {"quality": {"gte": min_quality}}})
    return filters


def search_body(query: IndexQuery) -> dict[str, Any]:
    """The ``_search`` request of one query: filters only (no scoring), the port's sort with the
    image id as tie-breaker, one page, the exact total and the label facets."""
    filters = _filters(query)
    clause: dict[str, Any] = (
        {"match_none": {}} if filters is None else {"bool": {"filter": filters}}
    )
    body: dict[str, Any] = {
        "query": clause,
        "sort": SORTS[query.sort],
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "_source": False,
    }
    if query.facet_limit > 0:
        body["aggs"] = {
            "labels": {
                "terms": {
                    "field": "label_ids",
                    "size": query.facet_limit,
                    "shard_size": max(FACET_SHARD_SIZE, query.facet_limit),
                    "min_doc_count": 1,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        }
    return body


def label_text_body(text: str, *, size: int = 24) -> dict[str, Any]:
    """A free-text search over label names (synonyms applied), best matches first."""
    return {
        "query": {"match": {"label_names": {"query": text, "operator": "and"}}},
        "size": size,
        "track_total_hits": True,
        "_source": False,
    }


def hits_from(response: Mapping[str, Any]) -> IndexHits:
    """IndexHits from a ``_search`` response (ids from ``_id``; total must be exact)."""
    hits = response["hits"]
    total = hits["total"]
    if isinstance(total, Mapping):
        if total.get("relation", "eq") != "eq":
            raise RuntimeError("OpenSearch returned an estimated total; track_total_hits is off")
        total = total["value"]
    buckets = response.get("aggregations", {}).get("labels", {}).get("buckets", [])
    return IndexHits(
        image_ids=[int(hit["_id"]) for hit in hits["hits"]],
        total=int(total),
        facets=[(int(b["key"]), int(b["doc_count"])) for b in buckets],
    )


def bulk_actions(
    index: str,
    upserts: Iterable[ImageDoc],
    removals: Iterable[int] = (),
    label_names: Mapping[int, str] | None = None,
) -> list[dict[str, Any]]:
    """The ``_bulk`` body (action and source lines) that upserts and removes images."""
    lines: list[dict[str, Any]] = []
    for doc in upserts:
        lines.append({"index": {"_index": index, "_id": str(doc.image_id)}})
        lines.append(doc_body(doc, label_names))
    for image_id in removals:
        lines.append({"delete": {"_index": index, "_id": str(image_id)}})
    return lines


def alias_swap_actions(alias: str, new_index: str, old_indexes: Iterable[str]) -> dict[str, Any]:
    """One ``_aliases`` request that points ``alias`` at ``new_index`` only, atomically."""
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in sorted(old_indexes)
    ]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    return {"actions": actions}


def new_index_name(alias: str, now: datetime | None = None) -> str:
    """``<alias>-<UTC timestamp to the microsecond>``: sortable, unique per rebuild."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-{stamp}"


# ------------------------------------------------------------------------------- the adapter
class BulkError(RuntimeError):
    """Some actions of a bulk request failed (the message lists the first few)."""


class OpenSearchIndex:
    """The ``SearchIndex`` port on OpenSearch, through the alias ``alias``.

    ``refresh``: make each write visible to the next search (tests and small sites); the
    dispatcher leaves it off and relies on the index's refresh interval (1 s by default).
    ``label_names``/``synonyms``: the taxonomy, for the text field (see ``set_taxonomy``).
    """

    def __init__(
        self,
        client: Any,
        alias: str = "labelhub-images",
        *,
        refresh: bool = False,
        replicas: int = 0,
        label_names: Mapping[int, str] | None = None,
        synonyms: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.alias = alias
        self.refresh = refresh
        self.replicas = replicas
        self.label_names: dict[int, str] = dict(label_names or {})
        self.synonyms: list[str] = list(synonyms)
        self._ensured = False  # the alias is known to exist (saves a request per write)

    @classmethod
    def from_url(
        cls, url: str, alias: str, *, verify_certs: bool = True, **options: Any
    ) -> OpenSearchIndex:
        from opensearchpy import OpenSearch

        client = OpenSearch(
            hosts=[url], verify_certs=verify_certs, timeout=30, max_retries=2, retry_on_timeout=True
        )
        return cls(client, alias, **options)

    def set_taxonomy(self, label_names: Mapping[int, str], synonyms: Sequence[str]) -> None:
        """Label names for new documents, synonyms for the next rebuild's index settings."""
        self.label_names = dict(label_names)
        self.synonyms = list(synonyms)

    # ------------------------------------------------------------------------- indexes
    def current_indexes(self) -> list[str]:
        """The real indexes the alias points at now (empty when there is no alias yet)."""
        if not self.client.indices.exists_alias(name=self.alias):
            return []
        return sorted(self.client.indices.get_alias(name=self.alias))

    def ensure_index(self) -> None:
        """Create the first real index and its alias if there is none (idempotent enough: a
        concurrent creator loses the race on the alias and drops its own index)."""
        if self._ensured or self.current_indexes():
            self._ensured = True
            return
        name = new_index_name(self.alias)
        self.client.indices.create(
            index=name, body=index_body(synonyms=self.synonyms, replicas=self.replicas)
        )
        try:
            self.client.indices.update_aliases(body=alias_swap_actions(self.alias, name, []))
        finally:
            if self.current_indexes() != [name]:
                self.client.indices.delete(index=name, ignore_unavailable=True)
        self._ensured = True

    def rebuild(self, docs: Iterable[ImageDoc], *, chunk: int = 1000) -> str:
        """Zero-downtime rebuild: fill a new index, swap the alias atomically, drop the old
        ones. Returns the new index's name. Searches go to the old index until the swap."""
        name = new_index_name(self.alias)
        self.client.indices.create(
            index=name,
            body=index_body(synonyms=self.synonyms, replicas=self.replicas),
        )
        try:
            batch: list[ImageDoc] = []
            for doc in docs:
                batch.append(doc)
                if len(batch) >= chunk:
                    self._bulk(bulk_actions(name, batch, (), self.label_names))
                    batch = []
            if batch:
                self._bulk(bulk_actions(name, batch, (), self.label_names))
            self.client.indices.refresh(index=name)
            old = self.current_indexes()
            self.client.indices.update_aliases(body=alias_swap_actions(self.alias, name, old))
        except BaseException:
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        for index in old:
            self.client.indices.delete(index=index, ignore_unavailable=True)
        self._ensured = True
        return name

    # ------------------------------------------------------------------------- the port
    def replace_all(self, docs: Iterable[ImageDoc]) -> None:
        self.rebuild(docs)

    def upsert(self, doc: ImageDoc) -> None:
        self.apply_batch([doc], [])

    def remove(self, image_id: int) -> None:
        self.apply_batch([], [image_id])

    def apply_batch(self, upserts: Sequence[ImageDoc], removals: Sequence[int]) -> None:
        """Upsert and remove in one bulk request; raises ``BulkError`` if any action failed
        (removing an absent image is fine). Safe to repeat: every action is idempotent."""
        if not upserts and not removals:
            return
        self.ensure_index()
        self._bulk(bulk_actions(self.alias, upserts, removals, self.label_names))

    def _bulk(self, lines: list[dict[str, Any]]) -> None:
        response = self.client.bulk(body=lines, refresh="true" if self.refresh else "false")
        if not response.get("errors"):
            return
        failures = []
        for item in response.get("items", []):
            ((action, result),) = item.items()
            if action == "delete" and result.get("status") == 404:
                continue
            if result.get("status", 200) >= 300:
                failures.append(f"{action} {result.get('_id')}: {result.get('error')}")
        if failures:
            raise BulkError(f"{len(failures)} index actions failed: " + "; ".join(failures[:3]))

    def search(self, query: IndexQuery) -> IndexHits:
        try:
            return hits_from(self.client.search(index=self.alias, body=search_body(query)))
        except NotFoundError:  # no index yet: nothing was ever indexed
            return IndexHits([], 0, [])

    def search_label_text(self, text: str, *, size: int = 24) -> IndexHits:
        try:
            body = label_text_body(text, size=size)
            return hits_from(self.client.search(index=self.alias, body=body))
        except NotFoundError:
            return IndexHits([], 0, [])

    def __len__(self) -> int:
        try:
            return int(self.client.count(index=self.alias)["count"])
        except NotFoundError:
            return 0

    def drop(self) -> None:
        """Delete every real index behind the alias (tests clean up with it)."""
        for index in self.current_indexes():
            self.client.indices.delete(index=index, ignore_unavailable=True)
        self._ensured = False

    def ping(self) -> float:
        """Round-trip time in ms of a cluster health request (``labelhub check``)."""
        started = time.perf_counter()
        self.client.cluster.health()
        return (time.perf_counter() - started) * 1000
