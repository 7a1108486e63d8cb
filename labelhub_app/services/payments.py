"""Card payments through the configured provider (Stripe), their webhooks, and refunds.

- ``start_topup`` / ``start_card_purchase`` write a ``Payment`` row first (idempotency key,
  Exclusive images reserved), then create the provider's PaymentIntent with the same key.
  A decline or a 3-D Secure step comes back in the returned ``PaymentView``.
- ``handle_webhook`` is the only place that marks a payment succeeded: it verifies the
  signature, stores the event id (a redelivery is ignored), moves the payment forward only
  (``PAYMENT_ORDER``) and, on success, credits the ledger or completes the purchase in the same
  transaction. A failure releases the reserved images.
- ``refund_purchase`` / ``refund_topup`` post a reversing ledger transaction (nothing deleted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.adapters.payments import (
    Card,
    InvalidSignature,
    PaymentProviderError,
    get_payments,
)
from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelhub_app.models import (
    STATUS_ON_SALE,
    Image,
    LedgerEntry,
    LedgerTransaction,
    Project,
    Purchase,
    SearchOutbox,
    User,
    utcnow,
)
from labelhub_app.models.ledger import ACCOUNT_BALANCE, ACCOUNT_CASH_IN
from labelhub_app.models.licences import (
    LICENCE_EXCLUSIVE,
    STATUS_RESERVED,
    STATUS_SOLD_EXCLUSIVE,
)
from labelhub_app.models.payments import (
    PAYMENT_CREATED,
    PAYMENT_FAILED,
    PAYMENT_ORDER,
    PAYMENT_PROCESSING,
    PAYMENT_REFUNDED,
    PAYMENT_REQUIRES_ACTION,
    PAYMENT_SUCCEEDED,
    PURPOSE_PURCHASE,
    PURPOSE_TOPUP,
    Payment,
    Refund,
    WebhookEvent,
)
from labelhub_app.services import ledger, market
from labelhub_app.services.accounts import require_role

__all__ = ["Card", "InvalidSignature"]

METADATA_KEY = "labelhub_payment"


def card_payments_enabled() -> bool:
    return get_settings().payments == "stripe"


def _require_cards() -> None:
    if not card_payments_enabled():
        raise Conflict("Card payments are switched off here; add credits on the purchases page.")


@dataclass(frozen=True)
class PaymentView:
    """What the buyer may see of one payment (never the provider's client secret)."""

    public_id: str
    purpose: str
    amount_cents: int
    status: str
    message: str  # the decline reason, the next step for 3-D Secure, or ""
    created_at: datetime
    images: int  # for a purchase: how many images


def _view(payment: Payment, next_step: str = "") -> PaymentView:
    message = payment.failure_message
    if payment.status == PAYMENT_REQUIRES_ACTION:
        message = next_step or (
            "Your bank asks you to confirm this payment (3-D Secure); confirm it, then check "
            "the payment."
        )
    elif payment.status in (PAYMENT_PROCESSING, PAYMENT_CREATED):
        message = "Waiting for the card network to confirm the payment."
    return PaymentView(
        payment.public_id,
        payment.purpose,
        payment.amount_cents,
        payment.status,
        message,
        payment.created_at,
        len(json.loads(payment.items_json or "[]")),
    )


def _advance(payment: Payment, status: str, message: str = "") -> bool:
    """Move forward only; returns whether the status changed."""
    if PAYMENT_ORDER[status] <= PAYMENT_ORDER[payment.status]:
        return False
    payment.status = status
    if message:
        payment.failure_message = message[:300]
    payment.updated_at = utcnow()
    return True


def _lock_payment(session: Session, payment_id: int) -> Payment:
    """Re-read a payment under its row lock (SQLite: the write lock) for this transaction."""
    session.execute(
        update(Payment)
        .where(col(Payment.id) == payment_id)
        .values(status=Payment.status)
        .execution_options(synchronize_session=False)
    )
    payment = session.get(Payment, payment_id)
    assert payment is not None
    session.refresh(payment)
    return payment


# --- starting payments ----------------------------------------------------------------------------


def _existing_payment(session: Session, key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.idempotency_key == key)).first()


