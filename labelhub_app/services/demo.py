"""The demo market: three people with known passwords, real sample photos and generated images.

Used by `labelhub demo` and by `make run` when the database is empty.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter
from sqlmodel import Session, func, select

from labelhub_app.models import Image, User
from labelhub_app.services import accounts, images, market
from labelhub_app.services.images import UploadedFile
from labelhub_app.services.taxonomy import COCO_CATEGORIES

DEMO_PASSWORD = "labelhub-demo"
DEMO_PEOPLE = (
    ("producer@demo.labelhub", ("producer",), "Pia Producer"),
    ("consumer@demo.labelhub", ("consumer",), "Cato Consumer"),
    ("reviewer@demo.labelhub", ("reviewer",), "Remy Reviewer"),
)

# Real photographs shipped with scikit-image (BSD licensed), with their image-level labels.
SAMPLE_PHOTOS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("astronaut.png", ("person", "space suit")),
    ("chelsea.png", ("cat",)),
    ("coffee.png", ("cup", "coffee")),
    ("rocket.jpg", ("rocket", "sky")),
    ("motorcycle_left.png", ("motorcycle",)),
    ("camera.png", ("person", "camera")),
    ("hubble_deep_field.jpg", ("space", "galaxy")),
    ("coins.png", ("coin",)),
    ("clock_motion.png", ("clock",)),
    ("retina.jpg", ("retina", "medical")),
)


@dataclass(frozen=True)
class DemoReport:
    people: list[tuple[str, str, list[str]]]  # email, password, roles
    uploaded: int
    refused: int


def _sample_photos() -> Iterator[tuple[str, bytes, tuple[str, ...]]]:
    try:
        import skimage
    except ImportError:
        return
    data_dir = Path(skimage.__file__).parent / "data"
    for name, labels in SAMPLE_PHOTOS:
        path = data_dir / name
        if path.is_file():
            yield name, path.read_bytes(), labels


def generated_scene(seed: int, label: str, size: tuple[int, int] = (640, 480)) -> bytes:
    """A synthetic picture: a gradient sky, ground and a few shapes, with the label's name drawn in."""
    rnd = random.Random(seed)
    w, h = size
    top = tuple(rnd.randint(60, 200) for _ in range(3))
    bottom = tuple(rnd.randint(20, 120) for _ in range(3))
    img = PILImage.linear_gradient("L").resize((w, h))
    img = PILImage.composite(
        PILImage.new("RGB", (w, h), bottom), PILImage.new("RGB", (w, h), top), img
    )
    draw = ImageDraw.Draw(img)
    for _ in range(rnd.randint(3, 7)):
        x, y = rnd.randint(0, w - 40), rnd.randint(h // 3, h - 40)
        bw, bh = rnd.randint(30, w // 3), rnd.randint(30, h // 3)
        colour = tuple(rnd.randint(0, 255) for _ in range(3))
        if rnd.random() < 0.5:
            draw.ellipse((x, y, x + bw, y + bh), fill=colour)
        else:
            draw.rectangle((x, y, x + bw, y + bh), fill=colour)
    draw.text((16, 16), label, fill=(255, 255, 255))
    img = img.filter(ImageFilter.SMOOTH)
    out = BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def seed_demo(
    session: Session,
    *,
    generated: int = 60,
    progress: Callable[[int], None] | None = None,
) -> DemoReport:
    """Create the demo people (if missing) and their images; returns what was made."""
    people: dict[str, User] = {}
    for email, roles, name in DEMO_PEOPLE:
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = accounts.sign_up(
                session, email=email, password=DEMO_PASSWORD, roles=list(roles), display_name=name
            )
        people[email] = user
    producer = people["producer@demo.labelhub"]
    consumer = people["consumer@demo.labelhub"]
    uploaded = refused = 0
    rnd = random.Random(2026)
    files: list[tuple[str, bytes, tuple[str, ...], int]] = []
    names = [n for _, n, _ in COCO_CATEGORIES]
    for i in range(generated):
        labels = tuple(rnd.sample(names[:24], rnd.randint(1, 3)))
        files.append(
            (
                f"scene-{i + 1:03d}.jpg",
                generated_scene(i, labels[0]),
                labels,
                rnd.choice((50, 99, 120, 200, 350)),
            )
        )
    # the real photos last, so that they lead the market's "newest" page
    files += [
        (name, data, labels, rnd.choice((150, 250, 400, 900)))
        for name, data, labels in _sample_photos()
    ]
    for name, data, labels, price in files:
        [result] = images.ingest_images(
            session,
            actor=producer,
            files=[UploadedFile(name, data)],
            labels=labels,
            price_cents=price,
            licence=rnd.choice(("standard", "standard", "cc-by-4.0")),
        )
        uploaded += result.ok
        refused += not result.ok
        if progress:
            progress(1)
    if not market.list_projects(session, actor=consumer):
        market.create_project(session, actor=consumer, name="My first dataset")
    return DemoReport([(e, DEMO_PASSWORD, list(r)) for e, r, _ in DEMO_PEOPLE], uploaded, refused)


def database_is_empty(session: Session) -> bool:
    return (
        session.exec(select(func.count()).select_from(Image)).one() == 0
        and session.exec(select(func.count()).select_from(User)).one() == 0
    )
