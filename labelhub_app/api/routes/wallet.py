"""Credits: the balance and top-ups (the embedded ledger; no payment provider)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.schemas import TopupCreate, WalletPublic
from labelhub_app.errors import InvalidInput
from labelhub_app.services import ledger

router = APIRouter(tags=["wallet"])


@router.get("/wallet", response_model=WalletPublic)
def wallet(user: CurrentUser, session: SessionDep) -> WalletPublic:
    return WalletPublic(
        balance_cents=ledger.balance(session, user=user),
        income_cents=ledger.income(session, user=user),
    )


@router.post("/wallet/topup", response_model=WalletPublic)
def top_up(
    body: TopupCreate,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> WalletPublic:
    """Add credits (consumers). A retry with the same idempotency key adds them once."""
    key = body.idempotency_key or idempotency_key
    if body.idempotency_key and idempotency_key and body.idempotency_key != idempotency_key:
        raise InvalidInput("The Idempotency-Key header and the body's idempotency_key differ.")
    if not key:
        raise InvalidInput(
            "A top-up needs an idempotency key (the Idempotency-Key header or idempotency_key), "
            "so that a retried request adds the credits once."
        )
    balance = ledger.top_up(session, user=user, amount_cents=body.amount_cents, idempotency_key=key)
    return WalletPublic(balance_cents=balance, income_cents=ledger.income(session, user=user))
