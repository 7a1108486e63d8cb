"""The buy dialog: compare what each licence allows and costs for one image, then buy under one.

``licence_dialog(project_id)`` is a button that opens the comparison (Standard, Extended,
Exclusive side by side: what each allows and forbids, its version, its price for this image, and
why one cannot be bought now); the buyer picks a licence and buys into ``project_id`` with credits.
"""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from labelhub_app.adapters.payments import Card, get_payments
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError
from labelhub_app.services import images, licences, market, payments
from labelhub_app.state.auth import current_user


class LicenceDialogState(rx.State):
    image_id: str = ""
    choices: list[dict[str, Any]] = []  # noqa: RUF012  (Reflex state var)
    chosen: str = "standard"
    error: str = ""
    notice: str = ""
    cards: bool = False  # Stripe in test mode: the buyer may pay this purchase by card
    card_number: str = "4242 4242 4242 4242"
    payment_id: str = ""  # a card payment waiting for 3-D Secure or the webhook
    payment_step: str = ""
    _key: str = ""

    @rx.var
    def chosen_available(self) -> bool:
        return any(c["kind"] == self.chosen and c["available"] for c in self.choices)

    @rx.event
    def open(self) -> None:
        self.error = self.notice = ""
        self.image_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self._key = ""
        self.payment_id = self.payment_step = ""
        self.cards = payments.card_payments_enabled() and bool(
            getattr(get_payments(), "test_mode", False)
        )
        self._load_choices()

    def _load_choices(self) -> None:
        try:
            with session_scope() as session:
                image = images.get_image(session, self.image_id)
                choices = licences.licence_choices(session, image=image)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.choices = [
            {
                "kind": c.kind,
                "name": c.name,
                "version": f"version {c.version}",
                "allows": c.allows,
                "forbids": c.forbids,
                "price": f"{c.price_cents / 100:,.2f}" if c.price_cents is not None else "",
                "available": c.available,
                "note": c.note,
            }
            for c in choices
        ]
        if not any(c["kind"] == self.chosen and c["available"] for c in self.choices):
            self.chosen = next((c["kind"] for c in self.choices if c["available"]), "standard")

    @rx.event
    def choose(self, kind: str) -> None:
        self.chosen = kind
        self._key = ""  # another licence is another purchase
        self.error = ""

    @rx.event
    def set_card_number(self, value: str) -> None:
        self.card_number = value
        self._key = ""

    def _show_payment(self, view: payments.PaymentView) -> None:
        self.payment_id = view.public_id
        self.payment_step = ""
        if view.status == "failed":
            self.error = f"The payment failed: {view.message}"
            self._key = ""
        elif view.status == "succeeded":
            self.notice = (
                "Paid by card and bought: the image is in your project and its download."
                if not view.message
                else view.message
            )
            chosen = self.chosen
            self._load_choices()  # what was bought may close other licences (Exclusive)
            self.chosen = chosen
        else:
            self.payment_step = view.message

    @rx.event
    async def pay_by_card(self, project_id: str) -> None:
        """Buy under the chosen licence by card (Stripe); Exclusive is reserved meanwhile."""
        self.error = self.notice = ""
        if not self._key:
            self._key = uuid.uuid4().hex
        try:
            number = "".join(self.card_number.split())
            if not number.isdigit():
                raise InvalidInput("Enter the card number (digits only).")
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in as a consumer to buy images.")
                if not project_id:
                    raise InvalidInput("Create a project first on the Projects page.")
                view = payments.start_card_purchase(
                    session,
                    buyer=user,
                    project_id=project_id,
                    image_ids=[self.image_id],
                    idempotency_key=self._key,
                    licence=self.chosen,
                    card=Card(number, 12, 2034, "123"),
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self._show_payment(view)

    @rx.event
    async def check_payment(self) -> None:
        if not self.payment_id:
            return
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in first.")
                view = payments.refresh_payment(session, user=user, payment_id=self.payment_id)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self._show_payment(view)

    @rx.event
    async def buy(self, project_id: str) -> None:
        self.error = self.notice = ""
        if not self._key:
            self._key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in as a consumer to buy images.")
                if not project_id:
                    raise InvalidInput("Create a project first on the Projects page.")
                [purchase] = market.buy_images(
                    session,
                    buyer=user,
                    project_id=project_id,
                    image_ids=[self.image_id],
                    idempotency_key=self._key,
                    licence=self.chosen,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        name = licences.KIND_NAMES.get(purchase.licence_kind, purchase.licence_kind)
        self.notice = (
            f"Bought under the {name} licence, version {purchase.licence_version}, for "
            f"{purchase.price_cents / 100:,.2f} credits. It is in your project and its download."
        )
        chosen = self.chosen
        self._load_choices()  # e.g. Exclusive is no longer possible once a licence is sold
        self.chosen = chosen


def _line(text: rx.Var, icon: str, colour: str) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=14, color=f"var(--{colour}-9)", flex_shrink="0", margin_top="3px"),
        rx.text(text, size="2"),
        align="start",
        spacing="2",
    )


