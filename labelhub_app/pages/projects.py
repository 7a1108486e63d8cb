"""Consumers' projects: the list, and one project with its images, buying and the download."""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, info_callout
from labelhub_app.components.image_card import image_card
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import market
from labelhub_app.state.auth import AuthState, current_user


class ProjectsState(rx.State):
    projects: list[dict[str, Any]] = []
    show_archived: bool = False
    new_name: str = ""
    error: str = ""

    @rx.event
    async def load(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                rows = market.list_projects(
                    session, actor=user, include_archived=self.show_archived
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.projects = [
            {
                "id": p.public_id,
                "name": p.name,
                "href": routes.project(p.public_id),
                "archived": p.archived,
                "items": p.items,
                "bought": p.bought,
                "spent": f"{p.spent_cents / 100:,.2f}",
                "created": p.created_at.strftime("%d %b %Y"),
            }
            for p in rows
        ]

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value

    @rx.event
    def toggle_archived(self, value: bool):  # type: ignore[no-untyped-def]
        self.show_archived = value
        return ProjectsState.load

    @rx.event
    async def create(self):  # type: ignore[no-untyped-def]
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                project = market.create_project(session, actor=user, name=self.new_name)  # type: ignore[arg-type]
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.new_name = ""
        return rx.redirect(routes.project(project.public_id))

    @rx.event
    def create_key(self, key: str):  # type: ignore[no-untyped-def]
        return ProjectsState.create if key == "Enter" else None


def _project_card(p: rx.Var) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("folder", size=20, color="var(--accent-9)"),
                    rx.heading(p["name"].to(str), size="4", class_name="project-name"),
                    rx.spacer(),
                    rx.cond(p["archived"].to(bool), rx.badge("Archived", color_scheme="gray")),
                    width="100%",
                    align="center",
                ),
                rx.hstack(
                    rx.text(
                        p["items"].to(str),
                        " images · ",
                        p["bought"].to(str),
                        " bought",
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.spacer(),
                    rx.text(p["spent"].to(str), " credits", size="2", weight="medium"),
                    width="100%",
                ),
                rx.text("Created ", p["created"].to(str), size="1", color_scheme="gray"),
                spacing="2",
                width="100%",
            ),
            size="3",
            _hover={"boxShadow": "0 4px 16px var(--black-a3)"},
        ),
        href=p["href"].to(str),
        underline="none",
        color="inherit",
    )


@rx.page(
    route=routes.PROJECTS,
    title="Projects · LabelHub",
    on_load=[AuthState.require_user, ProjectsState.load],
)
def projects_page() -> rx.Component:
    return page_frame(
        rx.hstack(
            rx.input(
                placeholder="New project name",
                value=ProjectsState.new_name,
                on_change=ProjectsState.set_new_name,
                on_key_down=ProjectsState.create_key,
                id="project-name",
                width="300px",
                size="3",
            ),
            rx.button(
                rx.icon("plus", size=16),
                "Create project",
                on_click=ProjectsState.create,
                size="3",
                id="create-project",
            ),
            rx.spacer(),
            rx.hstack(
                rx.switch(
                    checked=ProjectsState.show_archived, on_change=ProjectsState.toggle_archived
                ),
                rx.text("Show archived", size="2"),
                align="center",
            ),
            width="100%",
            align="center",
        ),
        error_callout(ProjectsState.error, margin_top="1em"),
        rx.box(height="1em"),
        rx.cond(
            ProjectsState.projects.length() > 0,
            rx.grid(
                rx.foreach(ProjectsState.projects, _project_card),
                columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                spacing="4",
                width="100%",
            ),
            empty_state(
                "folder-plus",
                "No projects yet",
                "A project collects the images of one dataset. Create one, then add images from the market.",
            ),
        ),
        title="Projects",
        subtitle="Collect images per dataset, buy them, download them in the formats your training code reads.",
    )


