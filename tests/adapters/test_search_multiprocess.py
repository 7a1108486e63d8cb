"""Several app processes, one database: each process's embedded index follows the search outbox,
so a write in one process shows up in another's searches within a second.

A second Python process (tests/adapters/search_peer.py) writes through the services while this
one searches, and the other way round. Visibility is polled against a deadline of one second
after the commit; nothing here sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from labelhub_app import db
from labelhub_app.services import images, search
from tests.factories import make_image, make_user

ROOT = Path(__file__).resolve().parents[2]
WITHIN_S = 1.0


class Peer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.adapters.search_peer"],
            cwd=ROOT,
            env=dict(os.environ),  # the test's LABELHUB_* settings: the same database
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == {"ready": True}

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the peer process exited ({self.proc.poll()})"
        return json.loads(line)

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        assert "error" not in answer, answer
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def peer(settings: object) -> Iterator[Peer]:
    process = Peer()
    yield process
    process.close()


def total_here(*labels: str) -> int:
    """This process's search, in a fresh session (as each request of the app gets)."""
    with db.session_scope() as session:
        return search.search_market(session, query=search.MarketQuery(labels=labels)).total


def seen_within(deadline_after: float, check: Any) -> float | None:
    """Poll ``check()`` until it holds; seconds from ``deadline_after`` (a wall-clock commit
    time) to when it held, or None if it did not hold within ``WITHIN_S`` of it."""
    while True:
        if check():
            return time.time() - deadline_after
        if time.time() > deadline_after + WITHIN_S:
            return None
        time.sleep(0.005)


def test_writes_in_one_process_are_searchable_in_another_within_a_second(
    session: Session, peer: Peer
) -> None:
    producer = make_user(session, "producer")
    pics = [make_image(session, producer, labels=("dog",)) for _ in range(3)]
    assert total_here("dog") == 3  # this process has built its index
    assert peer.ask(op="search", labels=["dog"]) == {"total": 3}  # and so has the peer

    # the peer relabels one image: this process finds it under its new label
    committed = peer.ask(
        op="relabel", email=producer.email, image=pics[0].public_id, labels=["zebra"]
    )["committed"]
    lag = seen_within(committed, lambda: total_here("zebra") == 1 and total_here("dog") == 2)
    assert lag is not None, "a relabel in another process was not searchable within 1 s"

    # the peer withdraws one: it leaves this process's results
    committed = peer.ask(op="withdraw", email=producer.email, image=pics[1].public_id)["committed"]
    lag = seen_within(committed, lambda: total_here("dog") == 1)
    assert lag is not None, "a withdrawal in another process was still found after 1 s"

    # the peer changes a price: the price filter here sees it
    committed = peer.ask(op="price", email=producer.email, image=pics[2].public_id, price=7_777)[
        "committed"
    ]

    def priced() -> bool:
        with db.session_scope() as s:
            query = search.MarketQuery(min_price=7_777, max_price=7_777)
            return search.search_market(s, query=query).total == 1

    assert seen_within(committed, priced) is not None

    # and the other way round: this process writes, the peer's own index follows
    images.update_image(session, actor=producer, public_id=pics[2].public_id, labels=["zebra"])
    answer = peer.ask(op="wait", labels=["zebra"], total=2, timeout=WITHIN_S)
    assert answer["total"] == 2, "the peer did not see this process's write within 1 s"
