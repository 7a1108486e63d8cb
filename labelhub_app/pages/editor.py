"""The labelling editor: boxes and tags of one image, revision history, and the labelling stream.

Boxes are drawn, moved and resized in the browser (components/box_editor.py); only finished
edits reach this state, which keeps them as pending edits until a save (Ctrl+S, Space, the Save
button) turns them into one revision. A failed save keeps them, so nothing drawn is lost; a
save refused because someone else saved first offers a reload that keeps the edits on top.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.box_editor import box_editor
from labelhub_app.components.common import error_callout, label_input, label_options
from labelhub_app.components.label_picker import label_picker
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import Conflict, LabelHubError
from labelhub_app.services import annotations as ann
from labelhub_app.services import labels as label_service
from labelhub_app.state.auth import AuthState, current_user
from labelhub_app.state.label_picker import LabelPickerMixin

STREAM_STATUSES = {"no_boxes": "Without boxes", "unlabelled": "Unlabelled", "all": "All my images"}
SHORTCUTS = (
    ("drag", "draw a box on empty image"),
    ("N", "draw a box, even over other boxes"),
    ("1 – 9", "pick a label (relabels the selected box)"),
    ("Delete", "delete the selected box"),
    ("Tab, Shift+Tab", "next / previous suggestion (best score first)"),
    ("A", "accept the selected suggestion (none selected: select the best)"),
    ("X", "reject the selected suggestion (none selected: select the best)"),
    ("← ↑ → ↓", "nudge the selected box (Shift: 10 px)"),
    ("Ctrl+Z", "undo"),
    ("Ctrl+Shift+Z", "redo"),
    ("Ctrl+S", "save"),
    ("Space", "save and go to the next image"),
    ("wheel, + / −", "zoom"),
    ("F", "fit the image"),
    ("Shift+drag", "pan"),
    ("Esc", "deselect"),
    ("?", "this help"),
)


def apply_edits(boxes: list[dict[str, Any]], edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The boxes with pending edits applied on top (used to rebase after a reload)."""
    by_id = {b["id"]: b for b in boxes}
    for e in edits:
        box = e["box"]
        if e["kind"] == "delete":
            by_id.pop(box["id"], None)
        else:
            by_id[box["id"]] = box
    return list(by_id.values())


