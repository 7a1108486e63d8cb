"""The signed-in person, shared by every page. Holds only what the browser may see.

The session token lives in an HttpOnly cookie set by the backend's sign-in routes
(api/routes/web_auth.py); page scripts cannot read it and it is never a state var. The server reads
it from the headers of the websocket connection (``router.headers.cookie``), and image and
download requests send it by themselves. Signing in or out is therefore a full page load (a form
post or a link to /auth/...), after which the websocket reconnects with the new cookie.
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote

import reflex as rx
from reflex_base.config import get_config
from sqlmodel import Session

from labelhub_app import routes
from labelhub_app.config import SESSION_COOKIE
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.models import User
from labelhub_app.services import accounts

FLASH_COOKIE = "lh_flash"  # set by api/routes/web_auth.py: a message for the next page


def request_cookie(state: rx.State, name: str) -> str:
    """A cookie of the page's websocket connection (HttpOnly ones included), server side."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(state.router.headers.cookie or "")
    except CookieError:
        return ""
    return jar[name].value if name in jar else ""


def session_token(state: rx.State) -> str:
    return request_cookie(state, SESSION_COOKIE)


class AuthState(rx.State):
    email: str = ""
    display_name: str = ""
    pseudonym: str = ""
    roles: list[str] = []
    email_verified: bool = True
    checked: bool = False
    auth_error: str = ""
    auth_notice: str = ""
    form_email: str = ""  # what the person typed before an error sent them back
    verify_notice: str = ""  # the answer to "resend verification email"

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

    @rx.var
    def oidc_name(self) -> str:
        """The single sign-on provider's name; empty when none is configured."""
        return accounts.oidc_provider_name()

    @rx.var
    def needs_verification(self) -> bool:
        return bool(self.email) and not self.email_verified and "producer" in self.roles

    def _fill(self, user: User | None) -> None:
        self.email = user.email if user else ""
        self.display_name = user.display_name if user else ""
        self.pseudonym = user.pseudonym if user else ""
        self.roles = user.roles if user else []
        self.email_verified = user.email_verified if user else True
        self.checked = True

    def _take_flash(self) -> list:  # type: ignore[type-arg]
        """Show a message the sign-in routes left in the flash cookie, then clear it."""
        raw = request_cookie(self, FLASH_COOKIE)
        self.auth_error = self.auth_notice = ""
        if not raw:
            return []
        try:
            message = json.loads(unquote(raw))
        except ValueError:
            message = {}
        if isinstance(message, dict):
            self.auth_error = str(message.get("error", ""))[:500]
            self.auth_notice = str(message.get("notice", ""))[:500]
            self.form_email = str(message.get("email", ""))[:320]
        return [rx.remove_cookie(FLASH_COOKIE)]

    @rx.event
    def load_user(self):  # type: ignore[no-untyped-def]
        with session_scope() as session:
            self._fill(accounts.user_for_token(session, session_token(self)))
        self.verify_notice = ""
        return self._take_flash() or None

    @rx.event
    def require_user(self):  # type: ignore[no-untyped-def]
        """on_load guard: send visitors who are not signed in to the sign-in page."""
        events = self.load_user()
        if not self.email:
            return rx.redirect(f"{routes.SIGN_IN}?next={self.router.url.path}")
        return events

    @rx.event
    def sign_out(self):  # type: ignore[no-untyped-def]
        """End this session, then let the backend clear the cookie (a full page load)."""
        with session_scope() as session:
            accounts.sign_out(session, token=session_token(self))
        self._fill(None)
        return rx.call_script(
            f"window.location.assign({json.dumps(self.api_base + routes.AUTH_SIGN_OUT)})"
        )

    @rx.event
    def resend_verification(self) -> None:
        self.verify_notice = ""
        try:
            with session_scope() as session:
                user = accounts.user_for_token(session, session_token(self))
                if user is None:
                    self.verify_notice = "Sign in again to send a verification email."
                    return
                accounts.resend_verification(
                    session, actor=user, base_url=self.router.page.host or self.api_base
                )
                self.verify_notice = f"We sent a new verification link to {user.email}."
        except LabelHubError as exc:
            self.verify_notice = exc.message


async def current_user(state: rx.State, session: Session) -> User | None:
    """The signed-in user for an event handler of any page state."""
    return accounts.user_for_token(session, session_token(state))
