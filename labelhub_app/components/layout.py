"""The page frame: top navigation, content column, footer."""

from __future__ import annotations

import reflex as rx

from labelhub_app import routes
from labelhub_app.state.auth import AuthState

ACCENT = "indigo"


def _nav_link(text: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=16),
            rx.text(text, size="2", weight="medium"),
            spacing="2",
            align="center",
        ),
        href=href,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        padding_x="0.6em",
        padding_y="0.35em",
        border_radius="8px",
        _hover={"background": "var(--gray-a3)"},
    )


def logo() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.center(
                rx.icon("scan-search", size=18, color="white"),
                width="30px",
                height="30px",
                border_radius="8px",
                background="linear-gradient(135deg, var(--indigo-9), var(--violet-9))",
            ),
            rx.heading("LabelHub", size="5", weight="bold", letter_spacing="-0.02em"),
            spacing="2",
            align="center",
        ),
        href=routes.MARKET,
        underline="none",
        color="inherit",
    )


def navbar() -> rx.Component:
    return rx.box(
        rx.hstack(
            logo(),
            rx.hstack(
                _nav_link("Market", routes.MARKET, "store"),
                _nav_link("Labels", routes.LABELS, "tags"),
                rx.cond(
                    AuthState.is_producer,
                    rx.fragment(
                        _nav_link("Upload", routes.UPLOAD, "upload"),
                        _nav_link("Label", routes.LABEL_STREAM, "square-dashed-mouse-pointer"),
                        _nav_link("Dashboard", routes.DASHBOARD, "layout-dashboard"),
                    ),
                ),
                rx.cond(
                    AuthState.is_consumer,
                    rx.fragment(
                        _nav_link("Projects", routes.PROJECTS, "folder-open"),
                        _nav_link("Purchases", routes.PURCHASES, "wallet"),
                    ),
                ),
                rx.cond(  # #7 reviews: the reviewers' queue
                    AuthState.roles.contains("reviewer"),
                    _nav_link("Review", routes.REVIEW, "badge-check"),
                ),
                rx.cond(  # #7 labelling campaigns: producers label, producers and consumers start
                    AuthState.is_producer | AuthState.is_consumer,
                    _nav_link("Campaigns", routes.CAMPAIGNS, "users"),
                ),
                spacing="1",
                display=["none", "none", "flex"],
            ),
            rx.spacer(),
            rx.cond(
                AuthState.signed_in,
                rx.menu.root(
                    rx.menu.trigger(
                        rx.button(
                            rx.avatar(
                                fallback=AuthState.pseudonym.to(str)[:2].upper(),
                                size="1",
                                radius="full",
                            ),
                            rx.text(AuthState.display_name, size="2"),
                            rx.icon("chevron-down", size=14),
                            variant="ghost",
                            color_scheme="gray",
                            id="account-menu",
                        )
                    ),
                    rx.menu.content(
                        rx.menu.item(
                            rx.text("Signed in as ", rx.text.strong(AuthState.pseudonym)),
                            disabled=True,
                        ),
                        rx.menu.separator(),
                        rx.menu.item("Profile", on_select=rx.redirect(routes.PROFILE)),
                        rx.cond(
                            AuthState.is_producer,
                            rx.menu.item("Payouts", on_select=rx.redirect(routes.PAYOUTS)),
                        ),
                        rx.cond(
                            AuthState.is_consumer,
                            rx.menu.item("Wallet", on_select=rx.redirect(routes.WALLET)),
                        ),
                        rx.menu.item("Activity", on_select=rx.redirect(routes.ACTIVITY)),
                        rx.menu.separator(),
                        # auto-labelling: background jobs and the detector's versions
                        rx.menu.item("Jobs", on_select=rx.redirect(routes.JOBS)),
                        rx.menu.item("Models", on_select=rx.redirect(routes.MODELS)),
                        rx.menu.separator(),
                        rx.menu.item("Sign out", on_select=AuthState.sign_out, color_scheme="red"),
                    ),
                ),
                rx.hstack(
                    rx.link(rx.button("Sign in", variant="soft"), href=routes.SIGN_IN),
                    rx.link(rx.button("Create account"), href=routes.SIGN_UP),
                    spacing="2",
                ),
            ),
            align="center",
            spacing="5",
            max_width="1280px",
            margin_x="auto",
            padding_x="1.5em",
            height="60px",
        ),
        position="sticky",
        top="0",
        z_index="10",
        width="100%",
        background="color-mix(in srgb, var(--color-background) 85%, transparent)",
        backdrop_filter="blur(8px)",
        border_bottom="1px solid var(--gray-a4)",
    )


def page_frame(
    *children: rx.Component,
    title: str | None = None,
    subtitle: rx.Component | str | None = None,
    actions: rx.Component | None = None,
    max_width: str = "1280px",
) -> rx.Component:
    header = rx.fragment()
    if title:
        header = rx.hstack(
            rx.vstack(
                rx.heading(title, size="7", weight="bold", letter_spacing="-0.02em"),
                rx.text(subtitle, color_scheme="gray", size="3") if subtitle else rx.fragment(),
                spacing="1",
            ),
            rx.spacer(),
            actions or rx.fragment(),
            width="100%",
            align="end",
            margin_bottom="1.25em",
        )
    return rx.box(
        navbar(),
        rx.box(
            header,
            *children,
            max_width=max_width,
            margin_x="auto",
            padding_x="1.5em",
            padding_y="1.75em",
            width="100%",
        ),
        min_height="100vh",
        background="var(--gray-1)",
    )
