"""The outbox dispatcher: retries, durable progress, crash safety (SIGKILL mid-batch), gaps, and
the OpenSearch rebuild (new index + alias swap) from the database.

The index is a real implementation of the port: the in-memory reference index (wrapped to fail on
demand), a folder of JSON files that survives a killed process, and the OpenSearch adapter on the
in-process cluster of tests/adapters/fake_opensearch.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update
from sqlmodel import Session, col, func, select

from labelhub_app import db
from labelhub_app.adapters.search.base import ImageDoc, IndexQuery
from labelhub_app.adapters.search.opensearch import OpenSearchIndex
from labelhub_app.models import (
    STATUS_ON_SALE,
    STATUS_WITHDRAWN,
    Image,
    ImageLabel,
    Label,
    SearchOutbox,
    utcnow,
)
from labelhub_app.models.search_dispatch import SearchDispatchCursor
from labelhub_app.services import search
from labelhub_app.services.search_dispatch import (
    DispatchFailed,
    OutboxDispatcher,
    dispatch_status,
    reindex_opensearch,
)
from tests.adapters.fake_opensearch import FakeOpenSearch
from tests.adapters.file_index import FileIndex
from tests.adapters.reference_index import ReferenceIndex
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------- helpers
def seed_images(session: Session, count: int, *, start: int = 0) -> list[int]:
    """``count`` on-sale image rows with 1-3 labels each and one outbox row each (as the upload
    does), inserted directly: the dispatcher only needs rows, not files."""
    owner = make_user(session, "producer")
    labels = list(session.exec(select(Label.id).order_by(col(Label.id)).limit(12)))
    assert labels, "the starter taxonomy should be in the template database"
    now = utcnow()
    rows = [
        {
            "owner_id": owner.id,
            "file_name": f"photo-{i:05d}.jpg",
            "upload_sha256": f"{i + 10**9:064x}",
            "object_key": f"originals/{i:064x}.jpg",
            "phash": f"{i:016x}",
            "width": 640,
            "height": 480,
            "format": "JPEG",
            "size_bytes": 1000,
            "price_cents": 100 + i % 37,
            "licence": "standard",
            "public_id": f"00000000-0000-4000-8000-{i:012x}",
            "created_at": now + timedelta(microseconds=i),
            "updated_at": now,
        }
        for i in range(start, start + count)
    ]
    session.execute(insert(Image), rows)
    ids = list(
        session.exec(
            select(Image.id).where(col(Image.file_name).in_([r["file_name"] for r in rows]))
        )
    )
    pairs = [
        {"image_id": image_id, "label_id": labels[(image_id * k) % len(labels)], "created_at": now}
        for image_id in ids
        for k in range(1, 1 + image_id % 3 + 1)
    ]
    unique = list({(p["image_id"], p["label_id"]): p for p in pairs}.values())
    session.execute(insert(ImageLabel), unique)
    session.execute(insert(SearchOutbox), [{"image_id": i, "created_at": now} for i in ids])
    session.commit()
    return [i for i in ids if i is not None]


def change(session: Session, image_ids: list[int], **values: object) -> None:
    """Change images as a service would: the rows and their outbox rows in one transaction."""
    session.execute(update(Image).where(col(Image.id).in_(image_ids)).values(**values))
    session.execute(
        insert(SearchOutbox), [{"image_id": i, "created_at": utcnow()} for i in image_ids]
    )
    session.commit()


def expected_docs(session: Session) -> dict[int, ImageDoc]:
    """What any index should hold: every on-sale image as the search service derives it."""
    ids = list(session.exec(select(Image.id)))
    return search._load_docs(session, [i for i in ids if i is not None])


def newest_outbox_id(session: Session) -> int:
    return session.exec(select(func.max(SearchOutbox.id))).one() or 0


class FlakyIndex(ReferenceIndex):
    """The reference index that refuses the next ``failures`` writes (a cluster that is down)."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def apply_batch(self, upserts: list[ImageDoc], removals: list[int]) -> None:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("index unavailable")
        for doc in upserts:
            self.upsert(doc)
        for image_id in removals:
            self.remove(image_id)

    def docs(self) -> dict[int, ImageDoc]:
        return dict(self._docs)


def no_sleep(_: float) -> None:
    pass


