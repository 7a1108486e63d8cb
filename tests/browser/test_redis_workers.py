"""Two app workers behind one port, sharing Reflex state through Redis (REFLEX_REDIS_URL).

The app runs as in production (``reflex run --env prod --single-port``) with a redis-server
started for the test and ``GRANIAN_WORKERS=2``: one port, two backend processes. A signed-in
person reloads /dev/worker (each reload is a new websocket connection, which either worker may
accept) until a second worker answers; every answer, from either worker, still knows who is
signed in and the note typed into the page, which lives only in Reflex state.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.backends import BackendUnavailable, RedisServer, redis_server
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.flows import SOCKET_PROBE, VIEWPORT, sign_in, wait_ready
from tests.browser.server import RunningApp, running_app, services_env
from tests.factories import make_user

MAX_RELOADS = 60


@pytest.fixture(scope="module")
def redis_for_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        with redis_server(tmp_path_factory.mktemp("redis-app")) as server:
            yield server
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, redis_for_app: RedisServer
) -> Iterator[RunningApp]:
    env = {"REFLEX_REDIS_URL": redis_for_app.url, "GRANIAN_WORKERS": "2"}
    with running_app(tmp_path_factory.mktemp("app-data-2w"), extra_env=env) as app:
        yield app


@pytest.fixture
def worker_page(browser, two_workers: RunningApp) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=two_workers.url, viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(SOCKET_PROBE)
    yield context.new_page()
    context.close()


def _answer(page: Page, events_before: int) -> tuple[int, int]:
    """Wait for the page's on_load to have run again; (worker pid, events seen)."""
    events = page.locator("#worker-events")
    expect(events).not_to_have_text(re.compile(rf"^(0|{events_before})$"))
    pid = int(page.locator("#worker-pid").inner_text())
    return pid, int(events.inner_text())


def test_a_signed_in_session_is_kept_across_two_workers(
    two_workers: RunningApp,
    redis_for_app: RedisServer,
    worker_page: Page,
    shot: Callable[..., Path],
) -> None:
    with services_env(two_workers.data_dir):
        from labelhub_app import db

        with db.session_scope() as session:
            user = make_user(session, "consumer")
            email = user.email
    page = worker_page
    sign_in(page, email=email)
    page.goto("/dev/worker")
    wait_ready(page)
    first_pid, events = _answer(page, 0)
    expect(page.locator("#worker-user")).to_have_text(email)

    note = f"kept in state {uuid.uuid4().hex[:8]}"
    page.fill("#note-input", note)
    page.locator("#note-input").press("Tab")  # blur: the note goes to the server's state
    expect(page.locator("#worker-note")).to_have_text(note)

    pids = {first_pid}
    for _ in range(MAX_RELOADS):
        page.reload()
        wait_ready(page)
        pid, events = _answer(page, events)
        pids.add(pid)
        # whichever worker answered, it knows who is signed in and what was typed
        expect(page.locator("#worker-user")).to_have_text(email)
        expect(page.locator("#worker-note")).to_have_text(note)
        if len(pids) > 1:
            break
    assert len(pids) == 2, f"every reload landed on worker {first_pid}; is GRANIAN_WORKERS=2 used?"
    shot(page, "redis-two-workers")

    # the state really is in Redis: one key per state of this tab
    import redis

    keys = redis.Redis.from_url(redis_for_app.url).keys("*worker_state*")
    assert keys, "no Reflex state in Redis"
