"""`labelhub check`: connect to every configured backend and say what works.

One small function per backend. Each receives the settings and a ``Probe`` to fill in: it sets
``probe.setting`` (what is configured, passwords hidden) first, does the cheapest real round trip
(a query, a write and read back, a ping) and sets ``probe.message``. Raising marks the backend
failed with the exception's message; ``probe.skip(...)`` marks it as not configured.

Another part of LabelHub adds (or replaces) a check by registering a function under a name:

    from labelhub_app.services.health import Probe, register_check

    @register_check("search")            # replaces the default "search" check
    def _opensearch(settings: Settings, probe: Probe) -> None:
        probe.setting = settings.opensearch_url
        ...                              # raise on failure
        probe.message = "green, 3 nodes"

and adds the module's name to ``CHECK_MODULES`` below (so the CLI imports it). ``run_checks()``
runs the checks in registration order, each timed, and never raises.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.engine import make_url

from labelhub_app.config import Settings, get_settings

Status = Literal["ok", "failed", "skipped"]


@dataclass
class Probe:
    """What one check found; the check fills it in."""

    setting: str = ""
    message: str = ""
    skipped: bool = False

    def skip(self, message: str) -> None:
        self.skipped = True
        self.message = message


@dataclass(frozen=True)
class CheckResult:
    backend: str
    setting: str
    status: Status
    message: str
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class HealthReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]


class CheckFailed(Exception):
    """Raised by a check: its message is shown as is (other exceptions show their type too)."""


CheckFn = Callable[[Settings, Probe], None]
_CHECKS: dict[str, CheckFn] = {}


def register_check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator: run ``fn`` as the check called ``name`` (replacing one of the same name)."""

    def decorate(fn: CheckFn) -> CheckFn:
        _CHECKS[name] = fn
        return fn

    return decorate


def registered_checks() -> dict[str, CheckFn]:
    return dict(_CHECKS)


def _first_line(error: BaseException) -> str:
    if isinstance(error, CheckFailed):
        return str(error)
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def run_checks(settings: Settings | None = None, only: list[str] | None = None) -> HealthReport:
    """Run every registered check (or those named in ``only``); a failure never stops the rest."""
    settings = settings or get_settings()
    _load_plugins()
    report = HealthReport()
    for name, fn in _CHECKS.items():
        if only and name not in only:
            continue
        probe = Probe()
        started = time.perf_counter()
        status: Status
        try:
            fn(settings, probe)
            status = "skipped" if probe.skipped else "ok"
            message = probe.message or "ok"
        except Exception as error:
            status, message = "failed", _first_line(error)
        elapsed = (time.perf_counter() - started) * 1000
        report.results.append(CheckResult(name, probe.setting, status, message, elapsed))
    return report


# Modules that register more checks with @register_check (imported before the checks run);
# another part adds its module's name here.
CHECK_MODULES: tuple[str, ...] = ("labelhub_app.services.search_dispatch",)  # #8 dispatcher lag


def _load_plugins() -> None:
    for module in CHECK_MODULES:
        __import__(module)


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ***."""
    try:
        parsed = make_url(url)
    except Exception:
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if ":" in creds else url
        return url
    return parsed.render_as_string(hide_password=True)


# ------------------------------------------------------------------------------ default checks
@register_check("database")
def check_database(settings: Settings, probe: Probe) -> None:
    """Connect, run a query, and compare the schema's revision with the code's."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from labelhub_app.db import make_engine
    from labelhub_app.migrations import alembic_config

    url = settings.resolved_database_url
    probe.setting = redact_url(url)
    parsed = make_url(url)
    is_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if is_file and not os.path.exists(parsed.database):  # type: ignore[arg-type]
        raise CheckFailed(f"no database file at {parsed.database}: run `labelhub migrate`")
    engine = make_engine(url, settings)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                version = conn.execute(text("SHOW server_version")).scalar_one()
                server = f"PostgreSQL {version}"
            else:
                server = f"SQLite {conn.execute(text('select sqlite_version()')).scalar_one()}"
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        state = "empty (no schema)" if current is None else f"at revision {current}"
        raise CheckFailed(f"{server}: schema {state}, code expects {head}: run `labelhub migrate`")
    probe.message = f"{server}, schema up to date ({head})"


