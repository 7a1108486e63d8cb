"""box suggestions

#6 auto-labelling: accepting and rejecting suggestions in the editor.
Boxes remember the model version that suggested them and who accepted them;
suggestion_decisions keeps every accept and reject.

Revision ID: e6b1b2c3d4f5
Revises: e6a1b2c3d4f5
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import labelhub_app.models._base

revision: str = "e6b1b2c3d4f5"
down_revision: str | None = "e6a1b2c3d4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("boxes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch_op.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("accepted_score", sa.Float(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_boxes_verified_by_id_users"), "users", ["verified_by_id"], ["id"]
        )

    op.create_table(
        "suggestion_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("box_public_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("w", sa.Float(), nullable=False),
        sa.Column("h", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_suggestion_decisions_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_suggestion_decisions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_decisions")),
    )
    with op.batch_alter_table("suggestion_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suggestion_decisions_box_public_id"), ["box_public_id"], unique=False
        )
        batch_op.create_index(
            "ix_suggestion_decisions_image_decision", ["image_id", "decision"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("suggestion_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_suggestion_decisions_image_decision")
        batch_op.drop_index(batch_op.f("ix_suggestion_decisions_box_public_id"))
    op.drop_table("suggestion_decisions")
    with op.batch_alter_table("boxes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_boxes_verified_by_id_users"), type_="foreignkey")
        batch_op.drop_column("accepted_score")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("model_version")