class EditorState(LabelPickerMixin, rx.State):
    image_id: str = ""
    file_name: str = ""
    width: int = 0
    height: int = 0
    src: str = ""
    owner: str = ""
    may_edit: bool = False
    revision: int = 0
    boxes: list[dict[str, Any]] = []
    boxes_key: int = 0
    box_count: int = 0
    palette: list[str] = []
    current_label: str = ""
    command: dict[str, Any] = {"seq": 0}
    selected: dict[str, Any] = {}
    relabel_text: str = ""
    known_labels: list[str] = []
    pending_count: int = 0
    tags_dirty: bool = False
    status: str = ""
    error: str = ""
    conflict: bool = False
    show_help: bool = False
    history: list[dict[str, Any]] = []
    previewing: int = 0
    # the stream
    stream_status: str = "no_boxes"
    stream_label: str = ""
    stream_since: str = ""
    next_id: str = ""
    next_src: str = ""
    loaded: bool = False
    # suggestions (boxes with source "model"): their count, and the "accept all >=" threshold
    suggestion_count: int = 0
    above_count: int = 0
    threshold_pct: int = 80
    _suggestions: dict[str, float] = {}
    _pending: list[dict[str, Any]] = []
    _save_key: str = ""

    @rx.var
    def unsaved(self) -> bool:
        return self.pending_count > 0 or self.tags_dirty

    @rx.var
    def relabel_is_new(self) -> bool:
        text = label_service.normalise_label(self.relabel_text)
        return bool(text) and text not in self.known_labels

    def _labels_changed(self):  # type: ignore[no-untyped-def]
        """The tag picker changed the image tags: saved with the next save."""
        self.tags_dirty = True
        self.status = ""
        return None

    # --- loading ---

    async def _base(self) -> str:
        return (await self.get_state(AuthState)).api_base

    def _filter(self) -> ann.StreamFilter:
        since = None
        if self.stream_since:
            try:
                since = datetime.fromisoformat(self.stream_since).astimezone()
            except ValueError:
                since = None
        return ann.StreamFilter(self.stream_status, self.stream_label.strip() or None, since)  # type: ignore[arg-type]

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        """on_load: open the image in the URL, or the first of the stream when there is none."""
        image_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        if image_id in ("label", ""):
            return await self._open_first()
        await self._open(image_id)
        return None

    async def _open_first(self):  # type: ignore[no-untyped-def]
        with session_scope() as session:
            user = await current_user(self, session)
            try:
                ids = ann.stream_images(session, actor=user, flt=self._filter(), limit=1)
            except LabelHubError as exc:
                self.error = exc.message
                return None
        if not ids:
            self.loaded, self.image_id = True, ""
            return None
        return rx.redirect(routes.label(ids[0]))

    async def _open(self, image_id: str) -> None:
        self.error, self.conflict, self.previewing, self.show_help = "", False, 0, False
        base = await self._base()
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                view = ann.load_annotations(session, actor=user, image_id=image_id)
                history = ann.list_revisions(session, actor=user, image_id=image_id, limit=50)
                following = (
                    ann.stream_images(
                        session, actor=user, flt=self._filter(), after=image_id, limit=1
                    )
                    if view.may_edit
                    else []
                )
                if not self.known_labels:
                    self.known_labels = label_service.all_label_names(session)
                frequent = ann.frequent_labels(session, actor=user) if user else []
        except LabelHubError as exc:
            self.error, self.loaded, self.image_id = exc.message, True, ""
            return
        self.image_id, self.file_name, self.width, self.height = (
            view.image_id,
            view.file_name,
            view.width,
            view.height,
        )
        self.src = f"{base}{routes.API}/images/{view.image_id}/private-thumb/1024"
        self.owner, self.may_edit, self.revision = (
            view.owner_pseudonym,
            view.may_edit,
            view.revision,
        )
        self._show(view.boxes)
        self.chosen_labels = view.tags
        self._pending, self.pending_count, self.tags_dirty, self._save_key = [], 0, False, ""
        self.selected, self.relabel_text = {}, ""
        used = list(
            dict.fromkeys([*(b["label"] for b in view.boxes), *view.tags, *self.palette, *frequent])
        )
        self.palette = used[:9]
        if not self.current_label or self.current_label not in self.palette:
            self.current_label = self.palette[0] if self.palette else "object"
        self.history = self._history_rows(history)
        self.next_id = following[0] if following else ""
        self.next_src = (
            f"{base}{routes.API}/images/{self.next_id}/private-thumb/1024" if self.next_id else ""
        )
        self.status = f"Revision {view.revision}" if view.revision else "Not labelled yet"
        self.loaded = True

    def _show(self, boxes: list[dict[str, Any]]) -> None:
        self.boxes = boxes
        self.boxes_key += 1
        self.box_count = len(boxes)
        self._suggestions = {
            b["id"]: float(b.get("score") or 0.0) for b in boxes if b.get("source") == "model"
        }
        self._count_suggestions()

    def _count_suggestions(self) -> None:
        self.suggestion_count = len(self._suggestions)
        limit = self.threshold_pct / 100
        self.above_count = sum(1 for s in self._suggestions.values() if s >= limit - 1e-9)

    @staticmethod
    def _history_rows(rows: list[ann.RevisionRow]) -> list[dict[str, Any]]:
        return [
            {
                "number": r.number,
                "author": r.author,
                "when": r.created_at.strftime("%d %b %H:%M"),
                "kind": f"restore of {r.restored_from}" if r.kind == "restore" else r.kind,
                "summary": r.summary,
            }
            for r in rows
        ]

    # --- edits from the canvas ---

    def _edit(self, kind: str, box: dict[str, Any]) -> None:
        if self.previewing:
            return
        self._pending = [*self._pending, {"kind": kind, "box": box}]
        self.pending_count = len(
            ann.coalesce_edits(ann.BoxEdit(e["kind"], e["box"]) for e in self._pending)
        )
        self.box_count += {"create": 1, "delete": -1}.get(kind, 0)
        box_id = str(box.get("id", ""))
        if kind != "delete" and box.get("source") == "model":
            self._suggestions = {**self._suggestions, box_id: float(box.get("score") or 0.0)}
            self._count_suggestions()
        elif box_id in self._suggestions:
            self._suggestions = {k: v for k, v in self._suggestions.items() if k != box_id}
            self._count_suggestions()
        self._save_key = ""  # new edits: a new save
        self.status = "" if self.pending_count or self.tags_dirty else f"Revision {self.revision}"
        if box.get("label") and box["label"] not in self.palette:
            self.palette = [*self.palette, box["label"]][-9:]

    @rx.event
    def on_create(self, box: dict[str, Any]) -> None:
        self._edit("create", box)

    @rx.event
    def on_update(self, box: dict[str, Any]) -> None:
        self._edit("update", box)
        if self.selected.get("id") == box.get("id"):
            self.selected = box

    @rx.event
    def on_delete(self, box: dict[str, Any]) -> None:
        self._edit("delete", box)
        if self.selected.get("id") == box.get("id"):
            self.selected = {}

    @rx.event
    def on_select(self, box: dict[str, Any]) -> None:
        self.selected = box
        self.relabel_text = box.get("label", "") if box else ""

    @rx.event
    def on_label_key(self, label: str) -> None:
        self.current_label = label

    @rx.event
    def pick_current(self, label: str) -> None:
        self.current_label = label

    @rx.event
    def set_relabel_text(self, value: str) -> None:
        self.relabel_text = value

    @rx.event
    def relabel_key(self, key: str):  # type: ignore[no-untyped-def]
        return self.apply_relabel() if key == "Enter" else None

    @rx.event
    def apply_relabel(self):  # type: ignore[no-untyped-def]
        try:
            label = label_service.check_label_name(self.relabel_text)
        except LabelHubError as exc:
            self.error = exc.message
            return None
        self.error = ""
        if label not in self.palette:
            self.palette = [*self.palette, label][-9:]
        if not self.selected:
            self.current_label = label
            return None
        self.command = {
            "seq": self.command.get("seq", 0) + 1,
            "kind": "relabel",
            "id": self.selected["id"],
            "label": label,
        }
        return None

    @rx.event
    def delete_selected(self) -> None:
        if self.selected:
            self.command = {
                "seq": self.command.get("seq", 0) + 1,
                "kind": "delete",
                "id": self.selected["id"],
            }

    @rx.event
    def view_command(self, kind: str) -> None:
        self.command = {"seq": self.command.get("seq", 0) + 1, "kind": kind}

    # --- suggestions: the canvas turns these commands into edits (undoable, saved as usual) ---

    @rx.event
    def accept_selected(self) -> None:
        self.command = {"seq": self.command.get("seq", 0) + 1, "kind": "accept", "id": ""}

    @rx.event
    def reject_selected(self) -> None:
        self.command = {"seq": self.command.get("seq", 0) + 1, "kind": "reject", "id": ""}

    @rx.event
    def next_suggestion(self) -> None:
        self.command = {"seq": self.command.get("seq", 0) + 1, "kind": "next_suggestion", "dir": 1}

    @rx.event
    def accept_all_above(self) -> None:
        if not self.may_edit or self.previewing:
            return
        self.command = {
            "seq": self.command.get("seq", 0) + 1,
            "kind": "accept_all",
            "threshold": self.threshold_pct / 100,
        }

    def _set_threshold_pct(self, pct: float) -> None:
        self.threshold_pct = max(0, min(100, round(pct)))
        self._count_suggestions()

    @rx.event
    def set_threshold(self, value: list[int | float]) -> None:
        if value:
            self._set_threshold_pct(float(value[0]))

    @rx.event
    def set_threshold_text(self, value: str) -> None:
        """The number field next to the slider: a score from 0 to 1."""
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            return
        self._set_threshold_pct(number * 100)

    @rx.var
    def selected_score(self) -> str:
        score = self.selected.get("score")
        return f"{score:.2f}" if isinstance(score, int | float) else "–"

    @rx.var
    def threshold_text(self) -> str:
        return f"{self.threshold_pct / 100:.2f}"

    @rx.event
    def toggle_help(self) -> None:
        self.show_help = not self.show_help

    @rx.event
    def set_show_help(self, value: bool) -> None:
        self.show_help = value

    # --- saving ---

    async def _save(self) -> bool:
        if self.previewing or not self.may_edit:
            return True
        if not self._pending and not self.tags_dirty:
            return True
        if not self._save_key:
            self._save_key = uuid.uuid4().hex
        edits = [ann.BoxEdit(e["kind"], e["box"]) for e in self._pending]
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                result = ann.save_annotations(
                    session,
                    actor=user,
                    image_id=self.image_id,
                    base_revision=self.revision,
                    edits=edits,
                    tags=list(self.chosen_labels) if self.tags_dirty else None,
                    save_key=self._save_key,
                )
                history = ann.list_revisions(session, actor=user, image_id=self.image_id, limit=50)
        except Conflict as exc:
            self.error, self.conflict = exc.message, True
            return False
        except LabelHubError as exc:
            self.error = f"{exc.message} Your edits are still here."
            return False
        except Exception:  # the database went away, a bug: keep everything, say so, let them retry
            self.error = "Saving failed on our side. Your edits are kept in this page; press Ctrl+S to try again."
            return False
        self._pending, self.pending_count, self.tags_dirty, self._save_key = [], 0, False, ""
        self.revision, self.box_count = result.revision, result.boxes
        self.history = self._history_rows(history)
        self.error, self.conflict = "", False
        self.status = f"Saved · revision {result.revision} ({result.summary})"
        return True

    @rx.event
    async def save(self) -> None:
        await self._save()

    @rx.event
    async def save_next(self):  # type: ignore[no-untyped-def]
        if not await self._save():
            return None
        return self._go_next()

    def _go_next(self):  # type: ignore[no-untyped-def]
        if self.next_id:
            return rx.redirect(routes.label(self.next_id))
        self.status = "That was the last image in this stream. Well done!"
        return None

    @rx.event
    def skip(self):  # type: ignore[no-untyped-def]
        if self.unsaved:
            self.error = "You have unsaved changes: save them (Ctrl+S) or undo them before skipping this image."
            return None
        return self._go_next()

    @rx.event
    async def reload_keeping_edits(self) -> None:
        """After a conflict: load the latest revision and put the unsaved edits back on top."""
        pending, tags, tags_dirty = list(self._pending), list(self.chosen_labels), self.tags_dirty
        await self._open(self.image_id)
        if pending:
            self._pending = pending
            self.pending_count = len(
                ann.coalesce_edits(ann.BoxEdit(e["kind"], e["box"]) for e in pending)
            )
            self._show(apply_edits(self.boxes, pending))
        if tags_dirty:
            self.chosen_labels, self.tags_dirty = tags, True
        self.status = (
            "Reloaded the latest revision with your unsaved edits on top. Check them, then save."
        )

    # --- history ---

    @rx.event
    async def preview(self, number: int) -> None:
        if self.unsaved:
            self.error = "Save or undo your changes before previewing an older revision."
            return
        with session_scope() as session:
            user = await current_user(self, session)
            state = ann.preview_revision(session, actor=user, image_id=self.image_id, number=number)
        self.previewing = number
        self._show(state.boxes)
        self.status = f"Previewing revision {number} ({len(state.boxes)} boxes, tags: {', '.join(state.tags) or 'none'})"

    @rx.event
    async def back_to_current(self) -> None:
        await self._open(self.image_id)

    @rx.event
    async def restore(self, number: int) -> None:
        if self.unsaved:  # restoring reloads the image: unsaved edits would silently go
            self.error = "Save or undo your changes before restoring an older revision."
            return
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                result = ann.restore_revision(
                    session,
                    actor=user,
                    image_id=self.image_id,
                    number=number,
                    base_revision=self.revision,
                )
        except LabelHubError as exc:
            self.error = exc.message
            return
        await self._open(self.image_id)
        self.status = f"Saved · revision {result.revision} ({result.summary})"

    # --- stream filters ---

    @rx.event
    def set_stream_status(self, value: str):  # type: ignore[no-untyped-def]
        self.stream_status = value
        # give the keys back to the editor (Space would reopen the select otherwise)
        return [EditorState.restart_stream, rx.call_script("document.activeElement?.blur()")]

    @rx.event
    def set_stream_label(self, value: str) -> None:
        self.stream_label = value

    @rx.event
    def set_stream_since(self, value: str):  # type: ignore[no-untyped-def]
        self.stream_since = value
        return EditorState.restart_stream

    @rx.event
    def stream_label_key(self, key: str):  # type: ignore[no-untyped-def]
        return EditorState.restart_stream if key == "Enter" else None

    @rx.event
    async def restart_stream(self):  # type: ignore[no-untyped-def]
        if self.unsaved and not await self._save():
            return None
        return await self._open_first()


