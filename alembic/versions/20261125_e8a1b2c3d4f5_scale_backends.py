"""scale backends

#8 scale backends: outbox dispatch, anything PostgreSQL/OpenSearch need.
(An empty step in the chain until its issue fills it in.)

Revision ID: e8a1b2c3d4f5
Revises: e9b1b2c3d4f5
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import labelhub_app.models._base  # noqa: F401

revision: str = "e8a1b2c3d4f5"
down_revision: str | None = "e9b1b2c3d4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- #8 adapters: the OpenSearch dispatcher's durable cursor over search_outbox ---
    op.create_table(
        "search_dispatch_cursors",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("updated_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_search_dispatch_cursors")),
    )
    # --- end #8 adapters ---

    # --- #8 PostgreSQL: one platform ledger account per kind ---
    # uq_ledger_accounts_kind_user does not stop two (kind, NULL) rows (NULLs are distinct), so
    # two first sales at once could open two commission accounts; ledger.account_id() relies on
    # this index to create an account once under concurrency (both dialects: partial index).
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_accounts_platform_kind",
            ["kind"],
            unique=True,
            sqlite_where=sa.text("user_id IS NULL"),
            postgresql_where=sa.text("user_id IS NULL"),
        )
    # --- end #8 PostgreSQL ---


def downgrade() -> None:
    # --- #8 PostgreSQL ---
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_accounts_platform_kind")
    # --- end #8 PostgreSQL ---

    # --- #8 adapters ---
    op.drop_table("search_dispatch_cursors")
    # --- end #8 adapters ---
