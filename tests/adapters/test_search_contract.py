"""Contract suite for SearchIndex backends: every backend must answer exactly like the reference.

A new backend (OpenSearch, ...) joins by adding a param to ``BACKENDS`` and a branch in
``make_index``; every test below then runs against it too.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from labelhub_app.adapters.search.base import (
    SORT_KEYS,
    ImageDoc,
    IndexHits,
    IndexQuery,
    SearchIndex,
)
from labelhub_app.adapters.search.embedded import EmbeddedIndex
from tests.adapters.reference_index import ReferenceIndex

BACKENDS = [
    pytest.param("reference", id="reference"),
    pytest.param("embedded", id="embedded"),
    # few buckets and no size threshold: every price range goes through the bucket path
    pytest.param("embedded-buckets", id="embedded-buckets"),
    # the OpenSearch adapter's requests run by an in-process interpreter of the DSL it uses
    pytest.param("opensearch-fake", id="opensearch-fake"),
    pytest.param(
        "opensearch",
        id="opensearch",
        marks=pytest.mark.skipif(
            not os.environ.get("OPENSEARCH_URL"), reason="OPENSEARCH_URL not set"
        ),
    ),
]


def make_index(name: str) -> SearchIndex:
    if name == "reference":
        return ReferenceIndex()
    if name == "embedded":
        return EmbeddedIndex()
    if name == "embedded-buckets":
        return EmbeddedIndex(price_buckets=8, bucket_min_matches=0)
    if name == "opensearch-fake":
        from labelhub_app.adapters.search.opensearch import OpenSearchIndex
        from tests.adapters.fake_opensearch import FakeOpenSearch

        return OpenSearchIndex(FakeOpenSearch(), "contract", refresh=True)
    if name == "opensearch":  # a real cluster: OPENSEARCH_URL=http://127.0.0.1:9200
        import uuid

        from labelhub_app.adapters.search.opensearch import OpenSearchIndex

        return OpenSearchIndex.from_url(
            os.environ["OPENSEARCH_URL"],
            f"labelhub-test-{uuid.uuid4().hex[:12]}",  # unique per test; dropped after it
            refresh=True,
            verify_certs=os.environ.get("OPENSEARCH_VERIFY_CERTS", "1") != "0",
        )
    raise AssertionError(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    """A fresh, empty index of the backend under test."""
    index = make_index(request.param)
    yield index
    drop = getattr(index, "drop", None)
    if drop is not None:  # OpenSearch: delete the test's indexes
        drop()


# ------------------------------------------------------------------------------- data
NUM_LABELS = 30
UNKNOWN_LABEL = 999  # never on any document


def random_doc(rng: random.Random, image_id: int) -> ImageDoc:
    # Zipf-like label popularity; few distinct prices, dates and sales so that ties are common.
    weights = [1 / (rank + 1) for rank in range(NUM_LABELS)]
    labels = tuple(rng.choices(range(1, NUM_LABELS + 1), weights=weights, k=rng.randint(0, 5)))
    return ImageDoc(
        image_id=image_id,
        label_ids=labels,
        price_cents=rng.choice([0, 0, 99, 100, 250, 500, 500, 1000, rng.randint(0, 5000)]),
        created_ts=1.7e9 + rng.choice([0.0, 0.5, 1.25, 3600.0, rng.uniform(0, 1e7)]),
        sales_count=int(20 * rng.random() ** 4),
        quality=rng.choice([0.0, 0.37, 0.37, 0.61, 0.9, rng.random()]),
    )


def random_docs(rng: random.Random, n: int) -> list[ImageDoc]:
    ids = rng.sample(range(1, 5 * n), n)
    return [random_doc(rng, image_id) for image_id in ids]


def random_query(rng: random.Random) -> IndexQuery:
    groups = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        size = rng.choice([0, 1, 1, 2, 4]) if rng.random() < 0.1 else rng.randint(1, 4)
        group = set(rng.sample(range(1, NUM_LABELS + 1), size))
        if rng.random() < 0.1:
            group.add(UNKNOWN_LABEL)
        groups.append(frozenset(group))
    min_price = rng.choice([None, None, 0, 100, 250, rng.randint(0, 5000)])
    max_price = rng.choice([None, None, 500, 1000, rng.randint(0, 5000)])
    return IndexQuery(
        label_groups=tuple(groups),
        mode=rng.choice(["all", "any"]),
        min_price=min_price,
        max_price=max_price,
        min_quality=rng.choice([None, None, None, 0.0, 0.37, 0.5, rng.random()]),
        sort=rng.choice(SORT_KEYS),
        offset=rng.choice([0, 0, rng.randint(0, 40), rng.randint(0, 700)]),
        limit=rng.choice([0, 1, 5, 24, 100]),
        facet_limit=rng.choice([0, 1, 3, 20, 50]),
    )


def assert_same(got: IndexHits, want: IndexHits, query: IndexQuery) -> None:
    assert got.total == want.total, query
    assert got.image_ids == want.image_ids, query
    assert got.facets == want.facets, query


# ------------------------------------------------------------------------------- tests
def test_empty_index(backend: SearchIndex) -> None:
    assert len(backend) == 0
    hits = backend.search(IndexQuery())
    assert (hits.image_ids, hits.total, hits.facets) == ([], 0, [])
    backend.remove(12345)  # removing what is not there is fine
    assert len(backend) == 0


def test_small_hand_checked_example(backend: SearchIndex) -> None:
    docs = [
        ImageDoc(1, (10, 20), 500, 100.0, 3),
        ImageDoc(2, (10,), 100, 300.0, 3),
        ImageDoc(3, (20, 30), 100, 200.0, 0),
        ImageDoc(4, (), 900, 300.0, 7),
    ]
    backend.replace_all(docs)
    assert len(backend) == 4

    hits = backend.search(IndexQuery())
    assert hits.image_ids == [4, 2, 3, 1]  # newest; 4 and 2 tie on created: higher id first
    assert hits.total == 4
    assert hits.facets == [(10, 2), (20, 2), (30, 1)]

    cases: list[tuple[IndexQuery, list[int]]] = [
        (IndexQuery(label_groups=(frozenset({10}),), sort="price_asc"), [2, 1]),
        (IndexQuery(label_groups=(frozenset({10}), frozenset({20}))), [1]),
        (IndexQuery(label_groups=(frozenset({10}), frozenset({30})), mode="any"), [2, 3, 1]),
        (IndexQuery(label_groups=(frozenset({10, 30}),), sort="price_desc"), [1, 3, 2]),
        (IndexQuery(sort="price_asc"), [2, 3, 1, 4]),
        (IndexQuery(sort="best_selling"), [4, 2, 1, 3]),
        (IndexQuery(min_price=100, max_price=500, sort="price_asc"), [2, 3, 1]),
        (IndexQuery(min_price=101), [4, 1]),
        (IndexQuery(max_price=99), []),
        (IndexQuery(min_price=600, max_price=100), []),
        (IndexQuery(label_groups=(frozenset(),)), []),
        (IndexQuery(label_groups=(frozenset(), frozenset({30})), mode="any"), [3]),
        (IndexQuery(label_groups=(frozenset({UNKNOWN_LABEL}),)), []),
        (IndexQuery(sort="price_asc", offset=1, limit=2), [3, 1]),
        (IndexQuery(offset=4), []),
    ]
    for query, expected in cases:
        assert backend.search(query).image_ids == expected, query

    facets = backend.search(IndexQuery(label_groups=(frozenset({20}),), facet_limit=2)).facets
    assert facets == [(20, 2), (10, 1)]  # (10, 1) beats (30, 1): lower label id


def test_quality_filter_and_sort(backend: SearchIndex) -> None:
    """``quality`` (the producer's score): an inclusive minimum and a sort, ties by id desc."""
    backend.replace_all(
        [
            ImageDoc(1, (10,), 500, 100.0, 3, quality=0.9),
            ImageDoc(2, (10,), 100, 300.0, 3, quality=0.4),
            ImageDoc(3, (20,), 100, 200.0, 0, quality=0.9),
        ]
    )
    backend.upsert(ImageDoc(4, (), 900, 300.0, 7, quality=0.61))
    assert backend.search(IndexQuery(sort="quality")).image_ids == [3, 1, 4, 2]
    assert backend.search(IndexQuery(min_quality=0.61)).image_ids == [4, 3, 1]
    assert backend.search(IndexQuery(min_quality=0.61, max_price=500)).total == 2
    hits = backend.search(IndexQuery(label_groups=(frozenset({10}),), min_quality=0.5))
    assert (hits.image_ids, hits.facets) == ([1], [(10, 1)])
    backend.upsert(ImageDoc(2, (10,), 100, 300.0, 3, quality=0.95))  # a review raised the score
    assert backend.search(IndexQuery(sort="quality", limit=1)).image_ids == [2]
    assert backend.search(IndexQuery(min_quality=1.0)).total == 0


@pytest.mark.parametrize("seed", range(4))
def test_random_queries_match_reference(backend: SearchIndex, seed: int) -> None:
    rng = random.Random(seed)
    docs = random_docs(rng, 600)
    reference = ReferenceIndex()
    reference.replace_all(docs)
    backend.replace_all(docs)
    assert len(backend) == len(reference)
    for _ in range(250):
        query = random_query(rng)
        assert_same(backend.search(query), reference.search(query), query)


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_pages_tile_the_full_result(backend: SearchIndex, sort: str) -> None:
    rng = random.Random(7)
    backend.replace_all(random_docs(rng, 400))
    base = IndexQuery(label_groups=(frozenset({1, 2}),), mode="any", sort=sort)  # type: ignore[arg-type]
    full = backend.search(replace(base, limit=10_000))
    assert len(full.image_ids) == full.total > 50
    pages: list[int] = []
    offset = 0
    while True:
        page = backend.search(replace(base, offset=offset, limit=7))
        assert page.total == full.total
        if not page.image_ids:
            break
        pages.extend(page.image_ids)
        offset += 7
    assert pages == full.image_ids
    assert len(set(pages)) == len(pages)


def test_updates_match_reference(backend: SearchIndex) -> None:
    rng = random.Random(42)
    docs = random_docs(rng, 500)
    reference = ReferenceIndex()
    reference.replace_all(docs)
    backend.replace_all(docs)
    known = [doc.image_id for doc in docs]
    for step in range(600):
        action = rng.random()
        if action < 0.45:  # change an existing image (labels, price, sales, date)
            doc = random_doc(rng, rng.choice(known))
        elif action < 0.6:  # a new image, sometimes far beyond the ids seen so far
            doc = random_doc(rng, rng.choice([rng.randint(1, 5000), rng.randint(10**5, 10**6)]))
            known.append(doc.image_id)
        else:
            doc = None
        if doc is not None:
            reference.upsert(doc)
            backend.upsert(doc)
        elif action < 0.8:
            image_id = rng.choice([*known, 77_777_777])
            reference.remove(image_id)
            backend.remove(image_id)
        if step % 3 == 0:
            query = random_query(rng)
            assert_same(backend.search(query), reference.search(query), query)
        assert len(backend) == len(reference)


def test_upsert_is_idempotent_and_remove_then_readd(backend: SearchIndex) -> None:
    doc = ImageDoc(5, (1, 2), 300, 10.0, 1)
    backend.upsert(doc)
    backend.upsert(doc)
    assert len(backend) == 1
    assert backend.search(IndexQuery()).facets == [(1, 1), (2, 1)]
    backend.remove(5)
    backend.remove(5)
    assert backend.search(IndexQuery(label_groups=(frozenset({1}),))).total == 0
    backend.upsert(replace(doc, label_ids=(3,)))
    hits = backend.search(IndexQuery())
    assert (hits.image_ids, hits.facets) == ([5], [(3, 1)])


def test_built_by_upserts_equals_bulk_build(backend: SearchIndex) -> None:
    rng = random.Random(3)
    docs = random_docs(rng, 300)
    reference = ReferenceIndex()
    reference.replace_all(docs)
    for doc in docs:
        backend.upsert(doc)
    for _ in range(150):
        query = random_query(rng)
        assert_same(backend.search(query), reference.search(query), query)


def test_replace_all_forgets_previous_content(backend: SearchIndex) -> None:
    backend.replace_all([ImageDoc(1, (1,), 100, 1.0, 0), ImageDoc(2, (2,), 100, 2.0, 0)])
    backend.upsert(ImageDoc(3, (3,), 100, 3.0, 0))
    backend.replace_all([ImageDoc(4, (1,), 50, 4.0, 0)])
    hits = backend.search(IndexQuery())
    assert (hits.image_ids, hits.total, hits.facets) == ([4], 1, [(1, 1)])


# ------------------------------------------------------------------------------- embedded only
def test_embedded_large_random_build_with_real_buckets() -> None:
    """Enough images that the default bucket path (64 buckets, size threshold) is taken."""
    rng = random.Random(11)
    docs = random_docs(rng, 30_000)
    reference = ReferenceIndex()
    reference.replace_all(docs)
    index = EmbeddedIndex(bucket_min_matches=1_000)
    index.replace_all(docs)
    for _ in range(40):
        query = replace(random_query(rng), label_groups=(), facet_limit=20)
        assert_same(index.search(query), reference.search(query), query)
    for _ in range(300):  # price changes move images between buckets
        doc = random_doc(rng, rng.choice(docs).image_id)
        index.upsert(doc)
        reference.upsert(doc)
    for _ in range(40):
        query = random_query(rng)
        assert_same(index.search(query), reference.search(query), query)


def test_embedded_load_columns_ignores_pairs_of_unknown_images() -> None:
    index = EmbeddedIndex()
    index.load_columns(
        image_ids=[3, 1],
        prices=[10, 20],
        created_ts=[1.0, 2.0],
        sales=[0, 0],
        pair_image_ids=[1, 2, 3, 3, 10_000],
        pair_label_ids=[7, 7, 8, 8, 7],
    )
    hits = index.search(IndexQuery())
    assert (hits.image_ids, hits.facets) == ([1, 3], [(7, 1), (8, 1)])
    assert index.memory_bytes() > 0


def test_embedded_rejects_bad_ids() -> None:
    index = EmbeddedIndex()
    with pytest.raises(ValueError, match="duplicate"):
        index.replace_all([ImageDoc(1, (), 0, 0.0, 0), ImageDoc(1, (), 0, 0.0, 0)])
    with pytest.raises(ValueError, match="out of range"):
        index.upsert(ImageDoc(-1, (), 0, 0.0, 0))
    with pytest.raises(ValueError, match="out of range"):
        index.upsert(ImageDoc(2**33, (), 0, 0.0, 0))


def test_embedded_is_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(5)
    docs = random_docs(rng, 2_000)
    index = EmbeddedIndex()
    index.replace_all(docs)

    def writer(seed: int) -> None:
        local = random.Random(seed)
        for _ in range(300):
            index.upsert(random_doc(local, local.choice(docs).image_id))

    def reader(seed: int) -> None:
        local = random.Random(seed)
        for _ in range(100):
            hits = index.search(random_query(local))
            assert len(set(hits.image_ids)) == len(hits.image_ids)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(writer, 1), pool.submit(writer, 2)]
        futures += [pool.submit(reader, 3), pool.submit(reader, 4)]
        for future in futures:
            future.result()
    assert len(index) == len(docs)


