"""The producer dashboard: totals, income per day, and every own image with sales and income."""

from __future__ import annotations

from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import (
    empty_state,
    error_callout,
    info_callout,
    label_chip,
    label_input,
    label_options,
    pager,
    stat_card,
)
from labelhub_app.components.layout import page_frame
from labelhub_app.components.offer_editor import offer_button, offer_dialog
from labelhub_app.components.verify_banner import verify_email_banner  # (#9)
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.models import LICENCES
from labelhub_app.services import detectors, images, labels, market, reputation, reviews
from labelhub_app.services.ledger import parse_credits
from labelhub_app.state.auth import AuthState, current_user

PER_PAGE = 25


class DashboardState(rx.State):
    rows: list[dict[str, Any]] = []
    total: int = 0
    page: int = 1
    sort: str = "newest"
    status: str = "all"
    label_filter: str = ""
    stats: dict[str, str] = {"images": "0", "on_sale": "0", "sales": "0", "income": "0.00"}
    chart: list[dict[str, Any]] = []
    error: str = ""
    notice: str = ""
    # the edit dialog
    editing: str = ""
    edit_name: str = ""
    edit_labels: str = ""
    edit_price: str = ""
    edit_licence: str = "standard"
    edit_error: str = ""
    label_options: list[str] = []
    picked: list[str] = []  # images ticked for "Auto-label selected" (#6)
    # #7 reviews of this producer's labels (newest first) and their quality score
    reviews: list[dict[str, Any]] = []
    quality: str = ""

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    @rx.event
    async def load(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                summary = market.producer_summary(session, actor=user, days=30)
                result = images.list_own_images(
                    session,
                    actor=user,
                    sort=self.sort,  # type: ignore[arg-type]
                    status=None if self.status == "all" else self.status,
                    label=self.label_filter or None,
                    page=self.page,
                    per_page=PER_PAGE,
                )
                if not self.label_options:
                    self.label_options = labels.all_label_names(session)
                recent_reviews = reviews.reviews_for_producer(session, producer=user, limit=10)
                score = reputation.reputation_of(session, user_id=user.id)  # type: ignore[arg-type]
        except LabelHubError as exc:
            self.error = exc.message
            return
        plural = "" if score.reviews == 1 else "s"
        self.quality = f"{score.score} from {score.reviews} review{plural}"
        self.reviews = [
            {
                "outcome": r.outcome,
                "reason": r.reason,
                "name": r.file_name,
                "href": routes.label(r.image_id),
                "when": r.created_at.strftime("%d %b %H:%M"),
                "reviewer": r.reviewer,
                "diff": [d.text for d in r.diff],
            }
            for r in recent_reviews
        ]
        base = (await self.get_state(AuthState)).api_base
        self.stats = {
            "images": str(summary.images),
            "on_sale": str(summary.on_sale),
            "sales": str(summary.sales),
            "income": f"{summary.income_cents / 100:,.2f}",
        }
        self.chart = [
            {"day": d.strftime("%d %b"), "income": round(c / 100, 2)}
            for d, c in summary.income_by_day
        ]
        self.total = result.total
        self.rows = [
            {
                "id": r.public_id,
                "name": r.file_name,
                "date": r.created_at.strftime("%Y-%m-%d"),
                "labels": r.labels,
                "price": f"{r.price_cents / 100:,.2f}",
                "licence": r.licence,
                "on_sale": r.status == "on_sale",
                "sales": r.sales_count,
                "income": f"{r.income_cents / 100:,.2f}",
                "near_dup": r.near_duplicate,
                "thumb": f"{base}{routes.API}/images/{r.public_id}/private-thumb/256",
                "href": routes.image(r.public_id),
                "label_href": routes.label(r.public_id),
            }
            for r in result.items
        ]

    @rx.event
    def set_sort(self, value: str):  # type: ignore[no-untyped-def]
        self.sort, self.page = value, 1
        return DashboardState.load

    @rx.event
    def set_status(self, value: str):  # type: ignore[no-untyped-def]
        self.status, self.page = value, 1
        return DashboardState.load

    @rx.event
    def set_label_filter(self, value: str) -> None:
        self.label_filter = value

    @rx.event
    def filter_key(self, key: str):  # type: ignore[no-untyped-def]
        if key == "Enter":
            self.page = 1
            return DashboardState.load
        return None

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.page + 1, self.pages)
        return DashboardState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return DashboardState.load

    @rx.event
    async def toggle_sale(self, image_id: str, on_sale: bool):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                images.set_image_on_sale(session, actor=user, public_id=image_id, on_sale=on_sale)  # type: ignore[arg-type]
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.notice = (
            "Back on sale." if on_sale else "Withdrawn from sale. Buyers keep their copies."
        )
        return DashboardState.load

    @rx.event
    def toggle_pick(self, image_id: str, checked: bool) -> None:
        others = [i for i in self.picked if i != image_id]
        self.picked = [*others, image_id] if checked else others

    @rx.event
    def clear_picked(self) -> None:
        self.picked = []

    @rx.event
    async def autolabel_selected(self) -> None:
        """Queue an auto-label job for the ticked images (services/detectors.py)."""
        self.error = self.notice = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                job = detectors.request_autolabel(session, actor=user, image_ids=list(self.picked))
                count = len(job.payload.get("image_ids", []))
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.picked = []
        self.notice = (
            f"Auto-labelling {count} image{'s' if count != 1 else ''}: follow it on the Jobs "
            "page; the suggestions appear in the editor, dashed, for you to accept or reject."
        )

    @rx.event
    def open_edit(self, row: dict[str, Any]) -> None:
        self.editing = row["id"]
        self.edit_name = row["name"]
        self.edit_labels = ", ".join(row["labels"])
        self.edit_price = row["price"].replace(",", "")
        self.edit_licence = row["licence"]
        self.edit_error = ""

    @rx.event
    def close_edit(self) -> None:
        self.editing = ""

    @rx.event
    def set_edit_labels(self, value: str) -> None:
        self.edit_labels = value

    @rx.event
    def set_edit_price(self, value: str) -> None:
        self.edit_price = value

    @rx.event
    def set_edit_licence(self, value: str) -> None:
        self.edit_licence = value

    @rx.event
    async def save_edit(self):  # type: ignore[no-untyped-def]
        self.edit_error = ""
        try:
            price = parse_credits(self.edit_price, "price")
            with session_scope() as session:
                user = await current_user(self, session)
                images.update_image(
                    session,
                    actor=user,
                    public_id=self.editing,  # type: ignore[arg-type]
                    labels=labels.split_labels(self.edit_labels),
                    price_cents=price,
                    licence=self.edit_licence,
                )
        except LabelHubError as exc:
            self.edit_error = exc.message
            return None
        self.notice = f"Saved {self.edit_name}."
        self.editing = ""
        return DashboardState.load


