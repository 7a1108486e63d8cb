"""The internal credits ledger: balances, top-ups and balanced postings (integer cents).

``post_transaction`` is the one way money moves; it refuses a posting that does not sum to zero.
It does not commit, so a purchase and its ledger entries land in one database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput
from labelhub_app.models import LedgerAccount, LedgerEntry, LedgerTransaction, User
from labelhub_app.models.ledger import (
    ACCOUNT_BALANCE,
    ACCOUNT_CASH_IN,
    ACCOUNT_COMMISSION,
    ACCOUNT_INCOME,
)


def parse_credits(text: str, what: str) -> int | None:
    """Credits typed by a person -> integer cents: '12.5' -> 1250, '' -> None.

    Parsed as a decimal, never through float, so 0.29 is 29 cents exactly.
    """
    from decimal import Decimal, InvalidOperation

    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"The {what} must be a number of credits, like 2.50.") from None
    if not value.is_finite():
        raise InvalidInput(f"The {what} must be a number of credits, like 2.50.")
    if value < 0:
        raise InvalidInput(f"The {what} cannot be negative.")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise InvalidInput(f"The {what} can have at most two decimals.")
    return int(cents)


@dataclass(frozen=True)
class Posting:
    account_id: int
    amount_cents: int
    image_id: int | None = None


def account_id(session: Session, *, kind: str, user_id: int | None) -> int:
    """The id of a ledger account, created on first use."""
    row = session.exec(
        select(LedgerAccount.id).where(LedgerAccount.kind == kind, LedgerAccount.user_id == user_id)
    ).first()
    if row is not None:
        return row
    if session.get_bind().dialect.name == "postgresql":
        # Two first sales at once may both get here: the second waits for the first's row and
        # then inserts nothing (SQLite's single writer cannot race like this).
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(
            pg_insert(LedgerAccount).values(kind=kind, user_id=user_id).on_conflict_do_nothing()
        )
        return session.exec(
            select(LedgerAccount.id).where(
                LedgerAccount.kind == kind, LedgerAccount.user_id == user_id
            )
        ).one()
    account = LedgerAccount(kind=kind, user_id=user_id)
    session.add(account)
    session.flush()
    return account.id  # type: ignore[return-value]


def lock_account(session: Session, *, kind: str, user_id: int | None) -> int:
    """Take a ledger account's row lock for the rest of the transaction; returns its id.

    A no-op UPDATE: on PostgreSQL it locks the row, on SQLite it takes the database's write lock
    before the balance is read, so concurrent spenders of one balance queue instead of racing.
    """
    from sqlalchemy import update

    acc_id = account_id(session, kind=kind, user_id=user_id)
    session.execute(
        update(LedgerAccount)
        .where(col(LedgerAccount.id) == acc_id)
        .values(kind=LedgerAccount.kind)
        .execution_options(synchronize_session=False)
    )
    return acc_id


def post_transaction(
    session: Session,
    *,
    kind: str,
    postings: list[Posting],
    actor_id: int | None,
    idempotency_key: str | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Write one balanced transaction (not committed)."""
    if not postings:
        raise ValueError("a ledger transaction needs postings")
    if any(not isinstance(p.amount_cents, int) for p in postings):
        raise TypeError("ledger amounts are integer cents")
    if sum(p.amount_cents for p in postings) != 0:
        raise ValueError(f"unbalanced ledger transaction: {postings}")
    txn = LedgerTransaction(
        kind=kind, idempotency_key=idempotency_key, actor_id=actor_id, memo=memo
    )
    session.add(txn)
    session.flush()
    for p in postings:
        session.add(
            LedgerEntry(
                txn_id=txn.id,
                account_id=p.account_id,  # type: ignore[arg-type]
                amount_cents=p.amount_cents,
                image_id=p.image_id,
            )
        )
    session.flush()
    return txn


def account_balance(session: Session, *, kind: str, user_id: int | None) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
        .where(LedgerAccount.kind == kind, LedgerAccount.user_id == user_id)
    ).one()
    return int(total)


def balance(session: Session, *, user: User) -> int:
    """A user's spendable credits in cents."""
    return account_balance(session, kind=ACCOUNT_BALANCE, user_id=user.id)


def income(session: Session, *, user: User) -> int:
    """A producer's earned income in cents (their share of every sale)."""
    return account_balance(session, kind=ACCOUNT_INCOME, user_id=user.id)


