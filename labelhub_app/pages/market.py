"""The market: search by label with facets, price range and sort; select images and buy them."""

from __future__ import annotations

import time
import uuid

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, info_callout, pager
from labelhub_app.components.image_card import image_card
from labelhub_app.components.label_picker import label_picker
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError
from labelhub_app.services import market, search
from labelhub_app.services.ledger import parse_credits
from labelhub_app.state.auth import AuthState, current_user
from labelhub_app.state.label_picker import LabelPickerMixin

PER_PAGE = 24


class MarketState(LabelPickerMixin, rx.State):
    mode: str = "all"
    min_price: str = ""
    max_price: str = ""
    sort: str = "newest"
    min_quality: str = "any"  # #7: the producer's score, "any" or a number 0-100
    page: int = 1
    total: int = 0
    cards: list[dict] = []
    facets: list[dict] = []
    unknown: list[str] = []
    error: str = ""
    notice: str = ""
    searched_ms: float = 0.0
    loading: bool = False
    selected: list[str] = []
    selected_cents: int = 0
    projects: list[dict[str, str]] = []
    target_project: str = ""
    new_project_name: str = ""
    _buy_key: str = ""
    _prices: dict[str, int] = {}

    @rx.var
    def pages(self) -> int:
        return max(1, min(-(-self.total // PER_PAGE), 10_000 // PER_PAGE))

    @rx.var
    def selected_total(self) -> str:
        return f"{self.selected_cents / 100:,.2f}"

    def _labels_changed(self):  # type: ignore[no-untyped-def]
        self.page = 1
        return MarketState.run_search

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        params = self.router.url.query_parameters
        if params.get("label"):
            self.chosen_labels = [p for p in params.get("label", "").split(",") if p.strip()]
        await self._load_projects()
        return MarketState.run_search

    async def _load_projects(self) -> None:
        with session_scope() as session:
            user = await current_user(self, session)
            if user is None or not user.is_consumer:
                self.projects = []
                return
            rows = market.list_projects(session, actor=user)
        self.projects = [{"id": p.public_id, "name": p.name} for p in rows]
        if self.projects and self.target_project not in {p["id"] for p in self.projects}:
            self.target_project = self.projects[0]["id"]

    @rx.event
    async def run_search(self) -> None:
        self.error = ""
        started = time.perf_counter()
        auth = await self.get_state(AuthState)
        try:
            query = search.MarketQuery(
                labels=tuple(self.chosen_labels),
                mode=self.mode,  # type: ignore[arg-type]
                min_price=parse_credits(self.min_price, "lowest price"),
                max_price=parse_credits(self.max_price, "highest price"),
                sort=self.sort,
                page=self.page,
                per_page=PER_PAGE,  # type: ignore[arg-type]
                min_quality=None if self.min_quality == "any" else int(self.min_quality) / 100,
            )
            with session_scope() as session:
                user = await current_user(self, session)
                result = search.search_market(
                    session, query=query, viewer_id=user.id if user else None
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        base = auth.api_base
        self.cards = [
            {
                "id": c.public_id,
                "href": routes.image(c.public_id),
                "thumb": routes.thumb_url(base, c.public_id),
                "name": c.file_name,
                "price": f"{c.price_cents / 100:,.2f}",
                "labels": c.labels[:4],
                "pseudonym": c.producer_pseudonym,
                "owned": c.owned,
                "score": str(c.producer_score),
                "reviews": f"{c.producer_reviews} review{'' if c.producer_reviews == 1 else 's'}",
            }
            for c in result.items
        ]
        self._prices.update({c.public_id: c.price_cents for c in result.items})
        self.total = result.total
        self.facets = [{"label": f.label, "count": f.count} for f in result.facets]
        self.unknown = result.unknown_labels
        self.searched_ms = round((time.perf_counter() - started) * 1000, 1)

    @rx.event
    def set_mode(self, value: str | list[str]):  # type: ignore[no-untyped-def]
        self.mode = value if isinstance(value, str) else value[0]
        self.page = 1
        return MarketState.run_search

    @rx.event
    def set_sort(self, value: str):  # type: ignore[no-untyped-def]
        self.sort = value
        self.page = 1
        return MarketState.run_search

    @rx.event
    def set_min_quality(self, value: str):  # type: ignore[no-untyped-def]
        self.min_quality = value
        self.page = 1
        return MarketState.run_search

    @rx.event
    def set_min_price(self, value: str) -> None:
        self.min_price = value

    @rx.event
    def set_max_price(self, value: str) -> None:
        self.max_price = value

    @rx.event
    def apply_prices(self):  # type: ignore[no-untyped-def]
        self.page = 1
        return MarketState.run_search

    @rx.event
    def price_key(self, key: str):  # type: ignore[no-untyped-def]
        return self.apply_prices() if key == "Enter" else None

    @rx.event
    def add_facet(self, label: str):  # type: ignore[no-untyped-def]
        if label not in self.chosen_labels:
            self.chosen_labels = [*self.chosen_labels, label]
        return self._labels_changed()

    @rx.event
    def clear_filters(self):  # type: ignore[no-untyped-def]
        self.chosen_labels, self.min_price, self.max_price, self.page = [], "", "", 1
        self.min_quality = "any"
        return MarketState.run_search

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        self.page = min(self.page + 1, self.pages)
        return [MarketState.run_search, rx.scroll_to("market-top")]

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        self.page = max(1, self.page - 1)
        return [MarketState.run_search, rx.scroll_to("market-top")]

    # --- selecting and buying ---

    def _selection_changed(self) -> None:
        self._buy_key = ""  # a new selection is a new purchase intent
        self.selected_cents = sum(self._prices.get(i, 0) for i in self.selected)
        self.notice = ""

    @rx.event
    def toggle(self, image_id: str) -> None:
        if image_id in self.selected:
            self.selected = [i for i in self.selected if i != image_id]
        else:
            self.selected = [*self.selected, image_id]
        self._selection_changed()

    @rx.event
    def select_page(self) -> None:
        ids = [c["id"] for c in self.cards if not c["owned"]]
        self.selected = list(dict.fromkeys([*self.selected, *ids]))
        self._selection_changed()

    @rx.event
    def clear_selection(self) -> None:
        self.selected = []
        self._selection_changed()

    @rx.event
    def set_target_project(self, value: str) -> None:
        self.target_project = value
        self._buy_key = ""

    @rx.event
    def set_new_project_name(self, value: str) -> None:
        self.new_project_name = value

    @rx.event
    async def create_project(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in as a consumer to create projects.")
                project = market.create_project(session, actor=user, name=self.new_project_name)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.new_project_name = ""
        await self._load_projects()
        self.target_project = project.public_id

    async def _require_consumer(self, session):  # type: ignore[no-untyped-def]
        user = await current_user(self, session)
        if user is None:
            raise InvalidInput("Sign in as a consumer to buy images.")
        if not self.target_project:
            raise InvalidInput("Create a project first: bought images go into a project.")
        return user

    @rx.event
    async def add_selected(self) -> None:
        self.error = self.notice = ""
        try:
            with session_scope() as session:
                user = await self._require_consumer(session)
                added = market.add_to_project(
                    session, actor=user, project_id=self.target_project, image_ids=self.selected
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.notice = f"Added {added} image(s) to the project."

    @rx.event
    async def buy_selected(self) -> None:
        if not self.selected:
            return
        self.error = self.notice = ""
        if not self._buy_key:
            self._buy_key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                user = await self._require_consumer(session)
                bought = market.buy_images(
                    session,
                    buyer=user,
                    project_id=self.target_project,
                    image_ids=self.selected,
                    idempotency_key=self._buy_key,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        name = next((p["name"] for p in self.projects if p["id"] == self.target_project), "")
        spent = sum(p.price_cents for p in bought)
        self.notice = f"Bought {len(bought)} image(s) into {name} for {spent / 100:,.2f} credits."
        bought_ids = set(self.selected)
        self.cards = [{**c, "owned": c["owned"] or c["id"] in bought_ids} for c in self.cards]


def _facet(f: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(f["label"].to(str), size="2", trim="both"),
        rx.spacer(),
        rx.badge(f["count"].to(str), variant="surface", color_scheme="gray", radius="full"),
        on_click=MarketState.add_facet(f["label"].to(str)),
        cursor="pointer",
        width="100%",
        padding="5px 8px",
        border_radius="6px",
        _hover={"background": "var(--accent-a3)"},
        class_name="facet",
    )


def _filters() -> rx.Component:
    return rx.vstack(
        rx.text("Price (credits)", size="2", weight="bold"),
        rx.hstack(
            rx.input(
                placeholder="min",
                value=MarketState.min_price,
                on_change=MarketState.set_min_price,
                on_blur=MarketState.apply_prices,
                on_key_down=MarketState.price_key,
                id="min-price",
                size="2",
                width="100%",
            ),
            rx.text("–", color_scheme="gray"),
            rx.input(
                placeholder="max",
                value=MarketState.max_price,
                on_change=MarketState.set_max_price,
                on_blur=MarketState.apply_prices,
                on_key_down=MarketState.price_key,
                id="max-price",
                size="2",
                width="100%",
            ),
            align="center",
            width="100%",
        ),
        rx.text("Producer quality", size="2", weight="bold"),
        rx.select.root(  # #7: the producer's review score (Bayesian lower bound, 0-100)
            rx.select.trigger(
                aria_label="minimum producer quality", id="min-quality", width="100%"
            ),
            rx.select.content(
                rx.select.item("Any producer", value="any"),
                rx.select.item("Score 50 or more", value="50"),
                rx.select.item("Score 70 or more", value="70"),
                rx.select.item("Score 90 or more", value="90"),
            ),
            value=MarketState.min_quality,
            on_change=MarketState.set_min_quality,
        ),
        rx.divider(),
        rx.text("Labels in these results", size="2", weight="bold"),
        rx.cond(
            MarketState.facets.length() > 0,
            rx.vstack(rx.foreach(MarketState.facets, _facet), spacing="0", width="100%"),
            rx.text("No labels to show.", size="2", color_scheme="gray"),
        ),
        spacing="3",
        width="240px",
        min_width="240px",
        padding="1em",
        border_radius="12px",
        background="var(--color-panel-solid)",
        border="1px solid var(--gray-a4)",
        align_self="start",
        position="sticky",
        top="76px",
        display=["none", "none", "flex"],
    )


def _search_bar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.box(
                label_picker(
                    chosen=MarketState.chosen_labels,
                    text=MarketState.label_text,
                    suggestions=MarketState.label_suggestions,
                    on_text=MarketState.set_label_text,
                    on_key=MarketState.label_key,
                    on_pick=MarketState.pick_label,
                    on_remove=MarketState.remove_label,
                    placeholder="Search by label: dog, car, person…",
                    field_id="market-search",
                ),
                flex="1",
            ),
            rx.segmented_control.root(
                rx.segmented_control.item("All of", value="all"),
                rx.segmented_control.item("Any of", value="any"),
                value=MarketState.mode,
                on_change=MarketState.set_mode,
                size="2",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="sort", id="sort"),
                rx.select.content(
                    rx.select.item("Newest", value="newest"),
                    rx.select.item("Price: low to high", value="price_asc"),
                    rx.select.item("Price: high to low", value="price_desc"),
                    rx.select.item("Best selling", value="best_selling"),
                    rx.select.item("Best rated producers", value="quality"),
                ),
                value=MarketState.sort,
                on_change=MarketState.set_sort,
            ),
            width="100%",
            align="center",
            spacing="3",
        ),
        error_callout(MarketState.label_error),
        rx.hstack(
            rx.text(
                rx.text.strong(MarketState.total.to_string(), id="result-total"),
                " images",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                MarketState.unknown.length() > 0,
                rx.text(
                    "No label called ",
                    rx.text.strong(MarketState.unknown.join(", ")),
                    size="2",
                    color_scheme="amber",
                ),
            ),
            rx.spacer(),
            rx.cond(
                (MarketState.chosen_labels.length() > 0)
                | (MarketState.min_price != "")
                | (MarketState.max_price != "")
                | (MarketState.min_quality != "any"),
                rx.button(
                    "Clear filters", variant="ghost", size="1", on_click=MarketState.clear_filters
                ),
            ),
            width="100%",
            align="center",
        ),
        width="100%",
        spacing="2",
    )


def _buy_bar() -> rx.Component:
    return rx.cond(
        AuthState.is_consumer & (MarketState.selected.length() > 0),
        rx.box(
            rx.hstack(
                rx.text(
                    rx.text.strong(MarketState.selected.length().to_string()),
                    " selected · ",
                    rx.text.strong(MarketState.selected_total),
                    " credits",
                    size="3",
                ),
                rx.button("Clear", variant="ghost", size="1", on_click=MarketState.clear_selection),
                rx.spacer(),
                rx.cond(
                    MarketState.projects.length() > 0,
                    rx.select.root(
                        rx.select.trigger(placeholder="Project", id="target-project"),
                        rx.select.content(
                            rx.foreach(
                                MarketState.projects,
                                lambda p: rx.select.item(p["name"], value=p["id"]),
                            )
                        ),
                        value=MarketState.target_project,
                        on_change=MarketState.set_target_project,
                    ),
                ),
                rx.popover.root(
                    rx.popover.trigger(
                        rx.button(
                            rx.icon("folder-plus", size=16),
                            "New project",
                            variant="soft",
                            id="new-project",
                        )
                    ),
                    rx.popover.content(
                        rx.hstack(
                            rx.input(
                                placeholder="Project name",
                                value=MarketState.new_project_name,
                                on_change=MarketState.set_new_project_name,
                                id="new-project-name",
                            ),
                            rx.popover.close(
                                rx.button(
                                    "Create",
                                    on_click=MarketState.create_project,
                                    id="create-project",
                                )
                            ),
                        )
                    ),
                ),
                rx.button(
                    rx.icon("folder-input", size=16),
                    "Add to project",
                    variant="soft",
                    on_click=MarketState.add_selected,
                    disabled=MarketState.projects.length() == 0,
                ),
                rx.button(
                    rx.icon("shopping-cart", size=16),
                    "Buy selected",
                    on_click=MarketState.buy_selected,
                    id="buy-selected",
                    disabled=MarketState.projects.length() == 0,
                ),
                align="center",
                spacing="3",
                max_width="1232px",
                margin_x="auto",
            ),
            position="fixed",
            bottom="16px",
            left="0",
            right="0",
            margin_x="auto",
            width="min(1232px, 96vw)",
            padding="12px 16px",
            border_radius="14px",
            background="var(--color-panel-solid)",
            box_shadow="0 10px 30px var(--black-a6)",
            border="1px solid var(--gray-a5)",
            z_index="15",
        ),
    )


@rx.page(
    route=routes.MARKET, title="Market · LabelHub", on_load=[AuthState.load_user, MarketState.load]
)
def market_page() -> rx.Component:
    grid = rx.grid(
        rx.foreach(
            MarketState.cards,
            lambda c: image_card(
                c,
                selected=MarketState.selected.contains(c["id"]),
                on_toggle=MarketState.toggle,
                selectable=AuthState.is_consumer,
            ),
        ),
        columns=rx.breakpoints(initial="1", sm="2", md="3", lg="4"),
        spacing="4",
        width="100%",
        id="results",
    )
    body = rx.cond(
        MarketState.cards.length() > 0,
        rx.vstack(
            grid,
            pager(
                MarketState.page, MarketState.pages, MarketState.prev_page, MarketState.next_page
            ),
            width="100%",
        ),
        empty_state(
            "search-x",
            "No images match",
            "Try fewer labels, 'Any of' instead of 'All of', or a wider price range.",
            rx.button("Clear filters", on_click=MarketState.clear_filters, variant="soft"),
        ),
    )
    return page_frame(
        rx.box(id="market-top"),
        _search_bar(),
        error_callout(MarketState.error, margin_top="0.75em"),
        info_callout(MarketState.notice, margin_top="0.75em", id="market-notice"),
        rx.hstack(
            _filters(),
            rx.box(body, flex="1", min_width="0"),
            spacing="5",
            width="100%",
            margin_top="1em",
            align="start",
        ),
        rx.cond(
            AuthState.is_consumer & (MarketState.cards.length() > 0),
            rx.hstack(
                rx.button(
                    "Select all on this page",
                    variant="ghost",
                    size="1",
                    on_click=MarketState.select_page,
                ),
                justify="end",
                width="100%",
                margin_top="0.5em",
            ),
        ),
        _buy_bar(),
        rx.box(height="80px"),
        title="Market",
        subtitle="Labelled images from producers, ready to train on.",
    )
