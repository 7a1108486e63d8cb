"""Consolidating several labellers' answers: pure functions over plain tables, no database.

Image labels (a yes/no answer per image, labeller and label) are combined by Dawid-Skene
(``crowdkit.aggregation.DawidSkene``): it learns each labeller's confusion matrix, so a careful
labeller counts for more than a sloppy one and an adversarial one is turned around. With too few
answers to learn from, or when it fails, a majority vote decides (ties: "no"). Boxes are matched
across labellers on IoU and fused (a weighted average of the matched boxes, the idea of weighted
boxes fusion); a fused box is kept when at least half of the labellers drew it.

Agreement of an image: the share of its answers that agree with the consolidated result (boxes:
the mean share of labellers who drew each object). Agreement of a labeller: the share of their
answers that agree with the consolidated results.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

METHOD_DS = "dawid_skene"
METHOD_MAJORITY = "majority"
METHOD_BOXES = "box_fusion"

# Dawid-Skene needs enough answers to learn each labeller's confusion matrix.
DS_MIN_ANSWERS = 20
DS_MIN_LABELLERS = 2
BOX_IOU = 0.5


@dataclass(frozen=True)
class Vote:
    """One labeller's yes/no answer: does ``item`` (an image, or an image and label) show it?"""

    item: Hashable
    labeller: Hashable
    present: bool


@dataclass(frozen=True)
class ItemResult:
    present: bool
    probability: float  # of "present" (the vote share for majority)
    agreement: float  # share of this item's answers that agree with ``present``
    answers: int


@dataclass(frozen=True)
class Consolidation:
    method: str
    items: dict[Hashable, ItemResult]
    labellers: dict[Hashable, float]  # agreement of each labeller with the results


_warmed = False


def warm_up() -> None:
    """Import crowd-kit (with pandas and scipy: seconds on a cold process) in a background thread,
    so that the first consolidation does not wait for it. Safe to call often."""
    global _warmed
    if _warmed:
        return
    _warmed = True

    def load() -> None:
        try:
            import crowdkit.aggregation  # noqa: F401
        except Exception:  # a broken install shows up (and is logged) at consolidation
            log.warning("could not import crowd-kit", exc_info=True)

    import threading

    threading.Thread(target=load, name="crowdkit-import", daemon=True).start()


def majority_vote(votes: Sequence[Vote]) -> dict[Hashable, float]:
    """The share of "yes" per item."""
    yes: dict[Hashable, int] = defaultdict(int)
    total: dict[Hashable, int] = defaultdict(int)
    for v in votes:
        total[v.item] += 1
        yes[v.item] += int(v.present)
    return {item: yes[item] / n for item, n in total.items()}


def dawid_skene(votes: Sequence[Vote], *, n_iter: int = 100) -> dict[Hashable, float]:
    """The posterior of "yes" per item by Dawid-Skene (crowd-kit); raises on failure."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    keys = {item: i for i, item in enumerate(dict.fromkeys(v.item for v in votes))}
    workers = {w: i for i, w in enumerate(dict.fromkeys(v.labeller for v in votes))}
    frame = pd.DataFrame(
        {
            "task": [keys[v.item] for v in votes],
            "worker": [workers[v.labeller] for v in votes],
            "label": [int(v.present) for v in votes],
        }
    )
    model = DawidSkene(n_iter=n_iter)
    with warnings.catch_warnings():  # crowd-kit's pandas deprecation warnings
        warnings.simplefilter("ignore")
        model.fit(frame)
    probas = model.probas_
    if probas is None or 1 not in probas.columns:
        raise ValueError("Dawid-Skene gave no probabilities")
    column = probas[1]
    out: dict[Hashable, float] = {}
    for item, i in keys.items():
        p = float(column.loc[i])
        if math.isnan(p):
            raise ValueError("Dawid-Skene did not converge")
        out[item] = p
    return out


def can_use_dawid_skene(votes: Sequence[Vote]) -> bool:
    """Enough answers and labellers to learn from, and both answers present."""
    if len(votes) < DS_MIN_ANSWERS:
        return False
    if len({v.labeller for v in votes}) < DS_MIN_LABELLERS:
        return False
    per_item: dict[Hashable, int] = defaultdict(int)
    for v in votes:
        per_item[v.item] += 1
    if max(per_item.values()) < 2:  # one answer per item: nothing to compare labellers on
        return False
    return len({v.present for v in votes}) == 2


def consolidate_votes(votes: Sequence[Vote], *, method: str = "auto") -> Consolidation:
    """Combine yes/no votes; ``method``: "auto" (Dawid-Skene when possible), "dawid_skene"
    (still falls back to majority when it cannot run) or "majority"."""
    votes = list(votes)
    if not votes:
        return Consolidation(METHOD_MAJORITY, {}, {})
    used = METHOD_MAJORITY
    probs: dict[Hashable, float] | None = None
    if method in ("auto", METHOD_DS) and can_use_dawid_skene(votes):
        try:
            probs = dawid_skene(votes)
            used = METHOD_DS
        except Exception:  # crowd-kit failed on this data: majority vote decides
            log.warning("Dawid-Skene failed; using majority vote", exc_info=True)
            probs = None
    if probs is None:
        probs = majority_vote(votes)
    decided = {item: p > 0.5 for item, p in probs.items()}  # a tie (0.5) is "no"
    agree: dict[Hashable, int] = defaultdict(int)
    count: dict[Hashable, int] = defaultdict(int)
    by_labeller_agree: dict[Hashable, int] = defaultdict(int)
    by_labeller: dict[Hashable, int] = defaultdict(int)
    for v in votes:
        ok = v.present == decided[v.item]
        count[v.item] += 1
        agree[v.item] += int(ok)
        by_labeller[v.labeller] += 1
        by_labeller_agree[v.labeller] += int(ok)
    items = {
        item: ItemResult(decided[item], float(probs[item]), agree[item] / count[item], count[item])
        for item in probs
    }
    labellers = {w: by_labeller_agree[w] / n for w, n in by_labeller.items()}
    return Consolidation(used, items, labellers)


# --- boxes ---------------------------------------------------------------------------------------


def iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Intersection over union of two boxes {x, y, w, h}."""
    ax1, ay1 = a["x"] + a["w"], a["y"] + a["h"]
    bx1, by1 = b["x"] + b["w"], b["y"] + b["h"]
    iw = min(ax1, bx1) - max(a["x"], b["x"])
    ih = min(ay1, by1) - max(a["y"], b["y"])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class BoxConsolidation:
    boxes: list[dict[str, Any]]  # fused boxes: {label, x, y, w, h, support, labellers}
    agreement: float
    labellers: dict[
        Hashable, float
    ]  # share of each labeller's boxes that were kept (1.0 if none drawn and none kept)
    answers: int


