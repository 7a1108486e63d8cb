"""Activity: the operation log of one's own label actions (admins can see everyone's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, pager
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.models import utcnow
from labelhub_app.services import oplog
from labelhub_app.state.auth import AuthState, current_user

PER_PAGE = 50
ACTION_TITLES = {
    "all": "All actions",
    "create": "Box created",
    "update": "Box changed",
    "delete": "Box deleted",
    "restore": "Restored",
    "tag_add": "Tag added",
    "tag_remove": "Tag removed",
    "accept": "Suggestion accepted",
    "reject": "Suggestion rejected",
    "review_accept": "Review: accepted",
    "review_reject": "Review: rejected",
    "review_fix": "Review: fixed",
    "rate": "Rated",
    "gold_mark": "Marked gold",
    "gold_unmark": "Gold removed",
    "campaign_add": "Added to a campaign",
    "campaign_answer": "Campaign answer",
    "consolidate": "Consolidated",
}
PERIODS = {"all": "Any time", "1": "Last 24 hours", "7": "Last 7 days", "30": "Last 30 days"}


class ActivityState(rx.State):
    rows: list[dict[str, Any]] = []
    total: int = 0
    page: int = 1
    action: str = "all"
    period: str = "all"
    everyone: bool = False
    is_admin: bool = False
    error: str = ""

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    @rx.event
    async def load(self) -> None:
        self.error = ""
        since: datetime | None = (
            None if self.period == "all" else utcnow() - timedelta(days=int(self.period))
        )
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                self.is_admin = bool(user and user.is_admin)
                result = oplog.list_operations(
                    session,
                    actor=user,
                    everyone=self.everyone and self.is_admin,
                    action=None if self.action == "all" else self.action,
                    since=since,
                    page=self.page,
                    per_page=PER_PAGE,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.total = result.total
        self.rows = [
            {
                "when": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "user": r.user,
                "action": ACTION_TITLES.get(r.action, r.action),
                "kind": r.action,
                "detail": r.detail,
                "file": r.file_name,
                "href": routes.label(r.image_id),
                "revision": str(r.revision or ""),
            }
            for r in result.items
        ]

    @rx.event
    def set_action(self, value: str):  # type: ignore[no-untyped-def]
        self.action, self.page = value, 1
        return ActivityState.load

    @rx.event
    def set_period(self, value: str):  # type: ignore[no-untyped-def]
        self.period, self.page = value, 1
        return ActivityState.load

    @rx.event
    def set_everyone(self, value: bool):  # type: ignore[no-untyped-def]
        self.everyone, self.page = value, 1
        return ActivityState.load

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.page + 1, self.pages)
        return ActivityState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return ActivityState.load


_COLOURS = {
    "create": "green",
    "update": "blue",
    "delete": "red",
    "restore": "violet",
    "tag_add": "teal",
    "tag_remove": "orange",
    "accept": "grass",
    "reject": "crimson",
}


@rx.page(
    route=routes.ACTIVITY,
    title="Activity · LabelHub",
    on_load=[AuthState.require_user, ActivityState.load],
)
def activity_page() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("When", "Who", "Action", "What", "Image", "Revision")
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                ActivityState.rows,
                lambda r: rx.table.row(
                    rx.table.cell(rx.text(r["when"].to(str), size="1", color_scheme="gray")),
                    rx.table.cell(rx.text(r["user"].to(str), size="2")),
                    rx.table.cell(
                        rx.match(
                            r["kind"].to(str),
                            *[
                                (k, rx.badge(r["action"].to(str), color_scheme=c))
                                for k, c in _COLOURS.items()
                            ],
                            rx.badge(r["action"].to(str)),
                        )
                    ),
                    rx.table.cell(rx.text(r["detail"].to(str), size="2")),
                    rx.table.cell(rx.link(r["file"].to(str), href=r["href"].to(str), size="2")),
                    rx.table.cell(rx.text(r["revision"].to(str), size="2")),
                    class_name="activity-row",
                ),
            )
        ),
        variant="surface",
        width="100%",
        size="1",
    )
    return page_frame(
        rx.hstack(
            rx.select.root(
                rx.select.trigger(id="activity-action"),
                rx.select.content(*[rx.select.item(t, value=v) for v, t in ACTION_TITLES.items()]),
                value=ActivityState.action,
                on_change=ActivityState.set_action,
            ),
            rx.select.root(
                rx.select.trigger(),
                rx.select.content(*[rx.select.item(t, value=v) for v, t in PERIODS.items()]),
                value=ActivityState.period,
                on_change=ActivityState.set_period,
            ),
            rx.spacer(),
            rx.cond(
                ActivityState.is_admin,
                rx.hstack(
                    rx.switch(checked=ActivityState.everyone, on_change=ActivityState.set_everyone),
                    rx.text("Everyone (admin)", size="2"),
                    align="center",
                ),
            ),
            rx.text(ActivityState.total.to_string(), " actions", size="2", color_scheme="gray"),
            width="100%",
            align="center",
            spacing="3",
            margin_bottom="1em",
        ),
        error_callout(ActivityState.error),
        rx.cond(
            ActivityState.rows.length() > 0,
            rx.vstack(
                table,
                pager(
                    ActivityState.page,
                    ActivityState.pages,
                    ActivityState.prev_page,
                    ActivityState.next_page,
                ),
                width="100%",
            ),
            empty_state(
                "history",
                "No activity yet",
                "Every box and tag you add, change or remove shows up here.",
            ),
        ),
        title="Activity",
        subtitle="Every label action you took: boxes created, moved, relabelled and deleted, tags, restores.",
    )
