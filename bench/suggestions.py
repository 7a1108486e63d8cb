"""Suggestions benchmark: the cost of deciding on the detector's suggestions (embedded SQLite).

- accept_all: services/suggestions.accept_suggestions(min_score=0) on an image with N
  suggestions: one revision, one operation-log row and one decision row per box.
- accept_all_editor_save: the same decisions as the editor saves them (its "Accept all" makes
  N edits, Ctrl+S saves them); move_all_same_boxes: a save of N box moves, for comparison.
- reject_each: N saves of one reject each (the X key then Ctrl+S), p50/p95 ms per save.
- drop_rejected: the worker's filter of a new set of detections against the image's rejected
  suggestions and human boxes; ms for D detections against R rejected.

Prints JSON lines. Usage: python bench/suggestions.py [--suggestions 200] [--rejects 50]
[--detections 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suggestions", type=int, default=200)
    parser.add_argument("--rejects", type=int, default=50)
    parser.add_argument("--detections", type=int, default=200)
    args = parser.parse_args()
    os.environ["LABELHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="lh-bench-sugg-")

    from sqlmodel import select

    from labelhub_app.db import session_scope
    from labelhub_app.migrations import upgrade
    from labelhub_app.models import Image
    from labelhub_app.services import accounts, images
    from labelhub_app.services import annotations as ann
    from labelhub_app.services import suggestions as sug
    from tests.images import make_jpeg

    upgrade()

    def suggest(session, detector, image_id: str, count: int) -> list[dict]:  # type: ignore[no-untyped-def]
        image = session.exec(select(Image).where(Image.public_id == image_id)).one()
        boxes = [
            {
                "id": str(uuid.uuid4()),
                "label": "dog" if k % 2 else "cat",
                "x": (k * 37) % 600,
                "y": (k * 53) % 440,
                "w": 30,
                "h": 30,
                "source": "model",
                "score": round(0.3 + 0.7 * ((k * 7919) % 100) / 100, 2),
            }
            for k in range(count)
        ]
        ann.save_annotations(
            session,
            actor=detector,
            image_id=image_id,
            base_revision=image.revision,
            edits=[ann.BoxEdit("create", b) for b in boxes],
        )
        return boxes

    with session_scope() as session:
        producer = accounts.sign_up(
            session, email="bench@example.com", password="benchmark-pw", roles=["producer"]
        )
        detector = accounts.sign_up(
            session, email="detector@example.com", password="benchmark-pw", roles=["reviewer"]
        )
        ids = []
        for i in range(2):
            [r] = images.ingest_images(
                session,
                actor=producer,
                price_cents=1,
                licence="standard",
                labels=["dog"],
                files=[images.UploadedFile(f"b{i}.jpg", make_jpeg(640, 480, seed=i))],
            )
            ids.append(r.image_id)

        # accept all
        suggest(session, detector, ids[0], args.suggestions)
        revision = session.exec(select(Image.revision).where(Image.public_id == ids[0])).one()
        started = time.perf_counter()
        result = sug.accept_suggestions(
            session, actor=producer, image_id=ids[0], base_revision=revision, min_score=0.0
        )
        ms = (time.perf_counter() - started) * 1000
        print(
            json.dumps(
                {
                    "bench": "accept_all",
                    "suggestions": args.suggestions,
                    "ms": round(ms, 1),
                    "summary": result.summary,
                }
            ),
            flush=True,
        )

        # the editor's way: "Accept all" in the canvas, then one save of the edits it made
        [r] = images.ingest_images(
            session,
            actor=producer,
            price_cents=1,
            licence="standard",
            labels=["dog"],
            files=[images.UploadedFile("b-editor.jpg", make_jpeg(640, 480, seed=99))],
        )
        editor_boxes = suggest(session, detector, r.image_id, args.suggestions)
        revision = session.exec(select(Image.revision).where(Image.public_id == r.image_id)).one()
        started = time.perf_counter()
        ann.save_annotations(
            session,
            actor=producer,
            image_id=r.image_id,
            base_revision=revision,
            edits=[ann.BoxEdit("update", sug.accepted_box(b)) for b in editor_boxes],
        )
        ms = (time.perf_counter() - started) * 1000
        print(
            json.dumps(
                {"bench": "accept_all_editor_save", "boxes": len(editor_boxes), "ms": round(ms, 1)}
            ),
            flush=True,
        )

        # for comparison: the same save shape without decisions (move every, now human, box)
        current = ann.current_boxes(
            session, session.exec(select(Image.id).where(Image.public_id == ids[0])).one()
        )
        started = time.perf_counter()
        ann.save_annotations(
            session,
            actor=producer,
            image_id=ids[0],
            base_revision=result.revision,
            edits=[ann.BoxEdit("update", {**b, "x": b["x"] + 1}) for b in current],
        )
        ms = (time.perf_counter() - started) * 1000
        print(
            json.dumps({"bench": "move_all_same_boxes", "boxes": len(current), "ms": round(ms, 1)}),
            flush=True,
        )

        # reject one by one
        boxes = suggest(session, detector, ids[1], args.rejects)
        times = []
        for box in boxes:
            revision = session.exec(select(Image.revision).where(Image.public_id == ids[1])).one()
            started = time.perf_counter()
            sug.reject_suggestions(
                session,
                actor=producer,
                image_id=ids[1],
                base_revision=revision,
                box_ids=[box["id"]],
            )
            times.append((time.perf_counter() - started) * 1000)
        print(
            json.dumps(
                {
                    "bench": "reject_each",
                    "saves": len(times),
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(_pct(times, 0.95), 2),
                }
            ),
            flush=True,
        )

        # the worker's filter
        image_pk = session.exec(select(Image.id).where(Image.public_id == ids[1])).one()
        detections = [{**b, "x": b["x"] + 1} for b in boxes[: min(len(boxes), args.detections)]] + [
            {"label": "dog", "x": (k * 11) % 600, "y": (k * 17) % 440, "w": 25, "h": 25}
            for k in range(max(0, args.detections - len(boxes)))
        ]
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            kept = sug.drop_rejected(session, image_id=image_pk, detections=detections)
            runs.append((time.perf_counter() - started) * 1000)
        print(
            json.dumps(
                {
                    "bench": "drop_rejected",
                    "detections": len(detections),
                    "rejected": len(boxes),
                    "kept": len(kept),
                    "ms_median_of_5": round(statistics.median(runs), 2),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
