"""Factories for service tests: real rows made through the real services."""

from __future__ import annotations

import itertools

from sqlmodel import Session

from labelhub_app.models import Image, Project, User
from labelhub_app.services import accounts, images, market
from tests.images import make_jpeg

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(session: Session, *roles: str, email: str | None = None) -> User:
    n = next(_seq)
    return accounts.sign_up(
        session,
        email=email or f"user{n}@example.com",
        password=PASSWORD,
        roles=list(roles or ("consumer",)),
        display_name=f"User {n}",
    )


def make_image(
    session: Session,
    owner: User,
    *,
    labels: tuple[str, ...] = ("dog",),
    price_cents: int = 250,
    licence: str = "standard",
    name: str | None = None,
    seed: int | None = None,
) -> Image:
    n = next(_seq)
    seed = n * 7919 if seed is None else seed
    [result] = images.ingest_images(
        session,
        actor=owner,
        files=[images.UploadedFile(name or f"photo-{n}.jpg", make_jpeg(320, 240, seed=seed))],
        labels=labels,
        price_cents=price_cents,
        licence=licence,
    )
    assert result.ok, result.message
    return images.get_image(session, result.image_id)  # type: ignore[arg-type]


def make_project(session: Session, owner: User, name: str | None = None) -> Project:
    return market.create_project(session, actor=owner, name=name or f"Project {next(_seq)}")