def _chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Income per day", size="3"),
                rx.spacer(),
                rx.text("last 30 days, credits", size="1", color_scheme="gray"),
                width="100%",
            ),
            rx.recharts.bar_chart(
                rx.recharts.bar(data_key="income", fill="var(--accent-9)", radius=[4, 4, 0, 0]),
                rx.recharts.x_axis(
                    data_key="day", tick_line=False, axis_line=False, interval=4, font_size=11
                ),
                rx.recharts.y_axis(width=40, tick_line=False, axis_line=False, font_size=11),
                rx.recharts.graphing_tooltip(),
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                data=DashboardState.chart,
                height=200,
                width="100%",
            ),
            width="100%",
        ),
        width="100%",
        size="2",
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=DashboardState.picked.contains(r["id"].to(str)),
                on_change=lambda checked: DashboardState.toggle_pick(r["id"].to(str), checked),
                aria_label="select for auto-labelling",
                class_name="pick-image",
            )
        ),
        rx.table.cell(
            rx.link(
                rx.image(
                    src=r["thumb"].to(str),
                    width="56px",
                    height="42px",
                    object_fit="cover",
                    border_radius="6px",
                ),
                href=r["href"].to(str),
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(r["name"].to(str), size="2", weight="medium", class_name="own-name"),
                rx.cond(
                    r["near_dup"].to(bool),
                    rx.badge("similar image exists", color_scheme="amber", size="1"),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(r["date"].to(str), size="2", color_scheme="gray")),
        rx.table.cell(
            rx.flex(
                rx.foreach(r["labels"].to(list[str]), lambda n: label_chip(n)),
                wrap="wrap",
                gap="4px",
                max_width="260px",
                class_name="own-labels",
            )
        ),
        rx.table.cell(rx.text(r["price"].to(str), size="2", class_name="own-price")),
        rx.table.cell(rx.text(r["licence"].to(str), size="1", color_scheme="gray")),
        rx.table.cell(rx.text(r["sales"].to(str), size="2")),
        rx.table.cell(rx.text(r["income"].to(str), size="2", weight="medium")),
        rx.table.cell(
            rx.cond(
                r["on_sale"].to(bool),
                rx.badge("On sale", color_scheme="green"),
                rx.badge("Withdrawn", color_scheme="gray"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.link(
                    rx.icon_button(
                        rx.icon("square-dashed-mouse-pointer", size=14),
                        variant="soft",
                        size="1",
                        aria_label="label in the editor",
                    ),
                    href=r["label_href"].to(str),
                    class_name="open-editor",
                ),
                rx.icon_button(
                    rx.icon("pencil", size=14),
                    variant="soft",
                    size="1",
                    on_click=DashboardState.open_edit(r),
                    aria_label="edit",
                    class_name="edit-image",
                ),
                offer_button(r["id"].to(str)),  # #9 licence prices
                rx.cond(
                    r["on_sale"].to(bool),
                    rx.button(
                        "Withdraw",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=DashboardState.toggle_sale(r["id"].to(str), False),
                    ),
                    rx.button(
                        "Offer again",
                        size="1",
                        variant="soft",
                        on_click=DashboardState.toggle_sale(r["id"].to(str), True),
                    ),
                ),
                spacing="2",
            )
        ),
        align="center",
        class_name="own-row",
    )


def _review_row(r: rx.Var) -> rx.Component:
    outcome = r["outcome"].to(str)
    return rx.hstack(
        rx.badge(
            outcome,
            color_scheme=rx.match(outcome, ("accepted", "green"), ("rejected", "red"), "blue"),
            variant="soft",
            min_width="72px",
            justify="center",
            class_name="review-outcome",
        ),
        rx.vstack(
            rx.hstack(
                rx.link(r["name"].to(str), href=r["href"].to(str), size="2", weight="medium"),
                rx.text(
                    "by ",
                    r["reviewer"].to(str),
                    " · ",
                    r["when"].to(str),
                    size="1",
                    color_scheme="gray",
                ),
                align="baseline",
                spacing="2",
            ),
            rx.cond(
                r["reason"].to(str) != "",
                rx.text("“", r["reason"].to(str), "”", size="2", class_name="review-reason"),
            ),
            rx.foreach(
                r["diff"].to(list[str]),
                lambda line: rx.text(line, size="1", color_scheme="gray", class_name="review-diff"),
            ),
            spacing="0",
        ),
        align="start",
        spacing="3",
        width="100%",
        padding_y="6px",
        border_bottom="1px solid var(--gray-a3)",
        class_name="review-row",
    )


def _reviews_card() -> rx.Component:
    """#7: what reviewers said about this producer's labels."""
    return rx.cond(
        DashboardState.reviews.length() > 0,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Reviews of your labels", size="4"),
                    rx.spacer(),
                    rx.badge(
                        rx.icon("star", size=12),
                        "Quality score ",
                        DashboardState.quality,
                        color_scheme="amber",
                        variant="soft",
                        size="2",
                        id="my-quality",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.vstack(
                    rx.foreach(DashboardState.reviews, _review_row), spacing="0", width="100%"
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            margin_bottom="1.5em",
            id="producer-reviews",
        ),
    )


def _edit_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Edit ", DashboardState.edit_name),
            rx.vstack(
                rx.text("Labels (comma separated)", size="2", weight="medium"),
                label_input(
                    options_id="dash-label-options",
                    width="100%",
                    default_value=DashboardState.edit_labels,  # not controlled: no lost keys
                    on_change=DashboardState.set_edit_labels,
                    id="edit-labels",
                ),
                rx.text("Price (credits)", size="2", weight="medium"),
                rx.input(
                    value=DashboardState.edit_price,
                    on_change=DashboardState.set_edit_price,
                    id="edit-price",
                    width="100%",
                ),
                rx.text("Licence", size="2", weight="medium"),
                rx.select.root(
                    rx.select.trigger(width="100%"),
                    rx.select.content(*[rx.select.item(t, value=c) for c, t in LICENCES.items()]),
                    value=DashboardState.edit_licence,
                    on_change=DashboardState.set_edit_licence,
                ),
                error_callout(DashboardState.edit_error),
                rx.hstack(
                    rx.button(
                        "Cancel",
                        variant="soft",
                        color_scheme="gray",
                        on_click=DashboardState.close_edit,
                    ),
                    rx.button("Save", on_click=DashboardState.save_edit, id="save-edit"),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        open=DashboardState.editing != "",
        on_open_change=lambda _o: DashboardState.close_edit(),
    )


@rx.page(
    route=routes.DASHBOARD,
    title="Dashboard · LabelHub",
    on_load=[AuthState.require_user, DashboardState.load],
)
def dashboard_page() -> rx.Component:
    toolbar = rx.hstack(
        label_input(
            options_id="dash-label-options",
            width="220px",
            placeholder="Filter by label, Enter",
            value=DashboardState.label_filter,
            on_change=DashboardState.set_label_filter,
            on_key_down=DashboardState.filter_key,
            id="dash-label-filter",
        ),
        rx.select.root(
            rx.select.trigger(),
            rx.select.content(
                rx.select.item("All images", value="all"),
                rx.select.item("On sale", value="on_sale"),
                rx.select.item("Withdrawn", value="withdrawn"),
            ),
            value=DashboardState.status,
            on_change=DashboardState.set_status,
        ),
        rx.spacer(),
        rx.text("Sort", size="2", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(),
            rx.select.content(
                rx.select.item("Newest", value="newest"),
                rx.select.item("Oldest", value="oldest"),
                rx.select.item("Best selling", value="sales"),
                rx.select.item("Income", value="income"),
                rx.select.item("Price: low to high", value="price_asc"),
                rx.select.item("Price: high to low", value="price_desc"),
                rx.select.item("Name", value="name"),
            ),
            value=DashboardState.sort,
            on_change=DashboardState.set_sort,
        ),
        rx.button(
            rx.icon("sparkles", size=14),
            "Auto-label selected (",
            DashboardState.picked.length().to_string(),
            ")",
            variant="soft",
            color_scheme="violet",
            on_click=DashboardState.autolabel_selected,
            disabled=DashboardState.picked.length() == 0,
            id="autolabel-selected",
        ),
        width="100%",
        align="center",
        spacing="3",
    )
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in (
                        "",
                        "",
                        "File",
                        "Uploaded",
                        "Labels",
                        "Price",
                        "Licence",
                        "Sales",
                        "Income",
                        "Status",
                        "",
                    )
                ]
            )
        ),
        rx.table.body(rx.foreach(DashboardState.rows, _row)),
        variant="surface",
        width="100%",
        size="1",
    )
    return page_frame(
        verify_email_banner(),
        error_callout(DashboardState.error),
        info_callout(DashboardState.notice),
        rx.grid(
            stat_card("Images", DashboardState.stats["images"], "images"),
            stat_card("On sale", DashboardState.stats["on_sale"], "store"),
            stat_card("Sales", DashboardState.stats["sales"], "shopping-bag"),
            stat_card(
                "Income", DashboardState.stats["income"], "coins", "credits, after commission"
            ),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
            margin_y="1em",
        ),
        _chart(),
        rx.box(height="1.5em"),
        _reviews_card(),
        toolbar,
        rx.box(height="0.75em"),
        rx.cond(
            DashboardState.rows.length() > 0,
            rx.vstack(
                table,
                pager(
                    DashboardState.page,
                    DashboardState.pages,
                    DashboardState.prev_page,
                    DashboardState.next_page,
                ),
                width="100%",
            ),
            empty_state(
                "image-plus",
                "No images yet",
                "Upload your first images, label them and set a price; they appear here with their sales.",
                rx.link(rx.button("Upload images"), href=routes.UPLOAD),
            ),
        ),
        _edit_dialog(),
        offer_dialog(),  # #9 licence prices
        label_options(DashboardState.label_options, "dash-label-options"),
        title="Your images",
        subtitle=rx.text(
            "Signed in as ",
            rx.text.strong(AuthState.pseudonym),
            " — buyers see only this pseudonym.",
        ),
        actions=rx.link(
            rx.button(rx.icon("upload", size=16), "Upload images", size="3"), href=routes.UPLOAD
        ),
    )
