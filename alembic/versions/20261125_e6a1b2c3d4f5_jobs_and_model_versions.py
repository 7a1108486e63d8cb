"""jobs and model versions

#6 auto-labelling: jobs queue, model versions registry, suggestion decisions.
(An empty step in the chain until its issue fills it in.)

Revision ID: e6a1b2c3d4f5
Revises: 296765844b87
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import labelhub_app.models._base  # noqa: F401

revision: str = "e6a1b2c3d4f5"
down_revision: str | None = "296765844b87"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.Column("lease_expires_at", labelhub_app.models._base.UTCDateTime(), nullable=True),
        sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("progress_message", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.Column("started_at", labelhub_app.models._base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", labelhub_app.models._base.UTCDateTime(), nullable=True),
        sa.Column("updated_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_jobs_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_public_id"), ["public_id"], unique=True)
        batch_op.create_index(
            "ix_jobs_status_priority", ["status", "priority", "run_after"], unique=False
        )
        batch_op.create_index(
            "ix_jobs_created_by_created", ["created_by_id", "created_at"], unique=False
        )

    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("arch", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("train_images", sa.Integer(), nullable=False),
        sa.Column("train_boxes", sa.Integer(), nullable=False),
        sa.Column("heldout_images", sa.Integer(), nullable=False),
        sa.Column("ap", sa.Float(), nullable=True),
        sa.Column("ap50", sa.Float(), nullable=True),
        sa.Column("ap75", sa.Float(), nullable=True),
        sa.Column("compared_with_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("object_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_model_versions_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_model_versions_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["compared_with_id"],
            ["model_versions.id"],
            name=op.f("fk_model_versions_compared_with_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_model_versions_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_public_id"), ["public_id"], unique=True)
        batch_op.create_index(
            "ix_model_versions_scope_owner", ["scope", "owner_id", "version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_model_versions_scope_owner")
        batch_op.drop_index(batch_op.f("ix_model_versions_public_id"))
    op.drop_table("model_versions")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_created_by_created")
        batch_op.drop_index("ix_jobs_status_priority")
        batch_op.drop_index(batch_op.f("ix_jobs_public_id"))
    op.drop_table("jobs")
