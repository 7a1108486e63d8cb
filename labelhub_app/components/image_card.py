"""The thumbnail card of the market grid and project pages."""

from __future__ import annotations

import reflex as rx

from labelhub_app.components.common import label_chip


def image_card(
    card: rx.Var,
    *,
    selected: rx.Var[bool] | None = None,
    on_toggle=None,  # type: ignore[no-untyped-def]
    selectable: rx.Var[bool] | bool = True,
    footer: rx.Component | None = None,
) -> rx.Component:
    """``card`` holds id, href, thumb, name, price, labels, pseudonym, owned (see state code)."""
    badge = rx.cond(
        card["owned"].to(bool),
        rx.badge(
            rx.icon("check", size=12),
            "Owned",
            color_scheme="green",
            variant="solid",
            position="absolute",
            top="8px",
            left="8px",
            class_name="owned-badge",
        ),
    )
    check = rx.fragment()
    if on_toggle is not None and selected is not None:
        check = rx.cond(
            ~card["owned"].to(bool) & selectable,
            rx.box(
                rx.checkbox(
                    checked=selected,
                    on_change=lambda _v: on_toggle(card["id"]),
                    size="3",
                    aria_label=f"select {card['name']}",
                    class_name="select-image",
                ),
                position="absolute",
                top="8px",
                right="8px",
                padding="4px",
                border_radius="6px",
                background="var(--color-panel-solid)",
                box_shadow="0 1px 4px var(--black-a5)",
            ),
        )
    return rx.card(
        rx.inset(
            rx.box(
                rx.link(
                    rx.image(
                        src=card["thumb"].to(str),
                        alt=card["name"].to(str),
                        loading="lazy",
                        width="100%",
                        height="180px",
                        object_fit="cover",
                        display="block",
                    ),
                    href=card["href"].to(str),
                ),
                badge,
                check,
                position="relative",
            ),
            side="top",
            pb="current",
        ),
        rx.vstack(
            rx.hstack(
                rx.text(
                    card["name"].to(str),
                    size="2",
                    weight="medium",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    white_space="nowrap",
                    max_width="65%",
                ),
                rx.spacer(),
                rx.text(
                    card["price"].to(str),
                    size="2",
                    weight="bold",
                    color="var(--accent-11)",
                    class_name="card-price",
                ),
                width="100%",
                align="center",
            ),
            rx.flex(
                rx.foreach(card["labels"].to(list[str]), lambda n: label_chip(n)),
                wrap="wrap",
                gap="4px",
                max_height="50px",
                overflow="hidden",
            ),
            rx.hstack(
                rx.icon("user-round", size=12, color="var(--gray-9)"),
                rx.text(
                    card["pseudonym"].to(str),
                    size="1",
                    color_scheme="gray",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    white_space="nowrap",
                    min_width="0",
                ),
                rx.spacer(),
                rx.cond(  # #7: the producer's review score, when the page supplies it
                    card.contains("score"),
                    rx.tooltip(
                        rx.badge(
                            rx.icon("star", size=10),
                            card["score"].to(str),
                            variant="soft",
                            color_scheme="amber",
                            size="1",
                            class_name="producer-score",
                        ),
                        content="Producer quality, 0-100: how reliably reviewers accept this "
                        "producer's labels (a cautious estimate: few reviews score lower)",
                    ),
                ),
                rx.cond(
                    card.contains("reviews"),
                    rx.text(
                        card["reviews"].to(str),
                        size="1",
                        color_scheme="gray",
                        white_space="nowrap",
                        class_name="producer-reviews",
                    ),
                ),
                spacing="1",
                align="center",
                width="100%",
            ),
            footer or rx.fragment(),
            spacing="2",
            width="100%",
        ),
        size="1",
        class_name="image-card",
        style=rx.cond(
            selected if selected is not None else False,
            {"outline": "2px solid var(--accent-9)"},
            {},
        ),
    )
