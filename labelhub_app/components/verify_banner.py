"""The banner an unverified producer sees on the dashboard and upload pages (#9)."""

from __future__ import annotations

import reflex as rx

from labelhub_app.state.auth import AuthState


def verify_email_banner() -> rx.Component:
    """'Verify your email to sell', with a button that mails a new link."""
    return rx.cond(
        AuthState.needs_verification,
        rx.callout.root(
            rx.callout.icon(rx.icon("mail-warning")),
            rx.vstack(
                rx.text(
                    "Verify your email address to sell. ",
                    rx.text.span(
                        "You can upload and label now; your images go on sale once you open the "
                        "link we sent to ",
                        rx.text.strong(AuthState.email),
                        ".",
                        weight="regular",
                    ),
                    weight="bold",
                    size="2",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("send", size=14),
                        "Resend verification email",
                        size="1",
                        variant="soft",
                        color_scheme="amber",
                        on_click=AuthState.resend_verification,
                        id="resend-verification",
                    ),
                    rx.cond(
                        AuthState.verify_notice != "",
                        rx.text(AuthState.verify_notice, size="1", id="verify-notice"),
                    ),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="amber",
            width="100%",
            margin_bottom="1em",
            id="verify-email-banner",
            role="status",
        ),
    )