def consolidate_boxes(
    answers: dict[Hashable, Iterable[dict[str, Any]]],
    *,
    iou_threshold: float = BOX_IOU,
    weights: dict[Hashable, float] | None = None,
) -> BoxConsolidation:
    """Fuse one image's boxes from several labellers (``answers``: labeller -> boxes).

    Boxes of the same label are matched greedily to clusters (best IoU above the threshold,
    at most one box of each labeller per cluster); each cluster becomes one box, the weighted
    mean of its members, kept when at least half of the labellers drew it.
    """
    labellers = list(answers)
    k = len(labellers)
    if k == 0:
        return BoxConsolidation([], 1.0, {}, 0)
    weights = weights or {}
    clusters: list[dict[str, Any]] = []  # {"label", "members": [(labeller, box)]}
    for labeller in labellers:
        boxes = sorted(answers[labeller], key=lambda b: -(b["w"] * b["h"]))
        taken: set[int] = set()
        for box in boxes:
            best, best_iou = None, iou_threshold
            for i, cluster in enumerate(clusters):
                if i in taken or cluster["label"] != box["label"]:
                    continue
                if any(owner == labeller for owner, _ in cluster["members"]):
                    continue
                score = iou(_mean_box(cluster["members"], weights), box)
                if score >= best_iou:
                    best, best_iou = i, score
            if best is None:
                clusters.append({"label": box["label"], "members": [(labeller, box)]})
                taken.add(len(clusters) - 1)
            else:
                clusters[best]["members"].append((labeller, box))
                taken.add(best)
    need = k / 2
    fused: list[dict[str, Any]] = []
    kept_by: dict[Hashable, int] = defaultdict(int)
    drawn_by: dict[Hashable, int] = defaultdict(int)
    for cluster in clusters:
        support = len(cluster["members"])
        for owner, _ in cluster["members"]:
            drawn_by[owner] += 1
        if support >= need:
            mean = _mean_box(cluster["members"], weights)
            fused.append(
                {
                    "label": cluster["label"],
                    **{key: round(mean[key], 1) for key in ("x", "y", "w", "h")},
                    "support": support,
                    "labellers": [str(owner) for owner, _ in cluster["members"]],
                }
            )
            for owner, _ in cluster["members"]:
                kept_by[owner] += 1
    agreement = sum(len(c["members"]) for c in clusters) / (k * len(clusters)) if clusters else 1.0
    per_labeller = {
        w: (kept_by[w] / drawn_by[w] if drawn_by[w] else (1.0 if not fused else 0.0))
        for w in labellers
    }
    fused.sort(key=lambda b: (b["label"], b["y"], b["x"]))
    return BoxConsolidation(fused, agreement, per_labeller, k)


def _mean_box(
    members: list[tuple[Hashable, dict[str, Any]]], weights: dict[Hashable, float]
) -> dict[str, float]:
    total = sum(weights.get(owner, 1.0) for owner, _ in members) or 1.0
    x0 = sum(weights.get(o, 1.0) * b["x"] for o, b in members) / total
    y0 = sum(weights.get(o, 1.0) * b["y"] for o, b in members) / total
    x1 = sum(weights.get(o, 1.0) * (b["x"] + b["w"]) for o, b in members) / total
    y1 = sum(weights.get(o, 1.0) * (b["y"] + b["h"]) for o, b in members) / total
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}