def _call_provider(
    session: Session,
    payment: Payment,
    *,
    description: str,
    card: Card | None,
    payment_method: str | None,
) -> PaymentView:
    provider = get_payments()
    try:
        result = provider.create_intent(
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            metadata={METADATA_KEY: payment.public_id},
            description=description,
            card=card,
            payment_method=payment_method,
        )
    except PaymentProviderError as exc:
        payment = _lock_payment(session, payment.id)  # type: ignore[arg-type]
        if _advance(payment, PAYMENT_FAILED, exc.message):
            _release(session, payment)
        session.add(payment)
        session.commit()
        return _view(payment)
    payment = _lock_payment(session, payment.id)  # type: ignore[arg-type]
    payment.provider_id = result.provider_id
    # Success is the webhook's to record; until it comes the payment is processing.
    status = PAYMENT_PROCESSING if result.status == PAYMENT_SUCCEEDED else result.status
    if _advance(payment, status, result.failure_message) and status == PAYMENT_FAILED:
        _release(session, payment)
    payment.updated_at = utcnow()
    session.add(payment)
    session.commit()
    return _view(payment, result.next_step)


def start_topup(
    session: Session,
    *,
    user: User,
    amount_cents: int,
    idempotency_key: str,
    card: Card | None = None,
    payment_method: str | None = None,
) -> PaymentView:
    """Buy credits by card. A retry with the same key returns the first attempt's payment."""
    _require_cards()
    if not user.is_consumer and not user.is_admin:
        raise Forbidden("Only consumers hold credits; add the consumer role on your profile.")
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise InvalidInput("Enter a positive amount of credits.")
    limit = get_settings().max_topup_cents
    if amount_cents > limit:
        raise InvalidInput(f"One top-up can add at most {limit / 100:,.2f} credits.")
    if not idempotency_key or len(idempotency_key) > 64:
        raise InvalidInput("A payment needs an idempotency key of 1-64 characters.")
    key = f"topup:{user.id}:{idempotency_key}"
    existing = _existing_payment(session, key)
    if existing is not None:
        return _view(existing)
    payment = Payment(
        user_id=user.id,  # type: ignore[arg-type]
        purpose=PURPOSE_TOPUP,
        amount_cents=amount_cents,
        currency=get_settings().currency,
        provider=get_payments().name,
        idempotency_key=key,
    )
    session.add(payment)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _view(_existing_payment(session, key))  # type: ignore[arg-type]
    return _call_provider(
        session,
        payment,
        description=f"LabelHub credits {amount_cents / 100:,.2f}",
        card=card,
        payment_method=payment_method,
    )


