"""Inference benchmark (#6): images per second of each detector size, CPU and (when present) GPU.

Random weights (no pretrained ones exist offline; speed does not depend on them), 640x480
generated images, ``torch.inference_mode``. CPU: batch 1 and batch 4. GPU: batch 1 and batch 16
with fp16 autocast. The seed system's figure was about 0.5 s per image (2 images/s).

Prints JSON lines. Usage: python bench/inference.py [--archs small,mobilenet,resnet50]
    [--images 8] [--size 640] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED_S_PER_IMAGE = 0.5


def measure(detector, images, batch: int, repeats: int = 1) -> float:  # type: ignore[no-untyped-def]
    detector.predict(images[:batch], batch_size=batch)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        detector.predict(images, batch_size=batch)
    return len(images) * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--archs", default="small,mobilenet,resnet50")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=640, help="detector input size (longest side)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from inference_worker import synthetic
    from inference_worker.detector import Detector, parameter_count

    torch.set_num_threads(args.threads)
    pictures = [
        synthetic.make_sample(i, size=640).image.resize((640, 480)) for i in range(args.images)
    ]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for arch in args.archs.split(","):
        torch.manual_seed(0)
        detector = Detector.new(arch, ["circle", "square", "triangle"], image_size=args.size)
        params = parameter_count(detector.model)
        for dev in devices:
            detector.to(torch.device(dev))
            batches = (1, 4) if dev == "cpu" else (1, 16)
            n = args.images if dev == "cpu" else max(args.images, 64)
            imgs = (pictures * ((n + len(pictures) - 1) // len(pictures)))[:n]
            for batch in batches:
                rate = measure(detector, imgs, batch, repeats=1 if dev == "cpu" else 3)
                print(
                    json.dumps(
                        {
                            "bench": "inference",
                            "arch": arch,
                            "params_m": round(params / 1e6, 2),
                            "device": dev if dev == "cpu" else torch.cuda.get_device_name(),
                            "threads": args.threads if dev == "cpu" else None,
                            "input": f"640x480 -> {args.size}",
                            "batch": batch,
                            "fp16": dev == "cuda",
                            "images_per_s": round(rate, 2),
                            "s_per_image": round(1 / rate, 3),
                            "vs_seed_0_5_s": round(SEED_S_PER_IMAGE * rate, 2),
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
