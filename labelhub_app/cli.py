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
    """Rebuild the search index from the database."""
    from labelhub_app.services import search

    with session_scope() as session:
        count = search.rebuild_index(session)
    console.print(f"Indexed {count} images on sale.")


@app.command()
def export(
    project: str = typer.Argument(..., help="project id (from the projects page) or exact name"),
    out: Path = typer.Option(..., "--out", "-o", help="zip file to write"),
    email: str = typer.Option(..., "--as", help="email of the consumer who owns the project"),
) -> None:
    """Write a bought project as a dataset zip (images, COCO JSON, CSV manifest, LICENSE.txt)."""
    from labelhub_app.models import Project, User
    from labelhub_app.services import exports

    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise typer.BadParameter(f"no account with email {email}")
        row = session.exec(
            select(Project).where(
                Project.owner_id == user.id,
                (Project.public_id == project) | (Project.name == project),
            )
        ).first()
        project_id = row.public_id if row else project
        try:
            with out.open("wb") as fh:
                summary = exports.write_project_zip(
                    session, actor=user, project_id=project_id, out=fh
                )
        except LabelHubError as exc:
            out.unlink(missing_ok=True)
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    console.print(f"Wrote {out} ({summary})")


class _Counting:
    """A write-only file wrapper that advances a progress bar by the bytes written."""

    def __init__(self, fh, progress: Progress, task) -> None:  # type: ignore[no-untyped-def]
        self._fh, self._progress, self._task = fh, progress, task

    def write(self, data: bytes) -> int:
        self._progress.advance(self._task, len(data))
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


@app.command()
def sweep(
    dry_run: bool = typer.Option(False, "--dry-run"),
    min_age_minutes: float = typer.Option(60, help="keep files younger than this (uploads in flight)"),
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


if __name__ == "__main__":
    app()
