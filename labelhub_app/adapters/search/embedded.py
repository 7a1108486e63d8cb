"""The embedded search index: roaring bitmaps + numpy arrays in this process's memory.

Design 3 of docs/search-notes.md. The database is the store of record; this index is rebuilt from
it at start and fed from the search outbox, so losing it loses nothing.

Layout:

- one ``BitMap`` of image ids per label (only images in the index), plus ``alive`` (all of them);
- numpy arrays indexed by image id for price (int64 cents), created (float64 epoch seconds) and
  sales (int64), grown by doubling;
- price-bucket bitmaps (equal-count buckets chosen at build time) so that a price range over a large
  match set is a union of whole buckets plus a numpy filter of the two edge buckets;
- each image's own labels (a CSR array from the bulk build, plus a dict for images changed since),
  needed to take an image out of its old labels when it changes.

A query unions each label group, intersects (``all``) or unions (``any``) the groups, applies the
price range, picks the page with a partition over the sort key of the matched ids (exact ties
broken by id), and counts facets with ``intersection_cardinality`` over labels in descending
global frequency, stopping once a label's global count is below the current last facet's count
(exact: no later label can reach it).
"""

from __future__ import annotations

import array
import heapq
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap

from labelhub_app.adapters.search.base import ImageDoc, IndexHits, IndexQuery

MAX_IMAGE_ID = 2**32 - 2  # BitMap holds 32-bit values; keep one spare for safety
_PRICE_INF = np.iinfo(np.int64).max

IntArray = npt.NDArray[np.int64]


def _bitmap_from(ids: npt.NDArray[Any]) -> BitMap:
    """A BitMap from a numpy array of ids; via array.array, about 10x faster than iterating."""
    buf = array.array("I")
    buf.frombytes(np.ascontiguousarray(ids, dtype=np.uint32).tobytes())
    return BitMap(buf)


def _dense_codes(label_ids: IntArray) -> tuple[IntArray, IntArray]:
    """(distinct label ids ascending, each pair's index into them); a lookup table when ids are
    small (label ids are database ids), which is several times faster than np.unique."""
    if len(label_ids) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low, high = int(label_ids.min()), int(label_ids.max())
    if low < 0 or high > 50_000_000:
        distinct, codes = np.unique(label_ids, return_inverse=True)
        return distinct.astype(np.int64), codes.astype(np.int64)
    present = np.zeros(high + 1, dtype=bool)
    present[label_ids] = True
    lookup = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(np.int64), lookup[label_ids]


def _ids_of(bm: BitMap) -> npt.NDArray[np.uint32]:
    """The ids in ``bm`` as a sorted uint32 array (no Python iteration)."""
    return np.frombuffer(bm.to_array(), dtype=np.uint32)


def _top_k_positions(values: npt.NDArray[Any], k: int, descending: bool) -> npt.NDArray[np.intp]:
    """Positions of the first ``k`` elements in (value, position) order, asc or both desc.

    ``values`` are the sort keys of matched ids listed in ascending id order, so a position order
    is an id order: ties break by id ascending (asc) or descending (desc), as the port requires.
    Exact for any dtype (floats included): partition finds the k-th value, everything strictly
    better is taken, and the ties at the k-th value are filled in id order.
    """
    n = len(values)
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.intp)
    if k >= n:
        order = np.argsort(values, kind="stable")
        return order[::-1] if descending else order
    if descending:
        kth = np.partition(values, n - k)[n - k]
        better = np.flatnonzero(values > kth)
        ties = np.flatnonzero(values == kth)
        ties = ties[len(ties) - (k - len(better)) :]
    else:
        kth = np.partition(values, k - 1)[k - 1]
        better = np.flatnonzero(values < kth)
        ties = np.flatnonzero(values == kth)[: k - len(better)]
    chosen = np.concatenate((better, ties))
    chosen.sort()  # back to id order, so the stable sort below breaks ties by id
    order = chosen[np.argsort(values[chosen], kind="stable")]
    return order[::-1] if descending else order


