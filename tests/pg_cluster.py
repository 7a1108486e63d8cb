"""A throwaway PostgreSQL 15 cluster for tests and benchmarks (initdb + pg_ctl, about a second).

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port and keeps its unix
socket in the same folder; it trusts local connections and runs with fsync off (its data is
thrown away). PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
user (``runuser``), which owns the folder.

    with PgCluster.start() as pg:
        url = pg.create_database("labelhub")     # postgresql+psycopg://postgres@127.0.0.1:PORT/labelhub
        ...

Used by tests/conftest.py (LABELHUB_TEST_DATABASE=postgresql), the backup and reliability tests
and bench/search.py --database-url pg.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SERVER_USER = "postgres"


def pg_bindir() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl, pg_dump of the same version)."""
    env = os.environ.get("LABELHUB_PG_BINDIR")
    if env:
        return Path(env)
    for major in ("15", "16", "17"):
        candidate = Path(f"/usr/lib/postgresql/{major}/bin")
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL is not installed: `apt-get install -y postgresql` (or set LABELHUB_PG_BINDIR)"
    )


PREFIX = "labelhub-pg-"
OWNER_FILE = "owner.pid"
SHM = Path("/dev/shm")


def cluster_parent(min_free_bytes: int = 2 << 30) -> Path:
    """Where throwaway clusters live: /dev/shm (memory) when it has room, else the temp folder.

    Measured here: CREATE DATABASE ... TEMPLATE takes 20-40 ms on tmpfs and 300-500 ms on the
    disk-backed /tmp while other work writes to the disk (file creation and removal dominate);
    LABELHUB_PG_TMPDIR overrides the choice (benchmarks with big databases use the disk).
    """
    forced = os.environ.get("LABELHUB_PG_TMPDIR")
    if forced:
        return Path(forced)
    try:
        if (
            SHM.is_dir()
            and os.access(SHM, os.W_OK)
            and shutil.disk_usage(SHM).free > min_free_bytes
        ):
            return SHM
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(bindir: Path) -> None:
    """Stop and remove throwaway clusters whose owning process died without closing them
    (a test run killed by a timeout); clusters of running processes are left alone."""
    parents = {Path(tempfile.gettempdir()), SHM}
    for root in (r for parent in parents if parent.is_dir() for r in parent.glob(PREFIX + "*")):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        if (root / "data").exists():
            subprocess.run(
                _as_server_user(
                    [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]
                ),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)


def available() -> bool:
    try:
        pg_bindir()
    except RuntimeError:
        return False
    return True


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *cmd]
    return cmd


@dataclass
class PgCluster:
    root: Path
    port: int
    bindir: Path
    _owns_root: bool = True
    max_connections: int = 300
    crash_safe: bool = False
    _databases: list[str] = field(default_factory=list)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname={database}"

    @classmethod
    def start(
        cls,
        root: Path | None = None,
        *,
        max_connections: int = 300,
        crash_safe: bool = False,
        parent: Path | None = None,
    ) -> PgCluster:
        """Start a new cluster. ``crash_safe``: commits reach the WAL file before they return
        (synchronous_commit on), so ``stop_server("immediate")`` loses no committed transaction
        (fsync stays off: only the operating system crashing could lose data). ``parent``: the
        folder to create the cluster's folder in (default: ``cluster_parent()``)."""
        bindir = pg_bindir()
        owns = root is None
        if owns:
            sweep_orphans(bindir)
        if root is None:
            root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent or cluster_parent()))
        root.mkdir(parents=True, exist_ok=True)
        (root / OWNER_FILE).write_text(str(os.getpid()))
        cluster = cls(
            root=root,
            port=free_port(),
            bindir=bindir,
            _owns_root=owns,
            max_connections=max_connections,
            crash_safe=crash_safe,
        )
        cluster.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, SERVER_USER)
            shutil.chown(cluster.socket_dir, SERVER_USER)
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(cluster.datadir),
                    "-U",
                    SERVER_USER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                    "--no-instructions",
                ]
            ),
            check=True,
            capture_output=True,
            cwd=root,
        )
        cluster.start_server()
        return cluster

    def is_running(self) -> bool:
        done = subprocess.run(
            _as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "status"]),
            check=False,
            capture_output=True,
            cwd=self.root,
        )
        return done.returncode == 0

    def start_server(self) -> None:
        """Start (or restart after ``stop_server``) the postgres process; waits until it accepts.

        Does nothing when it is running already.
        """
        if self.is_running():
            return
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=" + ("on" if self.crash_safe else "off"),
                "-c full_page_writes=off",
                f"-c max_connections={self.max_connections}",
                "-c shared_buffers=64MB",
            ]
        )
        subprocess.run(
            _as_server_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server (``mode="immediate"``: as a crash would, no shutdown checkpoint)."""
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]
            ),
            check=False,
            capture_output=True,
            cwd=self.root,
        )

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given); returns its URL."""
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        self._databases.append(name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.stop_server("immediate")
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until_accepting(cluster: PgCluster, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(cluster.dsn(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