# --- view ---------------------------------------------------------------------------------------


def _palette() -> rx.Component:
    return rx.flex(
        rx.foreach(
            EditorState.palette,
            lambda name, i: rx.button(
                rx.text(i + 1, size="1", color_scheme="gray", weight="bold"),
                name,
                size="1",
                variant=rx.cond(EditorState.current_label == name, "solid", "soft"),
                on_click=EditorState.pick_current(name),
                class_name="palette-label",
            ),
        ),
        wrap="wrap",
        gap="6px",
    )


def _selected_panel() -> rx.Component:
    return rx.vstack(
        rx.text(
            rx.cond(EditorState.selected.contains("id"), "Selected box", "Label for new boxes"),
            size="2",
            weight="bold",
        ),
        rx.hstack(
            label_input(
                options_id="editor-labels",
                width="flex",
                value=EditorState.relabel_text,
                on_change=EditorState.set_relabel_text,
                on_key_down=EditorState.relabel_key,
                id="relabel",
                placeholder=rx.cond(
                    EditorState.selected.contains("id"),
                    "new label, Enter",
                    EditorState.current_label,
                ),
            ),
            rx.button("Apply", size="2", variant="soft", on_click=EditorState.apply_relabel),
            width="100%",
        ),
        rx.cond(
            EditorState.relabel_is_new,
            rx.text(
                "New label: it will be added to the taxonomy when you save.",
                size="1",
                color_scheme="amber",
            ),
        ),
        rx.cond(
            EditorState.selected["source"].to(str) == "model",
            rx.vstack(
                rx.badge(
                    rx.icon("sparkles", size=12),
                    "Suggestion · score ",
                    EditorState.selected_score,
                    variant="soft",
                    color_scheme="violet",
                    id="selected-suggestion",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("check", size=14),
                        "Accept",
                        rx.code("A", size="1", variant="outline", color_scheme="gray"),
                        size="2",
                        color_scheme="green",
                        on_click=EditorState.accept_selected,
                        disabled=~EditorState.may_edit,
                        id="accept-suggestion",
                        flex="1",
                    ),
                    rx.button(
                        rx.icon("x", size=14),
                        "Reject",
                        rx.code("X", size="1", variant="outline", color_scheme="gray"),
                        size="2",
                        color_scheme="red",
                        variant="soft",
                        on_click=EditorState.reject_selected,
                        disabled=~EditorState.may_edit,
                        id="reject-suggestion",
                        flex="1",
                    ),
                    width="100%",
                    spacing="2",
                ),
                width="100%",
                spacing="2",
                padding="8px",
                border_radius="8px",
                background="var(--violet-a2)",
                border="1px dashed var(--violet-a7)",
            ),
        ),
        rx.cond(
            EditorState.selected.contains("id"),
            rx.hstack(
                rx.text(
                    EditorState.selected["w"].to(int).to_string(),
                    " × ",
                    EditorState.selected["h"].to(int).to_string(),
                    " px at (",
                    EditorState.selected["x"].to(int).to_string(),
                    ", ",
                    EditorState.selected["y"].to(int).to_string(),
                    ")",
                    size="1",
                    color_scheme="gray",
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("trash-2", size=12),
                    "Delete",
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    on_click=EditorState.delete_selected,
                ),
                width="100%",
                align="center",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _suggestions_card() -> rx.Component:
    """Shown while the image has suggestions: how many, the keys, and "accept all >= score"."""
    return rx.cond(
        EditorState.suggestion_count > 0,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("sparkles", size=16, color="var(--violet-9)"),
                    rx.text("Suggestions", size="2", weight="bold"),
                    rx.badge(
                        EditorState.suggestion_count.to_string(),
                        color_scheme="violet",
                        radius="full",
                        id="suggestion-count",
                    ),
                    rx.spacer(),
                    rx.button(
                        "Next",
                        rx.code("Tab", size="1", variant="ghost"),
                        size="1",
                        variant="ghost",
                        on_click=EditorState.next_suggestion,
                        id="next-suggestion",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.text(
                    "Dashed boxes come from the detector. ",
                    rx.code("A"),
                    " accepts the selected one, ",
                    rx.code("X"),
                    " rejects it; both go to the next. Save as usual.",
                    size="1",
                    color_scheme="gray",
                ),
                rx.hstack(
                    rx.text("Score ≥", size="2", white_space="nowrap"),
                    rx.slider(
                        value=[EditorState.threshold_pct],
                        min=0,
                        max=100,
                        step=5,
                        on_change=EditorState.set_threshold,
                        size="1",
                        flex="1",
                        id="threshold-slider",
                    ),
                    rx.input(
                        value=EditorState.threshold_text,
                        on_change=EditorState.set_threshold_text,
                        type="number",
                        min=0,
                        max=1,
                        step=0.05,
                        size="1",
                        width="64px",
                        id="threshold",
                        aria_label="minimum score",
                    ),
                    width="100%",
                    align="center",
                    spacing="2",
                ),
                rx.button(
                    rx.icon("check-check", size=14),
                    "Accept all ≥ ",
                    EditorState.threshold_text,
                    " (",
                    EditorState.above_count.to_string(),
                    ")",
                    size="2",
                    color_scheme="green",
                    variant="soft",
                    width="100%",
                    on_click=EditorState.accept_all_above,
                    disabled=~EditorState.may_edit
                    | (EditorState.above_count == 0)
                    | (EditorState.previewing > 0),
                    id="accept-all",
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            id="suggestions-card",
        ),
    )


def _history() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("History", size="2", weight="bold"),
            rx.spacer(),
            rx.cond(
                EditorState.previewing > 0,
                rx.button("Back to current", size="1", on_click=EditorState.back_to_current),
            ),
            width="100%",
            align="center",
        ),
        rx.scroll_area(
            rx.vstack(
                rx.foreach(
                    EditorState.history,
                    lambda r: rx.hstack(
                        rx.badge(r["number"].to_string(), variant="soft", radius="full"),
                        rx.vstack(
                            rx.text(r["summary"].to(str), size="1", weight="medium"),
                            rx.text(
                                r["author"].to(str),
                                " · ",
                                r["when"].to(str),
                                " · ",
                                r["kind"].to(str),
                                size="1",
                                color_scheme="gray",
                            ),
                            spacing="0",
                            flex="1",
                        ),
                        rx.button(
                            "View",
                            size="1",
                            variant="ghost",
                            on_click=EditorState.preview(r["number"].to(int)),
                            class_name="preview-revision",
                        ),
                        rx.cond(
                            r["number"].to(int) != EditorState.revision,
                            rx.button(
                                "Restore",
                                size="1",
                                variant="soft",
                                on_click=EditorState.restore(r["number"].to(int)),
                                class_name="restore-revision",
                            ),
                        ),
                        width="100%",
                        align="center",
                        padding_y="4px",
                        border_bottom="1px solid var(--gray-a3)",
                        class_name="revision-row",
                    ),
                ),
                spacing="0",
                width="100%",
            ),
            max_height="220px",
            type="hover",
            scrollbars="vertical",
        ),
        spacing="2",
        width="100%",
    )


def _help_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Keyboard shortcuts"),
            rx.grid(
                *[rx.fragment(rx.code(k), rx.text(v, size="2")) for k, v in SHORTCUTS],
                columns="auto 1fr",
                gap="8px 16px",
                align_items="center",
            ),
            rx.dialog.close(rx.button("Close", margin_top="1em", variant="soft")),
            id="shortcut-help",
        ),
        open=EditorState.show_help,
        on_open_change=EditorState.set_show_help,
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(EditorState.file_name, size="5", id="editor-title"),
            rx.text(
                EditorState.width.to_string(),
                " × ",
                EditorState.height.to_string(),
                " px · by ",
                EditorState.owner,
                " · ",
                EditorState.box_count.to_string(),
                rx.cond(EditorState.box_count == 1, " box", " boxes"),
                size="2",
                color_scheme="gray",
            ),
            spacing="0",
        ),
        rx.spacer(),
        rx.hstack(
            rx.icon_button(
                rx.icon("zoom-out", size=16),
                variant="soft",
                on_click=EditorState.view_command("zoom_out"),
                aria_label="zoom out",
            ),
            rx.icon_button(
                rx.icon("maximize", size=16),
                variant="soft",
                on_click=EditorState.view_command("fit"),
                aria_label="fit",
            ),
            rx.icon_button(
                rx.icon("zoom-in", size=16),
                variant="soft",
                on_click=EditorState.view_command("zoom_in"),
                aria_label="zoom in",
            ),
            rx.icon_button(
                rx.icon("keyboard", size=16),
                variant="soft",
                on_click=EditorState.toggle_help,
                aria_label="shortcuts",
            ),
            spacing="2",
        ),
        rx.text(
            rx.cond(
                EditorState.unsaved,
                rx.text(
                    EditorState.pending_count.to_string(), " unsaved changes", color_scheme="amber"
                ),
                EditorState.status,
            ),
            size="2",
            id="save-status",
            min_width="220px",
            text_align="right",
        ),
        rx.button(
            rx.icon("save", size=16),
            "Save",
            on_click=EditorState.save,
            id="save",
            disabled=~EditorState.may_edit,
        ),
        rx.button(
            "Save & next",
            rx.icon("arrow-right", size=16),
            on_click=EditorState.save_next,
            id="save-next",
            variant="soft",
            disabled=~EditorState.may_edit,
        ),
        width="100%",
        align="center",
        spacing="3",
        margin_bottom="0.75em",
    )


