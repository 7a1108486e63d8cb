"""The CSV manifest of a download: one row per image, readable by spreadsheets and pandas.

On disk (RFC 4180, UTF-8, CRLF line ends, a header row)::

    image_id,file,labels,licence,producer,price_cents
    6f1c...-uuid,images/dog.jpg,animal;dog,cc-by-4.0,swift-otter,250

- ``image_id``: the image's public uuid on LabelHub.
- ``file``: the path inside the download (``images/<name>``).
- ``labels``: image-level label names joined with ``;`` (label names never contain ``;``).
- ``licence``: the licence code (``standard``, ``cc-by-4.0``, ``cc0-1.0``).
- ``producer``: the producer's pseudonym. ``price_cents``: what was paid, integer cents.

Spreadsheets run a cell that starts with ``= + - @`` (or a tab or carriage return) as a formula,
so such a text cell is written with a leading apostrophe; a cell that itself starts with an
apostrophe gets one more, so reading strips exactly one and every value round-trips.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from labelhub_app.errors import InvalidInput

COLUMNS = ("image_id", "file", "labels", "licence", "producer", "price_cents")
LABEL_SEPARATOR = ";"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"


@dataclass(frozen=True)
class ManifestRow:
    image_id: str
    file: str
    labels: tuple[str, ...]
    licence: str
    producer: str
    price_cents: int

    def to_csv_row(self) -> list[str]:
        for label in self.labels:
            if LABEL_SEPARATOR in label:
                raise ValueError(f"label {label!r} contains {LABEL_SEPARATOR!r}")
        return [
            escape_cell(self.image_id),
            escape_cell(self.file),
            escape_cell(LABEL_SEPARATOR.join(self.labels)),
            escape_cell(self.licence),
            escape_cell(self.producer),
            str(int(self.price_cents)),
        ]


def escape_cell(value: str) -> str:
    """Defuse spreadsheet formulas: prefix an apostrophe to a risky (or apostrophe-led) cell."""
    if value.startswith((*_FORMULA_START, _ESCAPE)):
        return _ESCAPE + value
    return value


def unescape_cell(value: str) -> str:
    """Undo :func:`escape_cell`; an apostrophe that does not escape anything is kept."""
    if value.startswith(_ESCAPE) and value[1:].startswith((*_FORMULA_START, _ESCAPE)):
        return value[1:]
    return value


def write_manifest(rows: Iterable[ManifestRow], stream: IO[str]) -> int:
    """Write the header and ``rows``; returns how many rows. Open ``stream`` with newline=""."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    for row in rows:
        writer.writerow(row.to_csv_row())
        n += 1
    return n


def read_manifest(stream: IO[str], *, source: str = "manifest.csv") -> list[ManifestRow]:
    """Read a manifest (columns in any order, extra columns ignored); errors name the line.

    Open ``stream`` with newline="" so that line breaks inside quoted cells survive.
    """
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInput(f"{source}: missing column(s) {', '.join(missing)} in the header line.")
    rows: list[ManifestRow] = []
    try:
        for record in reader:
            line = reader.line_num
            if None in record or any(record[c] is None for c in COLUMNS):
                raise InvalidInput(f"{source}, line {line}: expected {len(header)} cells.")
            price_text = record["price_cents"].strip()
            try:
                price = int(price_text)
            except ValueError:
                raise InvalidInput(
                    f"{source}, line {line}: price_cents must be a whole number, "
                    f"not {price_text!r}."
                ) from None
            if price < 0:
                raise InvalidInput(f"{source}, line {line}: price_cents cannot be negative.")
            labels_text = unescape_cell(record["labels"])
            rows.append(
                ManifestRow(
                    image_id=unescape_cell(record["image_id"]),
                    file=unescape_cell(record["file"]),
                    labels=tuple(s for s in labels_text.split(LABEL_SEPARATOR) if s),
                    licence=unescape_cell(record["licence"]),
                    producer=unescape_cell(record["producer"]),
                    price_cents=price,
                )
            )
    except csv.Error as exc:
        raise InvalidInput(f"{source}, line {reader.line_num}: {exc}") from exc
    return rows
