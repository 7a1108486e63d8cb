"""Detection metrics with pycocotools: AP (IoU .50:.95), AP50 and AP75, as COCO computes them."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

Box = tuple[str, float, float, float, float]  # label, x, y, w, h


def coco_metrics(
    ground_truth: Sequence[Sequence[Box]],
    detections: Sequence[Sequence[dict[str, Any]]],
) -> dict[str, float]:
    """AP, AP50, AP75 of ``detections`` (per image: dicts with label, x, y, w, h, score).

    Categories are the labels of the ground truth; a detection of another label counts for none.
    An empty ground truth gives zeros.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    names = sorted({b[0] for boxes in ground_truth for b in boxes})
    if not names:
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}
    cat = {n: i + 1 for i, n in enumerate(names)}
    images, annotations, results = [], [], []
    for index, boxes in enumerate(ground_truth):
        image_id = index + 1
        images.append({"id": image_id, "width": 1, "height": 1})
        for label, x, y, w, h in boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": cat[label],
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for det in detections[index]:
            if det["label"] in cat:
                results.append(
                    {
                        "image_id": image_id,
                        "category_id": cat[det["label"]],
                        "bbox": [det["x"], det["y"], det["w"], det["h"]],
                        "score": float(det["score"]),
                    }
                )
    if not results:
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": i, "name": n} for n, i in cat.items()],
        }
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    ap, ap50, ap75 = (max(0.0, float(v)) for v in ev.stats[:3])
    return {"ap": round(ap, 4), "ap50": round(ap50, 4), "ap75": round(ap75, 4)}


def evaluate_detector(detector, images, ground_truth, *, batch_size: int = 8) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Run ``detector`` on ``images`` (PIL) and score it against ``ground_truth``."""
    detections = detector.predict(list(images), min_score=0.0, batch_size=batch_size)
    return coco_metrics(ground_truth, detections)
