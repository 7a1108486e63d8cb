"""Database engines and sessions.

- SQLite gets WAL, foreign keys and a busy timeout.
- PostgreSQL gets a connection pool sized by the settings (``LABELHUB_DB_POOL_SIZE``,
  ``..._MAX_OVERFLOW``, ``..._POOL_TIMEOUT_S``, ``..._POOL_RECYCLE_S``, ``..._POOL_PRE_PING``), the
  psycopg 3 driver whatever the URL says (``postgres://`` and ``postgresql://`` work), a connect
  timeout and an optional statement timeout.
- ``session_scope`` turns a lost database connection into ``errors.Unavailable`` with a message a
  person can act on, so pages, the API and the CLI show a clear error instead of a traceback; the
  transaction that was open is rolled back by the database itself, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from threading import Lock
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session, create_engine

from labelhub_app.config import Settings, get_settings
from labelhub_app.errors import Unavailable

_engines: dict[str, Engine] = {}
_lock = Lock()

UNAVAILABLE_MESSAGE = (
    "The database cannot be reached just now, so this was not done (nothing was half-saved or "
    "charged). Please try again in a minute; if it keeps happening, tell the site's operators."
)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def normalize_url(url: str | URL) -> URL:
    """The URL with the driver we ship: ``postgres[ql]://`` becomes ``postgresql+psycopg://``."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def dialect_name(url: str | URL) -> str:
    """``sqlite`` or ``postgresql`` (the backend part of a database URL)."""
    return normalize_url(url).get_backend_name()


def make_engine(url: str | URL, settings: Settings | None = None) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    settings = settings or get_settings()
    connect_args: dict[str, Any] = {"connect_timeout": settings.db_connect_timeout_s}
    if parsed.get_backend_name() == "postgresql":
        connect_args["application_name"] = "labelhub"
        if settings.db_statement_timeout_ms:
            connect_args["options"] = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    return create_engine(
        parsed,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=settings.db_pool_recycle_s,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args=connect_args,
    )


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database)."""
    url = url or get_settings().resolved_database_url
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def is_connection_lost(error: BaseException) -> bool:
    """True when ``error`` means the database went away or is too busy, not a bug or a rule.

    PostgreSQL: no connection, or SQLSTATE class 08 (connection exception) / 57P (the server is
    shutting down or starting). SQLite: "database is locked" past the busy timeout. A pool that
    gives no connection in time counts too.
    """
    if isinstance(error, exc.TimeoutError):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, exc.OperationalError | exc.InterfaceError):
        return False
    orig = error.orig
    if type(orig).__module__.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None) or ""
        return state == "" or state.startswith(("08", "57P"))
    return "locked" in str(orig)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session for one unit of work; services commit, this rolls back whatever they left open.

    A lost connection surfaces as ``Unavailable`` (a domain error with a clear message).
    """
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException as error:
            # a lost connection cannot roll back: the database rolled the transaction back itself
            with suppress(exc.SQLAlchemyError):
                session.rollback()
            if isinstance(error, exc.SQLAlchemyError) and is_connection_lost(error):
                raise Unavailable(UNAVAILABLE_MESSAGE) from error
            raise
