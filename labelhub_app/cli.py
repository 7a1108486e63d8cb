"""The `labelhub` command: demo data, migrations, search index, exports and housekeeping.

Every command calls the same services as the pages and the API.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import select

from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.formats.records import Problem

app = typer.Typer(help="LabelHub: image-labelling platform and data market.", no_args_is_help=True)
console = Console()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from labelhub_app.config import get_settings
    from labelhub_app.migrations import upgrade

    upgrade()
    console.print(f"Database is up to date: {get_settings().resolved_database_url}")


@app.command()
def demo(
    generated: int = typer.Option(60, help="how many generated images besides the real photos"),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing if the database has data"),
) -> None:
    """Seed a demo market: a producer, a consumer and a reviewer with known passwords."""
    from labelhub_app.migrations import upgrade
    from labelhub_app.services import demo as demo_service

    upgrade()
    with session_scope() as session:
        if if_empty and not demo_service.database_is_empty(session):
            console.print("The database already has data; no demo data added.")
            return
        with _progress() as progress:
            task = progress.add_task(
                "Uploading demo images", total=generated + len(demo_service.SAMPLE_PHOTOS)
            )
            report = demo_service.seed_demo(
                session, generated=generated, progress=lambda n: progress.advance(task, n)
            )
    table = Table(title="Demo accounts")
    for col in ("email", "password", "roles"):
        table.add_column(col)
    for email, password, roles in report.people:
        table.add_row(email, password, ", ".join(roles))
    console.print(table)
    console.print(f"{report.uploaded} images uploaded, {report.refused} refused (already there).")


@app.command()
def reindex() -> None:
    """Rebuild the search index from the database (OpenSearch: new index + alias swap)."""
    from labelhub_app.config import get_settings
    from labelhub_app.services import search

    if get_settings().search_backend == "opensearch":
        from labelhub_app.services import search_dispatch

        index = search_dispatch.opensearch_index()
        with session_scope() as session:
            count = search_dispatch.reindex_opensearch(session, index)
        console.print(
            f"Indexed {count} images on sale into a new index; alias {index.alias} now points "
            f"at {', '.join(index.current_indexes())}."
        )
        return
    with session_scope() as session:
        count = search.rebuild_index(session)
    console.print(f"Indexed {count} images on sale.")


@app.command("dispatch-search")
def dispatch_search(
    once: bool = typer.Option(False, "--once", help="apply what is pending, then exit"),
    batch: int = typer.Option(500, "--batch", min=1, help="outbox rows per bulk request"),
    poll: float = typer.Option(0.5, "--poll", min=0.05, help="seconds between polls when idle"),
) -> None:
    """Apply the search outbox to OpenSearch (run one per installation; safe to restart)."""
    import signal
    import threading

    from labelhub_app.services import search_dispatch

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dispatcher = search_dispatch.OutboxDispatcher(
        search_dispatch.opensearch_index(), batch_size=batch
    )
    try:
        applied = dispatcher.run(session_scope, stop=stop, poll_s=poll, until_caught_up=once)
    except KeyboardInterrupt:
        applied = 0
    console.print(f"Applied {applied} outbox rows.")


def _account(session, email: str):  # type: ignore[no-untyped-def]
    from labelhub_app.models import User

    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise typer.BadParameter(f"no account with email {email}", param_hint="--as")
    return user


EXPORT_FORMATS = "zip|coco|yolo|voc|labelme|labelstudio|sagemaker|manifest"
IMPORT_FORMATS = "coco|yolo|voc|labelme|labelstudio|sagemaker|manifest"


@app.command()
def export(
    project: str = typer.Argument(..., help="project id (from the projects page) or exact name"),
    out: Path = typer.Option(..., "--out", "-o", help="file to write"),
    email: str = typer.Option(..., "--as", help="email of the consumer who owns the project"),
    fmt: str = typer.Option(
        "zip",
        "--format",
        "-f",
        help=f"{EXPORT_FORMATS}: zip is images + COCO + CSV manifest + LICENSE; the others "
        "hold labels and boxes only",
    ),
    since: str | None = typer.Option(
        None, "--since", help="the mark a previous export printed: export only what changed"
    ),
) -> None:
    """Export a bought project: the dataset zip, or its labels and boxes in another format.

    Prints the new mark: pass it as --since next time (a nightly sync) to get only the images
    bought, or whose labels changed, after this export.
    """
    from labelhub_app.models import Project
    from labelhub_app.services import exports

    with session_scope() as session:
        user = _account(session, email)
        row = session.exec(
            select(Project).where(
                Project.owner_id == user.id,
                (Project.public_id == project) | (Project.name == project),
            )
        ).first()
        project_id = row.public_id if row else project
        size = 0
        try:
            stream = exports.export_project(
                session, actor=user, project_id=project_id, fmt=fmt, since=since
            )
            with out.open("wb") as fh, _progress() as progress:
                task = progress.add_task(f"Writing {out.name}", total=None)
                for chunk in stream.chunks:
                    fh.write(chunk)
                    size += len(chunk)
                    progress.advance(task, len(chunk))
        except LabelHubError as exc:
            out.unlink(missing_ok=True)
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    what = f"{stream.images} image(s)" + (f" changed since {since}" if since else "")
    title = exports.export_format(fmt).title
    console.print(f"Wrote {out} ({what}, {size:,} bytes; {title}).", soft_wrap=True)
    console.print(f"Mark: {stream.mark}  (next time: --since {stream.mark})", soft_wrap=True)


def _import_files(path: Path, fmt: str) -> dict[str, bytes]:
    """A file as is (a zip is unpacked by the service), or a folder's files of the format."""
    from labelhub_app.services.imports import IMPORT_ENDINGS, import_format

    if path.is_file():
        return {path.name: path.read_bytes()}
    if not path.is_dir():
        raise typer.BadParameter(f"{path} is neither a file nor a folder", param_hint="PATH")
    endings = (*IMPORT_ENDINGS[import_format(fmt)], ".zip")
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.name.lower().endswith(endings) and not p.name.startswith(".")
    )
    files: dict[str, bytes] = {}
    with _progress() as progress:
        task = progress.add_task(f"Reading {path.name}", total=len(found))
        for p in found:
            files[p.relative_to(path).as_posix()] = p.read_bytes()
            progress.advance(task)
    return files