def _stream_bar() -> rx.Component:
    return rx.hstack(
        rx.icon("list-video", size=16, color="var(--gray-10)"),
        rx.text("Stream", size="2", weight="bold"),
        rx.select.root(
            rx.select.trigger(id="stream-status"),
            rx.select.content(*[rx.select.item(t, value=v) for v, t in STREAM_STATUSES.items()]),
            value=EditorState.stream_status,
            on_change=EditorState.set_stream_status,
        ),
        label_input(
            options_id="editor-labels",
            width="150px",
            placeholder="label, Enter",
            value=EditorState.stream_label,
            on_change=EditorState.set_stream_label,
            on_key_down=EditorState.stream_label_key,
            id="stream-label",
        ),
        rx.text("uploaded since", size="2", color_scheme="gray"),
        rx.input(
            type="date",
            value=EditorState.stream_since,
            on_change=EditorState.set_stream_since,
            size="1",
            id="stream-since",
        ),
        rx.spacer(),
        rx.cond(
            EditorState.next_id != "",
            rx.button(
                "Skip",
                rx.icon("skip-forward", size=14),
                size="1",
                variant="ghost",
                on_click=EditorState.skip,
            ),
            rx.text("last image in this stream", size="1", color_scheme="gray"),
        ),
        width="100%",
        align="center",
        spacing="3",
        padding="8px 12px",
        border_radius="10px",
        background="var(--color-panel-solid)",
        border="1px solid var(--gray-a4)",
        margin_bottom="0.75em",
    )


