"""A throwaway page for testing and benchmarking the box editor component (/dev/editor-demo).

Not a product page: it holds a generated 1280x960 image and some boxes, keeps Python's copy of the
boxes (a backend-only dict) up to date from the editor's events, and shows that copy, the event log,
the selected box and the save/next/help counters for the browser tests to read.

Query parameters: ``n`` (random boxes instead of the six fixed ones), ``seed``, ``preview`` (width
of the served preview; the boxes stay in 1280x960 px), ``ro=1`` (read only), ``h`` (editor height).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import random
from typing import Any

import reflex as rx

from labelhub_app.components.box_editor import box_editor

ROUTE = "/dev/editor-demo"
IMAGE_W, IMAGE_H = 1280, 960
LABELS = ["dog", "cat", "car", "person", "bicycle", "tree", "sign", "bird", "boat"]
FIXED_BOXES: list[dict[str, Any]] = [
    {"id": "b1", "label": "dog", "x": 100.0, "y": 100.0, "w": 200.0, "h": 150.0, "source": "human"},
    {"id": "b2", "label": "cat", "x": 500.0, "y": 300.0, "w": 160.0, "h": 120.0, "source": "human"},
    {
        "id": "b3",
        "label": "car",
        "x": 800.0,
        "y": 600.0,
        "w": 240.0,
        "h": 120.0,
        "source": "model",
        "score": 0.87,
    },
    {
        "id": "b4",
        "label": "person",
        "x": 1000.0,
        "y": 80.0,
        "w": 120.0,
        "h": 260.0,
        "source": "human",
    },
    {
        "id": "b5",
        "label": "car",
        "x": 150.0,
        "y": 700.0,
        "w": 180.0,
        "h": 90.0,
        "source": "model",
        "score": 0.42,
    },
    {"id": "b6", "label": "bird", "x": 620.0, "y": 80.0, "w": 60.0, "h": 40.0, "source": "human"},
]
COPY_SHOWN_MAX = 100  # larger copies are summarised (the JSON would be sent on every event)


@functools.lru_cache(maxsize=8)
def demo_image(width: int) -> str:
    """A 4:3 JPEG data URL, ``width`` px wide: a gradient with shapes and a 64 px grid."""
    from PIL import Image, ImageDraw

    height = width * IMAGE_H // IMAGE_W
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    r, g, b = image.split()
    image = Image.merge(
        "RGB", (r, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT), b.point(lambda v: 255 - v))
    )
    draw = ImageDraw.Draw(image)
    rng = random.Random(7)
    for _ in range(14):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = (
            x0 + rng.randrange(width // 10, width // 3),
            y0 + rng.randrange(height // 10, height // 3),
        )
        colour = tuple(rng.randrange(40, 230) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    step = width / IMAGE_W * 64
    for i in range(1, 20):
        draw.line((round(i * step), 0, round(i * step), height), fill=(255, 255, 255), width=1)
        draw.line((0, round(i * step), width, round(i * step)), fill=(255, 255, 255), width=1)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def random_boxes(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` boxes 15-80 px at random places (as in the editor spike), a fifth from a model."""
    rng = random.Random(seed)
    boxes = []
    for i in range(n):
        w, h = rng.uniform(15, 80), rng.uniform(15, 80)
        box: dict[str, Any] = {
            "id": f"b{i}",
            "label": rng.choice(LABELS),
            "x": round(rng.uniform(0, IMAGE_W - w), 1),
            "y": round(rng.uniform(0, IMAGE_H - h), 1),
            "w": round(w, 1),
            "h": round(h, 1),
            "source": "human",
            "score": None,
        }
        if rng.random() < 0.2:
            box["source"], box["score"] = "model", round(rng.uniform(0.3, 0.99), 2)
        boxes.append(box)
    return boxes


def _describe(box: dict[str, Any]) -> str:
    return (
        f"{box.get('id')} {box.get('label')} {box.get('x')},{box.get('y')} "
        f"{box.get('w')}x{box.get('h')}"
    )


