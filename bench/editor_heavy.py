"""Box editor benchmark: opening, dragging and panning an image with 1,000 boxes.

Starts the app as the browser tests do (prod build, one port, a fresh data folder; see
tests/browser/server.py) and, in a fresh headless Chromium per run (--disable-gpu: software
canvas), opens /dev/editor-demo?n=1000 (a 1280x960 image, 1,000 random 15-80 px boxes, a fifth of
them model suggestions; the demo page of labelhub_app/pages/editor_demo.py). It measures:

- open: navigation -> the static layer has drawn every box on the loaded image. ``open_ms`` is
  in-page (performance.now() at that draw, from the navigation start), ``open_wall_ms`` is the
  Python wall clock from page.goto() until the page reports it.
- drag: press on a box and move it with 60 pointer moves 16 ms apart (+3, +2 px each), then
  release. A requestAnimationFrame recorder gives the frame intervals (mean / p95 / max, frames
  over 50 ms); CDP Performance.getMetrics TaskDuration gives main-thread ms per move; ``moves_s`` is
  how long the 60 moves took to dispatch (input lag makes it grow past 0.96 s).
- pan: the same with Shift held (pans the whole view: every box is redrawn on each move).
- pan_zoomed: a pan at 4x the fit zoom (most boxes are off screen and skipped).
- zoom: 30 wheel notches 16 ms apart (in, then out), centred on the pointer.

Prints one JSON line per run and measurement, then a summary line per measurement.
Targets: open < 1 s; drag frame p95 < 33 ms.

    .venv/bin/python bench/editor_heavy.py [--boxes 1000] [--runs 2]

Timings are wall-clock on whatever machine runs it: say which when quoting them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.flows import CHROMIUM_ARGS, SOCKET_PROBE, VIEWPORT, chromium_path  # noqa: E402
from tests.browser.server import running_app  # noqa: E402

MOVES = 60
MOVE_GAP_S = 0.016

RECORDER = """() => {
  const r = window.__frames = {on: true, t: []};
  const tick = (t) => { if (!r.on) return; r.t.push(t); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"bench": "editor_heavy", **fields}) + "\n")
    sys.stdout.flush()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def task_ms(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration") * 1000


def gesture(
    page: Any,
    cdp: Any,
    start: tuple[float, float],
    step: tuple[float, float],
    modifier: str | None = None,
) -> dict[str, Any]:
    """Press at ``start``, 60 moves of ``step`` 16 ms apart, release; frame and CPU figures."""
    page.mouse.move(*start)
    if modifier:
        page.keyboard.down(modifier)
    drawn_before = page.evaluate("window.__lhEditorDrawn || 0")
    page.evaluate(RECORDER)
    page.wait_for_timeout(100)
    cpu_before = task_ms(cdp)
    page.mouse.down()
    started = time.perf_counter()
    x, y = start
    for i in range(MOVES):
        x, y = x + step[0], y + step[1]
        page.mouse.move(x, y)
        delay = started + (i + 1) * MOVE_GAP_S - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    moves_s = time.perf_counter() - started
    page.mouse.up()
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    cpu_after = task_ms(cdp)
    frames = page.evaluate("window.__frames.on = false, window.__frames.t")
    if modifier:
        page.keyboard.up(modifier)
    static_draws = page.evaluate("window.__lhEditorDrawn || 0") - drawn_before
    gaps = [b - a for a, b in itertools.pairwise(frames)]
    # the frames around the gesture (the 100 ms before the press are idle and excluded)
    gaps = gaps[max(0, len(gaps) - round(moves_s * 1000 / 16.7) - 2) :]
    return {
        "frames": len(gaps),
        "frame_mean_ms": round(statistics.fmean(gaps), 1) if gaps else None,
        "frame_p95_ms": round(percentile(gaps, 0.95), 1) if gaps else None,
        "frame_max_ms": round(max(gaps), 1) if gaps else None,
        "frames_over_50ms": sum(1 for g in gaps if g > 50),
        "main_ms_per_move": round((cpu_after - cpu_before) / MOVES, 1),
        "moves_s": round(moves_s, 2),
        "static_draws": static_draws,
    }


def one_run(url: str, boxes: int, run: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium is not installed (make browser-deps)")
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=url, viewport=VIEWPORT)
        context.add_init_script(SOCKET_PROBE)
        page = context.new_page()
        page.set_default_timeout(60_000)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")

        started = time.perf_counter()
        page.goto(f"/dev/editor-demo?n={boxes}")
        page.wait_for_function(
            """(n) => { const e = window.__lhEditor;
                        return !!e && e.readyAt !== null && e.lastDrawn === n; }""",
            arg=boxes,
            polling="raf",
        )
        wall_ms = (time.perf_counter() - started) * 1000
        info = page.evaluate(
            """() => ({readyAt: window.__lhEditor.readyAt, drawMs: window.__lhEditor.drawMs,
                       scale: window.__lhEditor.scale,
                       dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
                       heap: performance.memory ? performance.memory.usedJSHeapSize : null})"""
        )
        results.append(
            {
                "measure": "open",
                "run": run,
                "boxes": boxes,
                "open_ms": round(info["readyAt"]),
                "open_wall_ms": round(wall_ms),
                "dom_content_loaded_ms": round(info["dcl"]),
                "static_draw_ms": round(info["drawMs"], 1),
                "scale": round(info["scale"], 3),
            }
        )
        page.wait_for_timeout(500)

        # the drag: a box near the middle of the image, pressed at its centre
        target = page.evaluate(
            """() => { const e = window.__lhEditor;
                       const b = e.store.boxes.find(
                           (b) => b.x > 500 && b.x < 700 && b.y > 400 && b.y < 500,
                       ) || e.store.boxes[0];
                       const c = e.toClient(b.x + b.w / 2, b.y + b.h / 2);
                       return {x: c.x, y: c.y}; }"""
        )
        drag = gesture(page, cdp, (target["x"], target["y"]), (3, 2))
        moved = page.evaluate("window.__lhEditor.undoDepth")
        results.append(
            {"measure": "drag", "run": run, "boxes": boxes, "emitted_edits": moved, **drag}
        )
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)

        centre = page.evaluate(
            "(() => { const c = window.__lhEditor.toClient(640, 480); return [c.x, c.y]; })()"
        )
        results.append(
            {
                "measure": "pan",
                "run": run,
                "boxes": boxes,
                **gesture(page, cdp, (centre[0], centre[1]), (-3, -2), modifier="Shift"),
            }
        )
        page.keyboard.press("f")
        page.wait_for_timeout(300)

        # zoom: wheel in then out around the middle of the image
        page.mouse.move(*centre)
        page.evaluate(RECORDER)
        page.wait_for_timeout(100)
        cpu_before = task_ms(cdp)
        started = time.perf_counter()
        for i in range(30):
            page.mouse.wheel(0, -100 if i < 15 else 100)
            delay = started + (i + 1) * MOVE_GAP_S - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        zoom_s = time.perf_counter() - started
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        cpu_after = task_ms(cdp)
        frames = page.evaluate("window.__frames.on = false, window.__frames.t")
        gaps = [b - a for a, b in itertools.pairwise(frames)]
        gaps = gaps[max(0, len(gaps) - round(zoom_s * 1000 / 16.7) - 2) :]
        results.append(
            {
                "measure": "zoom",
                "run": run,
                "boxes": boxes,
                "frames": len(gaps),
                "frame_mean_ms": round(statistics.fmean(gaps), 1),
                "frame_p95_ms": round(percentile(gaps, 0.95), 1),
                "frame_max_ms": round(max(gaps), 1),
                "frames_over_50ms": sum(1 for g in gaps if g > 50),
                "main_ms_per_event": round((cpu_after - cpu_before) / 30, 1),
                "events_s": round(zoom_s, 2),
            }
        )

        # a pan at 4x the fit zoom: most boxes are outside the view and skipped
        page.keyboard.press("f")
        page.wait_for_timeout(200)
        for _ in range(6):
            page.keyboard.press("=")  # 1.25^6 = 3.8x
        page.wait_for_timeout(300)
        results.append(
            {
                "measure": "pan_zoomed",
                "run": run,
                "boxes": boxes,
                "scale": round(page.evaluate("window.__lhEditor.scale"), 2),
                **gesture(page, cdp, (centre[0], centre[1]), (-3, -2), modifier="Shift"),
            }
        )
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        results.append(
            {
                "measure": "memory",
                "run": run,
                "boxes": boxes,
                "js_heap_mb": round(metrics.get("JSHeapUsedSize", 0) / 1e6, 1),
            }
        )
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boxes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--url", default="", help="an app already running (skips starting one)")
    args = parser.parse_args()

    machine = f"{platform.machine()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}"
    all_results: list[dict[str, Any]] = []

    def runs(url: str) -> None:
        for run in range(1, args.runs + 1):
            for result in one_run(url, args.boxes, run):
                emit(**result)
                all_results.append(result)

    if args.url:
        runs(args.url.rstrip("/"))
    else:
        with running_app() as app:
            runs(app.url)

    keys = (
        "open_ms",
        "open_wall_ms",
        "frame_mean_ms",
        "frame_p95_ms",
        "frame_max_ms",
        "frames_over_50ms",
        "main_ms_per_move",
        "main_ms_per_event",
        "moves_s",
        "static_draw_ms",
        "js_heap_mb",
    )
    for measure in dict.fromkeys(r["measure"] for r in all_results):
        rows = [r for r in all_results if r["measure"] == measure]
        summary = {k: [r[k] for r in rows] for k in keys if k in rows[0]}
        emit(
            summary=measure,
            boxes=args.boxes,
            runs=len(rows),
            machine=machine,
            chromium="headless, --disable-gpu",
            **summary,
        )
    emit(summary="targets", open_ms_lt=1000, drag_frame_p95_ms_lt=33)


if __name__ == "__main__":
    main()