def start_card_purchase(
    session: Session,
    *,
    buyer: User,
    project_id: str,
    image_ids: list[str],
    idempotency_key: str,
    licence: str = "standard",
    card: Card | None = None,
    payment_method: str | None = None,
) -> PaymentView:
    """Buy images by card. Exclusive images are reserved until the payment succeeds or fails."""
    from labelhub_app.services import licences

    _require_cards()
    require_role(buyer, "consumer")
    licences.check_kind(licence)
    if not idempotency_key or len(idempotency_key) > 64:
        raise InvalidInput("A payment needs an idempotency key of 1-64 characters.")
    key = f"card-purchase:{buyer.id}:{idempotency_key}"
    existing = _existing_payment(session, key)
    if existing is not None:
        return _view(existing)
    project = market.get_own_project(session, actor=buyer, project_id=project_id)
    images = market._images_by_public_id(session, image_ids)
    prices = market.check_buyable(
        session, buyer=buyer, project=project, images=images, licence=licence
    )
    if sum(prices.values()) <= 0:
        raise InvalidInput("These images are free; buy them with credits instead.")
    payment = Payment(
        user_id=buyer.id,  # type: ignore[arg-type]
        purpose=PURPOSE_PURCHASE,
        amount_cents=sum(prices.values()),
        currency=get_settings().currency,
        provider=get_payments().name,
        idempotency_key=key,
        project_id=project.id,
        items_json=json.dumps(
            [[i.public_id, licence, prices[i.id]] for i in images]  # type: ignore[index]
        ),
    )
    session.add(payment)
    if licence == LICENCE_EXCLUSIVE:
        for image in images:
            reserved = session.execute(
                update(Image)
                .where(
                    col(Image.id) == image.id,
                    col(Image.status) == STATUS_ON_SALE,
                    col(Image.sales_count) == 0,
                )
                .values(status=STATUS_RESERVED, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if reserved.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                raise Conflict(f"{image.file_name} was just reserved or sold to another buyer.")
            session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _view(_existing_payment(session, key))  # type: ignore[arg-type]
    return _call_provider(
        session,
        payment,
        description=f"LabelHub: {len(images)} image(s), {licence} licence",
        card=card,
        payment_method=payment_method,
    )


def _items(payment: Payment) -> list[tuple[str, str, int]]:
    return [(str(a), str(b), int(c)) for a, b, c in json.loads(payment.items_json or "[]")]


def _release(session: Session, payment: Payment) -> int:
    """Put images reserved for a failed Exclusive purchase back on the market."""
    items = _items(payment)
    ids = [pid for pid, kind, _ in items if kind == LICENCE_EXCLUSIVE]
    if payment.purpose != PURPOSE_PURCHASE or not ids:
        return 0
    rows = session.exec(
        select(Image.id).where(col(Image.public_id).in_(ids), Image.status == STATUS_RESERVED)
    ).all()
    for image_id in rows:
        session.execute(
            update(Image)
            .where(col(Image.id) == image_id, col(Image.status) == STATUS_RESERVED)
            .values(status=STATUS_ON_SALE, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.add(SearchOutbox(image_id=image_id))
    return len(rows)


def get_payment(session: Session, *, user: User, payment_id: str) -> PaymentView:
    payment = session.exec(select(Payment).where(Payment.public_id == payment_id)).first()
    if payment is None or (payment.user_id != user.id and not user.is_admin):
        raise NotFound("No such payment among yours.")
    return _view(payment)


def refresh_payment(session: Session, *, user: User, payment_id: str) -> PaymentView:
    """Ask the provider how the payment stands ("Check payment" after 3-D Secure).

    A failure is recorded (and reservations released); a success still waits for the webhook.
    """
    payment = session.exec(select(Payment).where(Payment.public_id == payment_id)).first()
    if payment is None or (payment.user_id != user.id and not user.is_admin):
        raise NotFound("No such payment among yours.")
    if payment.provider_id is None or payment.status in (
        PAYMENT_SUCCEEDED,
        PAYMENT_FAILED,
        PAYMENT_REFUNDED,
    ):
        return _view(payment)
    try:
        result = get_payments().retrieve_intent(payment.provider_id)
    except PaymentProviderError as exc:
        raise Conflict(exc.message) from None
    payment = _lock_payment(session, payment.id)  # type: ignore[arg-type]
    status = PAYMENT_PROCESSING if result.status == PAYMENT_SUCCEEDED else result.status
    if _advance(payment, status, result.failure_message) and status == PAYMENT_FAILED:
        _release(session, payment)
    session.add(payment)
    session.commit()
    return _view(payment, result.next_step)


def list_payments(
    session: Session, *, user: User, page: int = 1, per_page: int = 20
) -> tuple[list[PaymentView], int]:
    base = select(Payment).where(Payment.user_id == user.id)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(
        base.order_by(col(Payment.created_at).desc(), col(Payment.id).desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return [_view(p) for p in rows], int(total)


# --- webhooks -------------------------------------------------------------------------------------


def handle_webhook(session: Session, *, payload: bytes, signature: str) -> str:
    """Apply one provider event exactly once; returns what happened (for logs and tests).

    Raises ``InvalidSignature`` for a forged or altered event (the endpoint answers 400).
    """
    event = get_payments().verify_event(payload, signature)
    try:
        try:
            return _apply_event(session, event, sale_possible=True)
        except Conflict as exc:
            # The purchase cannot complete (sold meanwhile): start over, keeping the money as
            # credits and telling the buyer why.
            session.rollback()
            return _apply_event(session, event, sale_possible=False, note=exc.message)
    except IntegrityError:
        session.rollback()
        if session.exec(select(WebhookEvent.id).where(WebhookEvent.event_id == event.id)).first():
            return "duplicate"
        raise


def _apply_event(session: Session, event, *, sale_possible: bool, note: str = "") -> str:  # type: ignore[no-untyped-def]
    if session.exec(select(WebhookEvent.id).where(WebhookEvent.event_id == event.id)).first():
        return "duplicate"
    record = WebhookEvent(event_id=event.id[:128], type=event.type[:64], object_id=event.object_id)
    session.add(record)
    session.flush()  # the unique event id: a concurrent redelivery stops here
    payment_ref = event.metadata.get(METADATA_KEY)
    payment = None
    if payment_ref:
        payment = session.exec(select(Payment).where(Payment.public_id == payment_ref)).first()
    if payment is None and event.object_id:
        payment = session.exec(
            select(Payment).where(Payment.provider_id == event.object_id)
        ).first()
    if not event.status:
        outcome = "ignored"
    elif payment is None:
        outcome = "unknown payment"
    else:
        payment = _lock_payment(session, payment.id)  # type: ignore[arg-type]
        if payment.provider_id is None and event.object_id.startswith("pi_"):
            payment.provider_id = event.object_id
        if event.status == PAYMENT_REFUNDED:
            outcome = "refund noted"  # refunds are posted where they are made
        elif not _advance(payment, event.status, event.failure_message):
            outcome = "stale"
        elif event.status == PAYMENT_SUCCEEDED:
            outcome = _settle(session, payment, sale_possible=sale_possible, note=note)
        elif event.status == PAYMENT_FAILED:
            released = _release(session, payment)
            outcome = f"failed, {released} image(s) released"
        else:
            outcome = event.status
        session.add(payment)
    record.outcome = outcome[:64]
    session.add(record)
    session.commit()
    return outcome


def _funding(session: Session, payment: Payment) -> list[ledger.Posting]:
    """The card's money entering the buyer's balance: cash_in -> balance."""
    return [
        ledger.Posting(
            ledger.account_id(session, kind=ACCOUNT_BALANCE, user_id=payment.user_id),
            payment.amount_cents,
        ),
        ledger.Posting(
            ledger.account_id(session, kind=ACCOUNT_CASH_IN, user_id=None), -payment.amount_cents
        ),
    ]


def _settle(session: Session, payment: Payment, *, sale_possible: bool, note: str) -> str:
    """A succeeded payment: credits for a top-up, the purchase for a purchase (not committed).

    Raises ``Conflict`` when the purchase can no longer complete; the caller starts over with
    ``sale_possible=False`` and the amount becomes credits.
    """
    key = f"payment:{payment.public_id}"
    buyer = session.get(User, payment.user_id)
    assert buyer is not None
    if payment.purpose == PURPOSE_PURCHASE and sale_possible:
        items = _items(payment)
        project = session.get(Project, payment.project_id)
        assert project is not None
        images = market._images_by_public_id(session, [pid for pid, _, _ in items])
        licence = items[0][1]
        prices = {img.id: price for img, (_, _, price) in zip(images, items, strict=True)}
        market.check_buyable(
            session,
            buyer=buyer,
            project=project,
            images=images,
            licence=licence,
            reserved_by=payment.public_id,
        )
        purchases = market.record_sale(
            session,
            buyer=buyer,
            project=project,
            images=images,
            licence=licence,
            prices=prices,  # type: ignore[arg-type]
            key=key,
            funding=_funding(session, payment),
            reserved_by=payment.public_id,
            commit=False,
        )
        payment.ledger_txn_id = purchases[0].ledger_txn_id
        return "purchase completed"
    if payment.purpose == PURPOSE_PURCHASE:
        payment.failure_message = f"{note} The amount was added to your credits."[:300]
        _release(session, payment)
    txn = ledger.post_transaction(
        session,
        kind="topup",
        postings=_funding(session, payment),
        actor_id=payment.user_id,
        idempotency_key=key,
        memo="card top-up" if payment.purpose == PURPOSE_TOPUP else "card payment kept as credits",
    )
    payment.ledger_txn_id = txn.id
    return "credited"


# --- refunds --------------------------------------------------------------------------------------


def _reverse(
    session: Session, txn: LedgerTransaction, *, actor: User, memo: str
) -> LedgerTransaction:
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.txn_id == txn.id)).all()
    return ledger.post_transaction(
        session,
        kind="refund",
        postings=[ledger.Posting(e.account_id, -e.amount_cents, e.image_id) for e in entries],
        actor_id=actor.id,
        idempotency_key=f"refund:{txn.id}",
        memo=memo[:200],
    )


def refund_purchase(session: Session, *, actor: User, purchase_id: str, reason: str = "") -> Refund:
    """Refund a whole purchase (every image bought in the same transaction) within the window.

    A new ledger transaction reverses each entry of the sale (and of the card payment that
    funded it); the purchases are marked refunded, never deleted; Exclusive images go back on sale.
    """
    if not actor.is_admin:
        raise Forbidden("Only LabelHub support (administrators) makes refunds.")
    purchase = session.exec(select(Purchase).where(Purchase.public_id == purchase_id)).first()
    if purchase is None:
        raise NotFound("No such purchase.")
    if purchase.refunded_at is not None:
        raise Conflict("This purchase is already refunded.")
    window = get_settings().refund_window_days
    if purchase.created_at < utcnow() - timedelta(days=window):
        raise Conflict(f"The refund window of {window} day(s) has passed for this purchase.")
    txn = session.get(LedgerTransaction, purchase.ledger_txn_id)
    assert txn is not None
    payment = session.exec(select(Payment).where(Payment.ledger_txn_id == txn.id)).first()
    purchases = session.exec(select(Purchase).where(Purchase.ledger_txn_id == txn.id)).all()
    total = sum(p.price_cents for p in purchases)
    provider = "internal"
    provider_ref = None
    if payment is not None and payment.provider_id and payment.provider != "internal":
        try:
            provider_ref = get_payments().refund(
                provider_id=payment.provider_id,
                amount_cents=payment.amount_cents,
                idempotency_key=f"refund:{payment.public_id}",
            )
        except PaymentProviderError as exc:
            raise Conflict(exc.message) from None
        provider = payment.provider
    ledger.lock_account(session, kind=ACCOUNT_BALANCE, user_id=purchase.buyer_id)
    try:
        reversal = _reverse(
            session, txn, actor=actor, memo=f"refund: {reason}" if reason else "refund"
        )
        now = utcnow()
        for p in purchases:
            p.refunded_at = now
            session.add(p)
            share = session.exec(
                select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
                    LedgerEntry.txn_id == txn.id,
                    LedgerEntry.image_id == p.image_id,
                    LedgerEntry.amount_cents > 0,
                    LedgerEntry.account_id
                    != ledger.account_id(session, kind="commission", user_id=None),
                )
            ).one()
            session.execute(
                update(Image)
                .where(col(Image.id) == p.image_id)
                .values(
                    sales_count=Image.sales_count - 1,
                    income_cents=Image.income_cents - int(share),
                )
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(Image)
                .where(col(Image.id) == p.image_id, Image.status == STATUS_SOLD_EXCLUSIVE)
                .values(status=STATUS_ON_SALE, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            session.add(SearchOutbox(image_id=p.image_id))
        if payment is not None:
            _advance(payment, PAYMENT_REFUNDED)
            session.add(payment)
        refund = Refund(
            payment_id=payment.id if payment is not None else None,
            purchase_txn_id=txn.id,  # type: ignore[arg-type]
            amount_cents=total,
            provider=provider,
            provider_id=provider_ref,
            reason=reason[:200],
            ledger_txn_id=reversal.id,  # type: ignore[arg-type]
            actor_id=actor.id,
        )
        session.add(refund)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("This purchase is already refunded.") from None
    session.refresh(refund)
    return refund


def refund_topup(session: Session, *, actor: User, payment_id: str, reason: str = "") -> Refund:
    """Refund a card top-up while the credits are unspent: the top-up's entries are reversed."""
    if not actor.is_admin:
        raise Forbidden("Only LabelHub support (administrators) makes refunds.")
    payment = session.exec(select(Payment).where(Payment.public_id == payment_id)).first()
    if payment is None or payment.purpose != PURPOSE_TOPUP:
        raise NotFound("No such card top-up.")
    if payment.status != PAYMENT_SUCCEEDED or payment.ledger_txn_id is None:
        raise Conflict("Only a succeeded, not yet refunded top-up can be refunded.")
    ledger.lock_account(session, kind=ACCOUNT_BALANCE, user_id=payment.user_id)
    owner = session.get(User, payment.user_id)
    assert owner is not None
    if ledger.balance(session, user=owner) < payment.amount_cents:
        session.rollback()
        raise Conflict("These credits are already spent; refund the purchases instead.")
    provider_ref = None
    if payment.provider_id:
        try:
            provider_ref = get_payments().refund(
                provider_id=payment.provider_id,
                amount_cents=payment.amount_cents,
                idempotency_key=f"refund:{payment.public_id}",
            )
        except PaymentProviderError as exc:
            session.rollback()
            raise Conflict(exc.message) from None
    txn = session.get(LedgerTransaction, payment.ledger_txn_id)
    assert txn is not None
    reversal = _reverse(session, txn, actor=actor, memo=f"refund: {reason}" if reason else "refund")
    _advance(payment, PAYMENT_REFUNDED)
    session.add(payment)
    refund = Refund(
        payment_id=payment.id,
        purchase_txn_id=txn.id,  # type: ignore[arg-type]
        amount_cents=payment.amount_cents,
        provider=payment.provider,
        provider_id=provider_ref,
        reason=reason[:200],
        ledger_txn_id=reversal.id,  # type: ignore[arg-type]
        actor_id=actor.id,
    )
    session.add(refund)
    session.commit()
    session.refresh(refund)
    return refund
