"""campaigns consensus

#7 labelling campaigns, tiled tasks, answers and consolidation.

Revision ID: e7b1b2c3d4f5
Revises: e7a1b2c3d4f5
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import labelhub_app.models._base  # noqa: F401

revision: str = "e7b1b2c3d4f5"
down_revision: str | None = "e7a1b2c3d4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("labellers_per_image", sa.Integer(), nullable=False),
        sa.Column("agreement_threshold", sa.Float(), nullable=False),
        sa.Column("images_count", sa.Integer(), nullable=False),
        sa.Column("answers_needed", sa.Integer(), nullable=False),
        sa.Column("answers_done", sa.Integer(), nullable=False),
        sa.Column("consolidated_at", labelhub_app.models._base.UTCDateTime(), nullable=True),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_campaigns_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_campaigns_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_public_id"), ["public_id"], unique=True)

    op.create_table(
        "campaign_images",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_images_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_campaign_images_image_id_images")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "image_id", name=op.f("pk_campaign_images")),
    )
    with op.batch_alter_table("campaign_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_images_image_id"), ["image_id"], unique=False)

    op.create_table(
        "campaign_labellers",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("agreement", sa.Float(), nullable=True),
        sa.Column("gold_answers", sa.Integer(), nullable=False),
        sa.Column("gold_correct", sa.Integer(), nullable=False),
        sa.Column("joined_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_labellers_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_campaign_labellers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "user_id", name=op.f("pk_campaign_labellers")),
    )
    with op.batch_alter_table("campaign_labellers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_labellers_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "campaign_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("boxes", sa.JSON(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("agreement", sa.Float(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_results_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_campaign_results_image_id_images")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_results")),
        sa.UniqueConstraint(
            "campaign_id", "image_id", "label", name="uq_campaign_results_campaign_image_label"
        ),
    )
    with op.batch_alter_table("campaign_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_results_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_results_image_id"), ["image_id"], unique=False
        )

    op.create_table(
        "campaign_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("labeller_id", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", labelhub_app.models._base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_tasks_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["labeller_id"], ["users.id"], name=op.f("fk_campaign_tasks_labeller_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_tasks")),
    )
    with op.batch_alter_table("campaign_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_tasks_campaign_status", ["campaign_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_tasks_labeller_id"), ["labeller_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_campaign_tasks_public_id"), ["public_id"], unique=True)

    op.create_table(
        "campaign_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("labeller_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=True),
        sa.Column("boxes", sa.JSON(), nullable=True),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_answers_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_campaign_answers_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["labeller_id"], ["users.id"], name=op.f("fk_campaign_answers_labeller_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["campaign_tasks.id"],
            name=op.f("fk_campaign_answers_task_id_campaign_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_answers")),
        sa.UniqueConstraint(
            "campaign_id",
            "image_id",
            "label",
            "labeller_id",
            name="uq_campaign_answers_campaign_image_label_labeller",
        ),
    )
    with op.batch_alter_table("campaign_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_answers_campaign_image", ["campaign_id", "image_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_answers_labeller_id"), ["labeller_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_campaign_answers_task_id"), ["task_id"], unique=False)

    op.create_table(
        "campaign_task_items",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_gold", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_campaign_task_items_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["campaign_tasks.id"],
            name=op.f("fk_campaign_task_items_task_id_campaign_tasks"),
        ),
        sa.PrimaryKeyConstraint("task_id", "image_id", name=op.f("pk_campaign_task_items")),
    )
    with op.batch_alter_table("campaign_task_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_task_items_image_id"), ["image_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_task_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_task_items_image_id"))

    op.drop_table("campaign_task_items")
    with op.batch_alter_table("campaign_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_answers_task_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_answers_labeller_id"))
        batch_op.drop_index("ix_campaign_answers_campaign_image")

    op.drop_table("campaign_answers")
    with op.batch_alter_table("campaign_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_tasks_public_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_tasks_labeller_id"))
        batch_op.drop_index("ix_campaign_tasks_campaign_status")

    op.drop_table("campaign_tasks")
    with op.batch_alter_table("campaign_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_results_image_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_results_campaign_id"))

    op.drop_table("campaign_results")
    with op.batch_alter_table("campaign_labellers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_labellers_user_id"))

    op.drop_table("campaign_labellers")
    with op.batch_alter_table("campaign_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_images_image_id"))

    op.drop_table("campaign_images")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_public_id"))
        batch_op.drop_index(batch_op.f("ix_campaigns_owner_id"))

    op.drop_table("campaigns")