def _problem_table(problems: list[Problem], limit: int) -> Table:
    table = Table(title=f"{len(problems)} problem(s)")
    for name in ("file", "line", "record", "problem"):
        table.add_column(name, overflow="fold")
    for p in problems[:limit]:
        table.add_row(p.source, "" if p.line is None else str(p.line), p.record, p.message)
    if len(problems) > limit:
        table.caption = f"... and {len(problems) - limit} more (--problems FILE lists them all)"
    return table


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="a file, a folder or a zip"),
    email: str = typer.Option(..., "--as", help="email of the producer whose images these are"),
    fmt: str = typer.Option(..., "--format", "-f", help=IMPORT_FORMATS),
    problems_csv: Path | None = typer.Option(
        None, "--problems", help="also write every problem to this CSV file"
    ),
    show: int = typer.Option(50, "--show", help="how many problems the table shows"),
) -> None:
    """Import labels and boxes onto your own images (matched by file name).

    Each matched image gets one new revision: its boxes become the file's, and the file's
    image-level labels are added to its tags. Exit code 0: all imported; 3: imported, with
    problems (listed in a table); 1: nothing could be imported.
    """
    import csv

    from labelhub_app.services import imports

    with session_scope() as session:
        user = _account(session, email)
        try:
            files = _import_files(path, fmt)
            with _progress() as progress:
                task = progress.add_task("Saving images", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                report = imports.import_annotations(
                    session, actor=user, fmt=fmt, files=files, progress=advance
                )
        except LabelHubError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    console.print(
        f"{report.images_updated} image(s) updated, {report.images_matched} matched; "
        f"{report.boxes} box(es) and {report.tags} image-level label(s) imported."
    )
    if problems_csv is not None:
        with problems_csv.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["file", "line", "record", "problem"])
            for p in report.problems:
                writer.writerow([p.source, "" if p.line is None else p.line, p.record, p.message])
    if report.problems:
        console.print(_problem_table(report.problems, show))
        raise typer.Exit(3)


@app.command()
def sweep(
    dry_run: bool = typer.Option(False, "--dry-run"),
    min_age_minutes: float = typer.Option(
        60, help="keep files younger than this (uploads in flight)"
    ),
) -> None:
    """Remove stored files that no image refers to (left by a crash mid-upload)."""
    from labelhub_app.services import images

    with session_scope() as session:
        removed = images.sweep_unreferenced_objects(
            session, dry_run=dry_run, min_age_s=min_age_minutes * 60
        )
    verb = "Would remove" if dry_run else "Removed"
    console.print(f"{verb} {len(removed)} unreferenced files.")