@register_check("object store")
def check_object_store(settings: Settings, probe: Probe) -> None:
    """Write a small object, read it back and delete it."""
    from labelhub_app.adapters.storage import make_store

    if settings.storage_backend == "s3":
        where = settings.s3_endpoint_url or "AWS S3"
        probe.setting = f"s3 {where} bucket {settings.s3_bucket}"
    else:
        probe.setting = f"local {settings.resolved_storage_path}"
    store = make_store(settings)
    key = f"health/{uuid.uuid4().hex}"
    data = b"labelhub check"
    store.put_bytes(key, data, content_type="text/plain")
    try:
        with store.open(key) as fh:
            back = fh.read()
    finally:
        store.delete(key)
    if back != data:
        raise CheckFailed("an object read back differs from what was written")
    probe.message = "write, read and delete work"


@register_check("search")
def check_search(settings: Settings, probe: Probe) -> None:
    if settings.search_backend == "embedded":
        probe.setting = "embedded"
        probe.message = "in-process index, built from the database on first use"
        return
    probe.setting = f"opensearch {redact_url(settings.opensearch_url)}"
    from opensearchpy import OpenSearch

    client = OpenSearch(
        settings.opensearch_url,
        verify_certs=settings.opensearch_verify_certs,
        timeout=5,
        max_retries=0,
    )
    health = client.cluster.health()
    if health.get("status") == "red":
        raise CheckFailed(f"cluster {health.get('cluster_name')} is red")
    exists = client.indices.exists_alias(name=settings.opensearch_index)
    probe.message = (
        f"cluster {health.get('cluster_name')} {health.get('status')}, "
        f"{health.get('number_of_nodes')} node(s); alias {settings.opensearch_index} "
        + ("exists" if exists else "missing: run `labelhub reindex`")
    )


@register_check("redis")
def check_redis(settings: Settings, probe: Probe) -> None:
    """Redis shared by the app processes (LABELHUB_REDIS_URL or REFLEX_REDIS_URL)."""
    url = getattr(settings, "redis_url", "") or os.environ.get("REFLEX_REDIS_URL", "")
    if not url:
        probe.setting = "REFLEX_REDIS_URL unset"
        probe.skip("not configured: one app worker keeps state in memory")
        return
    probe.setting = redact_url(url)
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
    finally:
        client.close()
    probe.message = f"Redis {version} answers PING"


@register_check("payments")
def check_payments(settings: Settings, probe: Probe) -> None:
    if settings.payments == "internal":
        probe.setting = "internal"
        probe.message = "internal credits ledger (in the database)"
        return
    import httpx

    base = (settings.stripe_api_base or "https://api.stripe.com").rstrip("/")
    probe.setting = f"stripe {base}"
    if not settings.stripe_api_key:
        raise CheckFailed("LABELHUB_STRIPE_API_KEY is empty")
    response = httpx.get(
        f"{base}/v1/customers",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {settings.stripe_api_key}"},
        timeout=5,
    )
    if response.status_code != 200:
        raise CheckFailed(f"Stripe answered HTTP {response.status_code}")
    probe.message = "the API accepts the key"


@register_check("identity")
def check_identity(settings: Settings, probe: Probe) -> None:
    if not settings.oidc_issuer:
        probe.setting = "local passwords"
        probe.message = "accounts and passwords in the database; single sign-on off"
        return
    import httpx

    issuer = settings.oidc_issuer.rstrip("/")
    probe.setting = f"oidc {issuer}"
    response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=5)
    response.raise_for_status()
    meta = response.json()
    if meta.get("issuer", "").rstrip("/") != issuer:
        raise CheckFailed(f"the provider calls itself {meta.get('issuer')!r}, not {issuer!r}")
    probe.message = "discovery document found"


@register_check("mail")
def check_mail(settings: Settings, probe: Probe) -> None:
    if settings.mail_backend == "outbox":
        folder = settings.mail_outbox_dir or settings.data_dir / "outbox"  # resolved_outbox_dir
        probe.setting = f"outbox {folder}"
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent  # the folder is made on the first mail
        if not os.access(existing, os.W_OK):
            raise CheckFailed(f"{folder} is not writable")
        probe.message = "mail is written as .eml files (nothing is sent)"
        return
    import smtplib

    probe.setting = f"smtp {settings.smtp_host}:{settings.smtp_port}"
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=5) as smtp:
        code, _ = smtp.noop()
    if code != 250:
        raise CheckFailed(f"the server answered {code} to NOOP")
    probe.message = "the server answers"
