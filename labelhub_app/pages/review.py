"""The review queue (/review): reviewers accept, reject with a reason, or fix producers' labels.

One image at a time, in queue order (requested reviews first, then the newest unreviewed images,
optionally one producer's or one label's). Keys: A accept, R reject (focuses the reason; Enter
sends it), F fix (the box editor becomes editable and the tags a picker; Ctrl+S or "Save fix"
saves the fix as the reviewer's revision and shows its diff), J / K or → / ← next / previous.
While fixing, the keys belong to the box editor. Gold checks look like any other image.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.box_editor import box_editor
from labelhub_app.components.common import empty_state, error_callout, info_callout, label_chip
from labelhub_app.components.label_picker import label_picker
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import annotations as ann
from labelhub_app.services import gold as gold_service
from labelhub_app.services import reviews
from labelhub_app.state.auth import AuthState, current_user
from labelhub_app.state.label_picker import LabelPickerMixin

QUEUE_SIZE = 20

# Page-level keys, in the capture phase so they come before the box editor's own; ignored while
# typing in a field and while fixing (then the editor has the keys).
_KEYS_SCRIPT = """
(() => {
  if (window.__lhReviewKeys) return;
  window.__lhReviewKeys = true;
  const ids = {a: "review-accept", f: "review-fix", j: "review-next", k: "review-prev",
               ArrowRight: "review-next", ArrowLeft: "review-prev"};
  window.addEventListener("keydown", (ev) => {
    if (!document.getElementById("review-page")) return;
    if (document.getElementById("review-fixing")) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    const t = ev.target;
    const typing = "input, textarea, select, [contenteditable=true], [role=dialog]";
    if (t && t.closest && t.closest(typing)) return;
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (key === "r") {
      const field = document.getElementById("review-reason");
      if (field) { ev.preventDefault(); ev.stopPropagation(); field.focus(); }
      return;
    }
    const id = ids[key];
    if (!id) return;
    const button = document.getElementById(id);
    if (!button || button.disabled) return;
    ev.preventDefault();
    ev.stopPropagation();
    button.click();
  }, true);
})();
"""


class ReviewState(LabelPickerMixin, rx.State):
    allowed: bool = True
    loaded: bool = False
    producer_filter: str = ""
    label_filter: str = ""
    queue: list[dict[str, str]] = []
    pos: int = 0
    # the image under review
    image_id: str = ""
    file_name: str = ""
    width: int = 0
    height: int = 0
    src: str = ""
    producer: str = ""
    revision: int = 0
    requested_reason: str = ""
    tags: list[str] = []
    boxes: list[dict[str, Any]] = []
    boxes_key: int = 0
    box_count: int = 0
    palette: list[str] = []
    current_label: str = "object"
    command: dict[str, Any] = {"seq": 0}
    fixing: bool = False
    pending_count: int = 0
    tags_dirty: bool = False
    reason: str = ""
    # feedback
    error: str = ""
    notice: str = ""
    last_diff: list[dict[str, str]] = []
    gold_accuracy: str = ""
    _pending: list[dict[str, Any]] = []

    def _labels_changed(self):  # type: ignore[no-untyped-def]
        self.tags_dirty = True
        return None

    @rx.var
    def position(self) -> str:
        if not self.queue:
            return ""
        return f"{min(self.pos + 1, len(self.queue))} of {len(self.queue)}"

    # --- loading ---

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        self.error, self.notice, self.last_diff = "", "", []
        await self._reload_queue()
        return rx.call_script(_KEYS_SCRIPT)

    async def _reload_queue(self) -> None:
        self.pos = 0
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in to review images.")
                self.allowed = user.is_reviewer or user.is_admin
                if not self.allowed:
                    self.queue, self.loaded, self.image_id = [], True, ""
                    return
                items = reviews.review_queue(
                    session,
                    reviewer=user,
                    producer=self.producer_filter.strip() or None,
                    label=self.label_filter.strip() or None,
                    limit=QUEUE_SIZE,
                )
                stats = gold_service.gold_accuracy(session, user=user, recent=0)
        except LabelHubError as exc:
            self.error, self.queue, self.image_id, self.loaded = exc.message, [], "", True
            return
        self.gold_accuracy = (
            f"{round(100 * stats.accuracy)}% right on {stats.answered} gold checks"
            if stats.accuracy is not None
            else ""
        )
        self.queue = [
            {
                "id": i.image_id,
                "name": i.file_name,
                "producer": i.producer,
                "reason": i.reason,
            }
            for i in items
        ]
        await self._open_current()

    async def _open_current(self) -> None:
        self.fixing, self._pending, self.pending_count, self.tags_dirty = False, [], 0, False
        self.reason = ""
        if not self.queue:
            self.image_id, self.loaded = "", True
            return
        self.pos = max(0, min(self.pos, len(self.queue) - 1))
        image_id = self.queue[self.pos]["id"]
        base = (await self.get_state(AuthState)).api_base
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                item = reviews.open_for_review(session, reviewer=user, image_id=image_id)
        except LabelHubError as exc:
            self.error = exc.message
            self.queue = [q for q in self.queue if q["id"] != image_id]
            self.image_id, self.loaded = "", True
            return
        self.image_id, self.file_name = item.image_id, item.file_name
        self.width, self.height = item.width, item.height
        self.src = f"{base}{routes.API}/images/{item.image_id}/private-thumb/1024"
        self.producer, self.revision = item.producer, item.revision
        self.requested_reason = item.requested_reason
        self.tags = item.tags
        self.chosen_labels = list(item.tags)
        self.boxes = item.boxes
        self.boxes_key += 1
        self.box_count = len(item.boxes)
        self.palette = list(dict.fromkeys([*(b["label"] for b in item.boxes), *item.tags]))[:9]
        self.current_label = self.palette[0] if self.palette else "object"
        self.loaded = True

    # --- filters and navigation ---

    @rx.event
    def set_producer_filter(self, value: str) -> None:
        self.producer_filter = value

    @rx.event
    def set_label_filter(self, value: str) -> None:
        self.label_filter = value

    @rx.event
    async def filter_key(self, key: str) -> None:
        if key == "Enter":
            await self.apply_filters()

    @rx.event
    async def apply_filters(self) -> None:
        self.error, self.notice, self.last_diff = "", "", []
        await self._reload_queue()

    @rx.event
    async def clear_filters(self) -> None:
        self.producer_filter, self.label_filter = "", ""
        await self.apply_filters()

    @rx.event
    async def next_item(self) -> None:
        if self.pos + 1 < len(self.queue):
            self.pos += 1
            self.error = ""
            await self._open_current()

    @rx.event
    async def prev_item(self) -> None:
        if self.pos > 0:
            self.pos -= 1
            self.error = ""
            await self._open_current()

    async def _done(self, message: str) -> None:
        """A verdict landed: drop the image from the queue and open the next one."""
        self.notice, self.error = message, ""
        self.queue = [q for i, q in enumerate(self.queue) if i != self.pos]
        if not self.queue:
            await self._reload_queue()
        else:
            await self._open_current()

    # --- verdicts ---

    @rx.event
    async def accept(self) -> None:
        if not self.image_id or self.fixing:
            return
        name = self.file_name
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                reviews.accept(
                    session, reviewer=user, image_id=self.image_id, base_revision=self.revision
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.last_diff = []
        await self._done(f"Accepted the labels of {name}.")

    @rx.event
    def set_reason(self, value: str) -> None:
        self.reason = value

    @rx.event
    async def reason_key(self, key: str):  # type: ignore[no-untyped-def]
        if key == "Enter":
            return await self.reject()
        if key == "Escape":  # give the keys back to the page
            return rx.call_script("document.activeElement?.blur()")
        return None

    @rx.event
    async def reject(self):  # type: ignore[no-untyped-def]
        if not self.image_id or self.fixing:
            return None
        if not self.reason.strip():
            self.error = "Say why you reject these labels; the producer will see your reason."
            return rx.call_script("document.getElementById('review-reason')?.focus()")
        name = self.file_name
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                reviews.reject(
                    session,
                    reviewer=user,
                    image_id=self.image_id,
                    base_revision=self.revision,
                    reason=self.reason,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.last_diff = []
        await self._done(f"Rejected the labels of {name}; the producer sees your reason.")
        return rx.call_script("document.activeElement?.blur()")

    # --- fixing ---

    @rx.event
    def start_fix(self) -> None:
        if self.image_id:
            self.fixing, self.error = True, ""

    @rx.event
    def cancel_fix(self) -> None:
        self.fixing, self._pending, self.pending_count, self.tags_dirty = False, [], 0, False
        self.chosen_labels = list(self.tags)
        self.boxes_key += 1  # back to the boxes as they were
        self.box_count = len(self.boxes)

    def _edit(self, kind: str, box: dict[str, Any]) -> None:
        if not self.fixing:
            return
        self._pending = [*self._pending, {"kind": kind, "box": box}]
        self.pending_count = len(
            ann.coalesce_edits(ann.BoxEdit(e["kind"], e["box"]) for e in self._pending)
        )
        self.box_count += {"create": 1, "delete": -1}.get(kind, 0)
        if box.get("label") and box["label"] not in self.palette:
            self.palette = [*self.palette, box["label"]][-9:]

    @rx.event
    def on_create(self, box: dict[str, Any]) -> None:
        self._edit("create", box)

    @rx.event
    def on_update(self, box: dict[str, Any]) -> None:
        self._edit("update", box)

    @rx.event
    def on_delete(self, box: dict[str, Any]) -> None:
        self._edit("delete", box)

    @rx.event
    def on_label_key(self, label: str) -> None:
        self.current_label = label

    @rx.event
    def pick_current(self, label: str) -> None:
        self.current_label = label

    @rx.event
    async def save_fix(self) -> None:
        if not self.fixing or not self.image_id:
            return
        edits = [ann.BoxEdit(e["kind"], e["box"]) for e in self._pending]
        name = self.file_name
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                outcome = reviews.fix(
                    session,
                    reviewer=user,
                    image_id=self.image_id,
                    base_revision=self.revision,
                    edits=edits,
                    tags=list(self.chosen_labels) if self.tags_dirty else None,
                    reason=self.reason,
                )
        except LabelHubError as exc:
            self.error = f"{exc.message} Your changes are still here."
            return
        self.last_diff = [{"kind": d.kind, "text": d.text} for d in outcome.diff]
        await self._done(f"Saved your fix of {name}:")

    @rx.event
    async def mark_gold(self) -> None:
        if not self.image_id:
            return
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                gold_service.mark_gold(session, actor=user, image_id=self.image_id)
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.notice = (
            f"{self.file_name} is now a gold image: its current labels are the verified answer."
        )


# --- view ---------------------------------------------------------------------------------------

_DIFF_COLOURS = {
    "added": "green",
    "removed": "red",
    "moved": "blue",
    "resized": "blue",
    "relabelled": "amber",
    "tag_added": "green",
    "tag_removed": "red",
}


def _key(text: str) -> rx.Component:
    return rx.code(text, size="1", variant="outline", color_scheme="gray")


def _diff() -> rx.Component:
    return rx.cond(
        ReviewState.last_diff.length() > 0,
        rx.vstack(
            rx.foreach(
                ReviewState.last_diff,
                lambda d: rx.hstack(
                    rx.match(
                        d["kind"],
                        ("added", rx.icon("plus", size=14, color="var(--green-10)")),
                        ("tag_added", rx.icon("plus", size=14, color="var(--green-10)")),
                        ("removed", rx.icon("minus", size=14, color="var(--red-10)")),
                        ("tag_removed", rx.icon("minus", size=14, color="var(--red-10)")),
                        ("relabelled", rx.icon("tag", size=14, color="var(--amber-10)")),
                        rx.icon("move", size=14, color="var(--blue-10)"),
                    ),
                    rx.text(d["text"], size="2"),
                    align="center",
                    spacing="2",
                    class_name="review-diff-line",
                    data_kind=d["kind"],
                ),
            ),
            spacing="1",
            padding="10px 14px",
            border_radius="10px",
            border="1px solid var(--gray-a5)",
            background="var(--color-panel-solid)",
            width="100%",
            id="review-diff",
        ),
    )


def _toolbar() -> rx.Component:
    field_style = {
        "padding": "6px 10px",
        "border": "1px solid var(--gray-a7)",
        "borderRadius": "8px",
        "background": "var(--color-surface)",
        "fontSize": "14px",
        "width": "180px",
    }
    return rx.hstack(
        rx.icon("list-filter", size=16, color="var(--gray-10)"),
        rx.el.input(
            value=ReviewState.producer_filter,
            on_change=ReviewState.set_producer_filter,
            on_key_down=ReviewState.filter_key,
            placeholder="Producer pseudonym",
            id="review-producer",
            style=field_style,
        ),
        rx.el.input(
            value=ReviewState.label_filter,
            on_change=ReviewState.set_label_filter,
            on_key_down=ReviewState.filter_key,
            placeholder="Label",
            id="review-label",
            style=field_style,
        ),
        rx.button("Filter", size="2", variant="soft", on_click=ReviewState.apply_filters),
        rx.cond(
            (ReviewState.producer_filter != "") | (ReviewState.label_filter != ""),
            rx.button("Clear", size="2", variant="ghost", on_click=ReviewState.clear_filters),
        ),
        rx.spacer(),
        rx.cond(
            ReviewState.gold_accuracy != "",
            rx.badge(
                rx.icon("award", size=14),
                "Your accuracy: ",
                ReviewState.gold_accuracy,
                variant="soft",
                color_scheme="amber",
                size="2",
                id="review-gold-accuracy",
            ),
        ),
        rx.text(ReviewState.position, size="2", color_scheme="gray", id="review-position"),
        width="100%",
        align="center",
        spacing="3",
        padding="8px 12px",
        border_radius="10px",
        background="var(--color-panel-solid)",
        border="1px solid var(--gray-a4)",
        margin_bottom="0.75em",
    )


def _palette() -> rx.Component:
    return rx.flex(
        rx.foreach(
            ReviewState.palette,
            lambda name, i: rx.button(
                rx.text(i + 1, size="1", color_scheme="gray", weight="bold"),
                name,
                size="1",
                variant=rx.cond(ReviewState.current_label == name, "solid", "soft"),
                on_click=ReviewState.pick_current(name),
            ),
        ),
        wrap="wrap",
        gap="6px",
    )


def _verdict_panel() -> rx.Component:
    # one line, so that Enter sends without typing a newline (a late change event)
    reason_field = rx.el.input(
        default_value=ReviewState.reason,
        on_change=ReviewState.set_reason,
        on_key_down=lambda key, _info: ReviewState.reason_key(key),
        placeholder="Reason to reject (the producer sees it), Enter",
        aria_label="reason to reject",
        id="review-reason",
        key=ReviewState.image_id,  # a fresh, empty field for each image
        auto_complete="off",
        style={
            "width": "100%",
            "padding": "8px 10px",
            "border": "1px solid var(--gray-a7)",
            "borderRadius": "8px",
            "background": "var(--color-surface)",
            "fontSize": "14px",
        },
    )
    normal = rx.vstack(
        rx.button(
            rx.icon("check", size=16),
            "Accept",
            _key("A"),
            on_click=ReviewState.accept,
            color_scheme="green",
            size="3",
            width="100%",
            id="review-accept",
        ),
        reason_field,
        rx.button(
            rx.icon("x", size=16),
            "Reject",
            _key("R"),
            on_click=ReviewState.reject,
            color_scheme="red",
            variant="soft",
            size="3",
            width="100%",
            id="review-reject",
        ),
        rx.button(
            rx.icon("pencil", size=16),
            "Fix labels",
            _key("F"),
            on_click=ReviewState.start_fix,
            variant="soft",
            size="3",
            width="100%",
            id="review-fix",
        ),
        spacing="2",
        width="100%",
    )
    fixing = rx.vstack(
        rx.callout(
            "Fixing: draw, move or delete boxes (keys 1–9 pick a label), change the tags, then "
            "save. Your fix becomes a new revision and the producer sees what changed.",
            icon="pencil",
            color_scheme="blue",
            size="1",
            id="review-fixing",
        ),
        _palette(),
        rx.text(
            ReviewState.pending_count.to_string(),
            " box changes",
            rx.cond(ReviewState.tags_dirty, ", tags changed", ""),
            size="2",
            color_scheme="gray",
            id="review-pending",
        ),
        rx.hstack(
            rx.button(
                rx.icon("save", size=16),
                "Save fix",
                _key("Ctrl+S"),
                on_click=ReviewState.save_fix,
                size="3",
                flex="1",
                id="review-save-fix",
            ),
            rx.button(
                "Cancel",
                on_click=ReviewState.cancel_fix,
                variant="soft",
                color_scheme="gray",
                size="3",
                id="review-cancel-fix",
            ),
            width="100%",
        ),
        spacing="2",
        width="100%",
    )
    return rx.cond(ReviewState.fixing, fixing, normal)


def _side_panel() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.heading(ReviewState.file_name, size="4", id="review-title"),
                rx.text(
                    "by ",
                    rx.text.strong(ReviewState.producer, id="review-producer-name"),
                    " · revision ",
                    ReviewState.revision.to_string(),
                    " · ",
                    ReviewState.box_count.to_string(),
                    rx.cond(ReviewState.box_count == 1, " box", " boxes"),
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    ReviewState.requested_reason != "",
                    rx.callout(
                        ReviewState.requested_reason,
                        icon="flag",
                        color_scheme="amber",
                        size="1",
                        id="review-requested",
                    ),
                ),
                rx.text("Tags", size="2", weight="bold"),
                rx.cond(
                    ReviewState.fixing,
                    label_picker(
                        chosen=ReviewState.chosen_labels,
                        text=ReviewState.label_text,
                        suggestions=ReviewState.label_suggestions,
                        on_text=ReviewState.set_label_text,
                        on_key=ReviewState.label_key,
                        on_pick=ReviewState.pick_label,
                        on_remove=ReviewState.remove_label,
                        placeholder="Add a tag…",
                        field_id="review-tags",
                    ),
                    rx.cond(
                        ReviewState.tags.length() > 0,
                        rx.flex(
                            rx.foreach(ReviewState.tags, lambda t: label_chip(t)),
                            wrap="wrap",
                            gap="6px",
                            id="review-tag-list",
                        ),
                        rx.text("No tags", size="2", color_scheme="gray"),
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        rx.card(_verdict_panel(), width="100%"),
        rx.hstack(
            rx.button(
                rx.icon("chevron-left", size=16),
                "Previous",
                _key("K"),
                on_click=ReviewState.prev_item,
                variant="soft",
                color_scheme="gray",
                disabled=ReviewState.pos <= 0,
                id="review-prev",
                flex="1",
            ),
            rx.button(
                "Next",
                _key("J"),
                rx.icon("chevron-right", size=16),
                on_click=ReviewState.next_item,
                variant="soft",
                color_scheme="gray",
                disabled=ReviewState.pos + 1 >= ReviewState.queue.length(),
                id="review-next",
                flex="1",
            ),
            width="100%",
        ),
        rx.button(
            rx.icon("award", size=14),
            "Mark labels as verified gold",
            on_click=ReviewState.mark_gold,
            variant="ghost",
            size="1",
            id="review-mark-gold",
        ),
        width="340px",
        flex_shrink="0",
        spacing="3",
    )


def _body() -> rx.Component:
    return rx.hstack(
        rx.box(
            box_editor(
                src=ReviewState.src,
                image_width=ReviewState.width,
                image_height=ReviewState.height,
                boxes=ReviewState.boxes,
                boxes_key=ReviewState.boxes_key,
                labels=ReviewState.palette,
                current_label=ReviewState.current_label,
                command=ReviewState.command,
                read_only=~ReviewState.fixing,
                height="68vh",
                on_create=ReviewState.on_create,
                on_update=ReviewState.on_update,
                on_delete=ReviewState.on_delete,
                on_label_key=ReviewState.on_label_key,
                on_save=ReviewState.save_fix,
            ),
            flex="1",
            min_width="0",
            border_radius="12px",
            overflow="hidden",
            border=rx.cond(
                ReviewState.fixing, "2px solid var(--blue-8)", "1px solid var(--gray-a5)"
            ),
        ),
        _side_panel(),
        width="100%",
        align="start",
        spacing="4",
    )


@rx.page(
    route=routes.REVIEW,
    title="Review · LabelHub",
    on_load=[AuthState.require_user, ReviewState.load],
)
def review_page() -> rx.Component:
    content = rx.cond(
        ~ReviewState.allowed,
        empty_state(
            "shield-check",
            "Reviewers only",
            "Reviewing producers' labels needs the reviewer role. Ask an admin for it.",
        ),
        rx.cond(
            ReviewState.image_id != "",
            _body(),
            rx.cond(
                ReviewState.loaded,
                empty_state(
                    "badge-check",
                    "Nothing to review",
                    "Every labelled image here has been reviewed. New uploads and images that "
                    "labellers disagree on appear here first.",
                ),
            ),
        ),
    )
    return page_frame(
        rx.box(
            _toolbar(),
            error_callout(ReviewState.error, margin_bottom="0.75em"),
            info_callout(ReviewState.notice, margin_bottom="0.5em", id="review-notice"),
            _diff(),
            rx.box(height="0.75em"),
            content,
            id="review-page",
        ),
        title="Review",
        subtitle="Check producers' labels: A accept · R reject · F fix · J / K next / previous.",
    )