# ------------------------------------------------------------------------------- in process
def test_applies_the_outbox_in_batches_and_stores_its_position(session: Session) -> None:
    seed_images(session, 45)
    index = FlakyIndex()
    dispatcher = OutboxDispatcher(index, name="t", batch_size=20, sleep=no_sleep)
    assert [dispatcher.run_once(session) for _ in range(4)] == [20, 20, 5, 0]
    assert index.docs() == expected_docs(session)
    status = dispatch_status(session, name="t")
    assert (status.position, status.behind, status.applied_count) == (
        newest_outbox_id(session),
        0,
        45,
    )
    # a change, a withdrawal: both reach the index
    some = sorted(index.docs())[:3]
    change(session, some[:2], price_cents=9_999)
    change(session, some[2:], status=STATUS_WITHDRAWN)
    assert dispatcher.run_once(session) == 3
    assert index.docs() == expected_docs(session)
    assert index.docs()[some[0]].price_cents == 9_999 and some[2] not in index.docs()
    assert index.search(IndexQuery(sort="price_desc", limit=2)).image_ids == sorted(
        some[:2], reverse=True
    )


def test_retries_then_succeeds(session: Session) -> None:
    seed_images(session, 5)
    index = FlakyIndex(failures=2)
    pauses: list[float] = []
    dispatcher = OutboxDispatcher(index, name="t", backoff_s=0.1, sleep=pauses.append)
    assert dispatcher.run_once(session) == 5
    assert index.attempts == 3 and pauses == [0.1, 0.2]  # exponential backoff
    assert index.docs() == expected_docs(session)
    assert dispatch_status(session, name="t").failures == 0


def test_gives_up_without_moving_the_cursor_then_catches_up(session: Session) -> None:
    seed_images(session, 5)
    index = FlakyIndex(failures=10)
    dispatcher = OutboxDispatcher(index, name="t", max_attempts=3, sleep=no_sleep)
    with pytest.raises(DispatchFailed, match="index unavailable"):
        dispatcher.run_once(session)
    status = dispatch_status(session, name="t")
    assert (
        status.position == 0 and status.failures == 1 and "index unavailable" in status.last_error
    )
    assert status.behind == newest_outbox_id(session)
    # the loop keeps trying with growing pauses until the index is back
    index.failures = 7
    pauses: list[float] = []
    looping = OutboxDispatcher(index, name="t", max_attempts=3, backoff_s=1, sleep=pauses.append)
    assert looping.run(db.session_scope, until_caught_up=True) == 5
    assert index.docs() == expected_docs(session)
    assert pauses[:3] == [1, 2, 1]  # retry, retry, then the loop's pause after a failed batch
    assert dispatch_status(session, name="t").failures == 0


def test_a_new_dispatcher_resumes_from_the_stored_cursor(session: Session) -> None:
    seed_images(session, 30)
    first = FlakyIndex()
    OutboxDispatcher(first, name="t", batch_size=10).run_once(session)
    assert len(first.docs()) == 10
    second = FlakyIndex()  # a fresh process: only what is after the cursor
    OutboxDispatcher(second, name="t", batch_size=100).run_once(session)
    assert len(second.docs()) == 20 and not set(first.docs()) & set(second.docs())


def test_an_outbox_id_that_commits_late_is_not_skipped(session: Session) -> None:
    """PostgreSQL can commit id 9 after id 10: the cursor must not move past the gap."""
    ids = seed_images(session, 3)
    index = FlakyIndex()
    clock = [0.0]
    dispatcher = OutboxDispatcher(index, name="t", gap_grace_s=60, clock=lambda: clock[0])
    dispatcher.run_once(session)
    base = newest_outbox_id(session)
    # ids base+1 (taken, not committed yet) and base+2 (committed)
    session.add(SearchOutbox(id=base + 2, image_id=ids[1]))
    session.commit()
    session.execute(update(Image).where(col(Image.id) == ids[0]).values(price_cents=4_242))
    session.commit()
    assert dispatcher.run_once(session) == 1
    assert dispatch_status(session, name="t").position == base  # held at the gap
    session.add(SearchOutbox(id=base + 1, image_id=ids[0]))  # the late commit
    session.commit()
    assert dispatcher.run_once(session) == 1
    assert index.docs()[ids[0]].price_cents == 4_242
    assert dispatch_status(session, name="t").position == base + 2
    # a gap that never fills (rolled back) is given up after the grace period
    session.add(SearchOutbox(id=base + 4, image_id=ids[2]))
    session.commit()
    dispatcher.run_once(session)
    assert dispatch_status(session, name="t").position == base + 2
    clock[0] = 61.0
    dispatcher.run_once(session)
    assert dispatch_status(session, name="t").position == base + 4