def _column(c: rx.Var) -> rx.Component:
    selected = LicenceDialogState.chosen == c["kind"].to(str)
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(c["name"].to(str), size="4"),
                rx.spacer(),
                rx.text(c["version"].to(str), size="1", color_scheme="gray"),
                width="100%",
                align="center",
            ),
            rx.cond(
                c["price"].to(str) != "",
                rx.text(c["price"].to(str), " credits", size="5", weight="bold"),
                rx.text("Not offered", size="3", color_scheme="gray"),
            ),
            rx.text("Allows", size="1", weight="bold", color_scheme="gray"),
            rx.foreach(c["allows"].to(list[str]), lambda t: _line(t, "check", "green")),
            rx.text("Does not allow", size="1", weight="bold", color_scheme="gray"),
            rx.foreach(c["forbids"].to(list[str]), lambda t: _line(t, "x", "red")),
            rx.spacer(),
            rx.cond(
                c["note"].to(str) != "",
                rx.text(c["note"].to(str), size="1", color_scheme="amber"),
            ),
            rx.button(
                rx.cond(selected, "Chosen", "Choose"),
                variant=rx.cond(selected, "solid", "outline"),
                disabled=~c["available"].to(bool),
                on_click=LicenceDialogState.choose(c["kind"].to(str)),
                width="100%",
                id="choose-" + c["kind"].to(str),
            ),
            spacing="2",
            height="100%",
            align="start",
        ),
        border=rx.cond(selected, "2px solid var(--accent-9)", "1px solid var(--gray-a5)"),
        id="licence-" + c["kind"].to(str),
        class_name="licence-column",
    )


def licence_dialog(project_id: rx.Var[str]) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("scale", size=16),
                "Compare licences",
                variant="soft",
                size="3",
                width="100%",
                on_click=LicenceDialogState.open,
                id="compare-licences",
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Choose a licence"),
            rx.dialog.description(
                "What each licence lets you do with this image, and what it costs. Your "
                "purchase keeps the licence version shown here and goes into the project "
                "selected on the page; it is paid with your credits (or by card where offered).",
                size="2",
                color_scheme="gray",
            ),
            rx.grid(
                rx.foreach(LicenceDialogState.choices, _column),
                columns=rx.breakpoints(initial="1", sm="3"),
                spacing="3",
                margin_y="1em",
                width="100%",
            ),
            rx.cond(
                LicenceDialogState.error != "",
                rx.callout(
                    LicenceDialogState.error,
                    icon="triangle-alert",
                    color_scheme="red",
                    role="alert",
                    id="licence-error",
                ),
            ),
            rx.cond(
                LicenceDialogState.notice != "",
                rx.callout(
                    LicenceDialogState.notice,
                    icon="circle-check",
                    color_scheme="green",
                    role="status",
                    id="licence-notice",
                ),
            ),
            rx.cond(
                LicenceDialogState.payment_step != "",
                rx.callout(
                    rx.vstack(
                        rx.text(LicenceDialogState.payment_step, id="licence-payment-step"),
                        rx.button(
                            "Check payment",
                            on_click=LicenceDialogState.check_payment,
                            id="licence-check-payment",
                            size="2",
                        ),
                        spacing="2",
                    ),
                    icon="shield-check",
                    color_scheme="amber",
                ),
            ),
            rx.hstack(
                rx.cond(
                    LicenceDialogState.cards,
                    rx.hstack(
                        rx.input(
                            value=LicenceDialogState.card_number,
                            on_change=LicenceDialogState.set_card_number,
                            id="licence-card-number",
                            width="14em",
                            aria_label="card number (test mode)",
                        ),
                        rx.button(
                            rx.icon("credit-card", size=16),
                            "Pay by card",
                            variant="outline",
                            on_click=LicenceDialogState.pay_by_card(project_id),
                            disabled=~LicenceDialogState.chosen_available,
                            id="pay-by-card",
                        ),
                        spacing="2",
                    ),
                ),
                rx.spacer(),
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                rx.button(
                    rx.icon("shopping-cart", size=16),
                    "Buy with the chosen licence",
                    on_click=LicenceDialogState.buy(project_id),
                    disabled=~LicenceDialogState.chosen_available,
                    id="buy-with-licence",
                ),
                justify="end",
                spacing="3",
                margin_top="1em",
                width="100%",
                wrap="wrap",
            ),
            max_width="960px",
        ),
    )
