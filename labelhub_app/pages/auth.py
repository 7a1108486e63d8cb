"""Sign in, create account, forgotten password, new password, email verification.

The sign-in and sign-up forms are ordinary HTML forms posted to the backend (/auth/signin,
/auth/signup), which sets the HttpOnly session cookie and redirects; an error comes back as a
flash message that AuthState.load_user shows. Single sign-on is a link to /auth/oidc/login.
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink

from labelhub_app import routes
from labelhub_app.components.common import error_callout, info_callout
from labelhub_app.components.layout import logo
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.services import accounts
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


def _native_form(*children: rx.Component, **props) -> rx.Component:  # type: ignore[no-untyped-def]
    """A plain HTML form that the browser itself posts (Reflex's form always prevents that)."""
    form = rx.el.form(*children, method="post", **props)
    form.event_triggers.pop("on_submit", None)
    return form


def _email_field() -> rx.Component:
    # keyed by the typed address: after an error the field comes back filled in
    return _field(
        "Email",
        "email",
        "email",
        "you@example.com",
        required=True,
        auto_complete="email",
        default_value=AuthState.form_email,
        key=AuthState.form_email,
    )


class SignInPageState(rx.State):
    next_path: str = ""

    @rx.event
    def load(self) -> None:
        self.next_path = accounts.safe_next(self.router.url.query_parameters.get("next", ""))


def _oidc_button() -> rx.Component:
    """A link, styled as a button, to the provider (shown only when single sign-on is set up)."""
    return rx.cond(
        AuthState.oidc_name != "",
        rx.vstack(
            ReactRouterLink.create(
                rx.icon("key-round", size=18),
                rx.text("Sign in with ", AuthState.oidc_name),
                to=AuthState.api_base + routes.OIDC_LOGIN + "?next=" + SignInPageState.next_path,
                reload_document=True,  # a backend route, not a page: the browser must load it
                id="oidc-sign-in",
                class_name="rt-reset rt-BaseButton rt-r-size-3 rt-variant-surface rt-Button",
                style={"width": "100%", "textDecoration": "none"},
            ),
            rx.hstack(
                rx.separator(size="4"),
                rx.text("or", size="1", color_scheme="gray"),
                rx.separator(size="4"),
                align="center",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
    )


@rx.page(
    route=routes.SIGN_IN,
    title="Sign in · LabelHub",
    on_load=[AuthState.load_user, SignInPageState.load],
)
def sign_in_page() -> rx.Component:
    return _shell(
        rx.heading("Welcome back", size="6"),
        rx.text("Sign in to label, sell and buy images.", color_scheme="gray", size="2"),
        error_callout(AuthState.auth_error),
        info_callout(AuthState.auth_notice),
        _oidc_button(),
        _native_form(
            rx.vstack(
                _email_field(),
                _field(
                    "Password",
                    "password",
                    "password",
                    required=True,
                    auto_complete="current-password",
                ),
                rx.el.input(type="hidden", name="next", value=SignInPageState.next_path),
                rx.button("Sign in", type="submit", size="3", width="100%"),
                spacing="4",
                width="100%",
            ),
            action=AuthState.api_base + routes.AUTH_SIGN_IN,
            id="sign-in-form",
            width="100%",
        ),
        rx.hstack(
            rx.text("New here? ", rx.link("Create an account", href=routes.SIGN_UP), size="2"),
            rx.link("Forgot your password?", href=routes.FORGOT_PASSWORD, size="2"),
            justify="between",
            width="100%",
            wrap="wrap",
        ),
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
            "width": "100%",
            "boxSizing": "border-box",
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
        _native_form(
            rx.vstack(
                _field(
                    "Display name",
                    "display_name",
                    placeholder="How we greet you",
                    auto_complete="name",
                ),
                _email_field(),
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
                rx.text(
                    "We will email you a link to confirm your address; you can sell once it is "
                    "confirmed.",
                    size="1",
                    color_scheme="gray",
                ),
                rx.button("Create account", type="submit", size="3", width="100%"),
                spacing="3",
                width="100%",
            ),
            action=AuthState.api_base + routes.AUTH_SIGN_UP,
            id="sign-up-form",
            width="100%",
        ),
        rx.text("Already have an account? ", rx.link("Sign in", href=routes.SIGN_IN), size="2"),
    )


# --- forgotten password -------------------------------------------------------------------------


class ForgotPasswordState(rx.State):
    sent_to: str = ""
    error: str = ""

    @rx.event
    def load(self) -> None:
        self.sent_to = self.error = ""

    @rx.event
    def request(self, form: dict[str, str]) -> None:
        self.error = ""
        email = form.get("email", "").strip()
        try:
            with session_scope() as session:
                accounts.request_password_reset(
                    session, email=email, base_url=self.router.page.host
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.sent_to = email


@rx.page(
    route=routes.FORGOT_PASSWORD,
    title="Forgot password · LabelHub",
    on_load=ForgotPasswordState.load,
)
def forgot_password_page() -> rx.Component:
    return _shell(
        rx.heading("Forgot your password?", size="6"),
        rx.cond(
            ForgotPasswordState.sent_to != "",
            rx.vstack(
                rx.callout(
                    rx.text(
                        "If an account uses ",
                        rx.text.strong(ForgotPasswordState.sent_to),
                        ", we have sent it a link to choose a new password. It works once, "
                        "for an hour.",
                    ),
                    icon="mail-check",
                    color_scheme="green",
                    role="status",
                    id="reset-sent",
                    width="100%",
                ),
                rx.text(
                    "No email after a few minutes? Check your spam folder, or ",
                    rx.link(
                        "try again", href=routes.FORGOT_PASSWORD, on_click=ForgotPasswordState.load
                    ),
                    ".",
                    size="2",
                ),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.text(
                    "Enter the email address of your account and we will send you a link to "
                    "choose a new one.",
                    color_scheme="gray",
                    size="2",
                ),
                error_callout(ForgotPasswordState.error),
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
                        rx.button("Send reset link", type="submit", size="3", width="100%"),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=ForgotPasswordState.request,
                    reset_on_submit=False,
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
        ),
        rx.link("Back to sign in", href=routes.SIGN_IN, size="2"),
    )


class ResetPasswordState(rx.State):
    """The token stays in the URL; the state only knows whose it is and whether it works."""

    for_email: str = ""
    link_error: str = ""
    error: str = ""
    done: bool = False

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    @rx.event
    def load(self) -> None:
        self.for_email = self.link_error = self.error = ""
        self.done = False
        try:
            with session_scope() as session:
                self.for_email = accounts.check_reset_token(session, token=self._token())
        except LabelHubError as exc:
            self.link_error = exc.message

    @rx.event
    def save(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        self.error = ""
        password = form.get("password", "")
        if password != form.get("confirm", ""):
            self.error = "The two passwords differ; type the same new password twice."
            return None
        try:
            with session_scope() as session:
                accounts.reset_password(session, token=self._token(), password=password)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.done = True
        return None


@rx.page(
    route=routes.RESET_PASSWORD,
    title="Choose a new password · LabelHub",
    on_load=ResetPasswordState.load,
)
def reset_password_page() -> rx.Component:
    return _shell(
        rx.heading("Choose a new password", size="6"),
        rx.cond(
            ResetPasswordState.done,
            rx.vstack(
                info_callout(
                    "Your password is changed, and every device that was signed in has been "
                    "signed out. Sign in with the new password."
                ),
                rx.link(rx.button("Sign in", size="3", width="100%"), href=routes.SIGN_IN),
                spacing="4",
                width="100%",
                id="reset-done",
            ),
            rx.cond(
                ResetPasswordState.link_error != "",
                rx.vstack(
                    error_callout(ResetPasswordState.link_error),
                    rx.link(
                        rx.button("Send a new link", size="3", width="100%"),
                        href=routes.FORGOT_PASSWORD,
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.vstack(
                    rx.text(
                        "For ",
                        rx.text.strong(ResetPasswordState.for_email),
                        ". This link works once.",
                        color_scheme="gray",
                        size="2",
                    ),
                    error_callout(ResetPasswordState.error),
                    rx.form(
                        rx.vstack(
                            _field(
                                "New password",
                                "password",
                                "password",
                                "At least 8 characters",
                                required=True,
                                auto_complete="new-password",
                                min_length=8,
                            ),
                            _field(
                                "New password again",
                                "confirm",
                                "password",
                                required=True,
                                auto_complete="new-password",
                                min_length=8,
                            ),
                            rx.button("Set new password", type="submit", size="3", width="100%"),
                            spacing="4",
                            width="100%",
                        ),
                        on_submit=ResetPasswordState.save,
                        reset_on_submit=True,
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
            ),
        ),
    )


class VerifyEmailState(rx.State):
    verified_email: str = ""
    error: str = ""
    checked: bool = False

    @rx.event
    def load(self) -> None:
        self.verified_email = self.error = ""
        try:
            with session_scope() as session:
                user = accounts.verify_email(
                    session, token=self.router.url.query_parameters.get("token", "")
                )
                self.verified_email = user.email
        except LabelHubError as exc:
            self.error = exc.message
        self.checked = True


@rx.page(
    route=routes.VERIFY_EMAIL,
    title="Verify email · LabelHub",
    on_load=[AuthState.load_user, VerifyEmailState.load],
)
def verify_email_page() -> rx.Component:
    return _shell(
        rx.heading("Email verification", size="6"),
        rx.cond(
            VerifyEmailState.checked,
            rx.cond(
                VerifyEmailState.verified_email != "",
                rx.vstack(
                    rx.callout(
                        rx.text(
                            rx.text.strong(VerifyEmailState.verified_email),
                            " is verified. You can now put your images on sale.",
                        ),
                        icon="circle-check",
                        color_scheme="green",
                        role="status",
                        id="email-verified",
                        width="100%",
                    ),
                    rx.link(
                        rx.button("Go to your dashboard", size="3", width="100%"),
                        href=routes.DASHBOARD,
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.vstack(
                    error_callout(VerifyEmailState.error),
                    rx.link("Go to your dashboard", href=routes.DASHBOARD, size="2"),
                    spacing="4",
                    width="100%",
                ),
            ),
            rx.center(rx.spinner(size="3"), width="100%", padding="1em"),
        ),
    )
