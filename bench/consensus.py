"""Consensus benchmark: accuracy of consolidated image labels from simulated labellers.

2,000 images, each showing the label or not (40% do). A pool of simulated labellers, drawn by a
seeded numpy generator: "good" (answer right with p=0.95), "sloppy" (p=0.70, and a bias to say
"no": they miss things) and "adversarial" (right with p=0.15). Each image gets 1, 3 or 5
labellers chosen at random from the pool (so every labeller answers many images, as in a real
campaign). The answers are consolidated by majority vote and by Dawid-Skene
(labelhub_app/services/consensus.py, crowd-kit) and compared with the truth. "vs gold": 100 of
the images are gold (their truth known to the platform); the script also reports each method's
accuracy on those 100 and how well the labellers' gold accuracy predicts their real accuracy.

Prints one JSON line per (labellers per image, method) and a summary line.

    .venv/bin/python bench/consensus.py [--images 2000] [--seed 7] [--mix 0.5,0.35,0.15]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labelhub_app.services import consensus  # noqa: E402
from labelhub_app.services.consensus import Vote  # noqa: E402

POOL = 30
GOLD = 100


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps({"bench": "consensus", **fields}) + "\n")
    sys.stdout.flush()


def make_pool(rng: np.random.Generator, mix: tuple[float, float, float]) -> list[tuple[str, str]]:
    kinds = rng.choice(["good", "sloppy", "adversarial"], size=POOL, p=list(mix))
    return [(f"{kind}-{i}", str(kind)) for i, kind in enumerate(kinds)]


def answer(rng: np.random.Generator, kind: str, truth: bool) -> bool:
    if kind == "good":
        return truth if rng.random() < 0.95 else not truth
    if kind == "sloppy":  # misses half of what is there, rarely sees what is not
        return bool(rng.random() < 0.5) if truth else bool(rng.random() < 0.1)
    return truth if rng.random() < 0.15 else not truth  # adversarial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mix", default="0.5,0.35,0.15", help="good,sloppy,adversarial shares")
    args = parser.parse_args()
    mix = tuple(float(x) for x in args.mix.split(","))
    assert len(mix) == 3 and abs(sum(mix) - 1) < 1e-9, "--mix: three shares adding up to 1"
    emit(
        event="start",
        images=args.images,
        seed=args.seed,
        mix=mix,
        pool=POOL,
        cpus=os.cpu_count(),
        load1=round(os.getloadavg()[0], 2),
    )

    rng = np.random.default_rng(args.seed)
    pool = make_pool(rng, mix)  # type: ignore[arg-type]
    truth = {i: bool(rng.random() < 0.4) for i in range(args.images)}
    gold = set(rng.choice(args.images, size=min(GOLD, args.images), replace=False).tolist())
    summary: dict[str, Any] = {}
    for k in (1, 3, 5):
        votes: list[Vote] = []
        for i in range(args.images):
            for idx in rng.choice(len(pool), size=k, replace=False):
                name, kind = pool[idx]
                votes.append(Vote(i, name, answer(rng, kind, truth[i])))
        for method in ("majority", "dawid_skene"):
            t0 = time.perf_counter()
            result = consensus.consolidate_votes(votes, method=method)
            seconds = time.perf_counter() - t0
            right = [result.items[i].present == truth[i] for i in truth]
            on_gold = [result.items[i].present == truth[i] for i in gold]
            accuracy = sum(right) / len(right)
            # labellers: accuracy on gold vs on everything (what gold tells the platform)
            per: dict[str, list[bool]] = {}
            per_gold: dict[str, list[bool]] = {}
            for v in votes:
                per.setdefault(str(v.labeller), []).append(v.present == truth[v.item])  # type: ignore[index]
                if v.item in gold:
                    per_gold.setdefault(str(v.labeller), []).append(v.present == truth[v.item])  # type: ignore[index]
            gap = [
                abs(np.mean(per_gold[w]) - np.mean(per[w]))
                for w in per_gold
                if len(per_gold[w]) >= 5
            ]
            emit(
                labellers_per_image=k,
                method=result.method,
                asked=method,
                answers=len(votes),
                accuracy=round(accuracy, 4),
                accuracy_on_gold=round(sum(on_gold) / len(on_gold), 4),
                mean_agreement=round(
                    float(np.mean([r.agreement for r in result.items.values()])), 4
                ),
                labeller_gold_vs_true_gap=round(float(np.mean(gap)), 4) if gap else None,
                seconds=round(seconds, 3),
            )
            summary[f"{method}@{k}"] = round(accuracy, 4)
    emit(event="summary", accuracy=summary, load1=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()
