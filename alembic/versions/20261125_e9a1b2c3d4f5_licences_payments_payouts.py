"""licences payments payouts

#9 licences, Stripe payments and webhooks, payouts.

Tables: licence_texts (versioned, version 1 of Standard, Extended and Exclusive written here),
image_offers (Extended and Exclusive prices; the Standard offer of every image, existing ones
included, is its images.price_cents), payments,
webhook_events, refunds, payouts; purchases gain licence_kind, licence_version (existing
purchases: standard, version 1) and refunded_at.

Revision ID: e9a1b2c3d4f5
Revises: e7b1b2c3d4f5
Create Date: 2026-11-25 17:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel  # noqa: F401

import labelhub_app.models._base
from alembic import op
from labelhub_app.models._base import UTCDateTime

revision: str = "e9a1b2c3d4f5"
down_revision: str | None = "e7b1b2c3d4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ = labelhub_app.models._base

# Version 1 of each licence, frozen here: a later change is a new row with version 2.
LICENCES_V1 = [
    (
        "standard",
        "LabelHub Standard licence",
        "Train, fine-tune and evaluate machine-learning models\n"
        "Use inside your organisation (internal tools, reports, research)\n"
        "Keep the image and its labels for as long as you use the models",
        "Redistributing the image or its labels, alone or inside a product\nResale or sublicensing",
        "LabelHub Standard licence, version 1\n\n"
        "The producer grants the buying account a perpetual, worldwide, non-exclusive licence to "
        "copy and use the image and its annotations to train, fine-tune, evaluate and test "
        "machine-learning models, and for any other internal purpose of the buying organisation. "
        "Models trained on the image may be used and distributed freely. The image and its "
        "annotations themselves may not be redistributed, published, resold or sublicensed. "
        "Other buyers may license the same image.",
    ),
    (
        "extended",
        "LabelHub Extended licence",
        "Everything the Standard licence allows\n"
        "Redistribute the image and its labels inside a product or dataset you ship\n"
        "Publish the image in product documentation and marketing",
        "Selling or sharing the image on its own as a stock file\n"
        "Resale or sublicensing outside your product",
        "LabelHub Extended licence, version 1\n\n"
        "Everything the Standard licence, version 1, grants, and in addition the right to "
        "redistribute the image and its annotations as part of a product, dataset or service the "
        "buying organisation makes available to others, and to show the image in that product's "
        "documentation and marketing. The image may not be offered on its own as a stock file, "
        "resold or sublicensed outside such a product. Other buyers may license the same image.",
    ),
    (
        "exclusive",
        "LabelHub Exclusive licence",
        "Everything the Extended licence allows\n"
        "You are the only buyer: the image leaves the market once you buy it\n"
        "No one else can license the image from LabelHub afterwards",
        "Resale or sublicensing of the image on its own\n"
        "Cancelling licences granted before your purchase (sold only while none exist)",
        "LabelHub Exclusive licence, version 1\n\n"
        "Everything the Extended licence, version 1, grants. In addition LabelHub sells the image "
        "under this licence only while no other licence to it has been sold, takes the image off "
        "the market when the sale completes and sells no further licence to it. The producer "
        "agrees not to offer the same image elsewhere after the sale.",
    ),
]


def upgrade() -> None:
    licence_texts = op.create_table(
        "licence_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("allows", sa.String(length=500), nullable=False),
        sa.Column("forbids", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_texts")),
        sa.UniqueConstraint("kind", "version", name="uq_licence_texts_kind_version"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        licence_texts,
        [
            {
                "kind": kind,
                "version": 1,
                "title": title,
                "allows": allows,
                "forbids": forbids,
                "body": body,
                "created_at": now,
            }
            for kind, title, allows, forbids, body in LICENCES_V1
        ],
    )
    op.create_table(
        "image_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_image_offers_image_id_images")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_offers")),
        sa.UniqueConstraint("image_id", "kind", name="uq_image_offers_image_kind"),
    )
    op.create_index(op.f("ix_image_offers_image_id"), "image_offers", ["image_id"])
    # Every image's Standard offer is its price (images.price_cents), so every existing image
    # keeps a Standard offer at its current price; image_offers holds Extended and Exclusive.

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("failure_message", sa.String(length=300), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("items_json", sa.Text(), nullable=False),
        sa.Column("ledger_txn_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payments_user_id_users")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_payments_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_txn_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_payments_ledger_txn_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_payments_provider_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payments_idempotency_key")),
    )
    op.create_index(op.f("ix_payments_public_id"), "payments", ["public_id"], unique=True)
    op.create_index(op.f("ix_payments_user_id"), "payments", ["user_id"])
    op.create_index(op.f("ix_payments_status"), "payments", ["status"])

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_events_event_id")),
    )
    op.create_index(op.f("ix_webhook_events_object_id"), "webhook_events", ["object_id"])

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("purchase_txn_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("ledger_txn_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_txn_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_refunds_purchase_txn_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_txn_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_refunds_ledger_txn_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_refunds_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("purchase_txn_id", name=op.f("uq_refunds_purchase_txn_id")),
    )
    op.create_index(op.f("ix_refunds_public_id"), "refunds", ["public_id"], unique=True)
    op.create_index(op.f("ix_refunds_payment_id"), "refunds", ["payment_id"])

    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("ledger_txn_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["users.id"], name=op.f("fk_payouts_producer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_txn_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_payouts_ledger_txn_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payouts_idempotency_key")),
    )
    op.create_index(op.f("ix_payouts_public_id"), "payouts", ["public_id"], unique=True)
    op.create_index(op.f("ix_payouts_producer_id"), "payouts", ["producer_id"])

    with op.batch_alter_table("purchases") as batch:
        batch.add_column(
            sa.Column(
                "licence_kind", sa.String(length=16), nullable=False, server_default="standard"
            )
        )
        batch.add_column(sa.Column("licence_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("refunded_at", UTCDateTime(), nullable=True))
    op.execute(sa.text("UPDATE purchases SET licence_version = 1"))


def downgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("refunded_at")
        batch.drop_column("licence_version")
        batch.drop_column("licence_kind")
    op.drop_index(op.f("ix_payouts_producer_id"), table_name="payouts")
    op.drop_index(op.f("ix_payouts_public_id"), table_name="payouts")
    op.drop_table("payouts")
    op.drop_index(op.f("ix_refunds_payment_id"), table_name="refunds")
    op.drop_index(op.f("ix_refunds_public_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_webhook_events_object_id"), table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_index(op.f("ix_payments_status"), table_name="payments")
    op.drop_index(op.f("ix_payments_user_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_public_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_image_offers_image_id"), table_name="image_offers")
    op.drop_table("image_offers")
    op.drop_table("licence_texts")