def _callable_check(factory: Callable[[], SearchIndex]) -> None:  # keeps mypy honest on the port
    index: SearchIndex = factory()
    assert isinstance(index, SearchIndex)


def test_backends_satisfy_the_protocol() -> None:
    _callable_check(EmbeddedIndex)
    _callable_check(ReferenceIndex)


@pytest.mark.parametrize("buckets", [1, 2, 6, 64])
def test_embedded_price_ranges_at_every_bucket_edge(buckets: int) -> None:
    """Every (min, max) pair over consecutive prices, so each bucket boundary is crossed."""
    docs = [ImageDoc(i, (1,), i // 3, float(i), 0) for i in range(180)]  # prices 0..59, 3 each
    index = EmbeddedIndex(price_buckets=buckets, bucket_min_matches=0)
    index.replace_all(docs)
    index.upsert(ImageDoc(500, (1,), 1_000, 0.0, 0))  # beyond the top edge after the build
    prices = [doc.price_cents for doc in docs] + [1_000]
    for lo in [None, *range(-1, 62)]:
        for hi in [None, *range(-1, 62)]:
            expected = sum((lo is None or p >= lo) and (hi is None or p <= hi) for p in prices)
            for groups in ((), (frozenset({1}),)):
                query = IndexQuery(
                    label_groups=groups, min_price=lo, max_price=hi, limit=0, facet_limit=0
                )
                assert index.search(query).total == expected, (lo, hi)