@app.command("make-admin")
def make_admin(
    email: str = typer.Argument(..., help="the account's email"),
    revoke: bool = typer.Option(False, "--revoke", help="take the admin flag back"),
) -> None:
    """Let an account see everyone's activity (and act as admin)."""
    from labelhub_app.services import accounts

    with session_scope() as session:
        try:
            user = accounts.set_admin(session, email=email, admin=not revoke)
        except LabelHubError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    console.print(f"{user.email} is {'now' if user.is_admin else 'no longer'} an admin.")


@app.command()
def outbox(
    to: str = typer.Option("", "--to", help="only mail to this address"),
    limit: int = typer.Option(10, "--limit", min=1, help="how many messages, newest first"),
    full: bool = typer.Option(False, "--full", help="print each message's text"),
) -> None:
    """Show the mail LabelHub wrote to its outbox folder (embedded mode: reset/verify links)."""
    from labelhub_app.adapters.mail import read_outbox
    from labelhub_app.config import get_settings

    folder = get_settings().resolved_outbox_dir
    messages = read_outbox(folder, to=to, limit=limit)
    if not messages:
        console.print(f"No messages in {folder}.")
        return
    for message in messages:
        console.print(f"[bold]{message.subject}[/bold]  to {message.to}  ({message.date})")
        console.print(f"  {message.path}")
        if full:
            console.print(message.body, markup=False, highlight=False, soft_wrap=True)


@app.command("check-ledger")
def check_ledger() -> None:
    """Prove that every ledger transaction balances."""
    from labelhub_app.services import ledger

    with session_scope() as session:
        result = ledger.check_ledger(session)
    if result.ok:
        console.print(f"Ledger balances: {result.transactions} transactions, total 0.")
        return
    console.print(f"[red]Unbalanced transactions: {result.unbalanced}[/red]")
    raise typer.Exit(1)


@app.command("ledger-report")
def ledger_report() -> None:
    """Sales, commission, producers' shares and payouts; exit 1 unless the books balance."""
    from labelhub_app.services import ledger

    with session_scope() as session:
        report = ledger.ledger_report(session)
    money = lambda cents: f"{cents / 100:,.2f}"  # noqa: E731
    table = Table(title="LabelHub ledger")
    table.add_column("figure")
    table.add_column("amount", justify="right")
    for name, value in (
        ("gross sales, refunds deducted", report.gross_cents),
        (f"platform commission ({report.commission_bps / 100:g} %)", report.commission_cents),
        ("producers' shares", report.producers_share_cents),
        ("consumer credits held", report.totals_by_kind.get("balance", 0)),
        ("producer income held", report.totals_by_kind.get("income", 0)),
        ("paid out to producers", report.totals_by_kind.get("paid_out", 0)),
        ("money in (top-ups, grants, cards)", -report.totals_by_kind.get("cash_in", 0)),
    ):
        table.add_row(name, money(value))
    console.print(table)
    console.print(
        f"{report.sales} image sale(s), {report.refunds} refunded; "
        f"{report.check.transactions} transactions; {len(report.producers)} producer(s)."
    )
    if report.ok:
        console.print("Ledger balances: commission + producers' shares = gross sales.")
        return
    if report.check.unbalanced:
        console.print(f"[red]Unbalanced transactions: {report.check.unbalanced}[/red]")
    if report.unsplit_sales:
        console.print(f"[red]Sales that do not split exactly: {report.unsplit_sales[:20]}[/red]")
    if report.gross_cents != report.commission_cents + report.producers_share_cents:
        console.print("[red]Commission + producers' shares differ from gross sales.[/red]")
    for p in report.producers:
        if p.share_cents != p.income_balance_cents + p.paid_out_cents:
            console.print(f"[red]{p.pseudonym}: share differs from income held + paid out.[/red]")
    raise typer.Exit(1)


# --- #8 scale backends: check, backup, restore -----------------------------------------------
@app.command()
def check(
    only: list[str] = typer.Option(
        None, "--only", help="run only this check (repeatable): database, object store, ..."
    ),
) -> None:
    """Connect to every configured backend and report what works (exit code 1 if anything fails)."""
    from labelhub_app.services import health

    report = health.run_checks(only=only or None)
    table = Table(title="LabelHub backends")
    for name in ("backend", "setting", "status", "message", "ms"):
        table.add_column(name, overflow="fold", justify="right" if name == "ms" else "left")
    colours = {"ok": "green", "failed": "red", "skipped": "yellow"}
    for r in report.results:
        status = f"[{colours[r.status]}]{r.status}[/{colours[r.status]}]"
        table.add_row(r.backend, r.setting, status, r.message, f"{r.elapsed_ms:.0f}")
    console.print(table)
    if not report.ok:
        names = ", ".join(r.backend for r in report.failed)
        console.print(f"[red]Failed: {names}[/red]")
        raise typer.Exit(1)


