"""Opaque cursors for list endpoints.

A cursor is URL-safe base64 of a small JSON object: the position of the next page and a
fingerprint of the list it belongs to (the endpoint and its filters), so a cursor used with other
filters is refused instead of silently paging through a different list. Clients treat it as an
opaque string: pass ``next_cursor`` back as ``cursor`` until it is null.

Positions are offsets (or page numbers of the services' paged queries). A walk through an
unchanging list sees every item exactly once; items added or removed during a walk can shift the
pages by that many items, as with any offset paging.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from labelhub_app.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512


def fingerprint(scope: str, **filters: Any) -> str:
    text = json.dumps([scope, filters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(list_id: str, **position: int) -> str:
    raw = json.dumps({"l": list_id, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, list_id: str, *keys: str) -> dict[str, int] | None:
    """The position in ``cursor`` (None without one); refuses cursors of another list."""
    if not cursor:
        return None
    bad = InvalidInput(
        "This cursor is not valid for this list (it may belong to other filters); "
        "start again without a cursor."
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("l") != list_id:
        raise bad
    values = {k: data.get(k) for k in keys}
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 for v in values.values()
    ):
        raise bad
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class Slice(Generic[T]):
    items: list[T]
    next_cursor: str | None


def slice_list(items: Sequence[T], *, cursor: str | None, limit: int, list_id: str) -> Slice[T]:
    """Page through a list the service returns whole (small lists: tokens, projects)."""
    pos = decode_cursor(cursor, list_id, "o")
    offset = pos["o"] if pos else 0
    page = list(items[offset : offset + limit])
    more = offset + limit < len(items)
    return Slice(page, encode_cursor(list_id, o=offset + limit) if more else None)


def paged(
    fetch: Callable[[int, int], tuple[list[T], int]],
    *,
    cursor: str | None,
    limit: int,
    list_id: str,
    max_window: int | None = None,
) -> tuple[list[T], int, str | None]:
    """Walk a service's ``page``/``per_page`` query; the cursor keeps the page size it started with.

    ``fetch(page, per_page)`` returns the page's items and the total. Returns items, total and the
    next cursor; there is none past ``max_window`` items (where a service stops paging).
    """
    pos = decode_cursor(cursor, list_id, "p", "n")
    page, per_page = (pos["p"], pos["n"]) if pos else (1, limit)
    if not 1 <= per_page <= MAX_LIMIT or page < 1:
        raise InvalidInput("This cursor is not valid for this list; start again without a cursor.")
    items, total = fetch(page, per_page)
    more = page * per_page < total and len(items) == per_page
    if max_window is not None and (page + 1) * per_page > max_window:
        more = False
    return items, total, encode_cursor(list_id, p=page + 1, n=per_page) if more else None