# ------------------------------------------------------------------------------- crash
def _child(folder: Path, batch: int, delay: float, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.adapters.dispatch_child",
            str(folder),
            str(batch),
            str(delay),
            mode,
        ],
        cwd=ROOT,
        env=dict(os.environ),  # the test's LABELHUB_* settings: same database
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_killed_mid_batch_then_restarted_the_index_matches_the_database(
    session: Session, tmp_path: Path
) -> None:
    ids = seed_images(session, 120)
    change(session, ids[::3], price_cents=777)
    folder = tmp_path / "index"
    folder.mkdir()
    index = FileIndex(folder)
    child = _child(folder, batch=50, delay=0.03, mode="forever")
    try:
        deadline = time.monotonic() + 120
        while not 55 <= len(index) <= 95:  # inside the second batch of 50
            assert child.poll() is None, child.stdout.read() if child.stdout else ""
            assert time.monotonic() < deadline, "the dispatcher made no progress"
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    session.expire_all()
    cursor = session.get(SearchDispatchCursor, "file-index")
    assert cursor is not None
    first_batch_end = sorted(session.exec(select(SearchOutbox.id)))[49]
    assert cursor.position == first_batch_end  # the second batch was never recorded
    assert index.docs() != expected_docs(session)
    # while it is down, people keep changing things
    change(session, ids[:10], status=STATUS_WITHDRAWN)
    change(session, ids[10:20], price_cents=1)
    restarted = _child(folder, batch=50, delay=0.0, mode="caught-up")
    out, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, out.decode()
    session.expire_all()
    assert index.docs() == expected_docs(session)
    assert len(index) == 110 and dispatch_status(session, name="file-index").behind == 0


# ------------------------------------------------------------------------------- OpenSearch
def test_dispatcher_feeds_the_opensearch_adapter(session: Session) -> None:
    ids = seed_images(session, 30)
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(cluster, "images")
    dispatcher = OutboxDispatcher(index, name="os", batch_size=25)
    assert dispatcher.run(db.session_scope, until_caught_up=True) == 30
    assert [c for c in cluster.calls if c[0] == "bulk"] == [
        ("bulk", (50, "false")),
        ("bulk", (10, "false")),
    ]  # one bulk request per batch, no forced refresh
    change(session, ids[:2], status=STATUS_WITHDRAWN)
    dispatcher.run_once(session)
    assert len(index) == 28
    want = ReferenceIndex()
    want.replace_all(expected_docs(session).values())
    query = IndexQuery(sort="price_asc", limit=100)
    assert index.search(query) == want.search(query)


def test_reindex_swaps_the_alias_and_moves_the_cursor_back(session: Session) -> None:
    seed_images(session, 12)
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(cluster, "images")
    OutboxDispatcher(index, name="opensearch").run(db.session_scope, until_caught_up=True)
    [before] = index.current_indexes()
    cluster.calls.clear()

    # a later change is in the outbox; the rebuild reads the database as it is now
    with db.session_scope() as other:
        change(other, list(session.exec(select(Image.id).limit(1))), price_cents=5)
    start = newest_outbox_id(session)
    cursor = session.get(SearchDispatchCursor, "opensearch")
    assert cursor is not None
    cursor.position = start + 50  # pretend the dispatcher ran ahead meanwhile
    session.add(cursor)
    session.commit()

    assert reindex_opensearch(session, index) == 12
    calls = list(cluster.calls)
    names = [name for name, _ in calls]
    [after] = index.current_indexes()
    assert after != before and after.startswith("images-")
    assert names[0] == "indices.create" and calls[0][1] == after  # a new index
    assert (
        names.index("bulk") < names.index("indices.refresh") < names.index("indices.update_aliases")
    )
    [swap] = [arg for name, arg in calls if name == "indices.update_aliases"]
    assert swap == {
        "actions": [
            {"remove": {"index": before, "alias": "images"}},
            {"add": {"index": after, "alias": "images", "is_write_index": True}},
        ]
    }  # one atomic request: searches see the old index, then the new one, never neither
    assert names[-1] == "indices.delete" and calls[-1][1] == before
    assert names.count("search") == 0
    session.expire_all()
    assert session.get(SearchDispatchCursor, "opensearch").position == start  # type: ignore[union-attr]
    want = ReferenceIndex()
    want.replace_all(expected_docs(session).values())
    assert index.search(IndexQuery(limit=100)) == want.search(IndexQuery(limit=100))
    # the taxonomy's names went into the text field
    some = next(iter(cluster.docs[after].values()))
    assert some["label_names"] and all(isinstance(n, str) for n in some["label_names"])


