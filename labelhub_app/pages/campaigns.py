"""Labelling campaigns: the list and the create form (/campaigns), one campaign (/campaigns/[id]).

The owner of a campaign sees its progress, the agreement per image and per labeller, and
consolidates. Everyone else sees the progress and a button to label; never anyone's answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import (
    empty_state,
    error_callout,
    info_callout,
    label_input,
    label_options,
    pager,
    stat_card,
)
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError, NotAuthenticated
from labelhub_app.services import campaigns, consensus, labels, market
from labelhub_app.state.auth import AuthState, current_user

PER_PAGE = 50
MINE = "__mine__"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _row_dict(r: campaigns.CampaignRow) -> dict[str, Any]:
    return {
        "id": r.public_id,
        "name": r.name,
        "kind": "Boxes" if r.kind == "boxes" else "Image labels",
        "labels": ", ".join(r.labels),
        "per_image": r.labellers_per_image,
        "images": r.images,
        "progress": round(r.progress * 100),
        "progress_text": f"{r.answers_done:,} of {r.answers_needed:,} answers",
        "owner": r.owner,
        "mine": r.my_answers,
        "consolidated": r.consolidated,
        "href": routes.campaign(r.public_id),
    }


class CampaignsState(rx.State):
    own: list[dict[str, Any]] = []
    joined: list[dict[str, Any]] = []
    open: list[dict[str, Any]] = []
    error: str = ""
    # the create form
    show_create: bool = False
    name: str = ""
    kind: str = "tags"
    label_text: str = ""
    per_image: str = "3"
    threshold: str = "70"
    source: str = MINE
    label_filter: str = ""
    sources: list[list[str]] = []  # [value, text]
    label_names: list[str] = []
    create_error: str = ""

    @rx.event
    async def load(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                lists = campaigns.list_campaigns(session, actor=user)
                sources: list[list[str]] = []
                if user.is_producer:
                    sources.append([MINE, "My images"])
                if user.is_consumer:
                    sources += [
                        [p.public_id, f"Project: {p.name}"]
                        for p in market.list_projects(session, actor=user)
                    ]
                if not self.label_names:
                    self.label_names = labels.all_label_names(session)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.own = [_row_dict(r) for r in lists.own]
        self.joined = [_row_dict(r) for r in lists.joined]
        self.open = [_row_dict(r) for r in lists.open]
        self.sources = sources
        if sources and self.source not in [s[0] for s in sources]:
            self.source = sources[0][0]

    @rx.event
    def set_show_create(self, value: bool) -> None:
        self.show_create = value
        self.create_error = ""

    @rx.event
    def set_name(self, value: str) -> None:
        self.name = value

    @rx.event
    def set_kind(self, value: str) -> None:
        self.kind = value

    @rx.event
    def set_label_text(self, value: str) -> None:
        self.label_text = value

    @rx.event
    def set_per_image(self, value: str) -> None:
        self.per_image = value

    @rx.event
    def set_threshold(self, value: str) -> None:
        self.threshold = value

    @rx.event
    def set_source(self, value: str) -> None:
        self.source = value

    @rx.event
    def set_label_filter(self, value: str) -> None:
        self.label_filter = value

    @rx.event
    async def join(self, campaign_id: str):  # type: ignore[no-untyped-def]
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                campaigns.join_campaign(session, actor=user, campaign_id=campaign_id)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        return rx.redirect(routes.campaign(campaign_id))

    @rx.event
    async def create(self):  # type: ignore[no-untyped-def]
        self.create_error = ""
        try:
            try:
                threshold = float(self.threshold.strip().rstrip("%")) / 100
            except ValueError:
                raise InvalidInput("The agreement threshold is a percentage, e.g. 70.") from None
            with session_scope() as session:
                user = await current_user(self, session)
                campaign = campaigns.create_campaign(
                    session,
                    actor=user,
                    name=self.name,
                    kind=self.kind,
                    labels=labels.split_labels(self.label_text),
                    labellers_per_image=int(self.per_image),
                    agreement_threshold=threshold,
                    project_id=None if self.source == MINE else self.source,
                    label_filter=self.label_filter if self.source == MINE else None,
                )
        except LabelHubError as exc:
            self.create_error = exc.message
            return None
        self.show_create = False
        self.name = self.label_text = self.label_filter = ""
        return rx.redirect(routes.campaign(campaign.public_id))


def _campaign_card(c: rx.Var[dict[str, Any]], action: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(rx.heading(c["name"].to(str), size="4"), href=c["href"].to(str)),
                rx.spacer(),
                rx.badge(c["kind"].to(str), variant="soft"),
                rx.cond(c["consolidated"].to(bool), rx.badge("consolidated", color_scheme="green")),
                width="100%",
                align="center",
            ),
            rx.text(
                "Labels: ",
                rx.text.strong(c["labels"].to(str)),
                " · ",
                c["images"].to(str),
                " images · ",
                c["per_image"].to(str),
                " labellers each · by ",
                c["owner"].to(str),
                size="2",
                color_scheme="gray",
            ),
            rx.progress(value=c["progress"].to(int), width="100%"),
            rx.hstack(
                rx.text(c["progress_text"].to(str), size="1", color_scheme="gray"),
                rx.spacer(),
                action,
                width="100%",
                align="center",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="campaign-card",
    )


def _create_dialog() -> rx.Component:
    field = lambda text, control: rx.vstack(  # noqa: E731
        rx.text(text, size="2", weight="medium"), control, spacing="1", width="100%"
    )
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("plus", size=16), "New campaign", size="3", id="new-campaign")
        ),
        rx.dialog.content(
            rx.dialog.title("Start a labelling campaign"),
            rx.dialog.description(
                "Other producers label your images; their answers are consolidated.",
                size="2",
                color_scheme="gray",
                margin_bottom="1em",
            ),
            rx.vstack(
                field(
                    "Name",
                    rx.input(
                        value=CampaignsState.name,
                        on_change=CampaignsState.set_name,
                        placeholder="Dogs in the park set",
                        id="campaign-name",
                        width="100%",
                    ),
                ),
                field(
                    "Images",
                    rx.hstack(
                        rx.select.root(
                            rx.select.trigger(id="campaign-source"),
                            rx.select.content(
                                rx.foreach(
                                    CampaignsState.sources,
                                    lambda s: rx.select.item(s[1], value=s[0]),
                                )
                            ),
                            value=CampaignsState.source,
                            on_change=CampaignsState.set_source,
                        ),
                        rx.cond(
                            CampaignsState.source == MINE,
                            label_input(
                                options_id="campaign-label-options",
                                width="flex",
                                placeholder="only those tagged… (empty: all)",
                                value=CampaignsState.label_filter,
                                on_change=CampaignsState.set_label_filter,
                                id="campaign-filter",
                            ),
                        ),
                        width="100%",
                    ),
                ),
                field(
                    "Question",
                    rx.radio_group.root(
                        rx.hstack(
                            rx.radio_group.item(value="tags", id="kind-tags"),
                            rx.text("Image labels (tiled grid)", size="2"),
                            rx.radio_group.item(value="boxes", id="kind-boxes"),
                            rx.text("Boxes (editor)", size="2"),
                            align="center",
                            spacing="2",
                        ),
                        value=CampaignsState.kind,
                        on_change=CampaignsState.set_kind,
                    ),
                ),
                field(
                    "Labels (comma separated)",
                    label_input(
                        options_id="campaign-label-options",
                        placeholder="dog, cat",
                        value=CampaignsState.label_text,
                        on_change=CampaignsState.set_label_text,
                        id="campaign-labels",
                    ),
                ),
                rx.hstack(
                    field(
                        "Labellers per image",
                        rx.select(
                            ["1", "2", "3", "4", "5"],
                            value=CampaignsState.per_image,
                            on_change=CampaignsState.set_per_image,
                            id="campaign-per-image",
                        ),
                    ),
                    field(
                        "Review below agreement (%)",
                        rx.input(
                            value=CampaignsState.threshold,
                            on_change=CampaignsState.set_threshold,
                            id="campaign-threshold",
                            width="100%",
                        ),
                    ),
                    width="100%",
                ),
                label_options(CampaignsState.label_names, "campaign-label-options"),
                error_callout(CampaignsState.create_error),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button(
                        "Start campaign", on_click=CampaignsState.create, id="create-campaign"
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="560px",
        ),
        open=CampaignsState.show_create,
        on_open_change=CampaignsState.set_show_create,
    )


def _section(title: str, rows: rx.Var, action, empty: rx.Component) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.vstack(
        rx.heading(title, size="4"),
        rx.cond(
            rows.length() > 0,  # type: ignore[attr-defined]
            rx.grid(
                rx.foreach(rows, lambda c: _campaign_card(c, action(c))),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            empty,
        ),
        spacing="3",
        width="100%",
        margin_bottom="2em",
    )


def _open_link(c: rx.Var[dict[str, Any]], text: str) -> rx.Component:
    return rx.link(rx.button(text, size="2", variant="soft"), href=c["href"].to(str))


@rx.page(
    route=routes.CAMPAIGNS,
    title="Campaigns · LabelHub",
    on_load=[AuthState.require_user, CampaignsState.load],
)
def campaigns_page() -> rx.Component:
    quiet = lambda text: rx.text(text, size="2", color_scheme="gray")  # noqa: E731
    return page_frame(
        error_callout(CampaignsState.error),
        _section(
            "Your campaigns",
            CampaignsState.own,
            lambda c: _open_link(c, "Open"),
            empty_state(
                "users",
                "No campaigns yet",
                "Start one: choose images and labels, and how many people should label each image. "
                "Their answers are combined into labels you can trust.",
            ),
        ),
        _section(
            "Campaigns you label",
            CampaignsState.joined,
            lambda c: _open_link(c, "Continue"),
            quiet("You have not joined a campaign yet."),
        ),
        rx.cond(
            AuthState.is_producer,
            _section(
                "Campaigns looking for labellers",
                CampaignsState.open,
                lambda c: rx.button(
                    "Join", size="2", on_click=CampaignsState.join(c["id"].to(str))
                ),
                quiet("No open campaigns right now."),
            ),
        ),
        title="Campaigns",
        subtitle="Several people label each image; their answers are combined, with agreement.",
        actions=_create_dialog(),
    )


# --- one campaign ---------------------------------------------------------------------------------


class CampaignState(rx.State):
    campaign_id: str = ""
    row: dict[str, Any] = {}
    is_owner: bool = False
    may_label: bool = False
    remaining_for_me: int = 0
    threshold: str = ""
    review_count: int = 0
    labellers: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    images_total: int = 0
    page: int = 1
    error: str = ""
    notice: str = ""
    consolidating: bool = False

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.images_total // PER_PAGE))

    @rx.var
    def task_href(self) -> str:
        kind = "boxes" if self.row.get("kind") == "Boxes" else "tiles"
        return f"/campaigns/{self.campaign_id}/{kind}"

    @rx.event
    async def load(self) -> None:
        self.error = ""
        path_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        if path_id != self.campaign_id:
            self.campaign_id, self.page, self.notice = path_id, 1, ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                detail = campaigns.campaign_detail(
                    session,
                    actor=user,
                    campaign_id=self.campaign_id,
                    page=self.page,
                    per_page=PER_PAGE,
                )
        except LabelHubError as exc:
            self.error = exc.message
            self.row = {}
            return
        base = (await self.get_state(AuthState)).api_base
        self.row = _row_dict(detail.row)
        self.is_owner = detail.row.is_owner
        if self.is_owner:
            consensus.warm_up()  # the Consolidate button should not wait for crowd-kit's import
        self.may_label = detail.may_label
        self.remaining_for_me = detail.remaining_for_me
        self.threshold = f"{detail.agreement_threshold:.0%}"
        self.review_count = detail.review_count
        self.images_total = detail.images_total
        self.labellers = [
            {
                "name": lb.pseudonym,
                "answers": lb.answers,
                "agreement": _pct(lb.agreement),
                "low": lb.agreement is not None and lb.agreement < detail.agreement_threshold,
                "gold": f"{lb.gold_correct} of {lb.gold_answers}" if lb.gold_answers else "–",
            }
            for lb in detail.labellers
        ]
        self.images = [
            {
                "id": i.public_id,
                "name": i.file_name,
                "thumb": f"{base}{routes.API}/images/{i.public_id}/"
                + ("thumb/256" if i.on_sale else "private-thumb/256"),
                "href": routes.image(i.public_id),
                "answers": i.answers,
                "agreement": _pct(i.agreement),
                "low": i.needs_review,
                "method": i.method.replace("_", " "),
                "result": ", ".join(i.result) if i.agreement is not None else "not consolidated",
            }
            for i in detail.images
        ]

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.page + 1, self.pages)
        return CampaignState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return CampaignState.load

    @rx.event(background=True)
    async def consolidate(self):  # type: ignore[no-untyped-def]
        async with self:
            if self.consolidating:
                return
            self.consolidating, self.error, self.notice = True, "", ""
            campaign_id = self.campaign_id
            with session_scope() as session:
                user = await current_user(self, session)
                user_id = user.id if user else None

        def work() -> campaigns.ConsolidationSummary:
            from labelhub_app.models import User

            with session_scope() as session:
                actor = session.get(User, user_id) if user_id else None
                return campaigns.consolidate_campaign(session, actor=actor, campaign_id=campaign_id)

        try:
            summary = await asyncio.to_thread(work)
        except LabelHubError as exc:
            async with self:
                self.error, self.consolidating = exc.message, False
            return
        method = {"dawid_skene": "Dawid-Skene", "box_fusion": "box matching and fusion"}.get(
            summary.method, "majority vote"
        )
        async with self:
            self.consolidating = False
            self.notice = (
                f"Consolidated {summary.images} images by {method}: {summary.changed} changed, "
                f"{summary.to_review} sent to review, mean agreement {summary.mean_agreement:.0%}."
            )
        return CampaignState.load


def _agreement_badge(text: rx.Var, low: rx.Var) -> rx.Component:
    return rx.badge(text, color_scheme=rx.cond(low, "red", "green"), variant="soft", size="2")


def _labellers_table() -> rx.Component:
    return rx.card(
        rx.heading("Labellers", size="4", margin_bottom="0.5em"),
        rx.cond(
            CampaignState.labellers.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Labeller"),
                        rx.table.column_header_cell("Answers"),
                        rx.table.column_header_cell("Agreement with result"),
                        rx.table.column_header_cell("Gold correct"),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        CampaignState.labellers,
                        lambda lb: rx.table.row(
                            rx.table.cell(lb["name"].to(str)),
                            rx.table.cell(lb["answers"].to(str)),
                            rx.table.cell(
                                _agreement_badge(lb["agreement"].to(str), lb["low"].to(bool))
                            ),
                            rx.table.cell(lb["gold"].to(str)),
                            class_name="labeller-row",
                        ),
                    )
                ),
                width="100%",
            ),
            rx.text("Nobody has joined yet.", size="2", color_scheme="gray"),
        ),
        width="100%",
    )


def _images_table() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading("Images", size="4"),
            rx.spacer(),
            rx.text(
                "Below ",
                CampaignState.threshold,
                " agreement an image goes to review.",
                size="2",
                color_scheme="gray",
            ),
            width="100%",
            align="center",
            margin_bottom="0.5em",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(""),
                    rx.table.column_header_cell("Image"),
                    rx.table.column_header_cell("Answers"),
                    rx.table.column_header_cell("Agreement"),
                    rx.table.column_header_cell("Consolidated"),
                    rx.table.column_header_cell("Method"),
                )
            ),
            rx.table.body(
                rx.foreach(
                    CampaignState.images,
                    lambda i: rx.table.row(
                        rx.table.cell(
                            rx.image(
                                src=i["thumb"].to(str),
                                width="56px",
                                height="42px",
                                object_fit="cover",
                                border_radius="6px",
                            )
                        ),
                        rx.table.cell(rx.link(i["name"].to(str), href=i["href"].to(str))),
                        rx.table.cell(i["answers"].to(str)),
                        rx.table.cell(
                            rx.hstack(
                                _agreement_badge(i["agreement"].to(str), i["low"].to(bool)),
                                rx.cond(
                                    i["low"].to(bool), rx.badge("in review", color_scheme="orange")
                                ),
                                spacing="1",
                            )
                        ),
                        rx.table.cell(i["result"].to(str), class_name="image-result"),
                        rx.table.cell(rx.text(i["method"].to(str), size="1", color_scheme="gray")),
                        class_name="campaign-image-row",
                        align="center",
                    ),
                )
            ),
            width="100%",
        ),
        pager(
            CampaignState.page,
            CampaignState.pages,
            CampaignState.prev_page,
            CampaignState.next_page,
        ),
        width="100%",
    )


@rx.page(
    route=routes.CAMPAIGN,
    title="Campaign · LabelHub",
    on_load=[AuthState.require_user, CampaignState.load],
)
def campaign_page() -> rx.Component:
    row = CampaignState.row
    return page_frame(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14), rx.text("All campaigns", size="2"), align="center"
            ),
            href=routes.CAMPAIGNS,
            margin_bottom="0.5em",
            display="inline-block",
        ),
        error_callout(CampaignState.error),
        rx.cond(
            row.contains("id"),
            rx.vstack(
                rx.hstack(
                    rx.vstack(
                        rx.heading(row["name"].to(str), size="7", id="campaign-title"),
                        rx.text(
                            row["kind"].to(str),
                            " · labels: ",
                            rx.text.strong(row["labels"].to(str)),
                            " · by ",
                            row["owner"].to(str),
                            color_scheme="gray",
                        ),
                        spacing="1",
                    ),
                    rx.spacer(),
                    rx.cond(
                        CampaignState.is_owner,
                        rx.button(
                            rx.cond(
                                CampaignState.consolidating,
                                rx.spinner(size="2"),
                                rx.icon("merge", size=16),
                            ),
                            rx.cond(
                                CampaignState.consolidating, "Consolidating…", "Consolidate answers"
                            ),
                            size="3",
                            on_click=CampaignState.consolidate,
                            disabled=CampaignState.consolidating,
                            id="consolidate",
                        ),
                    ),
                    rx.cond(
                        CampaignState.may_label & (CampaignState.remaining_for_me > 0),
                        rx.link(
                            rx.button(
                                rx.icon("grid-3x3", size=16),
                                "Start labelling",
                                size="3",
                                id="start-labelling",
                            ),
                            href=CampaignState.task_href,
                        ),
                    ),
                    width="100%",
                    align="end",
                ),
                info_callout(CampaignState.notice, id="campaign-notice"),
                rx.grid(
                    stat_card("Images", row["images"].to(str), "images"),
                    stat_card("Progress", row["progress"].to(str) + "%", "chart-no-axes-column"),
                    stat_card("Labellers per image", row["per_image"].to(str), "users"),
                    rx.cond(
                        CampaignState.is_owner,
                        stat_card("Sent to review", CampaignState.review_count.to_string(), "flag"),
                        stat_card(
                            "Left for you", CampaignState.remaining_for_me.to_string(), "list-todo"
                        ),
                    ),
                    columns=rx.breakpoints(initial="2", md="4"),
                    spacing="4",
                    width="100%",
                ),
                rx.hstack(
                    rx.progress(value=row["progress"].to(int), flex="1"),
                    rx.text(row["progress_text"].to(str), size="2", color_scheme="gray"),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    CampaignState.is_owner,
                    rx.vstack(_labellers_table(), _images_table(), spacing="4", width="100%"),
                    rx.card(
                        rx.text(
                            "Answers stay private to each labeller; the owner consolidates them. ",
                            rx.cond(
                                CampaignState.remaining_for_me > 0,
                                rx.text.span(
                                    CampaignState.remaining_for_me.to_string(),
                                    " answers still wanted from you.",
                                ),
                                rx.text.span("Nothing is left for you in this campaign."),
                            ),
                            size="2",
                        ),
                        width="100%",
                    ),
                ),
                spacing="4",
                width="100%",
            ),
        ),
    )
