"""Sign in and create-account pages."""

from __future__ import annotations

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import error_callout
from labelhub_app.components.layout import logo
from labelhub_app.state.auth import AuthState


def _shell(*children: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            logo(),
            rx.card(rx.vstack(*children, spacing="4", width="100%"), size="4", width="100%"),
            rx.text(
                "Label images. Sell datasets. Buy training data.", size="2", color_scheme="gray"
            ),
            align="center",
            spacing="5",
            width="100%",
            max_width="420px",
        ),
        min_height="100vh",
        padding="2em",
        background="radial-gradient(circle at 20% 10%, var(--indigo-a3), transparent 45%),"
        "radial-gradient(circle at 80% 90%, var(--violet-a3), transparent 40%), var(--gray-1)",
    )


def _field(
    label: str, name: str, type_: str = "text", placeholder: str = "", **props
) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.vstack(
        rx.text(label, size="2", weight="medium", as_="label", html_for=name),
        rx.input(
            name=name, id=name, type=type_, placeholder=placeholder, size="3", width="100%", **props
        ),
        spacing="1",
        width="100%",
    )


@rx.page(route=routes.SIGN_IN, title="Sign in · LabelHub", on_load=AuthState.load_user)
def sign_in_page() -> rx.Component:
    return _shell(
        rx.heading("Welcome back", size="6"),
        rx.text("Sign in to label, sell and buy images.", color_scheme="gray", size="2"),
        error_callout(AuthState.auth_error),
        rx.form(
            rx.vstack(
                _field(
                    "Email",
                    "email",
                    "email",
                    "you@example.com",
                    required=True,
                    auto_complete="email",
                ),
                _field(
                    "Password",
                    "password",
                    "password",
                    required=True,
                    auto_complete="current-password",
                ),
                rx.button("Sign in", type="submit", size="3", width="100%"),
                spacing="4",
                width="100%",
            ),
            on_submit=AuthState.sign_in,
            reset_on_submit=False,
            width="100%",
        ),
        rx.text("New here? ", rx.link("Create an account", href=routes.SIGN_UP), size="2"),
    )


def _role(value: str, title: str, text: str, icon: str, default: bool = False) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(name=f"role_{value}", default_checked=default, id=f"role_{value}"),
            rx.icon(icon, size=18, color="var(--accent-10)"),
            rx.vstack(
                rx.text(title, size="2", weight="bold"),
                rx.text(text, size="1", color_scheme="gray"),
                spacing="0",
            ),
            align="center",
            spacing="3",
        ),
        style={
            "display": "block",
            "padding": "10px 12px",
            "border": "1px solid var(--gray-a6)",
            "borderRadius": "10px",
            "cursor": "pointer",
        },
    )


@rx.page(route=routes.SIGN_UP, title="Create account · LabelHub", on_load=AuthState.load_user)
def sign_up_page() -> rx.Component:
    return _shell(
        rx.heading("Create your account", size="6"),
        rx.text(
            "Others will only ever see a generated pseudonym, never your name or email.",
            color_scheme="gray",
            size="2",
        ),
        error_callout(AuthState.auth_error),
        rx.form(
            rx.vstack(
                _field(
                    "Display name",
                    "display_name",
                    placeholder="How we greet you",
                    auto_complete="name",
                ),
                _field(
                    "Email",
                    "email",
                    "email",
                    "you@example.com",
                    required=True,
                    auto_complete="email",
                ),
                _field(
                    "Password",
                    "password",
                    "password",
                    "At least 8 characters",
                    required=True,
                    auto_complete="new-password",
                    min_length=8,
                ),
                rx.text("I want to…", size="2", weight="medium"),
                _role("producer", "Sell images", "Upload, label and price images", "camera", True),
                _role(
                    "consumer",
                    "Buy training data",
                    "Search the market and download datasets",
                    "shopping-cart",
                ),
                _role(
                    "reviewer",
                    "Review labels",
                    "Check producers' labels and rate them",
                    "badge-check",
                ),
                rx.button("Create account", type="submit", size="3", width="100%"),
                spacing="3",
                width="100%",
            ),
            on_submit=AuthState.sign_up,
            reset_on_submit=False,
            width="100%",
        ),
        rx.text("Already have an account? ", rx.link("Sign in", href=routes.SIGN_IN), size="2"),
    )
