"""Profile: display name, about, roles; the pseudonym everyone else sees."""

from __future__ import annotations

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import error_callout, info_callout
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import accounts
from labelhub_app.state.auth import AuthState, current_user


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

    @rx.event
    async def load(self) -> None:
        with session_scope() as session:
            user = await current_user(self, session)
            if user is None:
                return
            self.display_name, self.about, self.pseudonym, self.email = (
                user.display_name, user.about, user.pseudonym, user.email)
            self.producer, self.consumer, self.reviewer = user.is_producer, user.is_consumer, user.is_reviewer
        self.error = self.notice = ""

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
        roles = [r for r, on in (("producer", self.producer), ("consumer", self.consumer),
                                 ("reviewer", self.reviewer)) if on]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                accounts.update_profile(session, actor=user, display_name=self.display_name,
                                        about=self.about, roles=roles)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.notice = "Profile saved."
        return AuthState.load_user


def _role_switch(title: str, text: str, checked: rx.Var[bool], on_change, id_: str) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.hstack(
        rx.vstack(rx.text(title, size="2", weight="bold"), rx.text(text, size="1", color_scheme="gray"),
                  spacing="0"),
        rx.spacer(),
        rx.switch(checked=checked, on_change=on_change, id=id_),
        width="100%", align="center", padding="10px 0", border_bottom="1px solid var(--gray-a3)",
    )


@rx.page(route=routes.PROFILE, title="Profile · LabelHub", on_load=[AuthState.require_user, ProfileState.load])
def profile_page() -> rx.Component:
    return page_frame(
        rx.hstack(
            rx.card(
                rx.vstack(
                    rx.avatar(fallback=ProfileState.pseudonym.to(str)[:2].upper(), size="7", radius="full"),
                    rx.heading(ProfileState.pseudonym, size="5", id="pseudonym"),
                    rx.text("Your public pseudonym. Producers and consumers only ever see this, "
                            "never your name or email.", size="2", color_scheme="gray", text_align="center"),
                    rx.divider(),
                    rx.text(ProfileState.email, size="2", color_scheme="gray"),
                    align="center", spacing="3",
                ),
                width="300px", size="3",
            ),
            rx.card(
                rx.vstack(
                    error_callout(ProfileState.error),
                    info_callout(ProfileState.notice),
                    rx.text("Display name", size="2", weight="medium"),
                    rx.input(value=ProfileState.display_name, on_change=ProfileState.set_display_name,
                             id="display-name", width="100%", size="3"),
                    rx.text("About", size="2", weight="medium"),
                    rx.text_area(value=ProfileState.about, on_change=ProfileState.set_about, id="about",
                                 width="100%", rows="4", placeholder="What you label, what you look for…"),
                    rx.text("Roles", size="2", weight="medium", margin_top="0.5em"),
                    _role_switch("Producer", "Upload, label and sell images", ProfileState.producer,
                                 ProfileState.set_producer, "role-producer"),
                    _role_switch("Consumer", "Buy images into projects and download datasets",
                                 ProfileState.consumer, ProfileState.set_consumer, "role-consumer"),
                    _role_switch("Reviewer", "Check producers' labels", ProfileState.reviewer,
                                 ProfileState.set_reviewer, "role-reviewer"),
                    rx.hstack(rx.button("Save profile", on_click=ProfileState.save, size="3", id="save-profile"),
                              justify="end", width="100%", margin_top="0.5em"),
                    spacing="2", width="100%",
                ),
                flex="1", size="3",
            ),
            spacing="5", align="start", width="100%",
        ),
        title="Profile",
        max_width="960px",
    )
