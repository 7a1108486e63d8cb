"""Training a detector on LabelHub's human boxes, within a time budget.

Images are shrunk once (longest side ``image_size``) and kept as tensors; each step takes a
random batch, flipped left-right half of the time. AdamW with a short warm-up and a step down
of the learning rate for the last fifth of the budget. On a GPU: fp16 autocast with a grad
scaler. ``should_stop`` is asked after every step (a cancelled job, a SIGTERM).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from inference_worker.detector import Detector

log = logging.getLogger("inference_worker.train")

Box = tuple[str, float, float, float, float]


class TrainingStopped(Exception):
    """``should_stop`` said so; the model is incomplete."""


@dataclass(frozen=True)
class TrainReport:
    steps: int
    epochs: float
    seconds: float
    last_loss: float
    images: int
    boxes: int


def _tensors(
    detector: Detector, images: Sequence[Image.Image], boxes: Sequence[Sequence[Box]]
) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    index = {name: i + 1 for i, name in enumerate(detector.labels)}
    items = []
    for image, image_boxes in zip(images, boxes, strict=True):
        tensor, scale = detector.prepare(image)
        rows = [
            (x * scale, y * scale, (x + w) * scale, (y + h) * scale, index[label])
            for label, x, y, w, h in image_boxes
            if label in index and w > 0 and h > 0
        ]
        if not rows:
            continue
        t = torch.tensor(rows, dtype=torch.float32)
        items.append((tensor, {"boxes": t[:, :4], "labels": t[:, 4].long()}))
    return items


def _flip(tensor: torch.Tensor, target: dict[str, torch.Tensor]):  # type: ignore[no-untyped-def]
    width = tensor.shape[-1]
    boxes = target["boxes"].clone()
    boxes[:, [0, 2]] = width - target["boxes"][:, [2, 0]]
    return tensor.flip(-1), {"boxes": boxes, "labels": target["labels"]}


def train_detector(
    detector: Detector,
    images: Sequence[Image.Image],
    boxes: Sequence[Sequence[Box]],
    *,
    seconds: float,
    max_epochs: float = 1000.0,
    batch_size: int = 4,
    lr: float = 2e-3,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_every_s: float = 5.0,
) -> TrainReport:
    """Train ``detector`` in place for ``seconds`` (or ``max_epochs``), whichever ends first."""
    dev = next(detector.model.parameters()).device
    items = _tensors(detector, images, boxes)
    if not items:
        raise ValueError("no image has a box with a known label")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = detector.model
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=dev.type == "cuda")
    per_epoch = max(1, math.ceil(len(items) / batch_size))
    max_steps = max(1, int(max_epochs * per_epoch))
    start = last_report = time.monotonic()
    steps, loss_value = 0, float("nan")
    order: list[int] = []
    while steps < max_steps:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        fraction = max(elapsed / seconds, steps / max_steps)
        warm = min(1.0, (steps + 1) / 20)
        for group in optimiser.param_groups:
            group["lr"] = lr * warm * (0.1 if fraction > 0.8 else 1.0)
        if len(order) < batch_size:
            extra = list(range(len(items)))
            rng.shuffle(extra)
            order += extra
        batch = [items[i] for i in order[:batch_size]]
        del order[:batch_size]
        tensors, targets = [], []
        for tensor, target in batch:
            if rng.random() < 0.5:
                tensor, target = _flip(tensor, target)
            tensors.append(tensor.to(dev, non_blocking=True))
            targets.append({k: v.to(dev, non_blocking=True) for k, v in target.items()})
        with torch.autocast(dev.type, dtype=torch.float16, enabled=dev.type == "cuda"):
            losses = model(tensors, targets)
            loss = sum(losses.values())
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimiser)
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        scaler.step(optimiser)
        scaler.update()
        steps += 1
        loss_value = float(loss.detach())
        now = time.monotonic()
        if progress is not None and now - last_report >= progress_every_s:
            last_report = now
            progress(
                min(0.99, max((now - start) / seconds, steps / max_steps)),
                f"Training: step {steps}, epoch {steps / per_epoch:.1f}, loss {loss_value:.3f}",
            )
        if should_stop is not None and should_stop():
            raise TrainingStopped()
    model.eval()
    report = TrainReport(
        steps,
        round(steps / per_epoch, 2),
        round(time.monotonic() - start, 1),
        round(loss_value, 4),
        len(items),
        sum(len(t["labels"]) for _, t in items),
    )
    log.info("trained %s", report)
    return report
