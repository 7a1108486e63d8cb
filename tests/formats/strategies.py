"""Hypothesis strategies for random datasets, and the round-trip comparison all formats share."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from labelhub_app.formats.records import Box, Dataset, ImageRecord, used_labels

# Fast enough that the formats suite stays well under 20 s on two cores.
ROUND_TRIP = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Spaces, quotes, YAML/JSON/XML specials and non-ASCII: what breaks naive writers.
LABEL_ALPHABET = "ab é:#'\"-<&"
label_names = st.text(alphabet=LABEL_ALPHABET, min_size=1, max_size=6).map(str.strip).filter(bool)


@st.composite
def boxes_in(draw: st.DrawFn, width: int, height: int, names: list[str], scores: bool) -> Box:
    """A box inside a ``width`` x ``height`` image: whole pixels, 2-decimal or any float."""
    label = draw(st.sampled_from(names))
    coords: list[float] = []
    for size in (width, height):
        kind = draw(st.sampled_from(["whole", "cents", "float"]))
        if kind == "whole":
            start = draw(st.integers(0, size - 1))
            coords += [start, draw(st.integers(1, size - start))]
        elif kind == "cents":
            start = draw(st.integers(0, size * 100 - 1))
            coords += [start / 100, draw(st.integers(1, size * 100 - start)) / 100]
        else:
            start_f = draw(st.floats(0, size - 0.02))
            coords += [start_f, draw(st.floats(0.01, size - start_f))]
    score = draw(st.none() | st.floats(0, 1)) if scores else None
    x, w, y, h = coords
    return Box(label, x, y, w, h, score)


@st.composite
def datasets(
    draw: st.DrawFn,
    *,
    scores: bool = False,
    metadata: bool = False,
    unused_categories: bool = False,
    max_images: int = 5,
) -> Dataset:
    """Random images: some empty, some with image-level labels only, some with boxes."""
    names = draw(st.lists(label_names, min_size=1, max_size=5, unique=True))
    images = []
    for i in range(draw(st.integers(0, max_images))):
        width, height = draw(st.integers(1, 4000)), draw(st.integers(1, 4000))
        kind = draw(st.sampled_from(["empty", "labels", "boxes", "both"]))
        labels = (
            tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)))
            if kind in ("labels", "both")
            else ()
        )
        boxes = (
            tuple(draw(st.lists(boxes_in(width, height, names, scores), min_size=1, max_size=4)))
            if kind in ("boxes", "both")
            else ()
        )
        folder = draw(st.sampled_from(["", "sub/", "a b/c/"]))
        stem = draw(st.sampled_from(["img", "photo 1", "Straße ☀", "x.y"]))
        ext = draw(st.sampled_from([".jpg", ".png", ".JPEG"]))
        image_id = draw(st.sampled_from(["", "3f2b8c1e-0000-4000-8000-000000000001"]))
        licence = draw(st.sampled_from(["", "cc-by-4.0", "standard"]))
        images.append(
            ImageRecord(
                f"{folder}{stem}_{i}{ext}",
                width,
                height,
                labels,
                boxes,
                image_id if metadata else "",
                licence if metadata else "",
            )
        )
    used = sorted(used_labels(images))
    extra = [n for n in names if n not in used] if unused_categories else []
    categories = draw(st.permutations(used + extra))
    return Dataset(tuple(images), tuple(categories))


def assert_same(
    got: Dataset,
    want: Dataset,
    *,
    tolerance: float = 0.0,
    scores: bool = False,
    metadata: bool = False,
) -> None:
    """Same images, labels and boxes; coordinates within ``tolerance`` px (0: exactly equal)."""
    assert [i.file_name for i in got.images] == [i.file_name for i in want.images]
    for g, w in zip(got.images, want.images, strict=True):
        assert (g.width, g.height, g.labels) == (w.width, w.height, w.labels), g.file_name
        if metadata:
            assert (g.image_id, g.licence) == (w.image_id, w.licence)
        assert [b.label for b in g.boxes] == [b.label for b in w.boxes], g.file_name
        for gb, wb in zip(g.boxes, w.boxes, strict=True):
            got_xywh, want_xywh = (gb.x, gb.y, gb.w, gb.h), (wb.x, wb.y, wb.w, wb.h)
            if tolerance:
                assert all(
                    math.isclose(a, b, rel_tol=0, abs_tol=tolerance)
                    for a, b in zip(got_xywh, want_xywh, strict=True)
                ), (g.file_name, gb, wb)
            else:
                assert got_xywh == want_xywh, (g.file_name, gb, wb)
            assert gb.score == (wb.score if scores else None)
