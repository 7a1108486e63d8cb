"""Fixtures for the adapter suites: a real S3 server (SeaweedFS) and a real redis-server.

Both are started once per test session, on free loopback ports, only when a test asks for them;
a missing binary skips those tests with the reason (see tests/backends.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.backends import BackendUnavailable, RedisServer, SeaweedS3, redis_server, seaweedfs


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    try:
        with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
            yield server
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        with redis_server(tmp_path_factory.mktemp("redis")) as server:
            yield server
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def s3_bucket(seaweed: SeaweedS3) -> str:
    """A fresh bucket name per test (created by the store)."""
    return f"lh-{uuid.uuid4().hex[:20]}"