class _StageProgress:
    """Rich progress bars for the backup and restore stages (one bar per stage)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(task, completed=done, total=total)  # type: ignore[arg-type]


@app.command()
def backup(
    dest: Path = typer.Argument(..., help="an empty or new folder to write the backup into"),
) -> None:
    """Copy the database and every stored object into DEST, while the app keeps running.

    SQLite: the online backup API; PostgreSQL: pg_dump (custom format). Objects are copied
    with their sizes and SHA-256 in objects.jsonl, and manifest.json describes the whole.
    """
    from labelhub_app.services import backup as backup_service

    try:
        with _progress() as progress:
            manifest = backup_service.backup(dest, progress=_StageProgress(progress))
    except LabelHubError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"Backup written to {dest}: {manifest['database']['dialect']} database "
        f"({manifest['database']['size_bytes']:,} bytes), {manifest['objects']['count']:,} "
        f"objects ({manifest['objects']['size_bytes']:,} bytes).",
        soft_wrap=True,
    )


@app.command()
def restore(
    src: Path = typer.Argument(..., help="a folder written by `labelhub backup`"),
) -> None:
    """Bring a backup back into an EMPTY installation (the configured database and object store).

    Refuses when the database already has accounts or images, or the object store has objects.
    Run `labelhub migrate` afterwards when restoring into a newer version of LabelHub.
    """
    from labelhub_app.services import backup as backup_service

    try:
        with _progress() as progress:
            result = backup_service.restore(src, progress=_StageProgress(progress))
    except LabelHubError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"Restored {result.rows:,} rows in {result.tables} tables and {result.objects:,} objects "
        f"from {src}; every object's SHA-256 matched.",
        soft_wrap=True,
    )


# --- auto-labelling (#6) --------------------------------------------------------------------------


@app.command()
def worker(
    kinds: str = typer.Option("", help="comma-separated job kinds to take (default: all)"),
    max_jobs: int | None = typer.Option(None, help="stop after this many jobs"),
    exit_when_idle: bool = typer.Option(False, "--exit-when-idle", help="stop when no job is due"),
    log_level: str = typer.Option("INFO", help="DEBUG, INFO, WARNING"),
) -> None:
    """Run an inference worker (needs torch: `make install-worker`); SIGTERM stops it cleanly."""
    try:
        import torch  # noqa: F401
    except ImportError:
        console.print(
            "[red]The worker needs torch and torchvision: run `make install-worker` "
            "(pip install -r inference_worker/requirements.txt).[/red]"
        )
        raise typer.Exit(1) from None
    from inference_worker.__main__ import run

    code = run(
        kinds=[k.strip() for k in kinds.split(",") if k.strip()],
        max_jobs=max_jobs,
        exit_when_idle=exit_when_idle,
        log_level=log_level,
    )
    raise typer.Exit(code)


@app.command()
def train(
    email: str = typer.Option(..., "--as", help="an admin (global model) or a producer (own)"),
    scope: str = typer.Option("global", help="global | producer (your own model)"),
    wait: bool = typer.Option(False, "--wait", help="follow the job until a worker finishes it"),
) -> None:
    """Queue a detector training job; a worker trains, evaluates and maybe activates it."""
    import time

    from labelhub_app.services import detectors, jobs

    with session_scope() as session:
        actor = _account(session, email)
        try:
            job = detectors.request_training(session, actor=actor, scope=scope)
        except LabelHubError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
        console.print(f"Training job {job.public_id} is {job.status}.")
        if not wait:
            return
        last = ""
        while True:
            view = jobs.get_job(session, viewer=actor, job_id=job.public_id)
            line = f"{view.status}: {view.progress_message} ({view.progress:.0%})"
            if line != last:
                console.print(line)
                last = line
            if view.status in ("succeeded", "dead", "cancelled"):
                break
            time.sleep(2)
            session.expire_all()
    if view.status != "succeeded":
        console.print(f"[red]{view.error or view.status}[/red]")
        raise typer.Exit(1)
    console.print(view.result_summary)


if __name__ == "__main__":
    app()