def _existing(session: Session, key: str) -> LedgerTransaction | None:
    return session.exec(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)
    ).first()


def top_up(session: Session, *, user: User, amount_cents: int, idempotency_key: str) -> int:
    """Add credits in the embedded mode (no payment provider); returns the new balance.

    Retrying with the same idempotency key adds the credits once.
    """
    if not user.is_consumer and not user.is_admin:
        raise Forbidden("Only consumers hold credits; add the consumer role on your profile.")
    if get_settings().payments != "internal":
        raise Conflict("Credits are bought by card here: use the Wallet page.")
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise InvalidInput("Enter a positive amount of credits.")
    limit = get_settings().max_topup_cents
    if amount_cents > limit:
        raise InvalidInput(f"One top-up can add at most {limit / 100:,.2f} credits.")
    key = f"topup:{user.id}:{idempotency_key}"
    if _existing(session, key) is None:
        try:
            post_transaction(
                session,
                kind="topup",
                postings=[
                    Posting(
                        account_id(session, kind=ACCOUNT_BALANCE, user_id=user.id), amount_cents
                    ),
                    Posting(account_id(session, kind=ACCOUNT_CASH_IN, user_id=None), -amount_cents),
                ],
                actor_id=user.id,
                idempotency_key=key,
                memo="credits top-up",
            )
            session.commit()
        except IntegrityError:
            session.rollback()  # the same key landed in another request meanwhile
    return balance(session, user=user)


def grant_welcome_credits(session: Session, *, user: User) -> None:
    """New consumers start with the configured demo credits (once per user)."""
    amount = get_settings().demo_credits_cents
    key = f"welcome:{user.id}"
    if amount <= 0 or _existing(session, key) is not None:
        return
    post_transaction(
        session,
        kind="grant",
        postings=[
            Posting(account_id(session, kind=ACCOUNT_BALANCE, user_id=user.id), amount),
            Posting(account_id(session, kind=ACCOUNT_CASH_IN, user_id=None), -amount),
        ],
        actor_id=user.id,
        idempotency_key=key,
        memo="welcome credits",
    )
    session.commit()


def commission_of(price_cents: int) -> int:
    """The platform's commission on one sale: price x commission_bps / 10,000, rounded down to
    whole cents (integer arithmetic), so the producer's share (the rest) is never rounded against
    the producer; commission + share = price exactly."""
    return price_cents * get_settings().commission_bps // 10_000


def sale_postings(
    session: Session, *, buyer_id: int, producer_id: int, image_id: int, price_cents: int
) -> list[Posting]:
    """Buyer pays the price; the producer gets it less the platform commission (rounded down)."""
    commission = commission_of(price_cents)
    return [
        Posting(
            account_id(session, kind=ACCOUNT_BALANCE, user_id=buyer_id), -price_cents, image_id
        ),
        Posting(
            account_id(session, kind=ACCOUNT_INCOME, user_id=producer_id),
            price_cents - commission,
            image_id,
        ),
        Posting(account_id(session, kind=ACCOUNT_COMMISSION, user_id=None), commission, image_id),
    ]


@dataclass(frozen=True)
class LedgerCheck:
    transactions: int
    unbalanced: list[int]
    total_cents: int

    @property
    def ok(self) -> bool:
        return not self.unbalanced and self.total_cents == 0


def check_ledger(session: Session) -> LedgerCheck:
    """Prove every transaction sums to zero (the `labelhub check-ledger` command prints this)."""
    sums = session.exec(
        select(LedgerEntry.txn_id, func.sum(LedgerEntry.amount_cents)).group_by(LedgerEntry.txn_id)
    ).all()
    total = sum(int(s) for _, s in sums)
    return LedgerCheck(len(sums), [t for t, s in sums if int(s) != 0], total)


# --- the ledger report (`labelhub ledger-report`) ----------------------------------------------


@dataclass(frozen=True)
class ProducerLine:
    user_id: int
    pseudonym: str
    share_cents: int  # their share of sales, less refunds
    paid_out_cents: int  # moved to payouts
    income_balance_cents: int  # still held as income


