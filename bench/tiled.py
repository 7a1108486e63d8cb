"""Tiled labelling benchmark: actions and browser time per image, tiled grid vs one at a time.

Starts the app as the browser tests do (prod build, one port, a fresh data folder; see
tests/browser/server.py) and seeds one producer with ``--images`` 640x480 images (real uploads,
so thumbnails are served), 40% of which "show a dog" (seeded). Then, in Chromium (Playwright):

- **tiled**: a second producer opens the campaign's tiled grid (/campaigns/<id>/tiles, 20 images
  per page, ONE label) and, per page, presses the tile key of every image that shows a dog, then
  Enter; the page counts as done when the next page's tiles are all loaded (``img.complete``)
  or the "nothing left" state shows.
- **one at a time**: the owner tags the same kind of images in the existing editor stream
  (/label/<id>): for an image that shows a dog, click the tag field, type "dog", Enter (adds the
  tag), click the title (leave the field), Space (save and next); otherwise Space. An image counts
  as done when the editor shows the next image (``window.__lhEditor.imageReady`` on the new URL).

Both count every key press and click, and the wall time from the first action to the last page
ready, divided by the images labelled. No human thinking time is in either: this is the
interface's own cost per image (round trips, loading, drawing) plus the number of actions a
person must make, which is what a tiled layout saves.

Prints JSON lines: one per method and a summary with the ratios.

    .venv/bin/python bench/tiled.py [--images 60] [--editor-images 20]

Timings are wall-clock on whatever machine runs it: say which when quoting them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import sys
import tempfile
import time
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

OWNER, LABELLER, PASSWORD = "tiled-owner@bench.test", "tiled-labeller@bench.test", "bench-password"
WIDTH, HEIGHT = 640, 480


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"bench": "tiled", **fields}) + "\n")
    sys.stdout.flush()


def seed(data_dir: Path, count: int) -> tuple[str, list[str], dict[str, bool]]:
    """The owner's images (public ids, upload order), which show a dog, and a campaign on them."""
    from labelhub_app.db import session_scope
    from labelhub_app.migrations import upgrade
    from labelhub_app.services import accounts, campaigns, images
    from tests.images import make_jpeg

    rng = random.Random(2026)
    with services_env(data_dir):
        upgrade()
        with session_scope() as session:
            owner = accounts.sign_up(
                session, email=OWNER, password=PASSWORD, roles=["producer"], display_name="Owner"
            )
            accounts.sign_up(
                session, email=LABELLER, password=PASSWORD, roles=["producer"], display_name="Lab"
            )
            files = [
                images.UploadedFile(f"frame-{i:03d}.jpg", make_jpeg(WIDTH, HEIGHT, seed=9000 + i))
                for i in range(count)
            ]
            results = images.ingest_images(
                session, actor=owner, files=files, labels=(), price_cents=100, licence="standard"
            )
            assert all(r.ok for r in results), [r.message for r in results if not r.ok]
            ids = [r.image_id or "" for r in results]
            campaign = campaigns.create_campaign(
                session,
                actor=owner,
                name="Bench",
                labels=["dog"],
                labellers_per_image=1,
                image_ids=ids,
            )
            return campaign.public_id, ids, {i: rng.random() < 0.4 for i in ids}


TILES_READY = """(previous) => {
  const tiles = [...document.querySelectorAll('.tile')];
  if (document.body.innerText.includes('Nothing left for you here')) return true;
  if (!tiles.length || tiles[0].dataset.image === previous) return false;
  return tiles.every(t => {
    const img = t.querySelector('img');
    return img && img.complete && img.naturalWidth > 0;
  });
}"""

EDITOR_READY = """(id) => {
  const e = window.__lhEditor;
  return !!e && location.pathname === '/label/' + id && e.imageReady
    && !!e.engine.img && e.engine.img.src.includes('/images/' + id + '/');
}"""