class EditorDemoState(rx.State):
    src: str = ""
    image_width: int = IMAGE_W
    image_height: int = IMAGE_H
    boxes: list[dict[str, Any]] = []
    boxes_key: int = 0
    labels: list[str] = LABELS
    current_label: str = LABELS[0]
    command: dict[str, Any] = {}
    read_only: bool = False
    height: str = "70vh"
    selected_id: str = ""
    selected_json: str = "{}"
    copy_json: str = "[]"
    copy_count: int = 0
    log: list[str] = []
    events: int = 0
    saves: int = 0
    save_nexts: int = 0
    helps: int = 0
    _copy: dict[str, dict[str, Any]] = {}
    _seq: int = 0

    @rx.event
    def load(self) -> None:
        params = self.router.url.query_parameters
        n = int(params.get("n", "0") or 0)
        seed = int(params.get("seed", "42") or 42)
        preview = int(params.get("preview", str(IMAGE_W)) or IMAGE_W)
        self.src = demo_image(max(64, min(preview, 4096)))
        self.read_only = params.get("ro", "") == "1"
        self.height = params.get("h", "") or "70vh"
        boxes = random_boxes(n, seed) if n > 0 else [dict(b) for b in FIXED_BOXES]
        self._copy = {b["id"]: dict(b) for b in boxes}
        self.boxes = boxes
        self.boxes_key += 1
        self.current_label = LABELS[0]
        self.log = []
        self.events = self.saves = self.save_nexts = self.helps = 0
        self.selected_id, self.selected_json = "", "{}"
        self._refresh_copy()

    def _refresh_copy(self) -> None:
        self.copy_count = len(self._copy)
        if self.copy_count <= COPY_SHOWN_MAX:
            self.copy_json = json.dumps(sorted(self._copy.values(), key=lambda b: b["id"]))
        else:
            self.copy_json = f"({self.copy_count} boxes)"

    def _note(self, line: str) -> None:
        self.events += 1
        self.log = [f"{self.events}. {line}", *self.log[:39]]

    @rx.event
    def created(self, box: dict[str, Any]) -> None:
        self._copy[box["id"]] = box
        self._refresh_copy()
        self._note(f"create {_describe(box)}")

    @rx.event
    def updated(self, box: dict[str, Any]) -> None:
        self._copy[box["id"]] = box
        self._refresh_copy()
        self._note(f"update {_describe(box)}")
        if box["id"] == self.selected_id:
            self.selected_json = json.dumps(box)

    @rx.event
    def deleted(self, box: dict[str, Any]) -> None:
        self._copy.pop(box["id"], None)
        self._refresh_copy()
        self._note(f"delete {_describe(box)}")

    @rx.event
    def selected(self, box: dict[str, Any]) -> None:
        self.selected_id = str(box.get("id", ""))
        self.selected_json = json.dumps(box)
        self._note(f"select {box.get('id', '-')}")

    @rx.event
    def label_key(self, label: str) -> None:
        self.current_label = label
        self._note(f"label {label}")

    @rx.event
    def pick_label(self, label: str) -> None:
        self.current_label = label

    @rx.event
    def saved(self) -> None:
        self.saves += 1
        self._note("save")

    @rx.event
    def save_next(self) -> None:
        self.save_nexts += 1
        self._note("save and next")

    @rx.event
    def help(self) -> None:
        self.helps += 1
        self._note("help")

    @rx.event
    def send(self, kind: str) -> None:
        """A command to the editor; relabel gives the selected box the next label in the list."""
        self._seq += 1
        label = ""
        if kind == "relabel" and self.selected_id in self._copy:
            now = self._copy[self.selected_id]["label"]
            label = LABELS[(LABELS.index(now) + 1) % len(LABELS)] if now in LABELS else LABELS[0]
        self.command = {"seq": self._seq, "kind": kind, "id": self.selected_id, "label": label}

    @rx.event
    def reload(self) -> None:
        """Load Python's copy back into the editor (what opening the image again would show)."""
        self.boxes = list(self._copy.values())
        self.boxes_key += 1


