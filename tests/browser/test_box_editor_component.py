"""The box editor component (labelhub_app/components/box_editor.py) on its demo page.

The demo image is 1280x960 and is served as a 640x480 preview, shown at about 0.63 screen px per
image px: every geometry the editor emits must still be in the original 1280x960 pixels. Mouse
positions are computed from image points through the stage transform (window.__lhEditor), and
assertions read Python's copy of the boxes (#py-copy), which the page keeps from the events alone.
One screen pixel is about 1.6 image px here, hence the 2 px tolerance.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.flows import open_page

DEMO = "/dev/editor-demo"
TOL = 2.0  # image px
Copy = dict[str, dict[str, Any]]
FIXED = {  # some of the demo page's six boxes b1..b6 (labelhub_app/pages/editor_demo.py)
    "b1": (100, 100, 200, 150),
    "b2": (500, 300, 160, 120),
    "b6": (620, 80, 60, 40),
}
FIXED_IDS = {f"b{i}" for i in range(1, 7)}


def open_editor(page: Page, query: str = "?preview=640") -> None:
    open_page(page, DEMO + query)
    page.wait_for_function(
        """() => { const e = window.__lhEditor;
                   return !!e && e.imageReady && e.store.boxes.length > 0
                          && e.lastDrawn === e.store.boxes.length; }"""
    )
    expect(page.locator("#copy-count")).not_to_have_text("0")


def client(page: Page, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of the image point (x, y) in original image px."""
    p = page.evaluate("([x, y]) => window.__lhEditor.toClient(x, y)", [x, y])
    return p["x"], p["y"]


def drag(page: Page, start: tuple[float, float], end: tuple[float, float], steps: int = 10) -> None:
    """Press at image point ``start``, move to ``end``, release (both in image px)."""
    sx, sy = client(page, *start)
    ex, ey = client(page, *end)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=steps)
    page.mouse.up()


def click(page: Page, x: float, y: float) -> None:
    page.mouse.click(*client(page, x, y))


def py_copy(page: Page) -> Copy:
    return {b["id"]: b for b in json.loads(page.locator("#py-copy").text_content() or "[]")}


