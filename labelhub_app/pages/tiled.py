"""Campaign tasks: the tiled grid (/campaigns/[id]/tiles) and one image in the box editor
(/campaigns/[id]/boxes).

The grid shows up to 20 thumbnails and ONE question ("Select every image that shows: dog").
Keys 1-9, 0 toggle tiles 1-10 and Q-P tiles 11-20 (the key is printed on each tile); the arrow
keys move a cursor and Space toggles the tile under it; Enter submits the page and the next task
loads. Clicks toggle tiles too. The state holds only this task's images and this person's own
selection: nobody's answers are ever sent to the page.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.box_editor import box_editor
from labelhub_app.components.common import empty_state, error_callout, info_callout
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import Conflict, LabelHubError, NotAuthenticated
from labelhub_app.services import campaigns
from labelhub_app.state.auth import AuthState, current_user

TILE_KEYS = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "0",
    "q",
    "w",
    "e",
    "r",
    "t",
    "y",
    "u",
    "i",
    "o",
    "p",
)
COLUMNS = 5


def _campaign_id(path: str) -> str:
    parts = path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 3 else ""


def _thumb(base: str, tile: campaigns.TaskTile, size: int = 256) -> str:
    kind = "thumb" if tile.on_sale else "private-thumb"
    return f"{base}{routes.API}/images/{tile.image_id}/{kind}/{size}"


# Space, Enter and the arrows belong to the grid: they must not scroll the page or press the
# focused button a second time (the grid's own handler already acts on them).
_KEEP_KEYS = """
useEffect(() => {
  const keep = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (e.key === " " || e.key === "Enter" || e.key.startsWith("Arrow")) e.preventDefault();
  };
  window.addEventListener("keydown", keep);
  return () => window.removeEventListener("keydown", keep);
}, []);
"""


class TiledState(rx.State):
    campaign_id: str = ""
    campaign_name: str = ""
    task_id: str = ""
    label: str = ""
    tiles: list[dict[str, str]] = []
    selected: list[bool] = []
    cursor: int = 0
    loaded: bool = False
    finished: bool = False  # nothing left for this person
    pages_done: int = 0
    error: str = ""
    notice: str = ""

    @rx.var
    def selected_count(self) -> int:
        return sum(1 for s in self.selected if s)

    async def _load_task(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                task = campaigns.next_task(session, actor=user, campaign_id=self.campaign_id)
        except LabelHubError as exc:
            self.error, self.loaded = exc.message, True
            self.tiles, self.selected, self.task_id = [], [], ""
            return
        self.loaded = True
        if task is None:
            self.finished, self.tiles, self.selected, self.task_id = True, [], [], ""
            return
        if task.kind != "tags":
            self.error = "This campaign asks for boxes: it is labelled in the box editor."
            return
        base = (await self.get_state(AuthState)).api_base
        self.finished = False
        self.campaign_name, self.task_id, self.label = (
            task.campaign_name,
            task.public_id,
            task.label,
        )
        self.tiles = [
            {"id": t.image_id, "src": _thumb(base, t), "key": TILE_KEYS[i].upper()}
            for i, t in enumerate(task.tiles[: len(TILE_KEYS)])
        ]
        self.selected = [False] * len(self.tiles)
        self.cursor = 0

    @rx.event
    async def load(self) -> None:
        self.campaign_id = _campaign_id(self.router.url.path)
        self.loaded, self.pages_done, self.notice = False, 0, ""
        await self._load_task()

    @rx.event
    def toggle(self, index: int) -> None:
        if 0 <= index < len(self.selected):
            flags = list(self.selected)
            flags[index] = not flags[index]
            self.selected = flags
            self.cursor = index

    @rx.event
    async def submit(self) -> None:
        if not self.task_id:
            return
        chosen = [t["id"] for t, s in zip(self.tiles, self.selected, strict=False) if s]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                result = campaigns.submit_tiled_task(
                    session, actor=user, task_id=self.task_id, selected=chosen
                )
        except Conflict:
            pass  # already saved (a second Enter): just load the next task
        except LabelHubError as exc:
            self.error = exc.message
            return
        else:
            self.pages_done += 1
            self.notice = (
                f"Saved {result.answers + result.gold_checked} answers "
                f"({len(chosen)} selected). Campaign {result.campaign_progress:.0%} done."
            )
        await self._load_task()

    @rx.event
    async def key(self, key: str, mods: dict[str, Any]):  # type: ignore[no-untyped-def]
        if mods.get("ctrl_key") or mods.get("meta_key") or mods.get("alt_key"):
            return None
        if not self.tiles:
            return None
        k = key.lower()
        if k in TILE_KEYS:
            index = TILE_KEYS.index(k)
            if index < len(self.tiles):
                self.toggle(index)
            return None
        n = len(self.tiles)
        moves = {"arrowleft": -1, "arrowright": 1, "arrowup": -COLUMNS, "arrowdown": COLUMNS}
        if k in moves:
            self.cursor = min(n - 1, max(0, self.cursor + moves[k]))
            return None
        if k == " ":
            self.toggle(self.cursor)
            return None
        if k == "enter":
            return TiledState.submit
        return None


def _tile(tile: rx.Var[dict[str, str]], index: rx.Var[int]) -> rx.Component:
    selected = TiledState.selected[index]
    return rx.box(
        rx.image(
            src=tile["src"],
            width="100%",
            height="100%",
            object_fit="cover",
            loading="eager",
            alt="",
            draggable=False,
        ),
        rx.center(
            rx.text(tile["key"], size="2", weight="bold"),
            position="absolute",
            top="6px",
            left="6px",
            width="26px",
            height="26px",
            border_radius="6px",
            background=rx.cond(selected, "var(--accent-9)", "var(--black-a9)"),
            color="white",
            class_name="tile-key",
        ),
        rx.cond(
            selected,
            rx.center(
                rx.icon("check", size=18, color="white"),
                position="absolute",
                top="6px",
                right="6px",
                width="26px",
                height="26px",
                border_radius="999px",
                background="var(--accent-9)",
            ),
        ),
        position="relative",
        aspect_ratio="4 / 3",
        overflow="hidden",
        border_radius="10px",
        cursor="pointer",
        outline=rx.cond(
            selected,
            "4px solid var(--accent-9)",
            rx.cond(
                TiledState.cursor == index, "3px dashed var(--gray-9)", "1px solid var(--gray-a5)"
            ),
        ),
        outline_offset=rx.cond(selected, "-4px", "-2px"),
        opacity=rx.cond(selected, "1", "0.92"),
        on_click=TiledState.toggle(index),
        class_name=rx.cond(selected, "tile tile-selected", "tile"),
        data_image=tile["id"],
    )


def _question() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text("Select every image that shows:", size="3", color_scheme="gray"),
                rx.heading(TiledState.label, size="7", id="tile-question"),
                spacing="0",
            ),
            rx.spacer(),
            rx.vstack(
                rx.hstack(
                    rx.badge(
                        TiledState.selected_count.to_string(),
                        " selected",
                        size="2",
                        id="selected-count",
                    ),
                    rx.badge(
                        TiledState.pages_done.to_string(),
                        " pages done",
                        size="2",
                        color_scheme="gray",
                    ),
                    spacing="2",
                ),
                rx.text(
                    rx.code("1"),
                    "–",
                    rx.code("0"),
                    ", ",
                    rx.code("Q"),
                    "–",
                    rx.code("P"),
                    " toggle · arrows + ",
                    rx.code("Space"),
                    " · ",
                    rx.code("Enter"),
                    " next page",
                    size="1",
                    color_scheme="gray",
                ),
                align="end",
                spacing="2",
            ),
            rx.button(
                "Submit page",
                rx.icon("corner-down-left", size=16),
                size="3",
                on_click=TiledState.submit,
                id="submit-page",
            ),
            align="center",
            spacing="4",
            width="100%",
        ),
        width="100%",
        margin_bottom="1em",
    )


@rx.page(
    route=routes.CAMPAIGN_TILES,
    title="Tiled labelling · LabelHub",
    on_load=[AuthState.require_user, TiledState.load],
)
def tiled_page() -> rx.Component:
    return page_frame(
        rx.window_event_listener(on_key_down=TiledState.key, hooks=[_KEEP_KEYS]),
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14), rx.text("Campaign", size="2"), align="center"
            ),
            href="/campaigns/" + TiledState.campaign_id,
            margin_bottom="0.5em",
            display="inline-block",
        ),
        error_callout(TiledState.error),
        info_callout(TiledState.notice, margin_bottom="0.75em", id="tile-notice"),
        rx.cond(
            TiledState.task_id != "",
            rx.fragment(
                _question(),
                rx.grid(
                    rx.foreach(TiledState.tiles, _tile),
                    columns=str(COLUMNS),
                    spacing="3",
                    width="100%",
                    id="tile-grid",
                ),
            ),
            rx.cond(
                TiledState.finished,
                empty_state(
                    "party-popper",
                    "Nothing left for you here",
                    "You answered every image this campaign still needs from you. Thank you! "
                    "Other campaigns may need you too.",
                    rx.link(rx.button("All campaigns"), href=routes.CAMPAIGNS),
                ),
                rx.cond(~TiledState.loaded, rx.center(rx.spinner(size="3"), padding="4em")),
            ),
        ),
        max_width="1180px",
    )


# --- boxes: one image in the box editor -----------------------------------------------------------


class CampaignBoxesState(rx.State):
    campaign_id: str = ""
    campaign_name: str = ""
    task_id: str = ""
    src: str = ""
    width: int = 0
    height: int = 0
    boxes: list[dict[str, Any]] = []
    boxes_key: int = 0
    palette: list[str] = []
    current_label: str = ""
    command: dict[str, Any] = {"seq": 0}
    box_count: int = 0
    loaded: bool = False
    finished: bool = False
    images_done: int = 0
    error: str = ""
    notice: str = ""
    _drawn: dict[str, dict[str, Any]] = {}

    async def _load_task(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in first.")
                task = campaigns.next_task(session, actor=user, campaign_id=self.campaign_id)
        except LabelHubError as exc:
            self.error, self.loaded, self.task_id = exc.message, True, ""
            return
        self.loaded = True
        if task is None:
            self.finished, self.task_id = True, ""
            return
        if task.kind != "boxes":
            self.error = "This campaign asks for image labels: it is labelled in the tiled grid."
            return
        base = (await self.get_state(AuthState)).api_base
        self.finished = False
        self.campaign_name, self.task_id = task.campaign_name, task.public_id
        self.src = _thumb(base, task.tiles[0], 1024)
        self.width, self.height = task.width, task.height
        self.palette = task.labels[:9]
        if self.current_label not in self.palette:
            self.current_label = self.palette[0] if self.palette else ""
        self._drawn = {}
        self.box_count = 0
        self.boxes = []  # this labeller starts from an empty image: no one else's boxes
        self.boxes_key += 1

    @rx.event
    async def load(self) -> None:
        self.campaign_id = _campaign_id(self.router.url.path)
        self.loaded, self.images_done, self.notice = False, 0, ""
        await self._load_task()

    def _set(self, box: dict[str, Any], keep: bool) -> None:
        drawn = dict(self._drawn)
        if keep:
            drawn[str(box.get("id"))] = box
        else:
            drawn.pop(str(box.get("id")), None)
        self._drawn = drawn
        self.box_count = len(drawn)

    @rx.event
    def on_create(self, box: dict[str, Any]) -> None:
        self._set(box, True)

    @rx.event
    def on_update(self, box: dict[str, Any]) -> None:
        self._set(box, True)

    @rx.event
    def on_delete(self, box: dict[str, Any]) -> None:
        self._set(box, False)

    @rx.event
    def on_label_key(self, label: str) -> None:
        self.current_label = label

    @rx.event
    def pick(self, label: str) -> None:
        self.current_label = label

    @rx.event
    async def submit(self) -> None:
        if not self.task_id:
            return
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                campaigns.submit_box_task(
                    session, actor=user, task_id=self.task_id, boxes=list(self._drawn.values())
                )
        except Conflict:
            pass
        except LabelHubError as exc:
            self.error = exc.message
            return
        else:
            self.images_done += 1
            self.notice = f"Saved your {self.box_count} boxes. Next image."
        await self._load_task()


@rx.page(
    route=routes.CAMPAIGN_BOXES,
    title="Box labelling · LabelHub",
    on_load=[AuthState.require_user, CampaignBoxesState.load],
)
def campaign_boxes_page() -> rx.Component:
    return page_frame(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14), rx.text("Campaign", size="2"), align="center"
            ),
            href="/campaigns/" + CampaignBoxesState.campaign_id,
            margin_bottom="0.5em",
            display="inline-block",
        ),
        error_callout(CampaignBoxesState.error),
        info_callout(CampaignBoxesState.notice, margin_bottom="0.75em"),
        rx.cond(
            CampaignBoxesState.task_id != "",
            rx.vstack(
                rx.hstack(
                    rx.vstack(
                        rx.heading(CampaignBoxesState.campaign_name, size="5"),
                        rx.text(
                            "Draw a box around every ",
                            CampaignBoxesState.palette.join(" or "),
                            ". Keys 1-9 pick the label, Space submits and opens the next image. "
                            "Your boxes stay yours alone until the owner consolidates.",
                            size="2",
                            color_scheme="gray",
                        ),
                        spacing="1",
                    ),
                    rx.spacer(),
                    rx.hstack(
                        rx.foreach(
                            CampaignBoxesState.palette,
                            lambda name, i: rx.button(
                                rx.code((i + 1).to_string()),
                                name,
                                size="1",
                                variant=rx.cond(
                                    CampaignBoxesState.current_label == name, "solid", "soft"
                                ),
                                on_click=CampaignBoxesState.pick(name),
                            ),
                        ),
                        spacing="1",
                    ),
                    rx.badge(
                        CampaignBoxesState.box_count.to_string(), " boxes", size="2", id="box-count"
                    ),
                    rx.button(
                        "Submit image",
                        size="3",
                        on_click=CampaignBoxesState.submit,
                        id="submit-boxes",
                    ),
                    width="100%",
                    align="center",
                    spacing="3",
                ),
                rx.box(
                    box_editor(
                        src=CampaignBoxesState.src,
                        image_width=CampaignBoxesState.width,
                        image_height=CampaignBoxesState.height,
                        boxes=CampaignBoxesState.boxes,
                        boxes_key=CampaignBoxesState.boxes_key,
                        labels=CampaignBoxesState.palette,
                        current_label=CampaignBoxesState.current_label,
                        command=CampaignBoxesState.command,
                        read_only=False,
                        height="70vh",
                        on_create=CampaignBoxesState.on_create,
                        on_update=CampaignBoxesState.on_update,
                        on_delete=CampaignBoxesState.on_delete,
                        on_label_key=CampaignBoxesState.on_label_key,
                        on_save_next=CampaignBoxesState.submit,
                    ),
                    width="100%",
                    border_radius="12px",
                    overflow="hidden",
                    border="1px solid var(--gray-a5)",
                ),
                width="100%",
                spacing="3",
            ),
            rx.cond(
                CampaignBoxesState.finished,
                empty_state(
                    "party-popper",
                    "Nothing left for you here",
                    "You answered every image this campaign still needs from you. Thank you!",
                    rx.link(rx.button("All campaigns"), href=routes.CAMPAIGNS),
                ),
                rx.cond(~CampaignBoxesState.loaded, rx.center(rx.spinner(size="3"), padding="4em")),
            ),
        ),
    )