@dataclass(frozen=True)
class LedgerReport:
    """Where every cent is. ``ok`` proves that the books balance:

    - every transaction sums to zero (``check``);
    - every sale (one image in one purchase) splits exactly into the producer's share and the
      platform's commission (``unsplit_sales`` is empty);
    - gross sales = commission + producers' shares (refunds included, as reversals);
    - each producer's share = what they still hold as income + what was paid out.
    """

    check: LedgerCheck
    totals_by_kind: dict[str, int]  # balance, income, commission, cash_in, paid_out
    sales: int  # image sales (purchase lines), refunds excluded
    refunds: int
    gross_cents: int
    commission_cents: int
    producers_share_cents: int
    unsplit_sales: list[tuple[int, int, int]]  # (txn id, image id, sum) that do not balance
    producers: list[ProducerLine]
    commission_bps: int

    @property
    def ok(self) -> bool:
        return (
            self.check.ok
            and not self.unsplit_sales
            and self.gross_cents == self.commission_cents + self.producers_share_cents
            and all(
                p.share_cents == p.income_balance_cents + p.paid_out_cents for p in self.producers
            )
        )


def ledger_report(session: Session) -> LedgerReport:
    from labelhub_app.models.ledger import ACCOUNT_PAID_OUT

    check = check_ledger(session)
    totals = {
        kind: int(total)
        for kind, total in session.exec(
            select(LedgerAccount.kind, func.sum(LedgerEntry.amount_cents))
            .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
            .group_by(LedgerAccount.kind)
        ).all()
    }
    sale_kinds = ("purchase", "refund")
    by_kind = {
        kind: int(total)
        for kind, total in session.exec(
            select(LedgerAccount.kind, func.sum(LedgerEntry.amount_cents))
            .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
            .join(LedgerTransaction, col(LedgerTransaction.id) == LedgerEntry.txn_id)
            .where(
                col(LedgerEntry.image_id).is_not(None), col(LedgerTransaction.kind).in_(sale_kinds)
            )
            .group_by(LedgerAccount.kind)
        ).all()
    }
    unsplit = [
        (int(t), int(i), int(s))
        for t, i, s in session.exec(
            select(LedgerEntry.txn_id, LedgerEntry.image_id, func.sum(LedgerEntry.amount_cents))
            .where(col(LedgerEntry.image_id).is_not(None))
            .group_by(LedgerEntry.txn_id, LedgerEntry.image_id)
            .having(func.sum(LedgerEntry.amount_cents) != 0)
        ).all()
    ]
    sale_lines = session.exec(
        select(func.count())
        .select_from(LedgerEntry)
        .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
        .join(LedgerTransaction, col(LedgerTransaction.id) == LedgerEntry.txn_id)
        .where(
            LedgerAccount.kind == ACCOUNT_INCOME,
            LedgerTransaction.kind == "purchase",
            col(LedgerEntry.image_id).is_not(None),
        )
    ).one()
    refund_lines = session.exec(
        select(func.count())
        .select_from(LedgerEntry)
        .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
        .join(LedgerTransaction, col(LedgerTransaction.id) == LedgerEntry.txn_id)
        .where(
            LedgerAccount.kind == ACCOUNT_INCOME,
            LedgerTransaction.kind == "refund",
            col(LedgerEntry.image_id).is_not(None),
        )
    ).one()
    per_user: dict[int, dict[str, int]] = {}
    for user_id, kind, is_sale, total in session.exec(
        select(
            LedgerAccount.user_id,
            LedgerAccount.kind,
            col(LedgerEntry.image_id).is_not(None),
            func.sum(LedgerEntry.amount_cents),
        )
        .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
        .where(col(LedgerAccount.kind).in_((ACCOUNT_INCOME, ACCOUNT_PAID_OUT)))
        .group_by(LedgerAccount.user_id, LedgerAccount.kind, col(LedgerEntry.image_id).is_not(None))
    ).all():
        line = per_user.setdefault(int(user_id), {"share": 0, "paid": 0, "income": 0})
        if kind == ACCOUNT_INCOME:
            line["income"] += int(total)
            if is_sale:
                line["share"] += int(total)
        else:
            line["paid"] += int(total)
    names = dict(
        session.exec(select(User.id, User.pseudonym).where(col(User.id).in_(list(per_user)))).all()
    )
    producers = [
        ProducerLine(uid, names.get(uid, "?"), v["share"], v["paid"], v["income"])
        for uid, v in sorted(per_user.items())
    ]
    return LedgerReport(
        check,
        totals,
        int(sale_lines),
        int(refund_lines),
        -by_kind.get(ACCOUNT_BALANCE, 0),
        by_kind.get(ACCOUNT_COMMISSION, 0),
        by_kind.get(ACCOUNT_INCOME, 0),
        unsplit,
        producers,
        get_settings().commission_bps,
    )
