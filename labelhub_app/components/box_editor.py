"""The bounding-box editor: a react-konva canvas wrapped for Reflex.

The browser half is ``assets/box_editor/box_editor.jsx``, a plain asset that Reflex copies to
``.web/public/box_editor/`` (outside the folders its React compiler rewrites). It keeps the boxes
in its own store and sends Python only finished edits, so a page keeps its own copy of the boxes
(a backend-only dict) up to date from the events and never echoes them back into ``boxes``.

Coordinates: every box, in ``boxes`` and in every event, is in ORIGINAL image pixels
(``image_width`` x ``image_height``), top-left origin, rounded to 0.1, whatever the size of the
preview at ``src`` and whatever the zoom.

Contract for pages:
- ``boxes`` is read only when ``boxes_key`` changes (bump it to load an image's boxes; this also
  clears the editor's undo/redo history). Changing ``boxes`` alone does nothing.
- ``command`` is applied once each time its ``seq`` changes: ``{"seq": n, "kind": "relabel",
  "id": ..., "label": ...}``, ``"delete"``, ``"select"``, ``"fit"``, ``"zoom_in"``,
  ``"zoom_out"``. An empty ``id`` means the selected box. The value present when the editor
  mounts is not applied, so keep ``seq`` growing for the whole session. relabel and delete
  emit ``on_update`` / ``on_delete`` like any edit and can be undone.
- Box events carry the whole box ``{id, label, x, y, w, h, source, score}`` (``score`` is None
  for human boxes; editing a model box keeps ``source="model"``). Undo and redo are emitted as
  ordinary create/update/delete events.
- A new box is selected once created (``on_create`` then ``on_select``).
- Suggestions (``source="model"``, drawn dashed with their score): Tab / Shift+Tab select the
  next / previous one (best score first); A accepts the selected one (an ``on_update`` with
  ``source="human"``, ``score=None``), X rejects it (an ``on_delete``), and both then select the
  next suggestion; with no suggestion selected, A and X select the best one. Commands:
  ``{"kind": "accept" | "reject", "id": ...}``, ``{"kind": "next_suggestion", "dir": 1 | -1}``
  and ``{"kind": "accept_all", "threshold": 0.8}`` (every suggestion scoring at least that; one
  undo step).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.event import no_args_event_spec, passthrough_event_spec

# The bridge module under the app's assets/ folder, which Reflex copies to .web/public/.
BRIDGE_MODULE = "$/public/box_editor/box_editor.jsx"


class BoxEditor(rx.NoSSRComponent):
    """Draw, select, move, resize, relabel and delete boxes on an image; keyboard driven.

    NoSSR keeps konva and react-konva's reconciler (~280 KB) in a lazy chunk that only pages
    using the editor load.
    """

    library = BRIDGE_MODULE
    tag = "BoxEditor"
    # react-konva 19.3.x requires React 19.3 (Reflex 0.10.1 ships 19.3.1): re-check on upgrades.
    lib_dependencies: list[str] = ["react-konva@19.3.2", "konva@10.9.1"]  # noqa: RUF012

    src: rx.Var[str]
    image_width: rx.Var[int]
    image_height: rx.Var[int]
    boxes: rx.Var[list[dict]]
    boxes_key: rx.Var[int]
    labels: rx.Var[list[str]]
    current_label: rx.Var[str]
    command: rx.Var[dict]
    read_only: rx.Var[bool]
    height: rx.Var[str]

    on_create: rx.EventHandler[passthrough_event_spec(dict)]
    on_update: rx.EventHandler[passthrough_event_spec(dict)]
    on_delete: rx.EventHandler[passthrough_event_spec(dict)]
    on_select: rx.EventHandler[passthrough_event_spec(dict)]
    on_label_key: rx.EventHandler[passthrough_event_spec(str)]
    on_save: rx.EventHandler[no_args_event_spec]
    on_save_next: rx.EventHandler[no_args_event_spec]
    on_help: rx.EventHandler[no_args_event_spec]


def box_editor(**props: Any) -> rx.Component:
    """``BoxEditor.create(**props)``; see the module docstring for the contract."""
    return BoxEditor.create(**props)
