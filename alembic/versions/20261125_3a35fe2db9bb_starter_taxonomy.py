"""starter taxonomy

Revision ID: 3a35fe2db9bb
Revises: d6d32e684248
Create Date: 2026-11-25 14:44:10.861145
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import labelhub_app.models._base

revision: str = "3a35fe2db9bb"
down_revision: str | None = "d6d32e684248"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Insert the 12 COCO supercategories and the 80 categories under them (skip existing names)."""
    from datetime import UTC, datetime

    from labelhub_app.services.taxonomy import COCO_CATEGORIES, SUPERCATEGORIES

    conn = op.get_bind()
    labels = sa.table(
        "labels",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("parent_id", sa.Integer),
        sa.column("coco_id", sa.Integer),
        sa.column("created_at", sa.DateTime),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    existing = {name for (name,) in conn.execute(sa.select(labels.c.name))}
    coco_ids = {name: cid for cid, name, _ in COCO_CATEGORIES}
    for sup in SUPERCATEGORIES:
        if sup not in existing:
            conn.execute(
                labels.insert().values(
                    name=sup, parent_id=None, coco_id=coco_ids.get(sup), created_at=now
                )
            )
            existing.add(sup)
    ids = {name: lid for lid, name in conn.execute(sa.select(labels.c.id, labels.c.name))}
    for cid, name, sup in COCO_CATEGORIES:
        if name in existing:
            continue
        conn.execute(
            labels.insert().values(name=name, parent_id=ids[sup], coco_id=cid, created_at=now)
        )


def downgrade() -> None:
    from labelhub_app.services.taxonomy import COCO_CATEGORIES, SUPERCATEGORIES

    names = [n for _, n, _ in COCO_CATEGORIES] + list(SUPERCATEGORIES)
    labels = sa.table("labels", sa.column("name", sa.String), sa.column("parent_id", sa.Integer))
    op.get_bind().execute(labels.update().values(parent_id=None).where(labels.c.name.in_(names)))
    op.get_bind().execute(labels.delete().where(labels.c.name.in_(names)))
