"""Synthetic test images, generated in memory and deterministic by seed (no binary fixtures).

Each seed gives a different picture (a random gradient, large random shapes, fine noise), so
perceptual hashes of different seeds are far apart while one seed always gives the same bytes. A
640x480 JPEG (about 60 KB, like a photo) takes about 4 ms, cheap enough for benchmarks.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageChops, ImageDraw


def make_image(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """An RGB picture: a per-channel linear gradient, 6-10 large shapes, fine noise."""
    rng = np.random.default_rng(seed)
    # The gradient is computed at 1/8 scale and resized up: smooth anyway, and much cheaper.
    small_w, small_h = max(2, (width + 7) // 8), max(2, (height + 7) // 8)
    xs = np.linspace(0.0, 1.0, small_w, dtype=np.float32)[None, :, None]
    ys = np.linspace(0.0, 1.0, small_h, dtype=np.float32)[:, None, None]
    slope_x, slope_y = rng.uniform(-160, 160, size=(2, 3)).astype(np.float32)
    offset = rng.uniform(40, 215, size=3).astype(np.float32)
    gradient = np.clip(offset + slope_x * xs + slope_y * ys, 0, 255).astype(np.uint8)
    image = Image.fromarray(gradient).resize((width, height), Image.Resampling.BILINEAR)

    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 11))):
        x0, x1 = sorted(rng.integers(-width // 4, width + width // 4, size=2).tolist())
        y0, y1 = sorted(rng.integers(-height // 4, height + height // 4, size=2).tolist())
        box = (x0, y0, max(x1, x0 + width // 8), max(y1, y0 + height // 8))
        colour = tuple(rng.integers(0, 256, size=3).tolist())
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    # Sensor-like noise gives the encoder real texture (photo-sized files); it is the same
    # pattern for every seed, which keeps this fast and changes no perceptual hash.
    return ImageChops.add(image, _noise(width, height), offset=-_NOISE_CENTRE)


_NOISE_CENTRE = 16


@functools.lru_cache(maxsize=8)
def _noise(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0x1ABE1)
    noise = rng.normal(_NOISE_CENTRE, 5.0, size=(height, width, 3))
    return Image.fromarray(np.clip(noise, 0, 2 * _NOISE_CENTRE).astype(np.uint8))


def make_jpeg(
    width: int = 640,
    height: int = 480,
    seed: int = 0,
    *,
    exif: bytes | None = None,
    quality: int = 90,
) -> bytes:
    """A JPEG of `make_image(width, height, seed)`, with `exif` (raw EXIF bytes) when given."""
    buffer = io.BytesIO()
    extra = {"exif": exif} if exif is not None else {}
    make_image(width, height, seed).save(buffer, "JPEG", quality=quality, **extra)
    return buffer.getvalue()


def make_png(width: int = 640, height: int = 480, seed: int = 0, *, mode: str = "RGB") -> bytes:
    """A PNG of `make_image(width, height, seed)` converted to `mode`.

    "RGBA" and "LA" get an alpha that fades from opaque (left) to transparent (right); "P" is an
    adaptive 64-colour palette.
    """
    image = make_image(width, height, seed)
    if mode in ("RGBA", "LA"):
        alpha = np.broadcast_to(np.linspace(255, 0, width, dtype=np.float32), (height, width))
        image = image.convert(mode[:-1])
        image.putalpha(Image.fromarray(alpha.astype(np.uint8)))
    elif mode == "P":
        image = image.quantize(64)
    else:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def broken_jpeg(width: int = 640, height: int = 480, seed: int = 0) -> bytes:
    """A JPEG cut off halfway through its image data, as an interrupted upload leaves it."""
    data = make_jpeg(width, height, seed)
    return data[: len(data) // 2]
