"""Producers' payouts: earned, pending (inside the refund window), available, paid out; request."""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, info_callout, stat_card
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import payouts
from labelhub_app.state.auth import AuthState, current_user

STATUS_TEXT = {"paid": "Paid", "to_be_transferred": "To be transferred"}


class PayoutsState(rx.State):
    earned: str = "0.00"
    pending: str = "0.00"
    available: str = "0.00"
    available_cents: int = 0
    paid_out: str = "0.00"
    in_transfer: str = "0.00"
    window_days: int = 14
    rows: list[dict[str, Any]] = []
    error: str = ""
    notice: str = ""
    _key: str = ""

    @rx.event
    async def load(self) -> None:
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                s = payouts.income_summary(session, actor=user)
                views, _ = payouts.list_payouts(session, actor=user, per_page=50)
        except LabelHubError as exc:
            self.error = exc.message
            return
        money = lambda c: f"{c / 100:,.2f}"  # noqa: E731
        self.earned, self.pending, self.available = (
            money(s.earned_cents),
            money(s.pending_cents),
            money(s.available_cents),
        )
        self.available_cents = s.available_cents
        self.paid_out, self.in_transfer = money(s.paid_out_cents), money(s.in_transfer_cents)
        self.window_days = s.refund_window_days
        self.rows = [
            {
                "when": v.created_at.strftime("%d %b %Y"),
                "amount": money(v.amount_cents),
                "status": STATUS_TEXT.get(v.status, v.status),
                "reference": v.reference,
            }
            for v in views
        ]

    @rx.event
    async def request(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        if not self._key:
            self._key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                view = payouts.request_payout(session, actor=user, idempotency_key=self._key)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self._key = ""
        status = STATUS_TEXT.get(view.status, view.status)
        self.notice = f"Payout of {view.amount_cents / 100:,.2f}: {status}."
        await self.load()
        return None


@rx.page(
    route=routes.PAYOUTS,
    title="Payouts · LabelHub",
    on_load=[AuthState.require_user, PayoutsState.load],
)
def payouts_page() -> rx.Component:
    history = rx.cond(
        PayoutsState.rows.length() > 0,  # type: ignore[attr-defined]
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Requested", "Amount", "Status", "Reference")
                    ]
                )
            ),
            rx.table.body(
                rx.foreach(
                    PayoutsState.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r["when"].to(str)),
                        rx.table.cell(r["amount"].to(str)),
                        rx.table.cell(rx.badge(r["status"].to(str))),
                        rx.table.cell(rx.text(r["reference"].to(str), size="1")),
                    ),
                )
            ),
            width="100%",
            id="payouts-table",
        ),
        empty_state("banknote", "No payouts yet", "Request a payout once income is available."),
    )
    return page_frame(
        rx.vstack(
            rx.grid(
                stat_card("Earned", PayoutsState.earned, "coins", "your share of all sales"),
                stat_card(
                    "Pending",
                    PayoutsState.pending,
                    "hourglass",
                    "inside the refund window",
                ),
                stat_card("Available", PayoutsState.available, "wallet", "can be paid out now"),
                stat_card("Paid out", PayoutsState.paid_out, "banknote", "transferred to you"),
                columns="4",
                spacing="3",
                width="100%",
            ),
            rx.hstack(
                rx.button(
                    "Request payout of available income",
                    on_click=PayoutsState.request,
                    disabled=PayoutsState.available_cents <= 0,
                    id="request-payout",
                    size="3",
                ),
                rx.text(
                    "Income from the last ",
                    PayoutsState.window_days.to_string(),  # type: ignore[attr-defined]
                    " day(s) stays pending until buyers can no longer ask for a refund. ",
                    "To be transferred: ",
                    PayoutsState.in_transfer,
                    size="2",
                    color_scheme="gray",
                ),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            error_callout(PayoutsState.error, id="payout-error"),
            info_callout(PayoutsState.notice, id="payout-notice"),
            rx.heading("History", size="4"),
            history,
            spacing="4",
            width="100%",
        ),
        title="Payouts",
        subtitle="What you earned, what is pending, and what was paid out.",
    )
