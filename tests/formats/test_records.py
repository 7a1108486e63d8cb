"""The shared dataset model: validation, box fitting, side-file paths, merging."""

from __future__ import annotations

import math

import pytest

from labelhub_app.errors import InvalidInput
from labelhub_app.formats.records import (
    Box,
    Dataset,
    ImageRecord,
    ImportResult,
    Problem,
    clean_label,
    fit_box,
    merge_results,
    sidecar_paths,
)


def test_of_defaults_categories_to_sorted_labels() -> None:
    image = ImageRecord("a.jpg", 10, 10, ("zebra",), (Box("cat", 0, 0, 1, 1),))
    assert Dataset.of([image]).categories == ("cat", "zebra")
    assert Dataset.of([image], ["zebra", "cat", "dog"]).categories == ("zebra", "cat", "dog")


@pytest.mark.parametrize(
    ("image", "categories", "message"),
    [
        (ImageRecord("a.jpg", 10, 10, ("dog",)), ("cat",), "not a category"),
        (ImageRecord("a.jpg", 0, 10), (), "size must be positive"),
        (ImageRecord("a.jpg", 10, 10, ("cat", "cat")), ("cat",), "given twice"),
        (ImageRecord("a.jpg", 10, 10, (), (Box("cat", 5, 5, 6, 1),)), ("cat",), "not inside"),
        (ImageRecord("a.jpg", 10, 10, (), (Box("cat", 5, 5, 0, 1),)), ("cat",), "no area"),
        (
            ImageRecord("a.jpg", 10, 10, (), (Box("cat", math.nan, 5, 1, 1),)),
            ("cat",),
            "non-finite",
        ),
        (ImageRecord("a\nb.jpg", 10, 10), (), "control character"),
        (ImageRecord("a.jpg", 10, 10), (" cat",), "white space"),
        (ImageRecord("a.jpg", 10, 10), ("cat", "cat"), "given twice"),
    ],
)
def test_dataset_refuses_inconsistent_records(
    image: ImageRecord, categories: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Dataset((image,), categories)


def test_dataset_refuses_duplicate_file_names() -> None:
    with pytest.raises(ValueError, match="twice"):
        Dataset.of([ImageRecord("a.jpg", 1, 1), ImageRecord("a.jpg", 2, 2)])


def test_fit_box_keeps_inside_boxes_exactly() -> None:
    assert fit_box("cat", 0.1, 0.2, 9.9, 9.8, width=10, height=10) == (
        Box("cat", 0.1, 0.2, 9.9, 9.8),
        None,
    )


def test_fit_box_clips_and_reports_overhang() -> None:
    box, problem = fit_box("cat", -2, 5, 6, 10, width=10, height=10)
    assert box == Box("cat", 0, 5, 4, 5)
    assert problem is not None and "clipped" in problem and "10x10" in problem


def test_fit_box_clips_rounding_overhang_silently() -> None:
    box, problem = fit_box("cat", -0.3, 0, 5, 5, width=10, height=10, slack=0.5)
    assert box == Box("cat", 0, 0, 4.7, 5) and problem is None


@pytest.mark.parametrize(
    ("xywh", "message"),
    [
        ((20, 0, 5, 5), "outside"),
        ((-5, 0, 5, 5), "outside"),
        ((1, 1, 0, 5), "no area"),
        ((1, 1, -2, 5), "no area"),
        ((math.inf, 1, 2, 5), "finite"),
    ],
)
def test_fit_box_drops_unusable_boxes(xywh: tuple[float, ...], message: str) -> None:
    box, problem = fit_box("cat", *xywh, width=10, height=10)
    assert box is None and problem is not None and message in problem


def test_clean_label() -> None:
    assert clean_label("  dog ") == ("dog", None)
    assert clean_label("")[0] is None
    assert clean_label(3)[0] is None
    assert clean_label("a\u2028b")[0] is None


def test_sidecar_paths_refuse_collisions_and_escapes() -> None:
    paths = sidecar_paths(
        [ImageRecord("sub/a.jpg", 1, 1), ImageRecord("b", 1, 1)], "labels", ".txt"
    )
    assert list(paths) == ["labels/sub/a.txt", "labels/b.txt"]
    with pytest.raises(ValueError, match="rename one"):
        sidecar_paths([ImageRecord("a.jpg", 1, 1), ImageRecord("a.png", 1, 1)], "x", ".txt")
    for name in ("../a.jpg", "/etc/a.jpg", "a\\b.jpg"):
        with pytest.raises(ValueError, match="cannot be written"):
            sidecar_paths([ImageRecord(name, 1, 1)], "x", ".txt")


def test_merge_reports_duplicates_and_keeps_problems() -> None:
    first = ImportResult(Dataset.of([ImageRecord("a.jpg", 1, 1, ("b",))]))
    second = ImportResult(
        Dataset.of([ImageRecord("a.jpg", 2, 2), ImageRecord("c.jpg", 1, 1, ("a",))]),
        (Problem("two.xml", 3, "c.jpg", "something"),),
    )
    merged = merge_results([("one.xml", first), ("two.xml", second)])
    assert [i.file_name for i in merged.dataset.images] == ["a.jpg", "c.jpg"]
    assert merged.dataset.categories == ("a", "b")
    assert [str(p) for p in merged.problems] == [
        "two.xml, line 3: c.jpg: something",
        "two.xml: a.jpg: image already imported from one.xml; skipped",
    ]


def test_raise_for_problems() -> None:
    ok = ImportResult(Dataset.of([]))
    assert ok.raise_for_problems() == ok.dataset
    bad = ImportResult(ok.dataset, tuple(Problem("f", n, "", "bad") for n in range(30)))
    with pytest.raises(InvalidInput, match="and 10 more"):
        bad.raise_for_problems()