def test_reindex_on_an_empty_cluster_and_a_failed_fill_keeps_the_old_index(
    session: Session,
) -> None:
    seed_images(session, 3)
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(cluster, "images")
    assert reindex_opensearch(session, index) == 3
    [first] = index.current_indexes()
    # the first build starts the dispatcher's cursor where the build read the outbox
    assert dispatch_status(session).position == newest_outbox_id(session)
    cluster.fail_bulk = 1
    with pytest.raises(ConnectionError):
        reindex_opensearch(session, index)
    assert index.current_indexes() == [first] and list(cluster.docs) == [first]  # cleaned up
    assert len(index) == 3


def test_on_sale_filter_matches_status(session: Session) -> None:
    """Sanity for the helpers above: withdrawn images are not expected in any index."""
    ids = seed_images(session, 4)
    change(session, ids[:1], status=STATUS_WITHDRAWN)
    assert set(expected_docs(session)) == set(ids[1:])
    assert (
        session.exec(
            select(func.count()).select_from(Image).where(Image.status == STATUS_ON_SALE)
        ).one()
        == 3
    )


def test_labelhub_check_reports_the_dispatcher(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelhub_app.config import reset_settings
    from labelhub_app.services.health import run_checks

    [skipped] = run_checks(only=["search dispatch"]).results
    assert skipped.status == "skipped"  # embedded: nothing to dispatch
    monkeypatch.setenv("LABELHUB_SEARCH", "opensearch")
    reset_settings()
    seed_images(session, 4)
    [behind] = run_checks(only=["search dispatch"]).results
    assert behind.status == "ok" and "4 outbox rows behind" in behind.message
    index = FlakyIndex(failures=9)
    with pytest.raises(DispatchFailed):
        OutboxDispatcher(index, max_attempts=1, sleep=no_sleep).run_once(session)
    [failed] = run_checks(only=["search dispatch"]).results
    assert failed.status == "failed" and "index unavailable" in failed.message
    index.failures = 0
    OutboxDispatcher(index).run_once(session)
    [caught_up] = run_checks(only=["search dispatch"]).results
    assert caught_up.status == "ok" and caught_up.message.startswith("up to date")


def test_cli_reindex_and_dispatch_with_opensearch(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`labelhub dispatch-search --once` and `labelhub reindex` on the OpenSearch backend."""
    from typer.testing import CliRunner

    from labelhub_app.cli import app
    from labelhub_app.config import reset_settings
    from labelhub_app.services import search_dispatch

    monkeypatch.setenv("LABELHUB_SEARCH", "opensearch")
    reset_settings()
    cluster = FakeOpenSearch()
    monkeypatch.setattr(
        search_dispatch, "opensearch_index", lambda *_a, **_k: OpenSearchIndex(cluster, "images")
    )
    seed_images(session, 6)
    runner = CliRunner()
    r = runner.invoke(app, ["dispatch-search", "--once", "--batch", "4"])
    assert r.exit_code == 0, r.output
    assert "Applied 6 outbox rows" in r.output
    [first] = list(cluster.docs)
    assert len(cluster.docs[first]) == 6
    r = runner.invoke(app, ["reindex"])
    assert r.exit_code == 0, r.output
    [second] = list(cluster.docs)
    assert second != first and f"now points at {second}" in " ".join(r.output.split())
    assert len(cluster.docs[second]) == 6
