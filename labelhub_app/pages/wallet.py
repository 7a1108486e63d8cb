"""The wallet: buy credits by card through Stripe (LABELHUB_PAYMENTS=stripe), see each payment.

A declined card shows the bank's reason; a 3-D Secure payment shows the next step and a
"Check payment" button; credits arrive when Stripe's webhook confirms the payment. With the
internal ledger (the default) credits are added on the purchases page instead.
"""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.adapters.payments import Card, get_payments
from labelhub_app.components.common import empty_state, error_callout, info_callout, stat_card
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError, NotAuthenticated
from labelhub_app.services import ledger, payments
from labelhub_app.state.auth import AuthState, current_user

STATUS_TEXT = {
    "created": "Starting",
    "requires_action": "Confirm with your bank",
    "processing": "Waiting for confirmation",
    "succeeded": "Paid",
    "failed": "Failed",
    "refunded": "Refunded",
}
STATUS_COLOUR = {"succeeded": "green", "failed": "red", "requires_action": "amber"}


class WalletState(rx.State):
    enabled: bool = False
    test_mode: bool = False  # a sk_test_ key: Stripe's test card numbers may be typed
    balance: str = "0.00"
    amount: str = "25"
    card_number: str = "4242 4242 4242 4242"
    busy: bool = False
    error: str = ""
    notice: str = ""
    pending_id: str = ""  # the payment waiting for 3-D Secure or for the webhook
    pending_status: str = ""
    pending_message: str = ""
    rows: list[dict[str, Any]] = []
    _key: str = ""

    @rx.event
    async def load(self) -> None:
        self.enabled = payments.card_payments_enabled()
        self.test_mode = self.enabled and bool(getattr(get_payments(), "test_mode", False))
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                self.balance = f"{ledger.balance(session, user=user) / 100:,.2f}"
                views, _ = payments.list_payments(session, user=user, per_page=20)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.rows = [
            {
                "id": v.public_id,
                "when": v.created_at.strftime("%d %b %Y %H:%M"),
                "what": "Credits" if v.purpose == "topup" else f"{v.images} image(s)",
                "amount": f"{v.amount_cents / 100:,.2f}",
                "status": STATUS_TEXT.get(v.status, v.status),
                "colour": STATUS_COLOUR.get(v.status, "gray"),
                "message": v.message if v.status == "failed" else "",
            }
            for v in views
        ]

    @rx.event
    def set_amount(self, value: str) -> None:
        self.amount = value

    @rx.event
    def set_card_number(self, value: str) -> None:
        self.card_number = value
        self._key = ""  # another card is another payment

    def _show(self, view: payments.PaymentView) -> None:
        self.pending_id = view.public_id
        self.pending_status = view.status
        self.pending_message = view.message
        self.error = self.notice = ""
        if view.status == "failed":
            self.error = f"The payment failed: {view.message}"
            self._key = ""
        elif view.status == "succeeded":
            self.notice = f"Paid: {view.amount_cents / 100:,.2f} credits were added."
            self._key = ""

    @rx.event
    async def pay(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        if not self._key:
            self._key = uuid.uuid4().hex
        try:
            cents = ledger.parse_credits(self.amount, "amount")
            if not cents:
                raise InvalidInput("Enter how many credits to buy.")
            number = "".join(self.card_number.split())
            if not number.isdigit():
                raise InvalidInput("Enter the card number (digits only).")
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                view = payments.start_topup(
                    session,
                    user=user,
                    amount_cents=cents,
                    idempotency_key=self._key,
                    card=Card(number, 12, 2034, "123"),
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self._show(view)
        await self.load()
        return None

    @rx.event
    async def check(self):  # type: ignore[no-untyped-def]
        """Ask how the pending payment stands (after 3-D Secure, or while waiting)."""
        if not self.pending_id:
            return None
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                view = payments.refresh_payment(session, user=user, payment_id=self.pending_id)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self._show(view)
        await self.load()
        return None


def _pending() -> rx.Component:
    return rx.cond(
        (WalletState.pending_status == "requires_action")
        | (WalletState.pending_status == "processing"),
        rx.callout(
            rx.vstack(
                rx.text(WalletState.pending_message, id="payment-next-step"),
                rx.button(
                    "Check payment", on_click=WalletState.check, id="check-payment", size="2"
                ),
                spacing="2",
            ),
            icon="shield-check",
            color_scheme="amber",
            width="100%",
        ),
    )


@rx.page(
    route=routes.WALLET,
    title="Wallet · LabelHub",
    on_load=[AuthState.require_user, WalletState.load],
)
def wallet_page() -> rx.Component:
    form = rx.card(
        rx.vstack(
            rx.text("Buy credits by card", size="3", weight="bold"),
            rx.hstack(
                rx.vstack(
                    rx.text("Credits", size="1", color_scheme="gray"),
                    rx.input(
                        value=WalletState.amount,
                        on_change=WalletState.set_amount,
                        id="card-amount",
                        width="8em",
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    rx.text("Card number", size="1", color_scheme="gray"),
                    rx.input(
                        value=WalletState.card_number,
                        on_change=WalletState.set_card_number,
                        id="card-number",
                        width="16em",
                        autocomplete="cc-number",
                    ),
                    spacing="1",
                ),
                rx.button(
                    "Pay", on_click=WalletState.pay, id="card-pay", size="3", align_self="end"
                ),
                spacing="3",
                wrap="wrap",
            ),
            rx.text(
                "Test mode: 4242 4242 4242 4242 pays, 4000 0000 0000 0341 is declined, "
                "4000 0025 0000 3155 asks for 3-D Secure.",
                size="1",
                color_scheme="gray",
            ),
            error_callout(WalletState.error, id="wallet-error"),
            info_callout(WalletState.notice, id="wallet-notice"),
            _pending(),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
    history = rx.cond(
        WalletState.rows.length() > 0,  # type: ignore[attr-defined]
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(h) for h in ("When", "For", "Amount", "Status")]
                )
            ),
            rx.table.body(
                rx.foreach(
                    WalletState.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r["when"].to(str)),
                        rx.table.cell(r["what"].to(str)),
                        rx.table.cell(r["amount"].to(str)),
                        rx.table.cell(
                            rx.hstack(
                                rx.badge(r["status"].to(str), color_scheme=r["colour"].to(str)),
                                rx.text(r["message"].to(str), size="1", color_scheme="gray"),
                            )
                        ),
                    ),
                )
            ),
            width="100%",
            id="payments-table",
        ),
        empty_state("credit-card", "No card payments yet", "Credits you buy by card show here."),
    )
    return page_frame(
        rx.vstack(
            rx.grid(
                stat_card("Balance", WalletState.balance, "wallet", "credits to spend"),
                columns="3",
                width="100%",
            ),
            rx.cond(
                WalletState.test_mode,
                form,
                rx.callout(
                    rx.cond(
                        WalletState.enabled,
                        "Card entry needs Stripe.js, which this offline build does not load; "
                        "use the API with a payment method id (POST /api/v1/payments/topup).",
                        "Card payments are switched off here; add credits on the purchases page.",
                    ),
                    icon="info",
                    width="100%",
                ),
            ),
            rx.heading("Payments", size="4"),
            history,
            spacing="4",
            width="100%",
        ),
        title="Wallet",
        subtitle="Buy credits by card; they are added when the card network confirms the payment.",
    )
