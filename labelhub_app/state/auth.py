"""The signed-in person, shared by every page. Holds only what the browser may see.

The session token lives in a cookie (set by the page, sent with image and download requests);
the database keeps only its SHA-256. No hash, no other user's data is ever a state var.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.config import get_config
from sqlmodel import Session

from labelhub_app import routes
from labelhub_app.config import SESSION_COOKIE, get_settings
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.models import User
from labelhub_app.services import accounts


class AuthState(rx.State):
    session_token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        max_age=get_settings().session_days * 86400,
        same_site="lax",
        path="/",
    )
    email: str = ""
    display_name: str = ""
    pseudonym: str = ""
    roles: list[str] = []
    checked: bool = False
    auth_error: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.email)

    @rx.var
    def is_producer(self) -> bool:
        return "producer" in self.roles

    @rx.var
    def is_consumer(self) -> bool:
        return "consumer" in self.roles

    @rx.var
    def api_base(self) -> str:
        return get_config().api_url.rstrip("/")

    def _fill(self, user: User | None) -> None:
        self.email = user.email if user else ""
        self.display_name = user.display_name if user else ""
        self.pseudonym = user.pseudonym if user else ""
        self.roles = user.roles if user else []
        self.checked = True

    @rx.event
    def load_user(self) -> None:
        with session_scope() as session:
            self._fill(accounts.user_for_token(session, self.session_token))

    @rx.event
    def require_user(self):  # type: ignore[no-untyped-def]
        """on_load guard: send visitors who are not signed in to the sign-in page."""
        self.load_user()
        if not self.email:
            return rx.redirect(f"{routes.SIGN_IN}?next={self.router.url.path}")
        return None

    @rx.event
    def sign_in(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        self.auth_error = ""
        try:
            with session_scope() as session:
                token = accounts.sign_in(
                    session, email=form.get("email", ""), password=form.get("password", "")
                )
                self.session_token = token
                self._fill(accounts.user_for_token(session, token))
        except LabelHubError as exc:
            self.auth_error = exc.message
            return None
        target = self.router.url.query_parameters.get("next", "")
        return rx.redirect(
            target if target.startswith("/") and not target.startswith("//") else self._home()
        )

    @rx.event
    def sign_up(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        self.auth_error = ""
        roles = [
            r
            for r in ("producer", "consumer", "reviewer")
            if form.get(f"role_{r}") in ("on", "true", True)
        ]
        try:
            with session_scope() as session:
                accounts.sign_up(
                    session,
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    roles=roles,
                    display_name=form.get("display_name", ""),
                )
                token = accounts.sign_in(
                    session, email=form.get("email", ""), password=form.get("password", "")
                )
                self.session_token = token
                self._fill(accounts.user_for_token(session, token))
        except LabelHubError as exc:
            self.auth_error = exc.message
            return None
        return rx.redirect(self._home())

    def _home(self) -> str:
        if "producer" in self.roles:
            return routes.DASHBOARD
        return routes.MARKET

    @rx.event
    def sign_out(self):  # type: ignore[no-untyped-def]
        with session_scope() as session:
            accounts.sign_out(session, token=self.session_token)
        self.session_token = ""
        self._fill(None)
        return [rx.remove_cookie(SESSION_COOKIE), rx.redirect(routes.SIGN_IN)]


async def current_user(state: rx.State, session: Session) -> User | None:
    """The signed-in user for an event handler of any page state."""
    auth = await state.get_state(AuthState)
    return accounts.user_for_token(session, auth.session_token)
