"""`labelhub check`: every configured backend is contacted and reported; failure: exit code 1."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from labelhub_app import db
from labelhub_app.cli import app
from labelhub_app.config import Settings, get_settings, reset_settings
from labelhub_app.services import health
from tests.pg_cluster import free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("LABELHUB_REDIS_URL", raising=False)


def by_name(report: health.HealthReport) -> dict[str, health.CheckResult]:
    return {r.backend: r for r in report.results}


def test_embedded_defaults_all_work(settings: Settings, database_backend: str) -> None:
    report = health.run_checks()
    results = by_name(report)
    assert report.ok, report.failed
    assert {"database", "object store", "search", "redis", "payments", "identity"} <= set(results)
    database = results["database"]
    assert database.status == "ok"
    assert "schema up to date" in database.message
    assert ("PostgreSQL 15" if database_backend == "postgresql" else "SQLite") in database.message
    assert results["object store"].status == "ok"
    assert str(settings.resolved_storage_path) in results["object store"].setting
    assert results["search"].setting == "embedded"
    assert results["redis"].status == "skipped" and "not configured" in results["redis"].message
    assert all(r.elapsed_ms >= 0 for r in report.results)
    assert not list((settings.resolved_storage_path).rglob("health*/*"))  # the probe is gone


def test_cli_prints_a_table_and_exits_zero(settings: Settings) -> None:
    r = runner.invoke(app, ["check"], terminal_width=200)
    assert r.exit_code == 0, r.output
    for word in ("backend", "setting", "status", "message", "database", "object store", "ok"):
        assert word in r.output


def _reconfigure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    db.dispose_engines()


def test_a_broken_database_url_fails_with_exit_code_one(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there
    _reconfigure(
        monkeypatch,
        LABELHUB_DATABASE_URL=f"postgresql://labelhub:s3cret@127.0.0.1:{port}/labelhub",
        LABELHUB_DB_CONNECT_TIMEOUT_S="2",
    )
    report = health.run_checks()
    database = by_name(report)["database"]
    assert database.status == "failed"
    assert "s3cret" not in database.setting and f":{port}/labelhub" in database.setting
    assert "OperationalError" in database.message
    assert by_name(report)["object store"].status == "ok"  # the others still ran

    r = runner.invoke(app, ["check"], terminal_width=200)
    assert r.exit_code == 1
    assert "failed" in r.output and "Failed: database" in r.output and "s3cret" not in r.output


def test_an_unmigrated_database_and_a_missing_file_say_run_migrate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    _reconfigure(monkeypatch, LABELHUB_DATABASE_URL=f"sqlite:///{tmp_path / 'none' / 'x.db'}")
    result = by_name(health.run_checks(only=["database"]))["database"]
    assert result.status == "failed" and "no database file" in result.message
    assert not (tmp_path / "none").exists()  # checking created nothing

    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).close()
    _reconfigure(monkeypatch, LABELHUB_DATABASE_URL=f"sqlite:///{empty}")
    result = by_name(health.run_checks(only=["database"]))["database"]
    assert result.status == "failed"
    assert "schema empty" in result.message and "labelhub migrate" in result.message


def test_a_broken_redis_url_and_object_store_fail(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    _reconfigure(
        monkeypatch,
        REFLEX_REDIS_URL=f"redis://:pw@127.0.0.1:{free_port()}/0",
        LABELHUB_STORAGE_PATH=str(blocked / "objects"),
    )
    results = by_name(health.run_checks())
    assert results["redis"].status == "failed" and "pw@" not in results["redis"].setting
    assert "ConnectionError" in results["redis"].message
    assert results["object store"].status == "failed"
    assert results["database"].status == "ok"


def test_other_parts_register_their_own_checks(settings: Settings) -> None:
    saved = health.registered_checks()
    try:

        @health.register_check("queue")
        def _queue(settings: Settings, probe: health.Probe) -> None:
            probe.setting = "jobs table"
            raise health.CheckFailed("3 jobs stuck for an hour")

        @health.register_check("search")
        def _search(settings: Settings, probe: health.Probe) -> None:
            probe.setting = "replaced"
            probe.message = "the replacement ran"

        report = health.run_checks(get_settings())
        results = by_name(report)
        assert results["queue"] == health.CheckResult(
            "queue", "jobs table", "failed", "3 jobs stuck for an hour", results["queue"].elapsed_ms
        )
        assert results["search"].message == "the replacement ran"
        assert not report.ok and [r.backend for r in report.failed] == ["queue"]
    finally:
        health._CHECKS.clear()
        health._CHECKS.update(saved)


def test_every_setting_is_documented_in_the_readme() -> None:
    """README "Configuration" lists every setting (one settings object: a new one needs a row)."""
    from labelhub_app.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = list(alias.choices) if alias is not None else [f"LABELHUB_{name.upper()}"]  # type: ignore[union-attr]
        if not any(str(n) in section for n in names):
            missing.append(names[0])
    assert missing == [], f"add these to README.md's Configuration table: {missing}"
