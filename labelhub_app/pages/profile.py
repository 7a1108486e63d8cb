"""Profile: display name, about, roles, the pseudonym everyone else sees; API access tokens;
signed-in devices (sessions) with per-device revoke and "sign out everywhere"."""

from __future__ import annotations

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import error_callout, info_callout
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import accounts, tokens
from labelhub_app.state.auth import AuthState, current_user, session_token


class ProfileState(rx.State):
    display_name: str = ""
    about: str = ""
    pseudonym: str = ""
    email: str = ""
    producer: bool = False
    consumer: bool = False
    reviewer: bool = False
    error: str = ""
    notice: str = ""
    gold_text: str = ""  # #7: this person's accuracy on gold (verified) images

    @rx.event
    async def load(self) -> None:
        with session_scope() as session:
            user = await current_user(self, session)
            if user is None:
                return
            from labelhub_app.services.gold import gold_accuracy

            gold = gold_accuracy(session, user=user, recent=0)
            self.gold_text = (
                f"{round(100 * gold.accuracy)}% right ({gold.correct} of {gold.answered})"
                if gold.accuracy is not None
                else ""
            )
            self.display_name, self.about, self.pseudonym, self.email = (
                user.display_name,
                user.about,
                user.pseudonym,
                user.email,
            )
            self.producer, self.consumer, self.reviewer = (
                user.is_producer,
                user.is_consumer,
                user.is_reviewer,
            )
        self.error = self.notice = ""
        if self.router.url.query_parameters.get("welcome") and not (
            self.producer or self.consumer or self.reviewer
        ):
            self.notice = (
                "Welcome to LabelHub! Choose what you want to do here (sell, buy or review), "
                "then save."
            )

    @rx.event
    def set_display_name(self, v: str) -> None:
        self.display_name = v

    @rx.event
    def set_about(self, v: str) -> None:
        self.about = v

    @rx.event
    def set_producer(self, v: bool) -> None:
        self.producer = v

    @rx.event
    def set_consumer(self, v: bool) -> None:
        self.consumer = v

    @rx.event
    def set_reviewer(self, v: bool) -> None:
        self.reviewer = v

    @rx.event
    async def save(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        roles = [
            r
            for r, on in (
                ("producer", self.producer),
                ("consumer", self.consumer),
                ("reviewer", self.reviewer),
            )
            if on
        ]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                accounts.update_profile(
                    session,
                    actor=user,
                    display_name=self.display_name,
                    about=self.about,
                    roles=roles,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.notice = "Profile saved."
        return AuthState.load_user


EXPIRY_CHOICES = {"30": "30 days", "90": "90 days", "365": "1 year", "never": "Never"}


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


class TokensState(rx.State):
    """The person's access tokens. A new token is held here only until it is dismissed."""

    tokens: list[dict[str, str]] = []
    new_name: str = ""
    new_expiry: str = "90"
    created_token: str = ""  # shown once, then cleared
    error: str = ""

    @rx.event
    async def load(self) -> None:
        self.created_token = self.error = ""
        await self._reload()

    async def _reload(self) -> None:
        try:
            with session_scope() as session:
                rows = tokens.list_tokens(session, actor=await current_user(self, session))
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.tokens = [
            {
                "id": t.public_id,
                "name": t.name,
                "prefix": f"{t.prefix}…",
                "created": _when(t.created_at),
                "last_used": _when(t.last_used_at) or "never",
                "expires": _when(t.expires_at) or "never",
            }
            for t in rows
        ]

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value

    @rx.event
    def set_new_expiry(self, value: str) -> None:
        self.new_expiry = value

    @rx.event
    async def create(self):  # type: ignore[no-untyped-def]
        self.error = self.created_token = ""
        days = None if self.new_expiry == "never" else int(self.new_expiry)
        try:
            with session_scope() as session:
                new = tokens.create_token(
                    session,
                    actor=await current_user(self, session),
                    name=self.new_name,
                    expires_in_days=days,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        await self._reload()
        self.created_token, self.new_name = new.token, ""
        return None

    @rx.event
    async def revoke(self, token_id: str) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                tokens.revoke_token(session, actor=user, token_id=token_id)
        except LabelHubError as exc:
            self.error = exc.message
            return
        await self._reload()

    @rx.event
    def dismiss(self) -> None:
        self.created_token = ""


def _tokens_card() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Name", "Token", "Created", "Last used", "Expires", "")
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                TokensState.tokens,
                lambda t: rx.table.row(
                    rx.table.cell(rx.text(t["name"], size="2", weight="medium")),
                    rx.table.cell(rx.code(t["prefix"], size="1")),
                    rx.table.cell(rx.text(t["created"], size="1", color_scheme="gray")),
                    rx.table.cell(rx.text(t["last_used"], size="1", color_scheme="gray")),
                    rx.table.cell(rx.text(t["expires"], size="1", color_scheme="gray")),
                    rx.table.cell(
                        rx.button(
                            "Revoke",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            on_click=TokensState.revoke(t["id"]),
                            aria_label="Revoke " + t["name"],
                        )
                    ),
                    class_name="token-row",
                ),
            )
        ),
        variant="surface",
        width="100%",
        size="1",
    )
    new_token = rx.cond(
        TokensState.created_token != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("key-round")),
            rx.vstack(
                rx.text("Copy your new token now: it is shown only once.", weight="bold", size="2"),
                rx.code(
                    TokensState.created_token,
                    id="new-token",
                    size="2",
                    style={"word_break": "break-all"},
                ),
                rx.hstack(
                    rx.button(
                        "Copy", size="1", on_click=rx.set_clipboard(TokensState.created_token)
                    ),
                    rx.button("Done", size="1", variant="soft", on_click=TokensState.dismiss),
                    spacing="2",
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="amber",
            width="100%",
            role="status",
        ),
    )
    return rx.card(
        rx.vstack(
            rx.heading("Access tokens", size="4", id="access-tokens"),
            rx.text(
                "Scripts and the Python client sign in with a token: send it as ",
                rx.code("Authorization: Bearer <token>"),
                ". See the ",
                rx.link("API docs", href=AuthState.api_base + "/api/v1/docs", is_external=True),
                ". Revoke a token you no longer use or may have leaked.",
                size="2",
                color_scheme="gray",
            ),
            error_callout(TokensState.error),
            new_token,
            rx.hstack(
                rx.input(
                    value=TokensState.new_name,
                    on_change=TokensState.set_new_name,
                    placeholder="Token name, e.g. training laptop",
                    id="token-name",
                    flex="1",
                    max_length=80,
                ),
                rx.select.root(
                    rx.select.trigger(id="token-expiry", aria_label="Expires in"),
                    rx.select.content(
                        *[rx.select.item(t, value=v) for v, t in EXPIRY_CHOICES.items()]
                    ),
                    value=TokensState.new_expiry,
                    on_change=TokensState.set_new_expiry,
                ),
                rx.button("Create token", on_click=TokensState.create, id="create-token"),
                width="100%",
                spacing="2",
                align="center",
            ),
            rx.cond(
                TokensState.tokens.length() > 0,
                table,
                rx.text("No tokens yet.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


class SessionsState(rx.State):
    """The person's signed-in browsers and scripts; never their tokens."""

    sessions: list[dict[str, str]] = []
    error: str = ""

    @rx.event
    async def load(self) -> None:
        self.error = ""
        with session_scope() as session:
            user = await current_user(self, session)
            if user is None:
                self.sessions = []
                return
            rows = accounts.list_sessions(session, actor=user, current_token=session_token(self))
        self.sessions = [
            {
                "id": r.public_id,
                "device": r.device,
                "ip": r.client_ip or "unknown",
                "how": {"oidc": "single sign-on", "api": "API"}.get(r.method, "password"),
                "signed_in": _when(r.created_at),
                "last_seen": _when(r.last_seen_at),
                "current": "yes" if r.current else "",
            }
            for r in rows[:100]
        ]

    @rx.event
    async def revoke(self, session_id: str):  # type: ignore[no-untyped-def]
        self.error = ""
        current = next((s for s in self.sessions if s["id"] == session_id), None)
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in again first.")
                accounts.revoke_session(session, actor=user, session_id=session_id)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        if current is not None and current["current"]:
            return AuthState.sign_out  # this browser: clear its cookie too
        await self.load()
        return None

    @rx.event
    async def sign_out_everywhere(self):  # type: ignore[no-untyped-def]
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in again first.")
                accounts.sign_out_everywhere(session, actor=user)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.sessions = []
        return AuthState.sign_out


def _sessions_card() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Device", "Address", "Signed in with", "Since", "Last seen", "")
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                SessionsState.sessions,
                lambda r: rx.table.row(
                    rx.table.cell(
                        rx.hstack(
                            rx.icon("monitor-smartphone", size=16, color="var(--gray-10)"),
                            rx.text(r["device"], size="2", weight="medium"),
                            rx.cond(
                                r["current"] != "",
                                rx.badge("This device", color_scheme="green", size="1"),
                            ),
                            align="center",
                            spacing="2",
                        )
                    ),
                    rx.table.cell(rx.code(r["ip"], size="1")),
                    rx.table.cell(rx.text(r["how"], size="1", color_scheme="gray")),
                    rx.table.cell(rx.text(r["signed_in"], size="1", color_scheme="gray")),
                    rx.table.cell(rx.text(r["last_seen"], size="1", color_scheme="gray")),
                    rx.table.cell(
                        rx.button(
                            rx.cond(r["current"] != "", "Sign out", "Revoke"),
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            on_click=SessionsState.revoke(r["id"]),
                            aria_label="Revoke session on " + r["device"],
                        )
                    ),
                    class_name="session-row",
                ),
            )
        ),
        variant="surface",
        width="100%",
        size="1",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Signed-in devices", size="4", id="sessions"),
                rx.spacer(),
                rx.alert_dialog.root(
                    rx.alert_dialog.trigger(
                        rx.button(
                            rx.icon("log-out", size=16),
                            "Sign out everywhere",
                            color_scheme="red",
                            variant="soft",
                            id="sign-out-everywhere",
                        )
                    ),
                    rx.alert_dialog.content(
                        rx.alert_dialog.title("Sign out everywhere?"),
                        rx.alert_dialog.description(
                            "Every browser and script signed in with your password or single "
                            "sign-on is signed out, this one too. Access tokens keep working; "
                            "revoke them below.",
                            size="2",
                        ),
                        rx.hstack(
                            rx.alert_dialog.cancel(
                                rx.button("Cancel", variant="soft", color_scheme="gray")
                            ),
                            rx.alert_dialog.action(
                                rx.button(
                                    "Sign out everywhere",
                                    color_scheme="red",
                                    on_click=SessionsState.sign_out_everywhere,
                                    id="confirm-sign-out-everywhere",
                                )
                            ),
                            spacing="3",
                            justify="end",
                            margin_top="1em",
                        ),
                    ),
                ),
                width="100%",
                align="center",
            ),
            rx.text(
                "Where you are signed in now. A session ends by itself after a while without "
                "use; revoke one you do not recognise, then change your password.",
                size="2",
                color_scheme="gray",
            ),
            error_callout(SessionsState.error),
            rx.cond(
                SessionsState.sessions.length() > 0,
                table,
                rx.text("No other sessions.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _role_switch(title: str, text: str, checked: rx.Var[bool], on_change, id_: str) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.hstack(
        rx.vstack(
            rx.text(title, size="2", weight="bold"),
            rx.text(text, size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.switch(checked=checked, on_change=on_change, id=id_),
        width="100%",
        align="center",
        padding="10px 0",
        border_bottom="1px solid var(--gray-a3)",
    )


@rx.page(
    route=routes.PROFILE,
    title="Profile · LabelHub",
    on_load=[AuthState.require_user, ProfileState.load, TokensState.load, SessionsState.load],
)
def profile_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.hstack(
                rx.card(
                    rx.vstack(
                        rx.avatar(
                            fallback=ProfileState.pseudonym.to(str)[:2].upper(),
                            size="7",
                            radius="full",
                        ),
                        rx.heading(ProfileState.pseudonym, size="5", id="pseudonym"),
                        rx.text(
                            "Your public pseudonym. Producers and consumers only ever see this, "
                            "never your name or email.",
                            size="2",
                            color_scheme="gray",
                            text_align="center",
                        ),
                        rx.divider(),
                        rx.text(ProfileState.email, size="2", color_scheme="gray"),
                        rx.cond(  # #7: accuracy on gold images, shown only to this person
                            ProfileState.gold_text != "",
                            rx.badge(
                                rx.icon("award", size=12),
                                "Gold checks: ",
                                ProfileState.gold_text,
                                color_scheme="amber",
                                variant="soft",
                                id="gold-accuracy",
                            ),
                        ),
                        align="center",
                        spacing="3",
                    ),
                    width="300px",
                    size="3",
                ),
                rx.card(
                    rx.vstack(
                        error_callout(ProfileState.error),
                        info_callout(ProfileState.notice),
                        rx.text("Display name", size="2", weight="medium"),
                        rx.input(
                            value=ProfileState.display_name,
                            on_change=ProfileState.set_display_name,
                            id="display-name",
                            width="100%",
                            size="3",
                        ),
                        rx.text("About", size="2", weight="medium"),
                        rx.text_area(
                            value=ProfileState.about,
                            on_change=ProfileState.set_about,
                            id="about",
                            width="100%",
                            rows="4",
                            placeholder="What you label, what you look for…",
                        ),
                        rx.text("Roles", size="2", weight="medium", margin_top="0.5em"),
                        _role_switch(
                            "Producer",
                            "Upload, label and sell images",
                            ProfileState.producer,
                            ProfileState.set_producer,
                            "role-producer",
                        ),
                        _role_switch(
                            "Consumer",
                            "Buy images into projects and download datasets",
                            ProfileState.consumer,
                            ProfileState.set_consumer,
                            "role-consumer",
                        ),
                        _role_switch(
                            "Reviewer",
                            "Check producers' labels",
                            ProfileState.reviewer,
                            ProfileState.set_reviewer,
                            "role-reviewer",
                        ),
                        rx.hstack(
                            rx.button(
                                "Save profile",
                                on_click=ProfileState.save,
                                size="3",
                                id="save-profile",
                            ),
                            justify="end",
                            width="100%",
                            margin_top="0.5em",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                    flex="1",
                    size="3",
                ),
                spacing="5",
                align="start",
                width="100%",
            ),
            _sessions_card(),
            _tokens_card(),
            spacing="5",
            width="100%",
        ),
        title="Profile",
        max_width="960px",
    )