class ProjectState(rx.State):
    project_id: str = ""
    name: str = ""
    archived: bool = False
    cards: list[dict[str, Any]] = []
    to_buy_count: int = 0
    to_buy_cents: int = 0
    bought_count: int = 0
    spent: str = "0.00"
    balance: str = "0.00"
    error: str = ""
    notice: str = ""
    rename_to: str = ""
    download_url: str = ""
    _buy_key: str = ""

    @rx.var
    def to_buy_total(self) -> str:
        return f"{self.to_buy_cents / 100:,.2f}"

    @rx.event
    async def load(self) -> None:
        self.error = ""
        self.project_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                detail = market.project_detail(session, actor=user, project_id=self.project_id)
        except LabelHubError as exc:
            self.error = exc.message
            return
        base = (await self.get_state(AuthState)).api_base
        self.name, self.archived, self.rename_to = detail.name, detail.archived, detail.name
        self.cards = [
            {
                "id": i.public_id,
                "href": routes.image(i.public_id),
                "thumb": f"{base}{routes.API}/images/{i.public_id}/"
                + ("private-thumb/256" if i.bought else "thumb/256"),
                "name": i.file_name,
                "price": f"{i.price_cents / 100:,.2f}",
                "labels": i.labels[:4],
                "pseudonym": i.producer_pseudonym,
                "owned": i.bought,
                "on_sale": i.on_sale,
            }
            for i in detail.items
        ]
        self.to_buy_count = len(detail.to_buy)
        self.to_buy_cents = sum(i.price_cents for i in detail.to_buy)
        self.bought_count = sum(1 for i in detail.items if i.bought)
        self.balance = f"{detail.balance_cents / 100:,.2f}"
        self.download_url = routes.download_url(base, self.project_id)

    @rx.event
    async def train_baseline(self) -> None:
        """#6: queue baseline training on this project's bought images (services/detectors.py)."""
        from labelhub_app.services import detectors

        self.error = self.notice = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                job = detectors.request_baseline_training(
                    session, actor=user, project_id=self.project_id
                )
                status = job.status
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.notice = (
            "Baseline training is queued. Follow it on the Jobs page; its metrics and weights "
            "appear on the Models page (Project baseline) when it is done."
            if status == "queued"
            else f"Baseline training for this project is already {status}; see the Jobs page."
        )

    @rx.event
    async def buy_rest(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        ids = [c["id"] for c in self.cards if not c["owned"] and c["on_sale"]]
        if not ids:
            return None
        if not self._buy_key:
            self._buy_key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                bought = market.buy_images(
                    session,
                    buyer=user,
                    project_id=self.project_id,  # type: ignore[arg-type]
                    image_ids=ids,
                    idempotency_key=self._buy_key,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self._buy_key = ""
        self.notice = f"Bought {len(bought)} image(s)."
        return ProjectState.load

    @rx.event
    async def remove(self, image_id: str):  # type: ignore[no-untyped-def]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                market.remove_from_project(
                    session, actor=user, project_id=self.project_id, image_id=image_id
                )  # type: ignore[arg-type]
        except LabelHubError as exc:
            self.error = exc.message
            return None
        return ProjectState.load

    @rx.event
    def set_rename_to(self, value: str) -> None:
        self.rename_to = value

    @rx.event
    async def rename(self):  # type: ignore[no-untyped-def]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                market.rename_project(
                    session, actor=user, project_id=self.project_id, name=self.rename_to
                )  # type: ignore[arg-type]
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.notice = "Renamed."
        return ProjectState.load

    @rx.event
    async def set_archived(self, archived: bool):  # type: ignore[no-untyped-def]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                market.archive_project(
                    session, actor=user, project_id=self.project_id, archived=archived
                )  # type: ignore[arg-type]
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.notice = (
            "Project archived; its purchases stay downloadable."
            if archived
            else "Project restored."
        )
        return ProjectState.load


def _card_footer(c: rx.Var) -> rx.Component:
    return rx.cond(
        c["owned"].to(bool),
        rx.fragment(),
        rx.button(
            "Remove",
            size="1",
            variant="ghost",
            color_scheme="gray",
            on_click=ProjectState.remove(c["id"].to(str)),
        ),
    )


