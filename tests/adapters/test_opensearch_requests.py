"""The OpenSearch adapter's request bodies, checked without a server (pure functions), and the
requests the adapter sends (against the in-process cluster of fake_opensearch.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labelhub_app.adapters.search.base import ImageDoc, IndexQuery
from labelhub_app.adapters.search.opensearch import (
    BulkError,
    OpenSearchIndex,
    alias_swap_actions,
    bulk_actions,
    doc_body,
    doc_from_source,
    hits_from,
    index_body,
    label_text_body,
    new_index_name,
    search_body,
    taxonomy_synonyms,
)
from tests.adapters.fake_opensearch import FakeOpenSearch

DOC = ImageDoc(7, (3, 1, 3), 250, 1_700_000_000.123456, 4, quality=0.61)


def test_index_body_mapping() -> None:
    body = index_body(synonyms=["vehicle => vehicle, car"], replicas=1)
    index = body["settings"]["index"]
    assert index["number_of_shards"] == 1 and index["number_of_replicas"] == 1
    props = body["mappings"]["properties"]
    assert body["mappings"]["dynamic"] == "strict"
    assert props["label_ids"] == {"type": "integer"}
    assert props["label_names"]["type"] == "text"
    assert props["label_names"]["search_analyzer"] == "label_search"
    assert props["label_names"]["fields"]["raw"] == {"type": "keyword"}
    assert {
        k: props[k]["type"] for k in ("price_cents", "created_ts", "sales_count", "quality")
    } == {
        "price_cents": "long",
        "created_ts": "double",  # exact epoch seconds: the sort key
        "sales_count": "long",
        "quality": "double",
    }
    assert props["created_at"] == {"type": "date", "format": "epoch_millis"}
    synonyms = body["settings"]["analysis"]["filter"]["label_synonyms"]
    assert synonyms["type"] == "synonym_graph" and synonyms["synonyms"] == [
        "vehicle => vehicle, car"
    ]
    assert body["settings"]["analysis"]["analyzer"]["label_search"]["filter"] == [
        "lowercase",
        "label_synonyms",
    ]


def test_taxonomy_synonyms_expand_to_descendants() -> None:
    labels = [
        (1, "vehicle", None),
        (2, "car", 1),
        (3, "sports car", 2),
        (4, "truck", 1),
        (5, "dog", None),
        (6, "orphan", 99),  # parent unknown: a root
        (7, "loop a", 8),  # a cycle does not hang
        (8, "loop b", 7),
    ]
    assert taxonomy_synonyms(labels) == [
        "car => car, sports car",
        "loop a => loop a, loop b",
        "loop b => loop b, loop a",
        "vehicle => vehicle, car, sports car, truck",
    ]
    assert taxonomy_synonyms([(1, "dog", None)]) == []


def test_doc_body_round_trip() -> None:
    body = doc_body(DOC, {1: "cat", 3: "dog", 9: "unused"})
    assert body == {
        "image_id": 7,
        "label_ids": [1, 3],
        "label_names": ["cat", "dog"],
        "price_cents": 250,
        "created_ts": 1_700_000_000.123456,
        "created_at": 1_700_000_000_123,
        "sales_count": 4,
        "quality": 0.61,
    }
    back = doc_from_source(body)
    assert back.image_id == 7 and back.label_ids == (1, 3) and back.created_ts == DOC.created_ts
    assert doc_body(DOC)["label_names"] == []


def test_search_body_all_labels_price_and_quality() -> None:
    query = IndexQuery(
        label_groups=(frozenset({5, 2}), frozenset({9})),
        mode="all",
        min_price=100,
        max_price=500,
        min_quality=0.5,
        sort="price_asc",
        offset=48,
        limit=24,
        facet_limit=20,
    )
    body = search_body(query)
    assert body["query"] == {
        "bool": {
            "filter": [
                {"terms": {"label_ids": [2, 5]}},
                {"terms": {"label_ids": [9]}},
                {"range": {"price_cents": {"gte": 100, "lte": 500}}},
                {"range": {"quality": {"gte": 0.5}}},
            ]
        }
    }
    assert body["sort"] == [{"price_cents": "asc"}, {"image_id": "asc"}]
    assert (body["from"], body["size"], body["track_total_hits"], body["_source"]) == (
        48,
        24,
        True,
        False,
    )
    terms = body["aggs"]["labels"]["terms"]
    assert terms["field"] == "label_ids" and terms["size"] == 20
    assert terms["order"] == [{"_count": "desc"}, {"_key": "asc"}]
    assert terms["shard_size"] >= 10_000 and terms["min_doc_count"] == 1


def test_search_body_any_mode_and_empty_groups() -> None:
    any_body = search_body(
        IndexQuery(label_groups=(frozenset({4}), frozenset(), frozenset({1, 4})), mode="any")
    )
    assert any_body["query"] == {"bool": {"filter": [{"terms": {"label_ids": [1, 4]}}]}}
    assert search_body(IndexQuery(label_groups=(frozenset(), frozenset({1})), mode="all"))[
        "query"
    ] == {"match_none": {}}
    assert search_body(IndexQuery(label_groups=(frozenset(),), mode="any"))["query"] == {
        "match_none": {}
    }
    assert search_body(IndexQuery())["query"] == {"bool": {"filter": []}}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", [{"created_ts": "desc"}, {"image_id": "desc"}]),
        ("price_asc", [{"price_cents": "asc"}, {"image_id": "asc"}]),
        ("price_desc", [{"price_cents": "desc"}, {"image_id": "desc"}]),
        ("best_selling", [{"sales_count": "desc"}, {"image_id": "desc"}]),
        ("quality", [{"quality": "desc"}, {"image_id": "desc"}]),
    ],
)
def test_sorts_follow_the_ordering_contract(sort: str, expected: list[dict[str, str]]) -> None:
    assert search_body(IndexQuery(sort=sort))["sort"] == expected  # type: ignore[arg-type]


def test_no_facets_asked_no_aggregation() -> None:
    assert "aggs" not in search_body(IndexQuery(facet_limit=0))


def test_hits_from_response() -> None:
    response = {
        "hits": {"total": {"value": 3, "relation": "eq"}, "hits": [{"_id": "9"}, {"_id": "4"}]},
        "aggregations": {"labels": {"buckets": [{"key": 2, "doc_count": 3}]}},
    }
    hits = hits_from(response)
    assert (hits.image_ids, hits.total, hits.facets) == ([9, 4], 3, [(2, 3)])
    assert hits_from({"hits": {"total": 0, "hits": []}}).total == 0
    with pytest.raises(RuntimeError, match="estimated"):
        hits_from({"hits": {"total": {"value": 10_000, "relation": "gte"}, "hits": []}})


def test_bulk_and_alias_bodies() -> None:
    lines = bulk_actions("idx", [DOC], [8, 9])
    assert lines[0] == {"index": {"_index": "idx", "_id": "7"}}
    assert lines[1]["image_id"] == 7
    assert lines[2:] == [
        {"delete": {"_index": "idx", "_id": "8"}},
        {"delete": {"_index": "idx", "_id": "9"}},
    ]
    assert alias_swap_actions("a", "a-2", ["a-1"]) == {
        "actions": [
            {"remove": {"index": "a-1", "alias": "a"}},
            {"add": {"index": "a-2", "alias": "a", "is_write_index": True}},
        ]
    }
    when = datetime(2026, 11, 25, 17, 0, 1, 42, tzinfo=UTC)
    assert new_index_name("labelhub-images", when) == "labelhub-images-20261125170001000042"


def test_label_text_body_uses_the_names_field() -> None:
    assert label_text_body("sports car", size=5)["query"] == {
        "match": {"label_names": {"query": "sports car", "operator": "and"}}
    }


# ------------------------------------------------------------------------------- the adapter
def test_first_write_creates_index_and_alias_then_reuses_them() -> None:
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(cluster, "images")
    assert len(index) == 0 and index.search(IndexQuery()).total == 0  # nothing yet: no error
    index.upsert(DOC)
    [real] = index.current_indexes()
    assert real.startswith("images-") and cluster.aliases[real] == {"images"}
    calls_before = len(cluster.calls)
    index.upsert(ImageDoc(8, (1,), 1, 1.0, 0))
    assert [name for name, _ in cluster.calls[calls_before:]] == ["bulk"]  # one request
    assert len(index) == 2
    index.remove(8)
    index.remove(8)  # absent: fine
    assert len(index) == 1


def test_refresh_option_is_passed_to_bulk() -> None:
    cluster = FakeOpenSearch()
    OpenSearchIndex(cluster, "images", refresh=True).upsert(DOC)
    assert ("bulk", (2, "true")) in cluster.calls


def test_failed_bulk_items_raise() -> None:
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(cluster, "images")
    index.upsert(DOC)

    def refuse(body: list[dict[str, object]], refresh: str = "false") -> dict[str, object]:
        return {
            "errors": True,
            "items": [{"index": {"_id": "7", "status": 429, "error": "rejected"}}],
        }

    cluster.bulk = refuse  # type: ignore[method-assign]
    with pytest.raises(BulkError, match="rejected"):
        index.upsert(DOC)


def test_drop_removes_every_index() -> None:
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(cluster, "images")
    index.replace_all([DOC])
    index.replace_all([DOC, ImageDoc(8, (), 1, 1.0, 0)])
    assert len(cluster.docs) == 1 and len(index) == 2  # the old index was dropped
    index.drop()
    assert cluster.docs == {} and len(index) == 0


def test_the_adapter_satisfies_the_port() -> None:
    from labelhub_app.adapters.search.base import SearchIndex

    assert isinstance(OpenSearchIndex(FakeOpenSearch()), SearchIndex)
