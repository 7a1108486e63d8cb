"""Per-licence prices of one image, edited from the producer's dashboard (#9 licences).

``offer_button(image_id)`` in each row opens the one ``offer_dialog()`` of the page: the Standard
price (the image's price, as everywhere else) and the optional Extended and Exclusive prices
(blank: not offered).
"""

from __future__ import annotations

import reflex as rx

from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError
from labelhub_app.services import licences
from labelhub_app.services.ledger import parse_credits
from labelhub_app.state.auth import current_user


def _credits(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:.2f}"


class OfferState(rx.State):
    open: bool = False
    image_id: str = ""
    standard: str = ""
    extended: str = ""
    exclusive: str = ""
    error: str = ""
    notice: str = ""

    @rx.event
    async def open_for(self, image_id: str) -> None:
        self.error = self.notice = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in first.")
                prices = licences.own_offers(session, actor=user, image_id=image_id)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.image_id = image_id
        self.standard = _credits(prices.get("standard"))
        self.extended = _credits(prices.get("extended"))
        self.exclusive = _credits(prices.get("exclusive"))
        self.open = True

    @rx.event
    def set_open(self, value: bool) -> None:
        self.open = value

    @rx.event
    def set_standard(self, value: str) -> None:
        self.standard = value

    @rx.event
    def set_extended(self, value: str) -> None:
        self.extended = value

    @rx.event
    def set_exclusive(self, value: str) -> None:
        self.exclusive = value

    @rx.event
    async def save(self) -> None:
        self.error = self.notice = ""
        try:
            standard = parse_credits(self.standard, "Standard price")
            if standard is None:
                raise InvalidInput("Every image has a Standard price (0 for free).")
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in first.")
                licences.set_offers(
                    session,
                    actor=user,
                    image_id=self.image_id,
                    standard_cents=standard,
                    extended_cents=parse_credits(self.extended, "Extended price"),
                    exclusive_cents=parse_credits(self.exclusive, "Exclusive price"),
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.notice = "Licence prices saved."


def offer_button(image_id: rx.Var[str]) -> rx.Component:
    return rx.icon_button(
        rx.icon("scale", size=14),
        variant="soft",
        size="1",
        on_click=OfferState.open_for(image_id),
        aria_label="licence prices",
        class_name="edit-offers",
    )


def _field(label: str, hint: str, value: rx.Var[str], on_change, field_id: str) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.input(
            value=value,
            on_change=on_change,
            id=field_id,
            placeholder="Not offered",
            input_mode="decimal",
            width="100%",
        ),
        rx.text(hint, size="1", color_scheme="gray"),
        spacing="1",
        width="100%",
    )


def offer_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Licence prices"),
            rx.dialog.description(
                "Buyers compare these before buying. Leave Extended or Exclusive empty to not "
                "offer it.",
                size="2",
                color_scheme="gray",
            ),
            rx.vstack(
                _field(
                    "Standard (credits)",
                    "Model training and internal use; the price the market shows.",
                    OfferState.standard,
                    OfferState.set_standard,
                    "offer-standard",
                ),
                _field(
                    "Extended (credits)",
                    "Adds redistribution inside the buyer's product.",
                    OfferState.extended,
                    OfferState.set_extended,
                    "offer-extended",
                ),
                _field(
                    "Exclusive (credits)",
                    "One buyer only; the image leaves the market once sold.",
                    OfferState.exclusive,
                    OfferState.set_exclusive,
                    "offer-exclusive",
                ),
                rx.cond(
                    OfferState.error != "",
                    rx.callout(OfferState.error, icon="triangle-alert", color_scheme="red"),
                ),
                rx.cond(
                    OfferState.notice != "",
                    rx.callout(OfferState.notice, icon="circle-check", color_scheme="green"),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    rx.button("Save prices", on_click=OfferState.save, id="save-offers"),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                margin_top="1em",
            ),
            max_width="440px",
        ),
        open=OfferState.open,
        on_open_change=OfferState.set_open,
    )