@rx.page(
    route=routes.PROJECT,
    title="Project · LabelHub",
    on_load=[AuthState.require_user, ProjectState.load],
)
def project_page() -> rx.Component:
    header_actions = rx.hstack(
        rx.popover.root(
            rx.popover.trigger(rx.button(rx.icon("pencil", size=14), "Rename", variant="soft")),
            rx.popover.content(
                rx.hstack(
                    rx.input(
                        value=ProjectState.rename_to,
                        on_change=ProjectState.set_rename_to,
                        id="rename-to",
                    ),
                    rx.popover.close(rx.button("Save", on_click=ProjectState.rename)),
                )
            ),
        ),
        rx.cond(
            ProjectState.archived,
            rx.button("Restore", variant="soft", on_click=ProjectState.set_archived(False)),
            rx.button(
                rx.icon("archive", size=14),
                "Archive",
                variant="soft",
                color_scheme="gray",
                on_click=ProjectState.set_archived(True),
            ),
        ),
        rx.cond(
            ProjectState.bought_count > 0,
            rx.button(
                rx.icon("brain-circuit", size=16),
                "Train a baseline model",
                size="3",
                variant="soft",
                color_scheme="violet",
                on_click=ProjectState.train_baseline,
                id="train-baseline",
            ),
        ),
        rx.cond(
            ProjectState.bought_count > 0,
            # reload_document: the browser fetches the file; a plain rx.link routes the API URL
            # inside the app and shows the 404 page
            rx.el.a(
                rx.button(
                    rx.icon("download", size=16),
                    "Download dataset (.zip)",
                    size="3",
                    id="download-zip",
                ),
                href=ProjectState.download_url,
                download=True,
                reload_document=True,
            ),
            rx.tooltip(
                rx.button(
                    rx.icon("download", size=16), "Download dataset (.zip)", size="3", disabled=True
                ),
                content="Buy images first",
            ),
        ),
        spacing="3",
        align="center",
    )
    buy_panel = rx.cond(
        ProjectState.to_buy_count > 0,
        rx.card(
            rx.hstack(
                rx.icon("shopping-cart", size=20, color="var(--accent-9)"),
                rx.text(
                    ProjectState.to_buy_count.to_string(),
                    " images not bought yet · ",
                    rx.text.strong(ProjectState.to_buy_total),
                    " credits (your balance: ",
                    ProjectState.balance,
                    ")",
                    size="3",
                ),
                rx.spacer(),
                rx.button("Buy all", size="3", on_click=ProjectState.buy_rest, id="buy-rest"),
                align="center",
                width="100%",
            ),
            width="100%",
        ),
    )
    return page_frame(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14), rx.text("All projects", size="2"), align="center"
            ),
            href=routes.PROJECTS,
            margin_bottom="0.5em",
            display="inline-block",
        ),
        rx.hstack(
            rx.vstack(
                rx.heading(ProjectState.name, size="7", id="project-title"),
                rx.text(
                    ProjectState.bought_count.to_string(),
                    " bought · ",
                    ProjectState.cards.length().to_string(),
                    " in project",
                    color_scheme="gray",
                ),
                spacing="1",
            ),
            rx.spacer(),
            header_actions,
            width="100%",
            align="end",
            margin_bottom="1em",
        ),
        error_callout(ProjectState.error),
        info_callout(ProjectState.notice),
        buy_panel,
        rx.box(height="1em"),
        rx.cond(
            ProjectState.cards.length() > 0,
            rx.grid(
                rx.foreach(ProjectState.cards, lambda c: image_card(c, footer=_card_footer(c))),
                columns=rx.breakpoints(initial="1", sm="2", md="3", lg="4"),
                spacing="4",
                width="100%",
            ),
            empty_state(
                "images",
                "This project is empty",
                "Search the market, select images and add them to this project.",
                rx.link(rx.button("Open the market"), href=routes.MARKET),
            ),
        ),
        rx.card(
            rx.hstack(
                rx.icon("package", size=18, color="var(--gray-10)"),
                rx.text(
                    "The download holds the images you bought, annotations/coco.json (with image-level labels), "
                    "manifest.csv and LICENSE.txt naming each image's licence.",
                    size="2",
                    color_scheme="gray",
                ),
                align="center",
            ),
            margin_top="2em",
            variant="ghost",
        ),
    )
