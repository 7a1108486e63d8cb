"""reviews reputation gold

#7 reviews, producer reputation, consumer ratings, gold items.
(An empty step in the chain until its issue fills it in.)

Revision ID: e7a1b2c3d4f5
Revises: e6b1b2c3d4f5
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import labelhub_app.models._base  # noqa: F401

revision: str = "e7a1b2c3d4f5"
down_revision: str | None = "e6b1b2c3d4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
