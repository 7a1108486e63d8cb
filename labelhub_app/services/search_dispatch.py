"""The outbox dispatcher: applies ``search_outbox`` rows to an external index (OpenSearch).

Every service that changes an image appends a ``search_outbox`` row in the same transaction, so
the database always knows what the index still has to learn. The dispatcher (``labelhub
dispatch-search``, one per installation) reads the rows after its durable cursor in id order, one
batch at a time, reloads the named images from the database (current state: the order of changes
does not matter), writes them to the index in one bulk request (retrying with backoff), and only
then moves its cursor forward in the database. A crash anywhere leaves the cursor at or before
the last batch, and applying a batch twice is harmless, so a crash only delays changes.

Outbox ids can commit out of order on PostgreSQL (a transaction that took id 9 may commit after
the one that took 10). An id missing below the newest seen is a *gap*: it is re-checked until it
shows up or ``gap_grace_s`` has passed (then it was rolled back), and the stored cursor never
moves past the oldest open gap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from labelhub_app.adapters.search.base import ImageDoc, SearchIndex
from labelhub_app.config import Settings, get_settings
from labelhub_app.errors import InvalidInput
from labelhub_app.models import Label, SearchOutbox, utcnow
from labelhub_app.models.search_dispatch import SearchDispatchCursor

log = logging.getLogger(__name__)

DEFAULT_CONSUMER = "opensearch"


class DispatchFailed(RuntimeError):
    """A batch could not be applied after every retry; the cursor did not move."""


@dataclass
class DispatchStatus:
    """What ``labelhub check`` and people see about one consumer."""

    name: str
    position: int
    newest: int
    applied_count: int
    failures: int
    last_error: str

    @property
    def behind(self) -> int:
        return max(0, self.newest - self.position)


@dataclass
class OutboxDispatcher:
    """Applies the outbox to ``index`` under the durable cursor ``name``.

    Run one dispatcher per cursor name. ``run_once`` does one batch; ``run`` loops until stopped
    (or until caught up). ``sleep`` and ``clock`` are injectable for tests.
    """

    index: SearchIndex
    name: str = DEFAULT_CONSUMER
    batch_size: int = 500
    max_attempts: int = 5
    backoff_s: float = 0.2
    max_backoff_s: float = 30.0
    gap_grace_s: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _high: int | None = field(default=None, init=False)  # everything <= it, but gaps, applied
    _gaps: dict[int, float] = field(default_factory=dict, init=False)
    _saved: int | None = field(default=None, init=False)  # the position this process stored

    # ----------------------------------------------------------------------------- cursor
    def _cursor(self, session: Session) -> SearchDispatchCursor:
        cursor = session.get(SearchDispatchCursor, self.name)
        if cursor is None:
            cursor = SearchDispatchCursor(name=self.name)
            session.add(cursor)
            session.flush()
        return cursor

    # ----------------------------------------------------------------------------- one batch
    def run_once(self, session: Session) -> int:
        """Apply the next batch; returns how many outbox rows it covered (0: caught up).

        Raises ``DispatchFailed`` (after recording the error on the cursor) when the index
        refused the batch ``max_attempts`` times.
        """
        cursor = self._cursor(session)
        if self._high is None or cursor.position != self._saved:
            # a (re)start resumes from the durable low-water mark; so does a cursor moved by
            # someone else (``labelhub reindex`` moves it back to redo changes made meanwhile)
            self._high = cursor.position
            self._gaps.clear()
        high = self._high
        outbox_id = col(SearchOutbox.id)
        rows = list(
            session.exec(
                select(SearchOutbox.id, SearchOutbox.image_id)
                .where(outbox_id > high)
                .order_by(outbox_id)
                .limit(self.batch_size)
            )
        )
        if self._gaps:
            rows += list(
                session.exec(
                    select(SearchOutbox.id, SearchOutbox.image_id).where(
                        outbox_id.in_(list(self._gaps))
                    )
                )
            )
        expired = self._expire_gaps()
        if not rows:
            if expired:
                self._save(session, cursor, applied=0)
            session.rollback()  # end the read transaction (SQLite: let the WAL move on)
            return 0
        image_ids = list(dict.fromkeys(image_id for _, image_id in rows))
        self._apply_with_retries(session, cursor, image_ids)
        seen = {row_id for row_id, _ in rows if row_id is not None}
        newest = max(seen)
        now = self.clock()
        for missing in range(high + 1, newest):
            if missing not in seen:
                self._gaps.setdefault(missing, now)
        for row_id in seen:
            self._gaps.pop(row_id, None)
        self._high = max(high, newest)
        self._save(session, cursor, applied=len(rows))
        return len(rows)

    def _expire_gaps(self) -> bool:
        now = self.clock()
        old = [gap for gap, since in self._gaps.items() if now - since > self.gap_grace_s]
        for gap in old:
            del self._gaps[gap]
        return bool(old)

    def _save(self, session: Session, cursor: SearchDispatchCursor, *, applied: int) -> None:
        assert self._high is not None
        cursor.position = (min(self._gaps) - 1) if self._gaps else self._high
        cursor.applied_count += applied
        cursor.failures = 0
        cursor.last_error = ""
        cursor.updated_at = utcnow()
        session.add(cursor)
        session.commit()
        self._saved = cursor.position

    def _apply_with_retries(
        self, session: Session, cursor: SearchDispatchCursor, image_ids: Sequence[int]
    ) -> None:
        from labelhub_app.services.search import _load_docs  # the one definition of a doc

        docs = _load_docs(session, image_ids)
        upserts = [docs[i] for i in image_ids if i in docs]
        removals = [i for i in image_ids if i not in docs]
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                apply_batch(self.index, upserts, removals)
                return
            except Exception as exc:  # the index is down or refused: retry, then give up
                message = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("search dispatch attempt %d failed: %s", attempt, message)
                if attempt == self.max_attempts:
                    name, failures = cursor.name, cursor.failures
                    session.rollback()
                    record_failure(session, name=name, failures=failures + 1, error=message)
                    raise DispatchFailed(message) from exc
                self.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    # ----------------------------------------------------------------------------- loop
    def run(
        self,
        session_factory: Callable[[], AbstractContextManager[Session]],
        *,
        stop: threading.Event | None = None,
        poll_s: float = 0.5,
        until_caught_up: bool = False,
    ) -> int:
        """Dispatch until ``stop`` is set (or, with ``until_caught_up``, until nothing is
        left). A failed batch is retried after a growing pause; returns rows applied."""
        total = 0
        pause = self.backoff_s
        while stop is None or not stop.is_set():
            try:
                with session_factory() as session:
                    applied = self.run_once(session)
            except Exception as exc:  # the index or the database is away: wait, then again
                if not isinstance(exc, DispatchFailed):
                    log.warning("search dispatch: %s: %s", type(exc).__name__, exc)
                self.sleep(pause)
                pause = min(pause * 2, self.max_backoff_s)
                continue
            pause = self.backoff_s
            total += applied
            if applied == 0:
                if until_caught_up and not self._gaps:
                    return total
                if stop is not None:
                    stop.wait(poll_s)
                else:
                    self.sleep(poll_s)
        return total


def apply_batch(index: SearchIndex, upserts: Sequence[ImageDoc], removals: Sequence[int]) -> None:
    """Write to the index in one request when it can (OpenSearch bulk), else doc by doc."""
    bulk = getattr(index, "apply_batch", None)
    if bulk is not None:
        bulk(upserts, removals)
        return
    for doc in upserts:
        index.upsert(doc)
    for image_id in removals:
        index.remove(image_id)


def record_failure(session: Session, *, name: str, failures: int, error: str) -> None:
    cursor = session.get(SearchDispatchCursor, name) or SearchDispatchCursor(name=name)
    cursor.failures = failures
    cursor.last_error = error[:500]
    cursor.updated_at = utcnow()
    session.add(cursor)
    session.commit()


def dispatch_status(session: Session, *, name: str = DEFAULT_CONSUMER) -> DispatchStatus:
    """How far the consumer ``name`` has got (position 0 if it never ran)."""
    from sqlmodel import func

    newest = session.exec(select(func.max(SearchOutbox.id))).one() or 0
    cursor = session.get(SearchDispatchCursor, name)
    if cursor is None:
        return DispatchStatus(name, 0, newest, 0, 0, "")
    return DispatchStatus(
        name, cursor.position, newest, cursor.applied_count, cursor.failures, cursor.last_error
    )


# ------------------------------------------------------------------------------- OpenSearch
def opensearch_index(settings: Settings | None = None, **options: Any) -> Any:
    """An ``OpenSearchIndex`` for the configured cluster and alias."""
    from labelhub_app.adapters.search.opensearch import OpenSearchIndex

    settings = settings or get_settings()
    if settings.search_backend != "opensearch":
        raise InvalidInput("Set LABELHUB_SEARCH=opensearch and LABELHUB_OPENSEARCH_URL first.")
    return OpenSearchIndex.from_url(
        settings.opensearch_url,
        settings.opensearch_index,
        verify_certs=settings.opensearch_verify_certs,
        **options,
    )


def load_taxonomy(session: Session) -> tuple[dict[int, str], list[str]]:
    """Label names by id and the synonym rules of the label tree, for the text field."""
    from labelhub_app.adapters.search.opensearch import taxonomy_synonyms

    rows = [
        (label_id, name, parent)
        for label_id, name, parent in session.exec(select(Label.id, Label.name, Label.parent_id))
        if label_id is not None
    ]
    return {label_id: name for label_id, name, _ in rows}, taxonomy_synonyms(rows)


def reindex_opensearch(session: Session, index: Any, *, name: str = DEFAULT_CONSUMER) -> int:
    """Zero-downtime rebuild of ``index`` (an ``OpenSearchIndex``) from the database.

    The outbox position is read before the documents, and the dispatcher's cursor is only moved
    back to it (never forward), so a change committed during the rebuild is applied again by the
    dispatcher afterwards. Fills a new index, swaps the alias atomically, drops the old one.
    Returns the number of images indexed.
    """
    from sqlmodel import func

    from labelhub_app.services.search import _all_docs

    start = session.exec(select(func.max(SearchOutbox.id))).one() or 0
    names, synonyms = load_taxonomy(session)
    index.set_taxonomy(names, synonyms)
    count = 0

    def counted() -> Any:
        nonlocal count
        for doc in _all_docs(session):
            count += 1
            yield doc

    index.rebuild(counted())
    cursor = session.get(SearchDispatchCursor, name)
    if cursor is None:  # a first build: the dispatcher starts after it, not at the outbox's start
        session.add(SearchDispatchCursor(name=name, position=start))
    elif cursor.position > start:
        cursor.position = start  # changes during the rebuild: let the dispatcher redo them
        cursor.updated_at = utcnow()
        session.add(cursor)
    session.commit()
    return count


_shared: tuple[str, Any] | None = None
_shared_lock = threading.Lock()


def shared_opensearch_index() -> Any:
    """This process's ``OpenSearchIndex`` for searches (one client, its connection pool)."""
    global _shared
    settings = get_settings()
    key = f"{settings.opensearch_url}|{settings.opensearch_index}"
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            _shared = (key, opensearch_index(settings))
        return _shared[1]


# ------------------------------------------------------------------------------- labelhub check
def _register_check() -> None:
    from labelhub_app.services.health import CheckFailed, Probe, register_check

    @register_check("search dispatch")
    def check_search_dispatch(settings: Settings, probe: Probe) -> None:
        """How far the OpenSearch dispatcher is behind the outbox, and its last error."""
        if settings.search_backend != "opensearch":
            probe.setting = "embedded"
            probe.skip("each app process applies the outbox to its own index")
            return
        from labelhub_app.db import session_scope

        with session_scope() as session:
            status = dispatch_status(session)
        probe.setting = f"cursor {status.name!r}"
        if status.failures:
            raise CheckFailed(
                f"the last {status.failures} batch(es) failed ({status.last_error}); "
                f"{status.behind} outbox rows wait"
            )
        probe.message = (
            f"{status.behind} outbox rows behind (applied up to {status.position} of "
            f"{status.newest}); run `labelhub dispatch-search` to keep up"
            if status.behind
            else f"up to date (outbox id {status.newest})"
        )


_register_check()
