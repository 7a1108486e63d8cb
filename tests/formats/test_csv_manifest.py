"""The CSV manifest: round trips, the formula-injection guard, and bad input."""

from __future__ import annotations

import csv
import io

import pytest

from labelhub_app.errors import InvalidInput
from labelhub_app.formats.csv_manifest import (
    COLUMNS,
    ManifestRow,
    escape_cell,
    read_manifest,
    unescape_cell,
    write_manifest,
)

ROWS = [
    ManifestRow("uuid-1", "images/dog.jpg", ("animal", "dog"), "cc-by-4.0", "swift-otter", 250),
    ManifestRow("uuid-2", 'images/a, "quoted"\nname.jpg', (), "standard", "calm-owl", 0),
    ManifestRow("uuid-3", 'images/=HYPERLINK("http://x").jpg', ("car",), "cc0-1.0", "+sly", 1),
    ManifestRow("uuid-4", "images/Straße ☀.jpg", ("red car",), "standard", "@me", 99_999),
]


def _round_trip(rows: list[ManifestRow]) -> tuple[str, list[ManifestRow]]:
    out = io.StringIO(newline="")
    assert write_manifest(rows, out) == len(rows)
    text = out.getvalue()
    return text, read_manifest(io.StringIO(text, newline=""))


def test_round_trip() -> None:
    text, back = _round_trip(ROWS)
    assert back == ROWS
    assert text.startswith("image_id,file,labels,licence,producer,price_cents\r\n")
    assert "\r\nuuid-1,images/dog.jpg,animal;dog,cc-by-4.0,swift-otter,250\r\n" in text


@pytest.mark.parametrize(
    "value",
    [
        "=1+2",
        "+1",
        "-1",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "'quoted",
        "'=x",
        "''",
        "'",
        "plain",
        "",
        "a=b",
        "x'",
    ],
)
def test_escape_round_trips(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value


def test_formula_cells_are_defused_on_disk() -> None:
    row = ManifestRow("=cmd|' /C calc'!A0", "-2+3.jpg", ("dog",), "@x", "+p", 5)
    text, back = _round_trip([row])
    cells = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert cells == ["'=cmd|' /C calc'!A0", "'-2+3.jpg", "dog", "'@x", "'+p", "5"]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in cells)
    assert back == [row]


def test_a_lone_apostrophe_is_kept_when_reading_foreign_files() -> None:
    text = ",".join(COLUMNS) + "\r\nu,'hello,dog,standard,p,1\r\n"
    [row] = read_manifest(io.StringIO(text, newline=""))
    assert row.file == "'hello"


def test_columns_in_any_order_extra_ignored() -> None:
    text = "price_cents,producer,extra,licence,labels,file,image_id\n7,p,zzz,standard,a;b,f.jpg,u\n"
    assert read_manifest(io.StringIO(text, newline="")) == [
        ManifestRow("u", "f.jpg", ("a", "b"), "standard", "p", 7)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,labels\nx,y\n", "missing column"),
        (",".join(COLUMNS) + "\nu,f,l,standard,p,2.5\n", "line 2: price_cents must be a whole"),
        (",".join(COLUMNS) + "\nu,f,l,standard,p,1\nu,f,l,standard,p,-1\n", "line 3: .*negative"),
        (",".join(COLUMNS) + "\nu,f,l\n", "line 2: expected 6 cells"),
    ],
)
def test_bad_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_manifest(io.StringIO(text, newline=""))


def test_label_with_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="contains"):
        write_manifest([ManifestRow("u", "f", ("a;b",), "standard", "p", 1)], io.StringIO())
