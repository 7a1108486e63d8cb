"""Jobs: the auto-labelling and training jobs one started (admins: everyone's), live.

While a job of the list is queued or running, a background event re-reads the list every
``POLL_S`` seconds; it stops once nothing is left to wait for, when the person leaves the page,
or after ``POLL_MAX_S``. Dead jobs show their last error and can be retried; queued and running
ones can be cancelled (services/jobs.py decides who may).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, info_callout, pager
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.models import User
from labelhub_app.services import jobs as job_service
from labelhub_app.state.auth import AuthState, current_user

PER_PAGE = 25
POLL_S = 1.5
POLL_MAX_S = 30 * 60
STATUS_TITLES = {
    "all": "All",
    "running": "Running",
    "queued": "Queued",
    "succeeded": "Succeeded",
    "dead": "Failed",
    "cancelled": "Cancelled",
}
STATUS_COLOURS = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "dead": "red",
    "cancelled": "orange",
}
KIND_ICONS = {"autolabel": "sparkles", "train": "brain-circuit", "baseline_train": "flask-conical"}
ACTIVE = ("queued", "running")


def _when(value: datetime | None) -> str:
    return value.strftime("%d %b %H:%M:%S") if value else ""


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def job_row(job: job_service.JobView) -> dict[str, Any]:
    """What the page shows of a job: strings and numbers only."""
    return {
        "id": job.public_id,
        "kind": job.kind,
        "title": job_service.KIND_TITLES.get(job.kind, job.kind),
        "icon": job.kind if job.kind in KIND_ICONS else "autolabel",
        "status": job.status,
        "status_title": STATUS_TITLES.get(job.status, job.status),
        "progress": round(max(0.0, min(1.0, job.progress)) * 100),
        "message": job.progress_message or "",
        "error": job.error or "",
        "result": job.result_summary or "",
        "attempts": f"{job.attempts} of {job.max_attempts}",
        "who": job.created_by or "LabelHub",
        "created": _when(job.created_at),
        "started": _when(job.started_at),
        "finished": _when(job.finished_at),
        "took": _duration(job.started_at, job.finished_at),
        "may_retry": job.status in ("dead", "cancelled"),
        "may_cancel": job.status in ACTIVE,
        "short_id": job.public_id[:8],
    }


class JobsState(rx.State):
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    status: str = "all"
    page: int = 1
    is_admin: bool = False
    error: str = ""
    notice: str = ""
    live: bool = False
    loaded: bool = False
    _poll_gen: int = 0

    @rx.var
    def total(self) -> int:
        if self.status == "all":
            return sum(self.counts.values())
        return self.counts.get(self.status, 0)

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    @rx.var
    def tabs(self) -> list[dict[str, str]]:
        return [
            {
                "value": key,
                "title": title,
                "count": str(
                    sum(self.counts.values()) if key == "all" else self.counts.get(key, 0)
                ),
            }
            for key, title in STATUS_TITLES.items()
        ]

    @rx.var
    def active_count(self) -> int:
        return sum(self.counts.get(s, 0) for s in ACTIVE)

    def _read(self, user: User | None, session) -> None:  # type: ignore[no-untyped-def]
        self.is_admin = bool(user and user.is_admin)
        views = job_service.list_jobs(
            session,
            viewer=user,
            status=None if self.status == "all" else self.status,
            limit=PER_PAGE,
            offset=(self.page - 1) * PER_PAGE,
        )
        self.counts = job_service.count_jobs(session, viewer=user)
        self.rows = [job_row(v) for v in views]
        self.loaded = True

    async def _refresh(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                self._read(await current_user(self, session), session)
        except LabelHubError as exc:
            self.error = exc.message

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        """on_load (and after every change): read the list; start polling while jobs are active."""
        await self._refresh()
        return self._maybe_poll()

    def _maybe_poll(self):  # type: ignore[no-untyped-def]
        if self.active_count and not self.live:
            self.live = True
            self._poll_gen += 1
            return JobsState.poll
        return None

    @rx.event(background=True)
    async def poll(self):  # type: ignore[no-untyped-def]
        """Re-read the list every POLL_S s while something is queued or running on this page."""
        async with self:
            gen = self._poll_gen
            with session_scope() as session:
                user = await current_user(self, session)
                user_id = user.id if user is not None else None
        started = time.monotonic()
        while time.monotonic() - started < POLL_MAX_S:
            await asyncio.sleep(POLL_S)
            async with self:
                if gen != self._poll_gen or not self.router.url.path.startswith(routes.JOBS):
                    self.live = False if gen == self._poll_gen else self.live
                    return
                status, page = self.status, self.page
            try:
                data = await asyncio.to_thread(_read_jobs, user_id, status, page)
            except LabelHubError as exc:
                async with self:
                    self.error, self.live = exc.message, False
                return
            async with self:
                if gen != self._poll_gen:
                    return
                if (status, page) == (self.status, self.page):
                    self.rows, self.counts, self.is_admin = data
                if not self.active_count:
                    self.live = False
                    return
        async with self:
            if gen == self._poll_gen:
                self.live = False

    @rx.event
    async def set_status(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        value = value[0] if isinstance(value, list) and value else value
        self.status, self.page = (value if value in STATUS_TITLES else "all"), 1
        return await self.load()

    @rx.event
    async def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.page + 1, self.pages)
        return await self.load()

    @rx.event
    async def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return await self.load()

    @rx.event
    async def retry(self, job_id: str):  # type: ignore[no-untyped-def]
        return await self._act(job_service.retry_job, job_id, "Queued again")

    @rx.event
    async def cancel(self, job_id: str):  # type: ignore[no-untyped-def]
        return await self._act(job_service.cancel_job, job_id, "Cancelled")

    async def _act(self, action, job_id: str, done: str):  # type: ignore[no-untyped-def]
        self.error, self.notice = "", ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                job = action(session, actor=user, job_id=job_id)
                self.notice = (
                    f"{done}: {job_service.KIND_TITLES.get(job.kind, job.kind)} {job_id[:8]}."
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        return await self.load()


def _read_jobs(
    user_id: int | None, status: str, page: int
) -> tuple[list[dict[str, Any]], dict[str, int], bool]:
    """One poll, off the event loop: the page's rows, the counts, whether the viewer is admin."""
    with session_scope() as session:
        user = session.get(User, user_id) if user_id is not None else None
        views = job_service.list_jobs(
            session,
            viewer=user,
            status=None if status == "all" else status,
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
        )
        counts = job_service.count_jobs(session, viewer=user)
        return [job_row(v) for v in views], counts, bool(user and user.is_admin)