class EmbeddedIndex:
    """An in-memory ``SearchIndex``; thread-safe (one lock around every call).

    ``price_buckets``: how many equal-count price buckets to build. ``bucket_min_matches``: below
    this many matches a price range is filtered with numpy over the matches alone, which is
    cheaper than touching the buckets.
    """

    def __init__(self, *, price_buckets: int = 64, bucket_min_matches: int = 20_000) -> None:
        self._lock = threading.RLock()
        self._price_buckets = max(1, price_buckets)
        self._bucket_min_matches = bucket_min_matches
        self._reset(capacity=1024)

    # ----------------------------------------------------------------------------- state
    def _reset(self, capacity: int) -> None:
        self._alive = BitMap()
        self._labels: dict[int, BitMap] = {}
        self._price: IntArray = np.zeros(capacity, dtype=np.int64)
        self._created: npt.NDArray[np.float64] = np.zeros(capacity, dtype=np.float64)
        self._sales: IntArray = np.zeros(capacity, dtype=np.int64)
        self._quality: npt.NDArray[np.float64] = np.zeros(capacity, dtype=np.float64)
        # each image's own labels: CSR from the last bulk build, overridden by _changed
        self._base_offsets: IntArray = np.zeros(1, dtype=np.int64)
        self._base_codes: npt.NDArray[np.integer[Any]] = np.zeros(0, dtype=np.int16)
        self._base_label_ids: IntArray = np.zeros(0, dtype=np.int64)
        self._changed: dict[int, tuple[int, ...]] = {}
        # price buckets: bucket b holds prices in [edges[b-1], edges[b]) (open ends at the sides)
        self._edges: IntArray = np.zeros(0, dtype=np.int64)
        self._buckets: list[BitMap] = [BitMap()]
        self._by_frequency: list[tuple[int, BitMap, int]] | None = None

    def _ensure_capacity(self, image_id: int) -> None:
        cap = len(self._price)
        if image_id < cap:
            return
        new_cap = max(cap * 2, image_id + 1)
        for name in ("_price", "_created", "_sales", "_quality"):
            old = getattr(self, name)
            grown = np.zeros(new_cap, dtype=old.dtype)
            grown[:cap] = old
            setattr(self, name, grown)

    def _bucket_of(self, price: int) -> int:
        return int(np.searchsorted(self._edges, price, side="right"))

    def _labels_of(self, image_id: int) -> tuple[int, ...]:
        """The labels the index holds for an image that is in it."""
        if image_id in self._changed:
            return self._changed[image_id]
        if image_id + 1 < len(self._base_offsets):
            lo, hi = self._base_offsets[image_id], self._base_offsets[image_id + 1]
            return tuple(self._base_label_ids[self._base_codes[lo:hi]].tolist())
        return ()

    # ----------------------------------------------------------------------------- writes
    def __len__(self) -> int:
        with self._lock:
            return len(self._alive)

    def replace_all(self, docs: Iterable[ImageDoc]) -> None:
        ids = array.array("q")
        prices = array.array("q")
        created = array.array("d")
        sales = array.array("q")
        quality = array.array("d")
        pair_images = array.array("q")
        pair_labels = array.array("q")
        for doc in docs:
            ids.append(doc.image_id)
            prices.append(doc.price_cents)
            created.append(doc.created_ts)
            sales.append(doc.sales_count)
            quality.append(doc.quality)
            for label_id in doc.label_ids:
                pair_images.append(doc.image_id)
                pair_labels.append(label_id)
        self.load_columns(
            image_ids=np.frombuffer(ids, dtype=np.int64),
            prices=np.frombuffer(prices, dtype=np.int64),
            created_ts=np.frombuffer(created, dtype=np.float64),
            sales=np.frombuffer(sales, dtype=np.int64),
            quality=np.frombuffer(quality, dtype=np.float64),
            pair_image_ids=np.frombuffer(pair_images, dtype=np.int64),
            pair_label_ids=np.frombuffer(pair_labels, dtype=np.int64),
        )

    def load_columns(
        self,
        *,
        image_ids: npt.ArrayLike,
        prices: npt.ArrayLike,
        created_ts: npt.ArrayLike,
        sales: npt.ArrayLike,
        pair_image_ids: npt.ArrayLike,
        pair_label_ids: npt.ArrayLike,
        quality: npt.ArrayLike | None = None,
    ) -> None:
        """``replace_all`` from columns (the fast path for a rebuild from the database).

        The first four arrays describe one image each; ``pair_*`` list (image, label) pairs, and
        pairs naming an image not among ``image_ids`` are ignored (e.g. withdrawn images).
        ``quality`` (one per image, 0..1) defaults to zeros.
        """
        ids = np.asarray(image_ids, dtype=np.int64)
        price_col = np.asarray(prices, dtype=np.int64)
        created_col = np.asarray(created_ts, dtype=np.float64)
        sales_col = np.asarray(sales, dtype=np.int64)
        quality_col = (
            np.zeros(len(ids), dtype=np.float64)
            if quality is None
            else np.asarray(quality, dtype=np.float64)
        )
        if not (
            len(ids) == len(price_col) == len(created_col) == len(sales_col) == len(quality_col)
        ):
            raise ValueError("image columns differ in length")
        if len(ids) and (ids.min() < 0 or ids.max() > MAX_IMAGE_ID):
            raise ValueError(f"image ids must be in 0..{MAX_IMAGE_ID}")
        pi = np.asarray(pair_image_ids, dtype=np.int64)
        pl = np.asarray(pair_label_ids, dtype=np.int64)
        if len(pi) != len(pl):
            raise ValueError("label pair columns differ in length")

        cap = max(1024, int(ids.max()) + 1 if len(ids) else 0)
        alive_mask = np.zeros(cap, dtype=bool)
        alive_mask[ids] = True
        if np.count_nonzero(alive_mask) != len(ids):
            raise ValueError("duplicate image ids given to the index")
        sorted_ids = np.flatnonzero(alive_mask)
        inside = (pi >= 0) & (pi < cap)
        inside[inside] = alive_mask[pi[inside]]
        pi, pl = pi[inside], pl[inside]
        label_ids, codes = _dense_codes(pl)
        # one sort of (image, label) keys puts the pairs in image order and exposes duplicates
        width = max(1, len(label_ids))
        keys = pi * width + codes
        keys.sort()
        if len(keys) > 1:
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        pi = keys // width
        codes = keys - pi * width
        code_dtype = np.int16 if width < 2**15 else np.int32  # int16 sorts by radix below

        with self._lock:
            self._reset(capacity=cap)
            self._price[ids] = price_col
            self._created[ids] = created_col
            self._sales[ids] = sales_col
            self._quality[ids] = quality_col
            self._alive = _bitmap_from(sorted_ids)

            offsets = np.zeros(cap + 1, dtype=np.int64)
            np.cumsum(np.bincount(pi, minlength=cap), out=offsets[1:])
            self._base_offsets = offsets
            self._base_codes = codes.astype(code_dtype)
            self._base_label_ids = label_ids

            # per-label bitmaps: a stable sort by label keeps the image ids ascending in each run
            if len(keys):
                by_label = np.argsort(self._base_codes, kind="stable")
                sorted_images = pi[by_label]
                bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=width))))
                for code, label_id in enumerate(label_ids.tolist()):
                    run = sorted_images[bounds[code] : bounds[code + 1]]
                    if len(run):
                        self._labels[label_id] = _bitmap_from(run)

            self._build_buckets(sorted_ids)

    def _build_buckets(self, ids: IntArray) -> None:
        if len(ids) == 0 or self._price_buckets == 1:
            self._edges = np.zeros(0, dtype=np.int64)
            self._buckets = [BitMap(self._alive)]
            return
        prices = self._price[ids]  # ids are sorted
        qs = np.linspace(0, 1, self._price_buckets + 1)[1:-1]
        edges = np.unique(np.quantile(prices, qs, method="higher").astype(np.int64))
        edges = edges[edges > prices.min()]  # bucket 0 would be empty otherwise
        self._edges = edges
        ordered = ids
        which = np.searchsorted(edges, prices, side="right")
        by_bucket = np.argsort(which, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(which, minlength=len(edges) + 1))))
        members = ordered[by_bucket]
        self._buckets = [
            _bitmap_from(members[bounds[b] : bounds[b + 1]]) for b in range(len(edges) + 1)
        ]

    def upsert(self, doc: ImageDoc) -> None:
        image_id = doc.image_id
        if not 0 <= image_id <= MAX_IMAGE_ID:
            raise ValueError(f"image id {image_id} out of range 0..{MAX_IMAGE_ID}")
        new_labels = tuple(sorted(set(doc.label_ids)))
        with self._lock:
            self._ensure_capacity(image_id)
            if image_id in self._alive:
                old_labels = set(self._labels_of(image_id))
                old_bucket = self._bucket_of(int(self._price[image_id]))
                new_bucket = self._bucket_of(doc.price_cents)
                if old_bucket != new_bucket:
                    self._buckets[old_bucket].discard(image_id)
                    self._buckets[new_bucket].add(image_id)
            else:
                old_labels = set()
                self._alive.add(image_id)
                self._buckets[self._bucket_of(doc.price_cents)].add(image_id)
            for label_id in old_labels.difference(new_labels):
                self._discard_label(label_id, image_id)
            for label_id in set(new_labels).difference(old_labels):
                bm = self._labels.get(label_id)
                if bm is None:
                    bm = self._labels[label_id] = BitMap()
                bm.add(image_id)
            self._price[image_id] = doc.price_cents
            self._created[image_id] = doc.created_ts
            self._sales[image_id] = doc.sales_count
            self._quality[image_id] = doc.quality
            self._changed[image_id] = new_labels
            self._by_frequency = None

    def remove(self, image_id: int) -> None:
        with self._lock:
            if image_id not in self._alive:
                return
            for label_id in self._labels_of(image_id):
                self._discard_label(label_id, image_id)
            self._buckets[self._bucket_of(int(self._price[image_id]))].discard(image_id)
            self._alive.discard(image_id)
            self._changed.pop(image_id, None)
            if image_id + 1 < len(self._base_offsets):
                self._changed[image_id] = ()  # the CSR entry is stale from now on
            self._by_frequency = None

    def _discard_label(self, label_id: int, image_id: int) -> None:
        bm = self._labels.get(label_id)
        if bm is None:
            return
        bm.discard(image_id)
        if not bm:
            del self._labels[label_id]

    # ----------------------------------------------------------------------------- reads
    def search(self, query: IndexQuery) -> IndexHits:
        if query.offset < 0 or query.limit < 0 or query.facet_limit < 0:
            raise ValueError("offset, limit and facet_limit must not be negative")
        with self._lock:
            matches = self._match(query)
            total = len(matches)
            page = self._page(matches, query)
            facets = self._facets(matches, query.facet_limit)
        return IndexHits(image_ids=page, total=total, facets=facets)

    def _match(self, query: IndexQuery) -> BitMap:
        """The matched ids. May return an internal bitmap: callers must not change it."""
        if query.label_groups:
            groups = [self._group(group) for group in query.label_groups]
            if query.mode == "all":
                groups.sort(key=len)
                matches = groups[0] if len(groups) == 1 else BitMap.intersection(*groups)
            else:
                matches = groups[0] if len(groups) == 1 else BitMap.union(*groups)
        else:
            matches = self._alive
        if query.min_price is not None or query.max_price is not None:
            lo = query.min_price if query.min_price is not None else -_PRICE_INF
            hi = query.max_price if query.max_price is not None else _PRICE_INF
            matches = self._price_filter(matches, lo, hi)
        if query.min_quality is not None and matches:
            arr = _ids_of(matches)
            matches = _bitmap_from(arr[self._quality[arr] >= query.min_quality])
        return matches

    def _group(self, label_ids: frozenset[int]) -> BitMap:
        bms = [bm for label_id in label_ids if (bm := self._labels.get(label_id)) is not None]
        if not bms:
            return BitMap()
        return bms[0] if len(bms) == 1 else BitMap.union(*bms)

    def _filter_np(self, ids: BitMap, lo: int, hi: int) -> BitMap:
        arr = _ids_of(ids)
        prices = self._price[arr]
        return _bitmap_from(arr[(prices >= lo) & (prices <= hi)])

    def _price_filter(self, matches: BitMap, lo: int, hi: int) -> BitMap:
        if lo > hi or not matches:
            return BitMap()
        if len(matches) < self._bucket_min_matches or len(self._buckets) == 1:
            return self._filter_np(matches, lo, hi)
        first, last = self._bucket_of(lo), self._bucket_of(hi)
        edges = self._edges
        # A side bucket is wholly inside the range when the range covers its bounds (prices are
        # integers). The outer buckets are open-ended, so only an open range side covers them.
        first_whole = lo == -_PRICE_INF or (first > 0 and lo <= edges[first - 1])
        last_whole = hi == _PRICE_INF or (last < len(edges) and hi >= edges[last] - 1)
        whole = list(range(first + (0 if first_whole else 1), last + (1 if last_whole else 0)))
        parts: list[BitMap] = []
        if whole:
            inner = BitMap.union(*(self._buckets[b] for b in whole))
            parts.append(inner if matches is self._alive else inner & matches)
        for b in {first, last}:
            if b not in whole:
                parts.append(self._filter_np(self._buckets[b] & matches, lo, hi))
        if not parts:
            return BitMap()
        return parts[0] if len(parts) == 1 else BitMap.union(*parts)

    def _page(self, matches: BitMap, query: IndexQuery) -> list[int]:
        total = len(matches)
        if query.limit == 0 or query.offset >= total:
            return []
        k = min(query.offset + query.limit, total)
        ids = _ids_of(matches)
        if query.sort == "newest":
            values: npt.NDArray[Any] = self._created[ids]
            descending = True
        elif query.sort == "price_asc":
            values, descending = self._price[ids], False
        elif query.sort == "price_desc":
            values, descending = self._price[ids], True
        elif query.sort == "best_selling":
            values, descending = self._sales[ids], True
        elif query.sort == "quality":
            values, descending = self._quality[ids], True
        else:
            raise ValueError(f"unknown sort {query.sort!r}")
        positions = _top_k_positions(values, k, descending)[query.offset : k]
        return ids[positions].astype(np.int64).tolist()  # type: ignore[no-any-return]

    def _labels_by_frequency(self) -> list[tuple[int, BitMap, int]]:
        if self._by_frequency is None:
            ranked = [(label_id, bm, len(bm)) for label_id, bm in self._labels.items()]
            ranked.sort(key=lambda item: (-item[2], item[0]))
            self._by_frequency = ranked
        return self._by_frequency

    def _facets(self, matches: BitMap, limit: int) -> list[tuple[int, int]]:
        if limit == 0 or not matches:
            return []
        everything = matches is self._alive
        best: list[tuple[int, int]] = []  # min-heap of (count, -label_id): the root is the worst
        for label_id, bm, global_count in self._labels_by_frequency():
            if len(best) == limit and global_count < best[0][0]:
                break  # every later label has at most this many images: none can enter
            count = global_count if everything else matches.intersection_cardinality(bm)
            if count == 0:
                continue
            item = (count, -label_id)
            if len(best) < limit:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
        best.sort(reverse=True)
        return [(-neg_id, count) for count, neg_id in best]

    # ----------------------------------------------------------------------------- misc
    def memory_bytes(self) -> int:
        """About how much memory the index holds (arrays plus bitmap containers)."""
        with self._lock:
            arrays = (
                self._price,
                self._created,
                self._sales,
                self._quality,
                self._base_offsets,
                self._base_codes,
                self._base_label_ids,
                self._edges,
            )
            bitmaps = [self._alive, *self._labels.values(), *self._buckets]
            total = sum(a.nbytes for a in arrays)
            for bm in bitmaps:
                stats = bm.get_statistics()
                total += (
                    16 * stats["n_containers"]
                    + stats["n_bytes_array_containers"]
                    + stats["n_bytes_run_containers"]
                    + stats["n_bytes_bitset_containers"]
                )
            return total + 200 * len(self._changed)  # a dict entry and a small tuple each

    def label_counts(self, label_ids: Sequence[int]) -> dict[int, int]:
        """How many indexed images carry each label (diagnostics and tests)."""
        with self._lock:
            return {i: len(self._labels[i]) if i in self._labels else 0 for i in label_ids}
