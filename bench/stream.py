"""Labelling stream benchmark: how long Space (save and next, nothing to save) takes to show the
next image fully drawn in the editor, in Chromium.

Starts the app as the browser tests do (prod build, one port, a fresh data folder; see
tests/browser/server.py), seeds one producer with 640x480 images (real uploads: thumbnails are
served) carrying 3-10 boxes each through the services, signs in, opens the first image and picks
the stream filter "All my images" (#stream-status). Then, ``--runs`` times (after ``--warmup``):
press Space and wait until the editor shows the NEXT image with its boxes. Each run is timed in
the page, from the Space keydown to ``window.__lhEditor.readyAt`` (the first static-layer draw
with the image loaded), counted only once the URL, the editor's image and its store are the next
image's and every one of its boxes was in that draw; the previous image's draw never counts
(``readyAt`` is reset when the image or the boxes change, and must be later than the keydown).
``nav_ms`` is the part until the URL changed (the save round trip and the redirect).

Prints JSON lines: one per run with --verbose, then the summary; target: mean < 150 ms.

    .venv/bin/python bench/stream.py [--runs 50] [--warmup 3] [--verbose]

Timings are wall-clock on whatever machine runs it: say which when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.flows import (  # noqa: E402
    CHROMIUM_ARGS,
    SOCKET_PROBE,
    VIEWPORT,
    chromium_path,
    sign_in,
)
from tests.browser.server import running_app, services_env  # noqa: E402

EMAIL, PASSWORD = "stream@bench.test", "bench-password"
LABELS = ("person", "dog", "car", "cat", "chair", "bottle", "bird", "bicycle")
WIDTH, HEIGHT = 640, 480
TARGET_MEAN_MS = 150.0


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"bench": "stream", **fields}) + "\n")
    sys.stdout.flush()


def seed(data_dir: Path, count: int) -> dict[str, int]:
    """``count`` images with 3-10 boxes each for one producer; returns image id -> box count."""
    from labelhub_app.db import session_scope
    from labelhub_app.migrations import upgrade
    from labelhub_app.services import accounts, images
    from labelhub_app.services import annotations as ann
    from tests.images import make_jpeg

    rng = random.Random(2026)
    boxes: dict[str, int] = {}
    with services_env(data_dir):
        upgrade()
        with session_scope() as session:
            producer = accounts.sign_up(
                session,
                email=EMAIL,
                password=PASSWORD,
                roles=["producer"],
                display_name="Stream Bench",
            )
            files = [
                images.UploadedFile(f"frame-{i:03d}.jpg", make_jpeg(WIDTH, HEIGHT, seed=5000 + i))
                for i in range(count)
            ]
            results = images.ingest_images(
                session, actor=producer, files=files, labels=(), price_cents=100, licence="standard"
            )
            assert all(r.ok for r in results), [r.message for r in results if not r.ok]
            for result in results:
                edits = []
                for _ in range(rng.randint(3, 10)):
                    w, h = rng.uniform(30, 200), rng.uniform(30, 160)
                    box = {
                        "id": uuid.uuid4().hex,
                        "label": rng.choice(LABELS),
                        "x": round(rng.uniform(0, WIDTH - w), 1),
                        "y": round(rng.uniform(0, HEIGHT - h), 1),
                        "w": round(w, 1),
                        "h": round(h, 1),
                        "source": "human",
                    }
                    edits.append(ann.BoxEdit("create", box))
                image_id = result.image_id or ""
                ann.save_annotations(
                    session, actor=producer, image_id=image_id, base_revision=0, edits=edits
                )
                boxes[image_id] = len(edits)
    return boxes


# Installed once per document: the Space keydown time (before the editor's own handler) and the
# time the URL last changed (the redirect is a client-side history.pushState).
PROBE = """() => {
  if (window.__stream) return;
  window.__stream = {start: null, nav: null};
  window.addEventListener('keydown', (e) => {
    if (e.key === ' ' && !e.repeat) window.__stream.start = performance.now();
  }, true);
  for (const name of ['pushState', 'replaceState']) {
    const orig = history[name].bind(history);
    history[name] = (...args) => {
      const before = location.pathname;
      const out = orig(...args);
      if (location.pathname !== before) window.__stream.nav = performance.now();
      return out;
    };
  }
}"""

# The editor shows image `id` with its `n` boxes, drawn after the Space keydown.
NEXT_DRAWN = """([id, n]) => {
  const e = window.__lhEditor, s = window.__stream;
  if (!e || s.start === null || location.pathname !== '/label/' + id) return false;
  const eng = e.engine;
  return e.imageReady && e.readyAt !== null && e.readyAt > s.start
    && !!eng.img && eng.img.src.includes('/images/' + id + '/')
    && eng.loadedSrc === eng.props.src && e.store.boxes.length === n && e.lastDrawn === n;
}"""

CURRENT_READY = """([id, n]) => {
  const e = window.__lhEditor;
  return !!e && location.pathname === '/label/' + id && e.imageReady && e.readyAt !== null
    && !!e.engine.img && e.engine.img.src.includes('/images/' + id + '/')
    && e.store.boxes.length === n && e.lastDrawn === n;
}"""


STATE = """() => {
  const e = window.__lhEditor;
  return {
    path: location.pathname, stream: window.__stream,
    focus: document.activeElement?.outerHTML?.slice(0, 80),
    editor: e && {ready: e.imageReady, readyAt: e.readyAt, src: e.engine.img?.src,
                  boxes: e.store.boxes.length, lastDrawn: e.lastDrawn},
  };
}"""


def _next_id(page) -> str:  # type: ignore[no-untyped-def]
    src = page.locator("#prefetch-next").get_attribute("src") or ""
    return src.split("/images/", 1)[1].split("/", 1)[0] if "/images/" in src else ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(
    url: str, boxes: dict[str, int], runs: int, warmup: int, verbose: bool
) -> list[dict[str, float]]:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium is not installed (make browser-deps)")
    first = next(iter(boxes))
    results: list[dict[str, float]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=url, viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        context.add_init_script(SOCKET_PROBE)
        page = context.new_page()
        sign_in(page, email=EMAIL, password=PASSWORD)
        page.goto(f"/label/{first}")
        page.wait_for_function("window.__lhSocket === true")
        # the default stream (images without boxes) is empty here: take all my images
        page.locator("#stream-status").click()
        page.get_by_role("option", name="All my images", exact=True).click()
        expect(page.locator("#stream-status")).to_contain_text("All my images")
        # the focus stays on the filter, where Space would open it again: click elsewhere first
        page.locator("#editor-title").click()
        current = page.url.rstrip("/").rsplit("/", 1)[-1]
        page.wait_for_function(CURRENT_READY, arg=[current, boxes[current]])
        page.evaluate(PROBE)
        for i in range(warmup + runs):
            expect(page.locator("#prefetch-next")).to_have_count(1)
            nxt = _next_id(page)
            if not nxt:
                raise SystemExit(f"the stream ended after {i} runs: seed more images")
            page.evaluate("window.__stream.start = null; window.__stream.nav = null")
            page.keyboard.press(" ")
            try:
                page.wait_for_function(NEXT_DRAWN, arg=[nxt, boxes[nxt]])
            except Exception:
                emit(
                    error="the next image was never drawn",
                    run=i,
                    next=nxt,
                    state=page.evaluate(STATE),
                )
                raise
            run = page.evaluate(
                """() => ({total_ms: window.__lhEditor.readyAt - window.__stream.start,
                           nav_ms: window.__stream.nav === null ? null
                                   : window.__stream.nav - window.__stream.start})"""
            )
            run["boxes"] = boxes[nxt]
            if i >= warmup:
                results.append(run)
                if verbose:
                    emit(run=len(results), **{k: round(v, 1) for k, v in run.items() if v})
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--images", type=int, default=0, help="default: runs + warmup + 5")
    parser.add_argument("--verbose", action="store_true", help="one line per run too")
    args = parser.parse_args()
    count = args.images or args.runs + args.warmup + 5

    with tempfile.TemporaryDirectory(prefix="lh-bench-stream-") as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        boxes = seed(data_dir, count)
        seeded_s = time.perf_counter() - started
        started = time.perf_counter()
        with running_app(data_dir) as app:
            start_s = time.perf_counter() - started
            results = measure(app.url, boxes, args.runs, args.warmup, args.verbose)
    totals = [r["total_ms"] for r in results]
    navs = [r["nav_ms"] for r in results if r["nav_ms"] is not None]
    mean = statistics.fmean(totals)
    emit(
        images=count,
        boxes_per_image="3-10",
        runs=len(totals),
        seed_s=round(seeded_s, 1),
        app_start_s=round(start_s, 1),
        mean_ms=round(mean, 1),
        p50_ms=round(statistics.median(totals), 1),
        p95_ms=round(percentile(totals, 0.95), 1),
        max_ms=round(max(totals), 1),
        nav_mean_ms=round(statistics.fmean(navs), 1) if navs else None,
        target_mean_ms=TARGET_MEAN_MS,
        ok=mean < TARGET_MEAN_MS,
        cpus=os.cpu_count(),
        machine=platform.machine(),
    )


if __name__ == "__main__":
    main()
