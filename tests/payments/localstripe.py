"""Run localstripe (a fake Stripe API, pip package) on 127.0.0.1 in a subprocess.

localstripe's own ``start()`` binds every interface and pickles its store to /tmp after every
write; this launcher binds loopback only and keeps the store in memory, so parallel test runs
do not share state. Used by tests/payments/conftest.py, the browser test and bench/checkout.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

_SERVER = """
import logging, sys
from aiohttp import web
from localstripe import resources, server
resources.Store.dump_to_disk = lambda self: None
logging.getLogger('aiohttp.access').setLevel(logging.WARNING)
web.run_app(server.app, host='127.0.0.1', port=int(sys.argv[1]), access_log=None, print=None)
"""

API_KEY = "sk_test_labelhub_localstripe"
PUBLISHABLE_KEY = "pk_test_labelhub_localstripe"


class LocalstripeUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def localstripe(timeout: float = 20.0) -> Iterator[str]:
    """Start localstripe; yields its base address (http://127.0.0.1:PORT)."""
    try:
        import localstripe as _  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the package is in requirements-dev
        raise LocalstripeUnavailable(f"localstripe is not installed: {exc}") from exc
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise LocalstripeUnavailable(f"localstripe exited: {err[-500:]}")
            try:
                httpx.get(f"{base}/v1/customers", auth=(API_KEY, ""), timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise LocalstripeUnavailable("localstripe did not start in time") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def register_webhook(base: str, url: str, secret: str, name: str = "labelhub") -> None:
    """Tell localstripe to POST every event, signed with ``secret``, to ``url``."""
    r = httpx.post(f"{base}/_config/webhooks/{name}", data={"url": url, "secret": secret})
    r.raise_for_status()


def authenticate_3ds(base: str, intent_id: str, client_secret: str, success: bool = True) -> None:
    """What the bank's 3-D Secure page does: confirm (or refuse) the payment."""
    r = httpx.post(
        f"{base}/v1/payment_intents/{intent_id}/_authenticate",
        data={
            "key": PUBLISHABLE_KEY,
            "client_secret": client_secret,
            "success": "true" if success else "false",
        },
    )
    r.raise_for_status()
