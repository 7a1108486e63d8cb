"""The consumer dashboard: balance and top-up, spending per project, every purchase."""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, info_callout, stat_card
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import ledger, market, ratings
from labelhub_app.state.auth import AuthState, current_user

TOPUP_CHOICES = ("10", "25", "50", "100")


class PurchasesState(rx.State):
    balance: str = "0.00"
    spent: str = "0.00"
    count: int = 0
    rows: list[dict[str, Any]] = []
    by_project: list[dict[str, Any]] = []
    topup: str = "25"
    error: str = ""
    notice: str = ""
    _topup_key: str = ""

    @rx.event
    async def load(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                summary = market.consumer_summary(session, actor=user, per_page=100)
                stars = ratings.my_ratings(  # #7: the buyer's own ratings
                    session, buyer=user, image_ids=[p.image_id for p in summary.purchases]
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.balance = f"{summary.balance_cents / 100:,.2f}"
        self.spent = f"{summary.spent_cents / 100:,.2f}"
        self.count = summary.total_purchases
        top = max((c for _, _, c in summary.spending_by_project), default=1) or 1
        self.by_project = [
            {
                "name": n,
                "href": routes.project(pid),
                "spent": f"{c / 100:,.2f}",
                "pct": int(c * 100 / top),
            }
            for pid, n, c in summary.spending_by_project
        ]
        self.rows = [
            {
                "image": p.file_name,
                "href": routes.image(p.image_id),
                "price": f"{p.price_cents / 100:,.2f}",
                "licence": p.licence,
                "project": p.project_name,
                "project_href": routes.project(p.project_id),
                "when": p.created_at.strftime("%Y-%m-%d %H:%M"),
                "stars": str(stars.get(p.image_id, "")),
            }
            for p in summary.purchases
        ]

    @rx.event
    def set_topup(self, value: str | list[str]) -> None:
        self.topup = value if isinstance(value, str) else value[0]
        self._topup_key = ""

    @rx.event
    async def do_topup(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        if not self._topup_key:
            self._topup_key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                ledger.top_up(
                    session,
                    user=user,
                    amount_cents=int(self.topup) * 100,
                    idempotency_key=self._topup_key,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self._topup_key = ""
        self.notice = f"Added {self.topup} credits."
        return PurchasesState.load


def _spend_row(p: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.link(p["name"].to(str), href=p["href"].to(str), size="2"),
            rx.spacer(),
            rx.text(p["spent"].to(str), size="2", weight="medium"),
            width="100%",
        ),
        rx.box(
            rx.box(
                width=p["pct"].to(str) + "%",
                height="100%",
                background="var(--accent-9)",
                border_radius="4px",
            ),
            width="100%",
            height="8px",
            background="var(--accent-a3)",
            border_radius="4px",
        ),
        spacing="1",
        width="100%",
    )


@rx.page(
    route=routes.PURCHASES,
    title="Purchases · LabelHub",
    on_load=[AuthState.require_user, PurchasesState.load],
)
def purchases_page() -> rx.Component:
    topup = rx.card(
        rx.vstack(
            rx.text("Top up credits", size="2", weight="bold"),
            rx.segmented_control.root(
                *[rx.segmented_control.item(v, value=v) for v in TOPUP_CHOICES],
                value=PurchasesState.topup,
                on_change=PurchasesState.set_topup,
                width="100%",
            ),
            rx.button(
                rx.icon("plus", size=14),
                "Add ",
                PurchasesState.topup,
                " credits",
                on_click=PurchasesState.do_topup,
                id="topup",
                width="100%",
            ),
            rx.text(
                "Embedded mode: credits are added at once. With Stripe configured this is a card payment.",
                size="1",
                color_scheme="gray",
            ),
            spacing="2",
        ),
        size="2",
        width="100%",
    )
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Image", "Project", "Licence", "Price", "When", "Your rating")
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                PurchasesState.rows,
                lambda r: rx.table.row(
                    rx.table.cell(rx.link(r["image"].to(str), href=r["href"].to(str))),
                    rx.table.cell(rx.link(r["project"].to(str), href=r["project_href"].to(str))),
                    rx.table.cell(rx.text(r["licence"].to(str), size="1")),
                    rx.table.cell(r["price"].to(str)),
                    rx.table.cell(rx.text(r["when"].to(str), color_scheme="gray", size="2")),
                    rx.table.cell(  # #7: rate on the image page, one rating per purchase
                        rx.link(
                            rx.cond(
                                r["stars"].to(str) != "",
                                rx.badge(
                                    rx.icon("star", size=10),
                                    r["stars"].to(str),
                                    color_scheme="amber",
                                    variant="soft",
                                ),
                                rx.text("Rate", size="2"),
                            ),
                            href=r["href"].to(str),
                            class_name="purchase-rating",
                        )
                    ),
                    class_name="purchase-row",
                ),
            )
        ),
        variant="surface",
        width="100%",
    )
    return page_frame(
        error_callout(PurchasesState.error),
        info_callout(PurchasesState.notice),
        rx.grid(
            stat_card("Balance", PurchasesState.balance, "wallet", "credits"),
            stat_card("Spent", PurchasesState.spent, "receipt", "credits in all"),
            stat_card("Images bought", PurchasesState.count.to_string(), "images"),
            topup,
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
            margin_bottom="1.5em",
        ),
        rx.hstack(
            rx.box(
                rx.heading("Purchases", size="4", margin_bottom="0.5em"),
                rx.cond(
                    PurchasesState.rows.length() > 0,
                    table,
                    empty_state(
                        "shopping-bag",
                        "Nothing bought yet",
                        "Find images by label in the market and buy them into a project.",
                        rx.link(rx.button("Open the market"), href=routes.MARKET),
                    ),
                ),
                flex="1",
                min_width="0",
            ),
            rx.card(
                rx.vstack(
                    rx.heading("Spending per project", size="3"),
                    rx.cond(
                        PurchasesState.by_project.length() > 0,
                        rx.vstack(
                            rx.foreach(PurchasesState.by_project, _spend_row),
                            width="100%",
                            spacing="3",
                        ),
                        rx.text("No spending yet.", size="2", color_scheme="gray"),
                    ),
                    spacing="3",
                    width="100%",
                ),
                width="320px",
                min_width="280px",
            ),
            spacing="5",
            align="start",
            width="100%",
        ),
        title="Purchases",
        subtitle="Only you can see what you bought; producers see sales counts, never buyers.",
    )
