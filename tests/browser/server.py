"""Start and stop the real app (prod build, one port) for the browser tests and bench/page.py.

The app runs from a copy of the source tree, so its `.web` build never touches the one a
developer's `reflex run` is serving from the repository. The copy lives in `.cache/browser-app`
(its `.web/node_modules` is kept between runs, which saves the package install); a second run at
the same time takes a throwaway copy instead. Every run gets its own empty, migrated data folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHED_APP_ROOT = REPO_ROOT / ".cache" / "browser-app"
START_TIMEOUT_S = 180.0

# Not copied into the app root: builds, caches, data, and things the app never reads.
_SKIP_TOP = {
    ".git",
    ".venv",
    ".web",
    ".states",
    ".cache",
    "tools",
    "data",
    "uploaded_files",
    "tests",
    "bench",
    "docs",
    "test-artifacts",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".env",
}
_SKIP_ANY = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.db", "*.db-wal", "*.db-shm", "*.egg-info"
)
_SKIP_SUFFIX = (".egg-info",)


def reflex_env(repo_root: Path = REPO_ROOT) -> dict[str, str]:
    """The variables the Makefile exports for Reflex (offline bun, caches, no telemetry)."""
    env = dict(os.environ)
    bins = [str(repo_root / "tools" / "node_modules" / ".bin"), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join([*bins, env.get("PATH", "")])
    env.setdefault("REFLEX_DIR", str(repo_root / ".cache" / "reflex"))
    env.setdefault("BUN_INSTALL_CACHE_DIR", str(repo_root / ".cache" / "bun"))
    env.setdefault(
        "BUN_RUNTIME_TRANSPILER_CACHE_PATH", str(repo_root / ".cache" / "bun-transpiler")
    )
    env["REFLEX_TELEMETRY_ENABLED"] = "false"
    env["REFLEX_CHECK_LATEST_VERSION"] = "false"
    if not env.get("NPM_CONFIG_REGISTRY"):  # as the Makefile: npm's configured registry
        registry = _npm_registry()
        if registry:
            env["NPM_CONFIG_REGISTRY"] = registry
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _npm_registry() -> str:
    npm = shutil.which("npm")
    if npm is None:
        return ""
    try:
        out = subprocess.run(
            [npm, "config", "get", "registry"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sync_sources(dest: Path) -> None:
    """Make ``dest`` hold the current sources; keep its ``.web`` (the installed node_modules)."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in dest.iterdir():
        if entry.name in (".web",):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in REPO_ROOT.iterdir():
        if entry.name in _SKIP_TOP or entry.name.endswith(_SKIP_SUFFIX):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, ignore=_SKIP_ANY, symlinks=True)
        elif entry.is_file():
            shutil.copy2(entry, dest / entry.name)
    # A stale build from an earlier run is never served: the prod run rebuilds, but start clean.
    shutil.rmtree(dest / ".web" / "build", ignore_errors=True)


@contextlib.contextmanager
def app_root() -> Iterator[Path]:
    """A private copy of the app to build and run; the cached one unless another run holds it."""
    CACHED_APP_ROOT.parent.mkdir(parents=True, exist_ok=True)
    lock = (CACHED_APP_ROOT.parent / "browser-app.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        with tempfile.TemporaryDirectory(prefix="labelhub-app-") as tmp:
            root = Path(tmp) / "app"
            _sync_sources(root)
            yield root
        return
    try:
        _sync_sources(CACHED_APP_ROOT)
        yield CACHED_APP_ROOT
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def migrate(data_dir: Path, root: Path, env: dict[str, str]) -> None:
    """Create the schema in ``data_dir`` with the app's own migrations (in a child process)."""
    done = subprocess.run(
        [sys.executable, "-c", "from labelhub_app.migrations import upgrade; upgrade()"],
        cwd=root,
        env={**env, "LABELHUB_DATA_DIR": str(data_dir), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrating {data_dir} failed:\n{done.stdout}{done.stderr}"[-4000:])


@dataclass
class RunningApp:
    url: str  # http://localhost:PORT, no trailing slash
    port: int
    data_dir: Path
    root: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _wait_healthy(app: RunningApp, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    health = f"http://127.0.0.1:{app.port}/api/v1/health"
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"the app exited with {app.process.returncode}:\n{app.log_tail()}")
        try:
            with urllib.request.urlopen(health, timeout=2) as resp:
                if resp.status == 200:
                    # the API is up; make sure the built pages are served too
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{app.port}/signin", timeout=5
                    ) as page:
                        if page.status == 200:
                            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the app did not answer within {timeout:.0f} s:\n{app.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def running_app(
    data_dir: Path | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Iterator[RunningApp]:
    """Build and serve the app on a free port with its own data folder; stop it afterwards."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="labelhub-data-"))
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        root = stack.enter_context(app_root())
        env = {k: v for k, v in reflex_env().items() if not k.startswith("LABELHUB_")}
        env.update(extra_env or {})
        env["LABELHUB_DATA_DIR"] = str(data_dir)
        env["LABELHUB_DEV_PAGES"] = "1"  # the component playground the editor tests use
        env["PYTHONPATH"] = str(root)
        migrate(data_dir, root, env)
        port = free_port()
        log_path = data_dir / "app.log"
        log = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "reflex"),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
                "--loglevel",
                "info",
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopping it stops granian and bun too
        )
        app = RunningApp(
            url=f"http://localhost:{port}",
            port=port,
            data_dir=data_dir,
            root=root,
            log_path=log_path,
            process=process,
        )
        try:
            _wait_healthy(app, timeout)
            yield app
        finally:
            _stop(process)


@contextlib.contextmanager
def services_env(data_dir: Path) -> Iterator[None]:
    """Point this process's LabelHub services at ``data_dir`` (the running app's database)."""
    from labelhub_app import db
    from labelhub_app.adapters.storage import get_store
    from labelhub_app.config import reset_settings

    old = {k: os.environ.get(k) for k in ("LABELHUB_DATA_DIR", "LABELHUB_DATABASE_URL")}
    os.environ["LABELHUB_DATA_DIR"] = str(data_dir)
    os.environ.pop("LABELHUB_DATABASE_URL", None)

    def reset() -> None:
        reset_settings()
        get_store.cache_clear()
        db.dispose_engines()
        with contextlib.suppress(ImportError, AttributeError):
            from labelhub_app.services import search

            search.reset_index()

    reset()
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset()


if __name__ == "__main__":  # manual check: python tests/browser/server.py
    started = time.monotonic()
    with running_app() as running:
        took = time.monotonic() - started
        sys.stdout.write(f"up at {running.url} after {took:.1f} s; data in {running.data_dir}\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
