"""Generated detection data: coloured shapes on noisy backgrounds, with their exact boxes.

Used by the tests and the benchmarks (no pretrained weights or labelled photos exist offline).
Deterministic by seed. Only numpy and Pillow: the app's tests can use it without torch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")
_HUES = ((235, 40, 40), (40, 80, 235), (40, 220, 60))


@dataclass(frozen=True)
class Sample:
    image: Image.Image
    boxes: list[tuple[str, float, float, float, float]]  # label, x, y, w, h (pixels)

    def jpeg(self, quality: int = 90) -> bytes:
        out = io.BytesIO()
        self.image.save(out, format="JPEG", quality=quality)
        return out.getvalue()

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, format="PNG")
        return out.getvalue()


def _overlaps(box: tuple[float, float, float, float], others: list[tuple]) -> bool:
    x, y, w, h = box
    for _, ox, oy, ow, oh in others:
        if x < ox + ow + 2 and ox < x + w + 2 and y < oy + oh + 2 and oy < y + h + 2:
            return True
    return False


def make_sample(
    seed: int,
    *,
    size: int = 160,
    classes: tuple[str, ...] = CLASSES,
    max_objects: int = 3,
    min_side: int = 24,
    max_side: int = 64,
    class_colours: bool = False,
) -> Sample:
    """One image of ``size`` x ``size`` with 1..max_objects non-overlapping shapes.

    ``class_colours``: each class has its own hue as well as its shape (an easier task, which a
    detector learns in a fraction of the steps: the CI tests use it).
    """
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=3)
    noise = rng.normal(0, 18, size=(size, size, 3))
    pixels = np.clip(base[None, None, :] + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    boxes: list[tuple[str, float, float, float, float]] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _try in range(20):
            side = int(rng.integers(min_side, max_side + 1))
            x = int(rng.integers(0, size - side))
            y = int(rng.integers(0, size - side))
            if not _overlaps((x, y, side, side), boxes):
                break
        else:
            continue
        label = classes[int(rng.integers(0, len(classes)))]
        # a colour far from the background
        colour = tuple(int((c + 128 + rng.integers(-30, 30)) % 256) for c in base)
        if class_colours:
            hue = _HUES[classes.index(label) % len(_HUES)]
            colour = tuple(int(max(0, min(255, h + rng.integers(-20, 20)))) for h in hue)
        if label == "circle":
            draw.ellipse((x, y, x + side - 1, y + side - 1), fill=colour)
        elif label == "square":
            draw.rectangle((x, y, x + side - 1, y + side - 1), fill=colour)
        else:
            draw.polygon(
                [(x + side / 2, y), (x, y + side - 1), (x + side - 1, y + side - 1)], fill=colour
            )
        boxes.append((label, float(x), float(y), float(side), float(side)))
    return Sample(image, boxes)


def make_dataset(count: int, *, seed: int = 0, **kwargs) -> list[Sample]:  # type: ignore[no-untyped-def]
    return [make_sample(seed * 1_000_003 + i, **kwargs) for i in range(count)]