def _counter(label: str, value: rx.Var[int], element_id: str) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, id=element_id, size="1", weight="bold"),
        gap="4px",
    )


def _panel() -> rx.Component:
    s = EditorDemoState
    return rx.vstack(
        rx.hstack(
            rx.text("Label", size="1", color_scheme="gray"),
            rx.text(s.current_label, id="current-label", size="2", weight="bold"),
            _counter("save", s.saves, "save-count"),
            _counter("next", s.save_nexts, "save-next-count"),
            _counter("help", s.helps, "help-count"),
            _counter("boxes", s.copy_count, "copy-count"),
            gap="10px",
            align="center",
            wrap="wrap",
        ),
        rx.hstack(
            rx.foreach(
                s.labels,
                lambda name: rx.button(
                    name,
                    size="1",
                    variant=rx.cond(s.current_label == name, "solid", "soft"),
                    on_click=EditorDemoState.pick_label(name),
                ),
            ),
            gap="4px",
            wrap="wrap",
        ),
        rx.hstack(
            *[
                rx.button(
                    text,
                    size="1",
                    variant="outline",
                    id=f"cmd-{kind}",
                    on_click=EditorDemoState.send(kind),
                )
                for text, kind in (
                    ("Relabel", "relabel"),
                    ("Delete", "delete"),
                    ("Fit", "fit"),
                    ("Zoom +", "zoom_in"),
                    ("Zoom -", "zoom_out"),
                )
            ],
            rx.button(
                "Reload",
                size="1",
                variant="outline",
                id="cmd-reload",
                on_click=EditorDemoState.reload,
            ),
            gap="4px",
            wrap="wrap",
        ),
        rx.text("Selected", size="1", color_scheme="gray"),
        rx.el.pre(
            s.selected_json,
            id="selected-box",
            style={"fontSize": "11px", "whiteSpace": "pre-wrap", "margin": 0},
        ),
        rx.text("Python's copy", size="1", color_scheme="gray"),
        rx.el.pre(
            s.copy_json,
            id="py-copy",
            style={
                "fontSize": "10px",
                "whiteSpace": "pre-wrap",
                "wordBreak": "break-all",
                "maxHeight": "180px",
                "overflow": "auto",
                "margin": 0,
            },
        ),
        rx.text("Events", size="1", color_scheme="gray"),
        rx.el.pre(
            rx.foreach(s.log, lambda line: rx.el.div(line)),
            id="event-log",
            style={"fontSize": "11px", "margin": 0, "maxHeight": "220px", "overflow": "auto"},
        ),
        width="340px",
        min_width="340px",
        height="calc(100vh - 32px)",
        overflow="auto",
        gap="8px",
        padding="8px",
    )


@rx.page(route=ROUTE, title="Box editor demo · LabelHub", on_load=EditorDemoState.load)
def editor_demo_page() -> rx.Component:
    s = EditorDemoState
    return rx.hstack(
        rx.box(
            box_editor(
                src=s.src,
                image_width=s.image_width,
                image_height=s.image_height,
                boxes=s.boxes,
                boxes_key=s.boxes_key,
                labels=s.labels,
                current_label=s.current_label,
                command=s.command,
                read_only=s.read_only,
                height=s.height,
                id="editor",
                on_create=EditorDemoState.created,
                on_update=EditorDemoState.updated,
                on_delete=EditorDemoState.deleted,
                on_select=EditorDemoState.selected,
                on_label_key=EditorDemoState.label_key,
                on_save=EditorDemoState.saved,
                on_save_next=EditorDemoState.save_next,
                on_help=EditorDemoState.help,
            ),
            flex="1",
            min_width="0",
        ),
        _panel(),
        padding="16px",
        gap="12px",
        align="start",
        width="100%",
    )
