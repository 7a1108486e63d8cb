"""Stripe PaymentIntents through the official ``stripe`` library (a ``StripeClient``).

``LABELHUB_STRIPE_API_BASE`` points the client at another address (localstripe in tests and
benchmarks). Every create call carries an idempotency key. Webhooks are verified with the
endpoint's signing secret (``stripe.Webhook.construct_event``: HMAC-SHA256 over the timestamp and
the raw body, 5 minutes tolerance). Stripe Connect is not used (localstripe lacks it), so payouts
are recorded "to be transferred" and completed by an administrator after the bank transfer.
"""

from __future__ import annotations

import json

import stripe as stripe_lib

from labelhub_app.adapters.payments.base import (
    Card,
    IntentResult,
    InvalidSignature,
    PaymentProviderError,
    PayoutResult,
    ProviderEvent,
)
from labelhub_app.models.payments import (
    PAYMENT_FAILED,
    PAYMENT_PROCESSING,
    PAYMENT_REFUNDED,
    PAYMENT_REQUIRES_ACTION,
    PAYMENT_SUCCEEDED,
    PAYOUT_TO_BE_TRANSFERRED,
)

THREE_D_SECURE_STEP = (
    "Your bank asks you to confirm this payment (3-D Secure). Confirm it in your banking app "
    "or on the bank's page, then press “Check payment”."
)


def _status(intent: object) -> tuple[str, str]:
    status = getattr(intent, "status", "")
    error = getattr(intent, "last_payment_error", None)
    message = ""
    if error:
        message = (
            error.get("message") if isinstance(error, dict) else getattr(error, "message", "")
        ) or ""
    if status == "succeeded":
        return PAYMENT_SUCCEEDED, ""
    if status == "requires_action":
        return PAYMENT_REQUIRES_ACTION, ""
    if status in ("processing", "requires_capture", "requires_confirmation"):
        return PAYMENT_PROCESSING, ""
    if status == "requires_payment_method" and not error:
        return PAYMENT_PROCESSING, ""
    return PAYMENT_FAILED, message or "The payment was not completed."


class StripePayments:
    name = "stripe"

    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str = "") -> None:
        if not api_key:
            raise ValueError("LABELHUB_STRIPE_API_KEY is needed when LABELHUB_PAYMENTS=stripe")
        base = {"api": api_base.rstrip("/")} if api_base else None
        self._client = stripe_lib.StripeClient(api_key, base_addresses=base)  # type: ignore[arg-type]
        self._secret = webhook_secret
        self.test_mode = api_key.startswith("sk_test_")

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
        v1 = self._client.v1
        try:
            if card is not None:
                if not self.test_mode:
                    raise PaymentProviderError(
                        "Card numbers are only accepted with a test key; use Stripe.js."
                    )
                method = v1.payment_methods.create(
                    params={
                        "type": "card",
                        "card": {
                            "number": card.number,
                            "exp_month": card.exp_month,
                            "exp_year": card.exp_year,
                            "cvc": card.cvc,
                        },
                    },
                    options={"idempotency_key": f"{idempotency_key}:pm"},
                )
                payment_method = method.id
            if not payment_method:
                raise PaymentProviderError("Choose a card to pay with.")
            intent = v1.payment_intents.create(
                params={
                    "amount": amount_cents,
                    "currency": currency,
                    "payment_method": payment_method,
                    "confirm": True,
                    # (no "description": localstripe refuses it; the metadata names the payment)
                    "metadata": {**metadata, "description": description[:200]},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe_lib.CardError as exc:
            # The intent exists and failed; its id is not needed: our payment row is failed.
            raise PaymentProviderError(
                exc.user_message or "Your card was declined.", declined=True
            ) from None
        except stripe_lib.StripeError as exc:
            raise PaymentProviderError(
                f"The payment service could not take the payment: {exc.user_message or exc}"
            ) from None
        status, message = _status(intent)
        return IntentResult(
            intent.id,
            status,
            message,
            THREE_D_SECURE_STEP if status == PAYMENT_REQUIRES_ACTION else "",
        )

    def retrieve_intent(self, provider_id: str) -> IntentResult:
        try:
            intent = self._client.v1.payment_intents.retrieve(provider_id)
        except stripe_lib.StripeError as exc:
            raise PaymentProviderError(f"The payment service did not answer: {exc}") from None
        status, message = _status(intent)
        return IntentResult(
            intent.id,
            status,
            message,
            THREE_D_SECURE_STEP if status == PAYMENT_REQUIRES_ACTION else "",
        )

    def client_secret(self, provider_id: str) -> str:
        """For tests that play the bank's 3-D Secure page against localstripe."""
        return self._client.v1.payment_intents.retrieve(provider_id).client_secret or ""

    def refund(self, *, provider_id: str, amount_cents: int, idempotency_key: str) -> str:
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": provider_id, "amount": amount_cents},
                options={"idempotency_key": idempotency_key},
            )
        except stripe_lib.StripeError as exc:
            raise PaymentProviderError(
                f"The refund was refused: {exc.user_message or exc}"
            ) from None
        if refund.status not in ("succeeded", "pending"):
            raise PaymentProviderError(f"The refund ended as {refund.status}.")
        return refund.id

    def send_payout(
        self,
        *,
        payout_id: str,  # noqa: ARG002  (the port's arguments; Connect transfers would use them)
        amount_cents: int,  # noqa: ARG002
        currency: str,  # noqa: ARG002
        idempotency_key: str,  # noqa: ARG002
    ) -> PayoutResult:
        # Stripe Connect transfers would go here; without Connect the payout is recorded and
        # an administrator completes it after the bank transfer (services/payouts.py).
        return PayoutResult(PAYOUT_TO_BE_TRANSFERRED, "")

    def verify_event(self, payload: bytes, signature_header: str) -> ProviderEvent:
        if not self._secret:
            raise InvalidSignature("no webhook signing secret is configured")
        try:
            stripe_lib.Webhook.construct_event(payload, signature_header, self._secret)
        except (stripe_lib.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignature(str(exc)) from None
        try:
            event = json.loads(payload)
            obj = event["data"]["object"]
            kind = str(event["type"])
            event_id = str(event["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature(f"not a Stripe event: {exc}") from None
        status = ""
        message = ""
        if kind == "payment_intent.succeeded":
            status = PAYMENT_SUCCEEDED
        elif kind in ("payment_intent.payment_failed", "payment_intent.canceled"):
            status = PAYMENT_FAILED
            error = obj.get("last_payment_error") or {}
            message = error.get("message", "") if isinstance(error, dict) else ""
            message = message or "The payment was not completed."
        elif kind == "payment_intent.requires_action":
            status = PAYMENT_REQUIRES_ACTION
        elif kind == "payment_intent.processing":
            status = PAYMENT_PROCESSING
        elif kind == "charge.refunded":
            status = PAYMENT_REFUNDED
        object_id = (
            str(obj.get("payment_intent") or obj.get("id") or "")
            if kind.startswith("charge.")
            else str(obj.get("id") or "")
        )
        metadata = obj.get("metadata") or {}
        return ProviderEvent(
            event_id,
            kind,
            object_id,
            status,
            message,
            {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
            int(obj.get("amount") or 0),
        )
