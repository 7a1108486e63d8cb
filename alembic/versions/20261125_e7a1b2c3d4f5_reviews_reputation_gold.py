"""reviews reputation gold

#7 reviews, review requests, producer reputation, consumer ratings, gold items and results.

Revision ID: e7a1b2c3d4f5
Revises: e6b1b2c3d4f5
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import labelhub_app.models._base

revision: str = "e7a1b2c3d4f5"
down_revision: str | None = "e6b1b2c3d4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", labelhub_app.models._base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_review_requests_image_id_images")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
    )
    with op.batch_alter_table("review_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_requests_image_id"), ["image_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("revision_before", sa.Integer(), nullable=False),
        sa.Column("revision_after", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("gold", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_reviews_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["users.id"], name=op.f("fk_reviews_producer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["review_requests.id"],
            name=op.f("fk_reviews_request_id_review_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_public_id"), ["public_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_reviews_image_id"), ["image_id"], unique=False)
        batch_op.create_index(
            "ix_reviews_producer_created", ["producer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_reviews_reviewer_created", ["reviewer_id", "created_at"], unique=False
        )

    op.create_table(
        "producer_reputation",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("fixed", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=False),
        sa.Column("upper", sa.Float(), nullable=False),
        sa.Column("indexed_lower", sa.Float(), nullable=False),
        sa.Column("updated_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_producer_reputation_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_producer_reputation")),
    )

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_ratings_buyer_id_users")),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_ratings_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_ratings_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_ratings_purchase_id")),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ratings_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ratings_image_id"), ["image_id"], unique=False)

    op.create_table(
        "gold_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("boxes", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("marked_by_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_gold_items_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["marked_by_id"], ["users.id"], name=op.f("fk_gold_items_marked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_items")),
        sa.UniqueConstraint("image_id", name=op.f("uq_gold_items_image_id")),
    )

    op.create_table(
        "gold_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gold_item_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("context", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", labelhub_app.models._base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gold_item_id"],
            ["gold_items.id"],
            name=op.f("fk_gold_results_gold_item_id_gold_items"),
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_gold_results_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_gold_results_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_results")),
    )
    with op.batch_alter_table("gold_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gold_results_gold_item_id"), ["gold_item_id"], unique=False
        )
        batch_op.create_index(
            "ix_gold_results_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gold_results", schema=None) as batch_op:
        batch_op.drop_index("ix_gold_results_user_created")
        batch_op.drop_index(batch_op.f("ix_gold_results_gold_item_id"))
    op.drop_table("gold_results")
    op.drop_table("gold_items")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ratings_image_id"))
        batch_op.drop_index(batch_op.f("ix_ratings_buyer_id"))
    op.drop_table("ratings")
    op.drop_table("producer_reputation")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_reviewer_created")
        batch_op.drop_index("ix_reviews_producer_created")
        batch_op.drop_index(batch_op.f("ix_reviews_image_id"))
        batch_op.drop_index(batch_op.f("ix_reviews_public_id"))
    op.drop_table("reviews")
    with op.batch_alter_table("review_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_requests_image_id"))
    op.drop_table("review_requests")