# --- view -----------------------------------------------------------------------------------------


def _status_badge(row: rx.Var) -> rx.Component:
    return rx.match(
        row["status"].to(str),
        *[
            (
                key,
                rx.badge(
                    rx.cond(key == "running", rx.spinner(size="1"), rx.fragment()),
                    row["status_title"].to(str),
                    color_scheme=colour,
                    variant="soft",
                    radius="full",
                    class_name="job-status",
                ),
            )
            for key, colour in STATUS_COLOURS.items()
        ],
        rx.badge(row["status_title"].to(str), class_name="job-status"),
    )


def _kind_icon(row: rx.Var) -> rx.Component:
    return rx.center(
        rx.match(
            row["icon"].to(str),
            *[
                (k, rx.icon(icon, size=18, color="var(--accent-11)"))
                for k, icon in KIND_ICONS.items()
            ],
            rx.icon("cog", size=18),
        ),
        width="36px",
        height="36px",
        border_radius="10px",
        background="var(--accent-a3)",
        flex_shrink="0",
    )


def _job_card(row: rx.Var) -> rx.Component:
    status = row["status"].to(str)
    return rx.card(
        rx.vstack(
            rx.hstack(
                _kind_icon(row),
                rx.vstack(
                    rx.hstack(
                        rx.text(row["title"].to(str), size="3", weight="bold"),
                        _status_badge(row),
                        rx.code(
                            row["short_id"].to(str), size="1", variant="ghost", color_scheme="gray"
                        ),
                        align="center",
                        spacing="2",
                    ),
                    rx.text(
                        "started by ",
                        row["who"].to(str),
                        " · queued ",
                        row["created"].to(str),
                        rx.cond(
                            row["started"].to(str) != "", " · started " + row["started"].to(str), ""
                        ),
                        rx.cond(row["took"].to(str) != "", " · took " + row["took"].to(str), ""),
                        " · attempt ",
                        row["attempts"].to(str),
                        size="1",
                        color_scheme="gray",
                    ),
                    spacing="1",
                ),
                rx.spacer(),
                rx.cond(
                    row["may_retry"].to(bool),
                    rx.button(
                        rx.icon("rotate-ccw", size=14),
                        "Retry",
                        size="2",
                        on_click=JobsState.retry(row["id"].to(str)),
                        class_name="job-retry",
                    ),
                ),
                rx.cond(
                    row["may_cancel"].to(bool),
                    rx.button(
                        rx.icon("circle-stop", size=14),
                        "Cancel",
                        size="2",
                        variant="soft",
                        color_scheme="red",
                        on_click=JobsState.cancel(row["id"].to(str)),
                        class_name="job-cancel",
                    ),
                ),
                width="100%",
                align="center",
                spacing="3",
            ),
            rx.cond(
                (status == "running") | (status == "queued"),
                rx.vstack(
                    rx.hstack(
                        rx.progress(
                            value=row["progress"].to(int),
                            max=100,
                            flex="1",
                            class_name="job-progress",
                        ),
                        rx.text(
                            row["progress"].to(int).to_string(),
                            " %",
                            size="1",
                            weight="medium",
                            width="44px",
                            text_align="right",
                        ),
                        width="100%",
                        align="center",
                    ),
                    rx.text(
                        rx.cond(
                            row["message"].to(str) != "",
                            row["message"].to(str),
                            rx.cond(status == "queued", "Waiting for a worker…", "Working…"),
                        ),
                        size="1",
                        color_scheme="gray",
                        class_name="job-message",
                    ),
                    width="100%",
                    spacing="1",
                ),
            ),
            rx.cond(
                row["error"].to(str) != "",
                rx.callout(
                    row["error"].to(str),
                    icon="triangle-alert",
                    color_scheme=rx.cond(status == "dead", "red", "amber"),
                    size="1",
                    width="100%",
                    class_name="job-error",
                ),
            ),
            rx.cond(
                (row["result"].to(str) != "") & (status == "succeeded"),
                rx.text(
                    rx.icon("circle-check", size=14, color="var(--green-9)"),
                    " ",
                    row["result"].to(str),
                    size="2",
                    class_name="job-result",
                ),
            ),
            rx.cond(
                (status == "cancelled") & (row["message"].to(str) != ""),
                rx.text(row["message"].to(str), size="1", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        class_name="job-row",
        custom_attrs={"data-status": status},
        id="job-" + row["id"].to(str),
    )


def _tabs() -> rx.Component:
    return rx.segmented_control.root(
        rx.foreach(
            JobsState.tabs,
            lambda t: rx.segmented_control.item(
                t["title"].to(str) + " " + t["count"].to(str), value=t["value"].to(str)
            ),
        ),
        value=JobsState.status,
        on_change=JobsState.set_status,
        id="job-status-filter",
    )


@rx.page(
    route=routes.JOBS,
    title="Jobs · LabelHub",
    on_load=[AuthState.require_user, JobsState.load],
)
def jobs_page() -> rx.Component:
    return page_frame(
        rx.hstack(
            _tabs(),
            rx.spacer(),
            rx.cond(
                JobsState.live,
                rx.badge(
                    rx.box(
                        width="8px",
                        height="8px",
                        border_radius="50%",
                        background="var(--green-9)",
                        class_name="live-dot",
                    ),
                    "Live · updating every ",
                    f"{POLL_S:g}",
                    " s",
                    color_scheme="green",
                    variant="soft",
                    id="jobs-live",
                ),
            ),
            rx.icon_button(
                rx.icon("refresh-cw", size=16),
                variant="soft",
                on_click=JobsState.load,
                aria_label="refresh",
                id="jobs-refresh",
            ),
            width="100%",
            align="center",
            spacing="3",
            margin_bottom="1em",
            wrap="wrap",
        ),
        error_callout(JobsState.error, margin_bottom="1em"),
        info_callout(JobsState.notice, margin_bottom="1em"),
        rx.cond(
            JobsState.rows.length() > 0,
            rx.vstack(
                rx.foreach(JobsState.rows, _job_card),
                pager(JobsState.page, JobsState.pages, JobsState.prev_page, JobsState.next_page),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                JobsState.loaded,
                rx.cond(
                    JobsState.status == "all",
                    empty_state(
                        "list-checks",
                        "No jobs yet",
                        "Auto-labelling and training run here in the background. Auto-label a "
                        "selection on your dashboard, or train a model on the Models page.",
                        rx.hstack(
                            rx.link(rx.button("Dashboard", variant="soft"), href=routes.DASHBOARD),
                            rx.link(rx.button("Models"), href=routes.MODELS),
                        ),
                    ),
                    empty_state(
                        "filter",
                        "No jobs with this status",
                        "Pick another status above to see the rest.",
                    ),
                ),
                rx.center(rx.spinner(size="3"), padding="4em"),
            ),
        ),
        title="Jobs",
        subtitle=rx.text(
            rx.cond(
                JobsState.is_admin,
                "Everyone's auto-labelling and training jobs (you are an admin).",
                "Your auto-labelling and training jobs: progress, results, errors.",
            )
        ),
    )
