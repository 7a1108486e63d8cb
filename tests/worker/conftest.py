"""Helpers for the worker tests: worker processes on the test's database, generated data."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from labelhub_app.config import PROJECT_ROOT, reset_settings


@pytest.fixture
def worker_env(settings, monkeypatch) -> Callable[..., dict[str, str]]:  # type: ignore[no-untyped-def]
    """The environment of a worker process on this test's database (plus overrides)."""

    def make(**overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env["LABELHUB_DATA_DIR"] = str(settings.data_dir)
        if settings.database_url:  # the PostgreSQL run: the test's own database
            env["LABELHUB_DATABASE_URL"] = settings.database_url
        else:
            env.pop("LABELHUB_DATABASE_URL", None)
        env["PYTHONPATH"] = str(PROJECT_ROOT)
        env["OMP_NUM_THREADS"] = "1"
        env.update(overrides)
        return env

    return make


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Change settings in this process too (the same LABELHUB_* variables)."""
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_settings()


def start_worker(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "inference_worker", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 120.0, every: float = 0.2) -> None:
    """Wait until ``condition()`` holds (a generous limit: the CI machine is shared)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError("condition not reached in time")
