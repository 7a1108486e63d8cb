"""Producers' income: earned, pending (inside the refund window), available, paid out; payouts.

A payout request moves available income to a ``Payout`` record in one ledger transaction
(income -N, paid_out +N). The configured provider then sends it: the internal ledger completes it
at once; Stripe (without Connect, which localstripe lacks) records it "to be transferred" and an
administrator marks it paid after the bank transfer (``complete_payout``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.adapters.payments import get_payments
from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelhub_app.models import LedgerAccount, LedgerEntry, User, utcnow
from labelhub_app.models.ledger import ACCOUNT_INCOME, ACCOUNT_PAID_OUT
from labelhub_app.models.payments import PAYOUT_PAID, PAYOUT_TO_BE_TRANSFERRED, Payout
from labelhub_app.services import ledger
from labelhub_app.services.accounts import require_role


@dataclass(frozen=True)
class IncomeSummary:
    earned_cents: int  # the producer's share of every sale, less refunds
    pending_cents: int  # earned inside the refund window: not yet payable
    available_cents: int  # payable now
    in_transfer_cents: int  # requested, to be transferred
    paid_out_cents: int  # transferred
    refund_window_days: int


def _income_entries_sum(session: Session, user_id: int, since: datetime | None = None) -> int:
    query = (
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
        .where(
            LedgerAccount.kind == ACCOUNT_INCOME,
            LedgerAccount.user_id == user_id,
            col(LedgerEntry.image_id).is_not(None),  # sales and their refunds, not payouts
        )
    )
    if since is not None:
        query = query.where(LedgerEntry.created_at >= since)
    return int(session.exec(query).one())


def income_summary(session: Session, *, actor: User) -> IncomeSummary:
    require_role(actor, "producer")
    days = get_settings().refund_window_days
    earned = _income_entries_sum(session, actor.id)  # type: ignore[arg-type]
    recent = _income_entries_sum(session, actor.id, utcnow() - timedelta(days=days))  # type: ignore[arg-type]
    balance = ledger.account_balance(session, kind=ACCOUNT_INCOME, user_id=actor.id)
    pending = max(0, min(recent, balance))
    available = max(0, balance - pending)
    totals = dict(
        session.exec(
            select(Payout.status, func.coalesce(func.sum(Payout.amount_cents), 0))
            .where(Payout.producer_id == actor.id)
            .group_by(Payout.status)
        ).all()
    )
    return IncomeSummary(
        earned,
        pending,
        available,
        int(totals.get(PAYOUT_TO_BE_TRANSFERRED, 0)),
        int(totals.get(PAYOUT_PAID, 0)),
        days,
    )


@dataclass(frozen=True)
class PayoutView:
    public_id: str
    amount_cents: int
    status: str
    provider: str
    reference: str
    created_at: datetime
    paid_at: datetime | None


def _view(p: Payout) -> PayoutView:
    return PayoutView(
        p.public_id, p.amount_cents, p.status, p.provider, p.provider_ref, p.created_at, p.paid_at
    )


def request_payout(
    session: Session, *, actor: User, idempotency_key: str, amount_cents: int | None = None
) -> PayoutView:
    """Move available income (all of it by default) to a payout; a retry with the key pays once."""
    require_role(actor, "producer")
    if not idempotency_key or len(idempotency_key) > 64:
        raise InvalidInput("A payout request needs an idempotency key of 1-64 characters.")
    key = f"payout:{actor.id}:{idempotency_key}"
    existing = session.exec(select(Payout).where(Payout.idempotency_key == key)).first()
    if existing is not None:
        return _view(existing)
    if amount_cents is not None and (
        not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0
    ):
        raise InvalidInput("Enter a positive amount to pay out.")
    income_id = ledger.lock_account(session, kind=ACCOUNT_INCOME, user_id=actor.id)
    available = income_summary(session, actor=actor).available_cents
    amount = available if amount_cents is None else amount_cents
    minimum = get_settings().min_payout_cents
    if amount > available:
        session.rollback()
        raise InvalidInput(
            f"Only {available / 100:,.2f} is available to pay out; income from the last "
            f"{get_settings().refund_window_days} day(s) is pending until the refund window ends."
        )
    if amount < minimum:
        session.rollback()
        raise InvalidInput(
            f"Payouts start at {minimum / 100:,.2f}; you have {available / 100:,.2f} available."
        )
    provider = get_payments()
    try:
        txn = ledger.post_transaction(
            session,
            kind="payout",
            postings=[
                ledger.Posting(income_id, -amount),
                ledger.Posting(
                    ledger.account_id(session, kind=ACCOUNT_PAID_OUT, user_id=actor.id), amount
                ),
            ],
            actor_id=actor.id,
            idempotency_key=key,
            memo="payout request",
        )
        payout = Payout(
            producer_id=actor.id,  # type: ignore[arg-type]
            amount_cents=amount,
            provider=provider.name,
            idempotency_key=key,
            ledger_txn_id=txn.id,  # type: ignore[arg-type]
        )
        session.add(payout)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.exec(select(Payout).where(Payout.idempotency_key == key)).first()
        if existing is None:
            raise
        return _view(existing)
    # The money is set aside; now the provider sends it (idempotent on the payout's key).
    result = provider.send_payout(
        payout_id=payout.public_id,
        amount_cents=amount,
        currency=get_settings().currency,
        idempotency_key=key,
    )
    if result.status == PAYOUT_PAID:
        payout.status = PAYOUT_PAID
        payout.paid_at = utcnow()
    payout.provider_ref = result.reference[:128]
    session.add(payout)
    session.commit()
    return _view(payout)


def complete_payout(session: Session, *, actor: User, payout_id: str, reference: str) -> PayoutView:
    """An administrator records that a "to be transferred" payout was sent (bank reference)."""
    if not actor.is_admin:
        raise Forbidden("Only administrators complete payouts.")
    payout = session.exec(select(Payout).where(Payout.public_id == payout_id)).first()
    if payout is None:
        raise NotFound("No such payout.")
    if payout.status == PAYOUT_PAID:
        raise Conflict("This payout is already paid.")
    if not reference.strip():
        raise InvalidInput("Give the transfer's reference.")
    payout.status = PAYOUT_PAID
    payout.paid_at = utcnow()
    payout.provider_ref = reference.strip()[:128]
    session.add(payout)
    session.commit()
    return _view(payout)


def list_payouts(
    session: Session, *, actor: User, page: int = 1, per_page: int = 20
) -> tuple[list[PayoutView], int]:
    require_role(actor, "producer")
    base = select(Payout).where(Payout.producer_id == actor.id)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(
        base.order_by(col(Payout.created_at).desc(), col(Payout.id).desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return [_view(p) for p in rows], int(total)
