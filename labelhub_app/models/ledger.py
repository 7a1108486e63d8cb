"""The internal credits ledger: double entry, integer cents, every transaction sums to zero.

Sign convention: an entry adds ``amount_cents`` to its account's balance. A purchase of 500 with a
20 % commission is -500 on the buyer's balance, +400 on the producer's income, +100 on platform
commission. A top-up is +N on the buyer's balance and -N on the external ``cash_in`` account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from labelhub_app.models._base import UTCDateTime, utcnow

ACCOUNT_BALANCE = "balance"  # a user's spendable credits
ACCOUNT_INCOME = "income"  # a producer's earned income
ACCOUNT_COMMISSION = "commission"  # the platform's share (no user)
ACCOUNT_CASH_IN = "cash_in"  # money that entered from outside (no user)
ACCOUNT_PAID_OUT = "paid_out"  # a producer's income moved to payouts (#9 payouts)


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("kind", "user_id", name="uq_ledger_accounts_kind_user"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transactions"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # purchase, topup, grant
    idempotency_key: str | None = Field(default=None, unique=True, max_length=128)
    actor_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    memo: str = Field(default="", max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"

    id: int | None = Field(default=None, primary_key=True)
    txn_id: int = Field(foreign_key="ledger_transactions.id", index=True)
    account_id: int = Field(foreign_key="ledger_accounts.id", index=True)
    amount_cents: int
    image_id: int | None = Field(default=None, foreign_key="images.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
