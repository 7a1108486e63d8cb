# ruff: noqa: ARG002  (the port's arguments; this backend needs few of them)
"""The embedded payments backend: credits live only in LabelHub's ledger.

There is no card network: credits are added by ``ledger.top_up`` and purchases are paid from the
balance, so this backend is only asked for refunds (nothing to send back) and payouts, which it
completes at once (the platform pays producers by its own means and records it here).
"""

from __future__ import annotations

from labelhub_app.adapters.payments.base import (
    Card,
    IntentResult,
    InvalidSignature,
    PaymentProviderError,
    PayoutResult,
    ProviderEvent,
)
from labelhub_app.models.payments import PAYOUT_PAID


class InternalLedger:
    """Implements base.PaymentProvider; most arguments are unused here by design."""

    name = "internal"

    def create_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
        description: str,
        card: Card | None = None,
        payment_method: str | None = None,
    ) -> IntentResult:
        raise PaymentProviderError(
            "Card payments are switched off here; credits are added on the purchases page."
        )

    def retrieve_intent(self, provider_id: str) -> IntentResult:
        raise PaymentProviderError("Card payments are switched off here.")

    def refund(self, *, provider_id: str, amount_cents: int, idempotency_key: str) -> str:
        return f"internal-{idempotency_key}"

    def send_payout(
        self, *, payout_id: str, amount_cents: int, currency: str, idempotency_key: str
    ) -> PayoutResult:
        return PayoutResult(PAYOUT_PAID, f"internal-{payout_id}")

    def verify_event(self, payload: bytes, signature_header: str) -> ProviderEvent:
        raise InvalidSignature("webhooks are not used with the internal ledger")
