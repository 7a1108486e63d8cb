"""Training benchmark (#6): train the detector on 500 generated labelled images, then the AP table.

Generated data (inference_worker/synthetic.py): circles, squares and triangles on noisy
backgrounds, 1-3 per image, exact boxes; 500 to train on, 100 others held out. Trains within a
time budget (the worker's LABELHUB_DETECTOR_TRAIN_SECONDS does the same) and reports AP / AP50 /
AP75 on the held-out images (pycocotools) next to the seed system's COCO figures (32.5 / 64.8 /
26.7), which were measured on COCO, not on this data: the comparison says "the pipeline learns",
not "this model beats that one".

Prints JSON lines. Usage: python bench/training.py [--seconds 300] [--images 500] [--size 160]
    [--arch small] [--threads 2] [--class-colours]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = {"ap": 32.5, "ap50": 64.8, "ap75": 26.7}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--heldout", type=int, default=100)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--arch", default="small")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--class-colours", action="store_true", help="the easier CI data")
    args = parser.parse_args()
    import torch

    from inference_worker import synthetic
    from inference_worker.detector import Detector, device
    from inference_worker.evaluate import evaluate_detector
    from inference_worker.train import train_detector

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = {
        "size": args.size,
        "min_side": args.size // 8,
        "max_side": args.size // 3,
        "class_colours": args.class_colours,
    }
    train = synthetic.make_dataset(args.images, seed=11, **data)
    held = synthetic.make_dataset(args.heldout, seed=12, **data)
    detector = Detector.new(args.arch, list(synthetic.CLASSES), image_size=args.size).to(device())
    start = time.perf_counter()
    report = train_detector(
        detector,
        [s.image for s in train],
        [s.boxes for s in train],
        seconds=args.seconds,
        batch_size=args.batch,
    )
    train_s = time.perf_counter() - start
    metrics = evaluate_detector(detector, [s.image for s in held], [s.boxes for s in held])
    print(
        json.dumps(
            {
                "bench": "training",
                "arch": args.arch,
                "device": str(device()),
                "threads": args.threads,
                "train_images": args.images,
                "heldout_images": args.heldout,
                "image_size": args.size,
                "class_colours": args.class_colours,
                "train_s": round(train_s, 1),
                "steps": report.steps,
                "epochs": report.epochs,
                "ap": round(100 * metrics["ap"], 1),
                "ap50": round(100 * metrics["ap50"], 1),
                "ap75": round(100 * metrics["ap75"], 1),
                "seed_coco": SEED,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