def _editor_body() -> rx.Component:
    return rx.hstack(
        rx.box(
            box_editor(
                src=EditorState.src,
                image_width=EditorState.width,
                image_height=EditorState.height,
                boxes=EditorState.boxes,
                boxes_key=EditorState.boxes_key,
                labels=EditorState.palette,
                current_label=EditorState.current_label,
                command=EditorState.command,
                read_only=~EditorState.may_edit | (EditorState.previewing > 0),
                height="72vh",
                on_create=EditorState.on_create,
                on_update=EditorState.on_update,
                on_delete=EditorState.on_delete,
                on_select=EditorState.on_select,
                on_label_key=EditorState.on_label_key,
                on_save=EditorState.save,
                on_save_next=EditorState.save_next,
                on_help=EditorState.toggle_help,
            ),
            flex="1",
            min_width="0",
            border_radius="12px",
            overflow="hidden",
            border="1px solid var(--gray-a5)",
        ),
        rx.vstack(
            _suggestions_card(),
            rx.card(
                rx.vstack(
                    rx.text("Labels (keys 1–9)", size="2", weight="bold"),
                    _palette(),
                    _selected_panel(),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
            ),
            rx.card(
                rx.vstack(
                    rx.text("Image tags", size="2", weight="bold"),
                    label_picker(
                        chosen=EditorState.chosen_labels,
                        text=EditorState.label_text,
                        suggestions=EditorState.label_suggestions,
                        on_text=EditorState.set_label_text,
                        on_key=EditorState.label_key,
                        on_pick=EditorState.pick_label,
                        on_remove=EditorState.remove_label,
                        placeholder="Add a tag…",
                        field_id="image-tags",
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
            ),
            rx.card(_history(), width="100%"),
            width="340px",
            min_width="300px",
            spacing="3",
        ),
        width="100%",
        spacing="4",
        align="start",
    )


@rx.page(
    route=routes.LABEL, title="Label · LabelHub", on_load=[AuthState.require_user, EditorState.load]
)
def editor_page() -> rx.Component:
    return _page()


@rx.page(
    route=routes.LABEL_STREAM,
    title="Label · LabelHub",
    on_load=[AuthState.require_user, EditorState.load],
)
def stream_page() -> rx.Component:
    return _page()


def _page() -> rx.Component:
    return page_frame(
        label_options(EditorState.known_labels, "editor-labels"),
        rx.cond(
            EditorState.image_id != "",
            rx.fragment(
                _stream_bar(),
                _toolbar(),
                rx.cond(
                    EditorState.conflict,
                    rx.callout(
                        rx.hstack(
                            rx.text(EditorState.error),
                            rx.spacer(),
                            rx.button(
                                "Reload and keep my edits",
                                size="1",
                                on_click=EditorState.reload_keeping_edits,
                                id="reload-keep",
                            ),
                        ),
                        icon="git-merge",
                        color_scheme="amber",
                        width="100%",
                        margin_bottom="0.75em",
                        id="conflict",
                    ),
                    error_callout(EditorState.error, margin_bottom="0.75em"),
                ),
                _editor_body(),
                rx.cond(
                    EditorState.next_src != "",
                    rx.image(
                        src=EditorState.next_src,
                        width="1px",
                        height="1px",
                        opacity="0",
                        position="absolute",
                        alt="",
                        aria_hidden="true",
                        id="prefetch-next",
                    ),
                ),
                _help_dialog(),
            ),
            rx.cond(
                EditorState.loaded,
                rx.vstack(
                    error_callout(EditorState.error),
                    rx.center(
                        rx.vstack(
                            rx.icon("party-popper", size=32, color="var(--accent-9)"),
                            rx.heading("Nothing left to label", size="5"),
                            rx.text(
                                "No image of yours matches this stream. Upload more or widen the filter.",
                                color_scheme="gray",
                            ),
                            rx.hstack(
                                rx.link(rx.button("Upload images"), href=routes.UPLOAD),
                                rx.button(
                                    "All my images",
                                    variant="soft",
                                    on_click=EditorState.set_stream_status("all"),
                                ),
                            ),
                            align="center",
                            spacing="3",
                        ),
                        padding="4em",
                        width="100%",
                    ),
                ),
                rx.center(rx.spinner(size="3"), padding="4em"),
            ),
        ),
    )
