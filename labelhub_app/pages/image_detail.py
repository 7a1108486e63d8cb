"""One image: a large preview, its labels, licence, price and producer pseudonym; buy it."""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import error_callout, info_callout, label_chip
from labelhub_app.components.layout import page_frame
from labelhub_app.components.licence_dialog import licence_dialog
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError
from labelhub_app.services import images, market, ratings, reputation
from labelhub_app.state.auth import AuthState, current_user


class ImageState(rx.State):
    image_id: str = ""
    found: bool = False
    info: dict[str, Any] = {}
    labels: list[str] = []
    preview: str = ""
    projects: list[dict[str, str]] = []
    target_project: str = ""
    error: str = ""
    notice: str = ""
    # #7 ratings: the viewer's own (buyers only) and what they are typing
    my_stars: int = 0
    rating_comment: str = ""
    rating_notice: str = ""
    rating_error: str = ""
    _buy_key: str = ""

    @rx.event
    async def load(self) -> None:
        self.error = self.notice = ""
        self.image_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        base = (await self.get_state(AuthState)).api_base
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                view = images.view_image(session, public_id=self.image_id, viewer=user)
                projects = (
                    market.list_projects(session, actor=user) if user and user.is_consumer else []
                )
                producer = reputation.reputation_by_pseudonym(
                    session, pseudonym=view.producer_pseudonym
                )
                image_row = images.get_image(session, view.public_id)
                rated = ratings.rating_summary(session, image_id=image_row.id)  # type: ignore[arg-type]
                mine = ratings.my_rating(session, buyer=user, image_id=view.public_id)
        except LabelHubError as exc:
            self.found = False
            self.error = exc.message
            return
        self.found = True
        self.labels = view.labels
        kind = "thumb" if view.on_sale else "private-thumb"
        self.preview = f"{base}{routes.API}/images/{view.public_id}/{kind}/1024"
        self.info = {
            "name": view.file_name,
            "size": f"{view.width} × {view.height} px · {view.format} · "
            f"{view.size_bytes / 1024:,.0f} KB",
            "price": f"{view.price_cents / 100:,.2f}",
            "licence": view.licence_text,
            "producer": view.producer_pseudonym,
            "date": view.created_at.strftime("%d %b %Y"),
            "owned": view.owned,
            "own": view.is_own,
            "on_sale": view.on_sale,
            "sales": view.sales_count,
            "original": f"{base}{routes.API}/images/{view.public_id}/original",
            "editor": routes.label(view.public_id),
            "score": str(producer.score),
            "reviews": f"{producer.reviews} review{'' if producer.reviews == 1 else 's'}",
            "rating": (
                f"{rated.average:.1f} / 5 from {rated.count} "
                f"rating{'' if rated.count == 1 else 's'}"
                if rated.average is not None
                else "No ratings yet"
            ),
        }
        self.my_stars = mine.stars if mine else 0
        self.rating_comment = mine.comment if mine else ""
        self.rating_error = ""
        self.projects = [{"id": p.public_id, "name": p.name} for p in projects]
        if self.projects and not self.target_project:
            self.target_project = self.projects[0]["id"]

    @rx.event
    def set_stars(self, stars: int) -> None:
        self.my_stars = stars
        self.rating_notice = ""

    @rx.event
    def set_rating_comment(self, value: str) -> None:
        self.rating_comment = value

    @rx.event
    async def rate(self):  # type: ignore[no-untyped-def]
        self.rating_error = self.rating_notice = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                result = ratings.rate_image(
                    session,
                    buyer=user,
                    image_id=self.image_id,
                    stars=self.my_stars,
                    comment=self.rating_comment,
                )
        except LabelHubError as exc:
            self.rating_error = exc.message
            return None
        notice = result.message
        await self.load()
        self.rating_notice = notice
        return None

    @rx.event
    def set_target_project(self, value: str) -> None:
        self.target_project = value

    @rx.event
    async def buy(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        if not self._buy_key:
            self._buy_key = uuid.uuid4().hex
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise InvalidInput("Sign in as a consumer to buy images.")
                if not self.target_project:
                    raise InvalidInput("Create a project first on the Projects page.")
                market.buy_images(
                    session,
                    buyer=user,
                    project_id=self.target_project,
                    image_ids=[self.image_id],
                    idempotency_key=self._buy_key,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.notice = "Bought. It is in your project and in your next download."
        return ImageState.load


def _fact(label: str, value: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", width="90px"),
        rx.text(value, size="2"),
        align="start",
    )


def _rating_form() -> rx.Component:
    """#7: a buyer rates the image 1-5 with an optional comment (one rating per purchase)."""
    return rx.vstack(
        rx.text("Rate this image", size="2", weight="bold"),
        rx.hstack(
            *[
                rx.icon_button(
                    rx.icon("star", size=16),
                    variant=rx.cond(ImageState.my_stars >= n, "solid", "soft"),
                    color_scheme="amber",
                    on_click=ImageState.set_stars(n),
                    aria_label=f"{n} star{'s' if n > 1 else ''}",
                    id=f"rate-{n}",
                    size="2",
                )
                for n in range(1, 6)
            ],
            spacing="1",
        ),
        rx.text_area(
            value=ImageState.rating_comment,
            on_change=ImageState.set_rating_comment,
            placeholder="A comment for other buyers (optional)",
            id="rating-comment",
            width="100%",
            rows="2",
        ),
        rx.button(
            "Save rating",
            on_click=ImageState.rate,
            disabled=ImageState.my_stars == 0,
            size="2",
            id="save-rating",
        ),
        error_callout(ImageState.rating_error),
        info_callout(ImageState.rating_notice, id="rating-notice"),
        spacing="2",
        width="100%",
        padding="10px",
        border_radius="10px",
        background="var(--gray-a2)",
    )


@rx.page(
    route=routes.IMAGE, title="Image · LabelHub", on_load=[AuthState.load_user, ImageState.load]
)
def image_page() -> rx.Component:
    side = rx.card(
        rx.vstack(
            rx.heading(ImageState.info["name"].to(str), size="5", id="image-name"),
            rx.text(ImageState.info["size"].to(str), size="2", color_scheme="gray"),
            rx.flex(
                rx.foreach(
                    ImageState.labels, lambda n: label_chip(n, href=routes.MARKET + "?label=" + n)
                ),
                wrap="wrap",
                gap="6px",
            ),
            rx.divider(),
            _fact(
                "Producer",
                rx.hstack(
                    rx.icon("user-round", size=14),
                    ImageState.info["producer"].to(str),
                    rx.badge(  # #7: the producer's review score
                        rx.icon("star", size=10),
                        ImageState.info["score"].to(str),
                        variant="soft",
                        color_scheme="amber",
                        id="producer-score",
                    ),
                    rx.text(
                        ImageState.info["reviews"].to(str),
                        size="1",
                        color_scheme="gray",
                        white_space="nowrap",
                        id="producer-reviews",
                    ),
                    align="center",
                    spacing="1",
                    wrap="wrap",
                ),
            ),
            _fact("Rating", rx.text(ImageState.info["rating"].to(str), id="image-rating")),
            _fact("Licence", ImageState.info["licence"].to(str)),
            _fact("Uploaded", ImageState.info["date"].to(str)),
            _fact("Sales", ImageState.info["sales"].to(str)),
            rx.divider(),
            rx.hstack(
                rx.text(ImageState.info["price"].to(str), size="7", weight="bold"),
                rx.text("credits", color_scheme="gray"),
                align="baseline",
            ),
            error_callout(ImageState.error),
            info_callout(ImageState.notice),
            rx.cond(
                ImageState.info["owned"].to(bool) | ImageState.info["own"].to(bool),
                rx.vstack(
                    rx.cond(
                        ImageState.info["owned"].to(bool),
                        rx.badge(
                            rx.icon("check", size=12),
                            "You own this image",
                            color_scheme="green",
                            size="2",
                        ),
                        rx.badge("Your image", size="2"),
                    ),
                    rx.cond(ImageState.info["owned"].to(bool), _rating_form()),
                    rx.hstack(
                        rx.link(
                            rx.button(
                                rx.icon("download", size=14), "Download original", variant="soft"
                            ),
                            href=ImageState.info["original"].to(str),
                        ),
                        rx.cond(
                            ImageState.info["own"].to(bool),
                            rx.link(
                                rx.button(
                                    rx.icon("square-dashed-mouse-pointer", size=14),
                                    "Open in editor",
                                ),
                                href=ImageState.info["editor"].to(str),
                            ),
                        ),
                    ),
                ),
                rx.cond(
                    AuthState.is_consumer,
                    rx.cond(
                        ImageState.projects.length() > 0,
                        rx.vstack(
                            rx.select.root(
                                rx.select.trigger(width="100%"),
                                rx.select.content(
                                    rx.foreach(
                                        ImageState.projects,
                                        lambda p: rx.select.item(p["name"], value=p["id"]),
                                    )
                                ),
                                value=ImageState.target_project,
                                on_change=ImageState.set_target_project,
                            ),
                            rx.button(
                                rx.icon("shopping-cart", size=16),
                                "Buy into project",
                                size="3",
                                width="100%",
                                on_click=ImageState.buy,
                                id="buy-image",
                            ),
                            licence_dialog(ImageState.target_project),  # #9 licences
                            width="100%",
                        ),
                        rx.link(
                            rx.button("Create a project to buy", variant="soft"),
                            href=routes.PROJECTS,
                        ),
                    ),
                    rx.cond(
                        ~AuthState.signed_in,
                        rx.link(rx.button("Sign in to buy", size="3"), href=routes.SIGN_IN),
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="380px",
        min_width="320px",
        size="3",
    )
    return page_frame(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("Back to the market", size="2"),
                align="center",
            ),
            href=routes.MARKET,
            margin_bottom="1em",
            display="inline-block",
        ),
        rx.cond(
            ImageState.found,
            rx.hstack(
                rx.center(
                    rx.image(
                        src=ImageState.preview,
                        max_width="100%",
                        max_height="72vh",
                        border_radius="12px",
                        alt=ImageState.info["name"].to(str),
                    ),
                    flex="1",
                    min_width="0",
                    background="var(--gray-3)",
                    border_radius="16px",
                    padding="1em",
                ),
                side,
                spacing="5",
                align="start",
                width="100%",
            ),
            error_callout(ImageState.error),
        ),
    )
