"""localstripe on loopback (once per session) and the webhook endpoint served for real.

``stripe_env``: the test's settings switched to Stripe against localstripe, and localstripe's
webhooks registered to a uvicorn server running the REST API (``/api/v1/payments/webhook``) in
this process, so events travel signed over HTTP exactly as in production. Skips cleanly when
localstripe cannot start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from labelhub_app.config import reset_settings
from tests.payments.localstripe import (
    API_KEY,
    LocalstripeUnavailable,
    free_port,
    localstripe,
    register_webhook,
)

WEBHOOK_SECRET = "whsec_labelhub_localstripe"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[str]:
    try:
        with localstripe() as base:
            yield base
    except LocalstripeUnavailable as exc:
        pytest.skip(f"localstripe cannot start: {exc}")


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[str]:
    from labelhub_app.api.app import api

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.skip("the webhook server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/api/v1/payments/webhook"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def stripe_env(settings, monkeypatch, stripe_server, webhook_server) -> Iterator[str]:
    monkeypatch.setenv("LABELHUB_PAYMENTS", "stripe")
    monkeypatch.setenv("LABELHUB_STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("LABELHUB_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("LABELHUB_STRIPE_API_BASE", stripe_server)
    reset_settings()
    register_webhook(stripe_server, webhook_server, WEBHOOK_SECRET)
    yield stripe_server
    reset_settings()
