"""Producers' income (earned / pending / available / paid out), payouts, the ledger report."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from typer.testing import CliRunner

from labelhub_app.cli import app
from labelhub_app.errors import Forbidden, InvalidInput
from labelhub_app.models import LedgerEntry, LedgerTransaction, utcnow
from labelhub_app.models.payments import PAYOUT_PAID
from labelhub_app.services import ledger, market, payouts
from tests.factories import make_image, make_project, make_user


def _sell(session, producer, consumer, prices):
    project = make_project(session, consumer)
    pics = [make_image(session, producer, price_cents=p) for p in prices]
    return market.buy_images(
        session,
        buyer=consumer,
        project_id=project.public_id,
        image_ids=[p.public_id for p in pics],
        idempotency_key=uuid.uuid4().hex,
    )


def _age_all_sales(session, days: int) -> None:
    past = utcnow() - timedelta(days=days)
    session.execute(update(LedgerEntry).values(created_at=past))
    session.execute(update(LedgerTransaction).values(created_at=past))
    session.commit()


@pytest.mark.parametrize(
    ("price", "bps", "commission"),
    [(333, 2000, 66), (1, 2000, 0), (5, 2000, 1), (999, 1500, 149), (1000, 0, 0), (7, 10000, 7)],
)
def test_commission_rounds_down_to_whole_cents(settings, monkeypatch, price, bps, commission):
    monkeypatch.setattr(settings, "commission_bps", bps)
    assert ledger.commission_of(price) == commission
    assert isinstance(ledger.commission_of(price), int)


def test_income_is_pending_inside_the_refund_window(session, settings):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    _sell(session, producer, consumer, [333, 500])
    share = (333 - 66) + (500 - 100)
    s = payouts.income_summary(session, actor=producer)
    assert (s.earned_cents, s.pending_cents, s.available_cents, s.paid_out_cents) == (
        share,
        share,
        0,
        0,
    )
    with pytest.raises(InvalidInput, match="pending until the refund window ends"):
        payouts.request_payout(session, actor=producer, idempotency_key="p1", amount_cents=100)
    _age_all_sales(session, settings.refund_window_days + 1)
    s = payouts.income_summary(session, actor=producer)
    assert (s.pending_cents, s.available_cents) == (0, share)


def test_payout_moves_available_income_once(session, settings):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    _sell(session, producer, consumer, [1000, 2000])
    _age_all_sales(session, settings.refund_window_days + 1)
    _sell(session, producer, consumer, [500])  # recent: pending
    first = payouts.request_payout(session, actor=producer, idempotency_key="k1")
    again = payouts.request_payout(session, actor=producer, idempotency_key="k1")
    assert first.public_id == again.public_id and first.amount_cents == 800 + 1600
    assert first.status == PAYOUT_PAID  # the internal ledger completes payouts at once
    s = payouts.income_summary(session, actor=producer)
    assert (s.available_cents, s.pending_cents, s.paid_out_cents) == (0, 400, 2400)
    assert s.earned_cents == 2800
    with pytest.raises(InvalidInput, match="Payouts start at"):
        payouts.request_payout(session, actor=producer, idempotency_key="k2")
    rows, total = payouts.list_payouts(session, actor=producer)
    assert total == 1 and rows[0].amount_cents == 2400
    report = ledger.ledger_report(session)
    assert report.ok
    [line] = [p for p in report.producers if p.user_id == producer.id]
    assert (line.share_cents, line.paid_out_cents, line.income_balance_cents) == (2800, 2400, 400)
    assert report.gross_cents == 3500 and report.commission_cents == 700


def test_only_producers_see_income(session):
    consumer = make_user(session, "consumer")
    with pytest.raises(Forbidden):
        payouts.income_summary(session, actor=consumer)


def test_ledger_report_command(session, settings):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    _sell(session, producer, consumer, [250])
    r = CliRunner().invoke(app, ["ledger-report"])
    assert r.exit_code == 0, r.output
    assert "Ledger balances" in r.output and "2.50" in r.output
    # Tamper with one sale: the producer's share grows by a cent out of nowhere. The report
    # finds the unbalanced transaction and exits 1.
    income_entry = next(
        e
        for e in session.exec(select(LedgerEntry).where(col(LedgerEntry.image_id).is_not(None)))
        if e.amount_cents == 200
    )
    session.execute(
        update(LedgerEntry).where(col(LedgerEntry.id) == income_entry.id).values(amount_cents=201)
    )
    session.commit()
    r = CliRunner().invoke(app, ["ledger-report"])
    assert r.exit_code == 1
    assert "Unbalanced transactions" in r.output


def test_report_finds_a_balanced_transaction_whose_sales_do_not_split(session):
    producer = make_user(session, "producer")
    consumer = make_user(session, "consumer")
    a, b = (make_image(session, producer, price_cents=100) for _ in range(2))
    # Balanced as a whole, but the buyer paid for image a and the producer was paid for image b.
    ledger.post_transaction(
        session,
        kind="purchase",
        postings=[
            ledger.Posting(
                ledger.account_id(session, kind="balance", user_id=consumer.id), -100, a.id
            ),
            ledger.Posting(
                ledger.account_id(session, kind="income", user_id=producer.id), 100, b.id
            ),
        ],
        actor_id=consumer.id,
    )
    session.commit()
    report = ledger.ledger_report(session)
    assert report.check.ok and not report.ok
    assert sorted(i for _, i, _ in report.unsplit_sales) == sorted([a.id, b.id])
    r = CliRunner().invoke(app, ["ledger-report"])
    assert r.exit_code == 1 and "do not split exactly" in r.output
