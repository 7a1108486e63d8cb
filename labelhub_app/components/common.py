"""Small view pieces used on many pages."""

from __future__ import annotations

from typing import Any

import reflex as rx


def money(cents: rx.Var[int] | int) -> rx.Var[str] | str:
    """Credits shown as 12.50 (1 credit = 100 cents)."""
    if isinstance(cents, int):
        return f"{cents / 100:,.2f}"
    return (cents.to(int) / 100).to_string().to(str)  # type: ignore[union-attr]


def error_callout(message: rx.Var[str], **props) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.cond(
        message != "",
        rx.callout(
            message, icon="triangle-alert", color_scheme="red", role="alert", width="100%", **props
        ),
    )


def info_callout(message: rx.Var[str], **props) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.cond(
        message != "",
        rx.callout(
            message, icon="circle-check", color_scheme="green", role="status", width="100%", **props
        ),
    )


def empty_state(
    icon: str, title: str, text: str, action: rx.Component | None = None
) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.center(
                rx.icon(icon, size=28, color="var(--accent-9)"),
                width="56px",
                height="56px",
                border_radius="16px",
                background="var(--accent-a3)",
            ),
            rx.heading(title, size="4"),
            rx.text(text, color_scheme="gray", text_align="center", max_width="380px"),
            action or rx.fragment(),
            align="center",
            spacing="3",
        ),
        padding="4em 1em",
        width="100%",
        border="1px dashed var(--gray-a6)",
        border_radius="16px",
        background="var(--color-panel-solid)",
    )


def stat_card(label: str, value: rx.Var | str, icon: str, hint: rx.Var | str = "") -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.center(
                rx.icon(icon, size=20, color="var(--accent-11)"),
                width="40px",
                height="40px",
                border_radius="10px",
                background="var(--accent-a3)",
            ),
            rx.vstack(
                rx.text(
                    label,
                    size="1",
                    color_scheme="gray",
                    weight="medium",
                    text_transform="uppercase",
                    letter_spacing="0.04em",
                ),
                rx.text(value, size="6", weight="bold"),
                rx.text(hint, size="1", color_scheme="gray") if hint != "" else rx.fragment(),
                spacing="0",
            ),
            spacing="3",
            align="center",
        ),
        size="2",
        width="100%",
    )


def label_chip(
    name: rx.Var[str] | str, on_remove=None, href: rx.Var[str] | str | None = None
) -> rx.Component:  # type: ignore[no-untyped-def]
    inner = rx.hstack(
        rx.text(name, size="1"),
        rx.icon("x", size=12, cursor="pointer", on_click=on_remove, aria_label="remove label")
        if on_remove is not None
        else rx.fragment(),
        spacing="1",
        align="center",
    )
    badge = rx.badge(inner, variant="soft", radius="full", size="2")
    return rx.link(badge, href=href, underline="none") if href is not None else badge


def pager(page: rx.Var[int], pages: rx.Var[int], on_prev, on_next) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.cond(
        pages > 1,
        rx.hstack(
            rx.button(
                rx.icon("chevron-left", size=16),
                "Previous",
                variant="soft",
                on_click=on_prev,
                disabled=page <= 1,
            ),
            rx.text("Page ", page, " of ", pages, size="2", color_scheme="gray"),
            rx.button(
                "Next",
                rx.icon("chevron-right", size=16),
                variant="soft",
                on_click=on_next,
                disabled=page >= pages,
            ),
            justify="center",
            align="center",
            spacing="4",
            width="100%",
            padding_top="1em",
        ),
    )


def label_options(names: rx.Var[list[str]], options_id: str) -> rx.Component:
    """A <datalist> of label names: the browser's own autocomplete for label_input fields."""
    return rx.el.datalist(rx.foreach(names, lambda n: rx.el.option(value=n)), id=options_id)


def label_input(*, options_id: str, width: str = "100%", **props: Any) -> rx.Component:
    """A plain text field with label autocomplete from the label_options list ``options_id``.

    A native input rather than rx.input, because only native inputs take ``list``.
    """
    style = {
        "width": width,
        "padding": "6px 10px",
        "border": "1px solid var(--gray-a7)",
        "borderRadius": "8px",
        "background": "var(--color-surface)",
        "fontSize": "14px",
        "color": "var(--gray-12)",
        **props.pop("style", {}),
    }
    if width == "flex":
        style.pop("width")
        style["flex"] = "1"
    return rx.el.input(list=options_id, style=style, **props)
