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
    """Rebuild the search index from the database."""
    from labelhub_app.services import search

    with session_scope() as session:
        count = search.rebuild_index(session)
    console.print(f"Indexed {count} images on sale.")


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
