"""Payments port: ``LABELHUB_PAYMENTS=internal`` (default: the credits ledger only) or ``stripe``.

``get_payments()`` returns this process's provider (services/payments.py and services/payouts.py
call it); it follows ``reset_settings()``.
"""

from __future__ import annotations

from threading import Lock

from labelhub_app.adapters.payments.base import (
    Card,
    IntentResult,
    InvalidSignature,
    PaymentProvider,
    PaymentProviderError,
    PayoutResult,
    ProviderEvent,
)
from labelhub_app.config import Settings, get_settings

__all__ = [
    "Card",
    "IntentResult",
    "InvalidSignature",
    "PaymentProvider",
    "PaymentProviderError",
    "PayoutResult",
    "ProviderEvent",
    "get_payments",
    "make_payments",
]


def make_payments(settings: Settings) -> PaymentProvider:
    if settings.payments == "stripe":
        from labelhub_app.adapters.payments.stripe import StripePayments

        return StripePayments(
            api_key=settings.stripe_api_key,
            webhook_secret=settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
        )
    from labelhub_app.adapters.payments.internal import InternalLedger

    return InternalLedger()


_current: tuple[Settings, PaymentProvider] | None = None
_lock = Lock()


def get_payments() -> PaymentProvider:
    """The provider for the current settings (rebuilt when the settings object changes)."""
    global _current
    settings = get_settings()
    with _lock:
        if _current is None or _current[0] is not settings:
            _current = (settings, make_payments(settings))
        return _current[1]