def run_tiled(page, campaign_id: str, truth: dict[str, bool]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, email=LABELLER, password=PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/tiles")
    page.wait_for_function("window.__lhSocket === true")
    page.wait_for_function(TILES_READY, arg="")
    keys = clicks = done = 0
    started = time.perf_counter()
    while page.locator(".tile").count():
        tiles = page.locator(".tile").evaluate_all(
            "els => els.map(e => [e.dataset.image, e.querySelector('.tile-key').innerText])"
        )
        for image_id, key in tiles:
            if truth.get(image_id, False):
                page.keyboard.press(key.lower())
                keys += 1
        expect(page.locator("#selected-count")).to_contain_text(
            str(sum(1 for i, _ in tiles if truth.get(i, False)))
        )
        page.keyboard.press("Enter")
        keys += 1
        page.wait_for_function(TILES_READY, arg=tiles[0][0])
        done += len(tiles)
    seconds = time.perf_counter() - started
    return {"images": done, "keys": keys, "clicks": clicks, "seconds": seconds}


def run_editor(page, ids: list[str], truth: dict[str, bool]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    sign_in(page, email=OWNER, password=PASSWORD)
    page.goto(f"/label/{ids[0]}")
    page.wait_for_function("window.__lhSocket === true")
    page.wait_for_function(EDITOR_READY, arg=ids[0])
    keys = clicks = 0
    started = time.perf_counter()
    for current, nxt in itertools.pairwise(ids):
        if truth[current]:
            page.locator("#image-tags").click()
            clicks += 1
            page.keyboard.type("dog")
            keys += 3
            page.keyboard.press("Enter")
            keys += 1
            page.locator("#editor-title").click()
            clicks += 1
        page.keyboard.press(" ")
        keys += 1
        page.wait_for_function(EDITOR_READY, arg=nxt)
    seconds = time.perf_counter() - started
    return {"images": len(ids) - 1, "keys": keys, "clicks": clicks, "seconds": seconds}


def check(data_dir: Path, edited: list[str], truth: dict[str, bool]) -> dict[str, Any]:
    """Both runs really saved: tiled answers match the truth; the editor's tags too."""
    from sqlmodel import select

    from labelhub_app.db import session_scope
    from labelhub_app.models import Image
    from labelhub_app.models.campaigns import CampaignAnswer
    from labelhub_app.services import annotations

    with services_env(data_dir), session_scope() as session:
        pid = dict(session.exec(select(Image.id, Image.public_id)).all())
        answers = session.exec(select(CampaignAnswer)).all()
        tiled_right = sum(a.present == truth[pid[a.image_id]] for a in answers)
        by_pid = {v: k for k, v in pid.items()}
        editor_right = sum(
            ("dog" in annotations.current_tags(session, by_pid[i])) == truth[i] for i in edited
        )
    return {
        "tiled_answers": len(answers),
        "tiled_correct": tiled_right,
        "editor_images": len(edited),
        "editor_correct": editor_right,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--editor-images", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium is not installed (make browser-deps)")
    emit(
        event="start",
        images=args.images,
        editor_images=args.editor_images,
        cpus=os.cpu_count(),
        machine=platform.machine(),
        load1=round(os.getloadavg()[0], 2),
    )
    with tempfile.TemporaryDirectory(prefix="lh-bench-tiled-") as tmp:
        data_dir = Path(tmp) / "data"
        campaign_id, ids, truth = seed(data_dir, args.images)
        with running_app(data_dir) as app, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
            results = {}
            for name in ("tiled", "one_at_a_time"):
                context = browser.new_context(base_url=app.url, viewport=VIEWPORT)
                context.set_default_timeout(30_000)
                context.add_init_script(SOCKET_PROBE)
                page = context.new_page()
                if name == "tiled":
                    r = run_tiled(page, campaign_id, truth)
                else:
                    r = run_editor(page, ids[: args.editor_images + 1], truth)
                context.close()
                per = {
                    "actions_per_image": round((r["keys"] + r["clicks"]) / r["images"], 2),
                    "keys_per_image": round(r["keys"] / r["images"], 2),
                    "clicks_per_image": round(r["clicks"] / r["images"], 2),
                    "ms_per_image": round(1000 * r["seconds"] / r["images"], 1),
                }
                results[name] = per
                emit(method=name, images=r["images"], seconds=round(r["seconds"], 2), **per)
            browser.close()
            emit(event="check", **check(data_dir, ids[: args.editor_images], truth))
    t, o = results["tiled"], results["one_at_a_time"]
    emit(
        event="summary",
        actions_ratio=round(o["actions_per_image"] / t["actions_per_image"], 2),
        time_ratio=round(o["ms_per_image"] / t["ms_per_image"], 2),
        time_saved=f"{1 - t['ms_per_image'] / o['ms_per_image']:.0%}",
        load1=round(os.getloadavg()[0], 2),
    )


if __name__ == "__main__":
    main()