def wait_copy(page: Page, check: Callable[[Copy], bool], timeout: float = 10.0) -> Copy:
    """Python's copy once ``check`` holds (events reach the server asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        copy = py_copy(page)
        if check(copy):
            return copy
        if time.monotonic() > deadline:
            raise AssertionError(f"Python's copy never matched: {json.dumps(copy)[:2000]}")
        page.wait_for_timeout(50)


def near(box: dict[str, Any], x: float, y: float, w: float, h: float, tol: float = TOL) -> bool:
    return all(abs(box[k] - v) <= tol for k, v in zip("xywh", (x, y, w, h), strict=True))


def new_boxes(copy: Copy) -> list[dict[str, Any]]:
    return [b for i, b in copy.items() if i not in FIXED_IDS]


def geometry(copy: Copy) -> dict[str, tuple[str, float, float, float, float]]:
    return {i: (b["label"], b["x"], b["y"], b["w"], b["h"]) for i, b in copy.items()}


def select(page: Page, box_id: str) -> None:
    x, y, w, h = FIXED[box_id]
    click(page, x + w / 2, y + h / 2)
    page.wait_for_function("(id) => window.__lhEditor.selectedId === id", arg=box_id)
    expect(page.locator("#selected-box")).to_contain_text(f'"id": "{box_id}"')


def editor(page: Page, expression: str) -> Any:
    return page.evaluate(f"() => window.__lhEditor.{expression}")


def test_draw_box_emits_original_pixels(page: Page, shot) -> None:  # type: ignore[no-untyped-def]
    open_editor(page)
    assert 0.5 < editor(page, "scale") < 0.8  # the image is shown scaled
    drag(page, (300, 420), (480, 560))
    copy = wait_copy(page, lambda c: len(c) == 7)
    (new,) = new_boxes(copy)
    assert near(new, 300, 420, 180, 140), new
    assert new["label"] == "dog" and new["source"] == "human"
    assert editor(page, "selectedId") == new["id"]  # a new box is selected, ready to relabel
    shot(page, "box-editor-drawn")


def test_tiny_drag_creates_nothing(page: Page) -> None:
    open_editor(page)
    drag(page, (400, 460), (470, 460))  # 70 x 0 px
    page.wait_for_timeout(300)
    assert len(py_copy(page)) == 6
    assert editor(page, "store.boxes.length") == 6


def test_press_and_drag_moves_a_box(page: Page) -> None:
    open_editor(page)
    drag(page, (200, 175), (300, 225))
    copy = wait_copy(page, lambda c: abs(c["b1"]["x"] - 200) <= TOL)
    assert near(copy["b1"], 200, 150, 200, 150)
    assert editor(page, "selectedId") == "b1"


def test_resize_by_bottom_right_handle(page: Page) -> None:
    open_editor(page)
    select(page, "b1")
    drag(page, (300, 250), (360, 330))
    copy = wait_copy(page, lambda c: abs(c["b1"]["w"] - 260) <= TOL)
    assert near(copy["b1"], 100, 100, 260, 230)
    store_box = editor(page, "store.byId.get('b1')")
    assert near(store_box, 100, 100, 260, 230)


def test_number_key_relabels_selected_box(page: Page) -> None:
    open_editor(page)
    select(page, "b1")
    page.keyboard.press("2")  # labels[1] == "cat"
    wait_copy(page, lambda c: c["b1"]["label"] == "cat")
    expect(page.locator("#current-label")).to_have_text("cat")
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.__lhEditor.selectedId === null")
    page.keyboard.press("4")  # nothing selected: only the current label changes
    expect(page.locator("#current-label")).to_have_text("person")
    drag(page, (300, 420), (400, 520))
    copy = wait_copy(page, lambda c: len(c) == 7)
    assert copy["b1"]["label"] == "cat"
    assert [b["label"] for b in new_boxes(copy)] == ["person"]


def test_delete_and_backspace_delete_selected(page: Page) -> None:
    open_editor(page)
    select(page, "b2")
    page.keyboard.press("Delete")
    wait_copy(page, lambda c: "b2" not in c)
    expect(page.locator("#selected-box")).to_have_text("{}")
    select(page, "b6")
    page.keyboard.press("Backspace")
    copy = wait_copy(page, lambda c: "b6" not in c)
    assert len(copy) == 4


def test_arrow_keys_nudge(page: Page) -> None:
    open_editor(page)
    select(page, "b1")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    copy = wait_copy(page, lambda c: c["b1"]["y"] == 110)
    assert near(copy["b1"], 103, 110, 200, 150, tol=0)
    log = page.locator("#event-log").text_content() or ""
    assert log.count("update b1") == 4  # one event per key press
    assert editor(page, "undoDepth") == 4


def test_undo_redo_restore_geometry_and_python_copy(page: Page) -> None:
    open_editor(page)
    original = geometry(py_copy(page))
    drag(page, (300, 420), (480, 560))  # create
    wait_copy(page, lambda c: len(c) == 7)
    drag(page, (200, 175), (300, 225))  # move b1
    wait_copy(page, lambda c: abs(c["b1"]["x"] - 200) <= TOL)
    select(page, "b2")
    page.keyboard.press("Delete")
    edited = geometry(wait_copy(page, lambda c: "b2" not in c))
    assert editor(page, "undoDepth") == 3

    for _ in range(3):
        page.keyboard.press("Control+z")
    copy = wait_copy(page, lambda c: geometry(c) == original)
    assert geometry(copy) == original
    assert (editor(page, "undoDepth"), editor(page, "redoDepth")) == (0, 3)
    assert near(editor(page, "store.byId.get('b1')"), 100, 100, 200, 150, tol=0)

    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+y")
    copy = wait_copy(page, lambda c: geometry(c) == edited)
    assert (editor(page, "undoDepth"), editor(page, "redoDepth")) == (3, 0)

    page.keyboard.press("Control+z")  # the delete is undone: b2 comes back
    wait_copy(page, lambda c: "b2" in c)
    select(page, "b6")
    page.keyboard.press("ArrowLeft")  # a new edit clears the redo stack
    wait_copy(page, lambda c: c["b6"]["x"] == 619)
    assert editor(page, "redoDepth") == 0


def test_wheel_zoom_and_pan_keep_coordinates(page: Page) -> None:
    open_editor(page)
    fit = editor(page, "scale")
    pointer = client(page, 640, 480)
    page.mouse.move(*pointer)
    for _ in range(3):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(50)
    page.wait_for_function("(s) => window.__lhEditor.scale > s * 1.4", arg=fit)
    x, y = client(page, 640, 480)  # the image point under the pointer stays under it
    assert abs(x - pointer[0]) < 1 and abs(y - pointer[1]) < 1
    drag(page, (600, 500), (700, 560))
    copy = wait_copy(page, lambda c: len(c) == 7)
    (new,) = new_boxes(copy)
    assert near(new, 600, 500, 100, 60, tol=1.5), new

    # Shift+drag pans; then a move of b2 is still right in image px
    before = editor(page, "stage.x()")
    page.keyboard.down("Shift")
    drag(page, (700, 400), (640, 380))
    page.keyboard.up("Shift")
    assert editor(page, "stage.x()") != before
    assert len(py_copy(page)) == 7  # panning created nothing
    drag(page, (580, 360), (600, 370))
    copy = wait_copy(page, lambda c: abs(c["b2"]["x"] - 520) <= TOL)
    assert near(copy["b2"], 520, 310, 160, 120)

    page.keyboard.press("f")
    page.wait_for_function("(s) => Math.abs(window.__lhEditor.scale - s) < 1e-6", arg=fit)
    expect(page.get_by_test_id("box-editor-zoom")).to_have_text(f"{round(fit * 100)}%")


SNAPSHOT_DIFF = """() => {
  const e = window.__lhEditor.engine;
  const canvas = e.staticLayer.getCanvas()._canvas;
  const ctx = canvas.getContext('2d');
  const during = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const hadSnapshot = e.snap !== null;
  e.snap = null;
  e.staticLayer.draw();  // the exact draw at the same view
  const direct = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let differ = 0;
  for (let i = 0; i < during.length; i += 4) {
    let d = 0;
    for (let k = 0; k < 4; k++) d += Math.abs(during[i + k] - direct[i + k]);
    if (d > 24) differ++;
  }
  return {hadSnapshot, differ, pixels: during.length / 4};
}"""


def test_pan_blits_a_snapshot_that_matches_the_exact_draw(page: Page) -> None:
    open_editor(page, "?n=300")
    x, y = (round(v) for v in client(page, 640, 480))
    page.keyboard.down("Shift")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 37, y - 23, steps=6)
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    result = page.evaluate(SNAPSHOT_DIFF)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert result["hadSnapshot"]
    assert result["differ"] <= result["pixels"] * 0.001, result


def test_save_keys_and_help(page: Page) -> None:
    open_editor(page)
    page.keyboard.press("Control+s")
    expect(page.locator("#save-count")).to_have_text("1")
    page.keyboard.press("Space")
    expect(page.locator("#save-next-count")).to_have_text("1")
    page.keyboard.press("?")
    expect(page.locator("#help-count")).to_have_text("1")
    assert page.evaluate("window.scrollY") == 0  # Space did not scroll the page


def test_draw_mode_draws_over_boxes(page: Page) -> None:
    open_editor(page)
    select(page, "b1")
    page.keyboard.press("n")
    page.wait_for_function("() => window.__lhEditor.drawMode")
    drag(page, (120, 120), (220, 200))  # inside b1, which is selected
    copy = wait_copy(page, lambda c: len(c) == 7)
    assert near(copy["b1"], 100, 100, 200, 150, tol=0)  # not moved
    (new,) = new_boxes(copy)
    assert near(new, 120, 120, 100, 80)
    assert not editor(page, "drawMode")  # one box per N


def test_commands_from_python(page: Page) -> None:
    open_editor(page)
    select(page, "b2")
    page.locator("#cmd-relabel").click()  # cat -> car
    wait_copy(page, lambda c: c["b2"]["label"] == "car")
    page.locator("#cmd-zoom_in").click()
    page.wait_for_function("() => window.__lhEditor.scale > 0.7")
    page.locator("#cmd-fit").click()
    page.wait_for_function("() => window.__lhEditor.scale < 0.7")
    page.locator("#cmd-delete").click()
    wait_copy(page, lambda c: "b2" not in c)
    assert editor(page, "undoDepth") == 2  # command edits can be undone too
    page.keyboard.press("Control+z")  # focus is on a button: the editor still gets the key
    copy = wait_copy(page, lambda c: "b2" in c)
    assert copy["b2"]["label"] == "car"


def test_read_only_refuses_edits(page: Page) -> None:
    open_editor(page, "?preview=640&ro=1")
    drag(page, (200, 175), (300, 225))  # selects b1 but cannot move it
    page.wait_for_function("() => window.__lhEditor.selectedId === 'b1'")
    page.keyboard.press("Delete")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert geometry(py_copy(page))["b1"] == ("dog", 100, 100, 200, 150)
    assert editor(page, "undoDepth") == 0
