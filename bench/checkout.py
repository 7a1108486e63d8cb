"""Checkout throughput: purchases per second end to end on the internal ledger and through Stripe
(localstripe), and webhook processing throughput.

    .venv/bin/python bench/checkout.py [--purchases 200] [--card 50] [--webhooks 500] [--threads 4]

Prints JSON lines:
- ``ledger_purchases``: ``market.buy_images`` (one image, Standard licence, credits) one after
  another, then from ``--threads`` threads at once (separate sessions), in a fresh SQLite database;
  each purchase is one transaction with its ledger entries, counters and outbox row.
- ``card_purchases``: ``payments.start_card_purchase`` (PaymentIntent created and confirmed on
  localstripe with the stripe library) and the signed ``payment_intent.succeeded`` webhook that
  completes it, over HTTP to the REST API's endpoint served by uvicorn in this process; ends when
  every purchase is recorded.
- ``webhooks``: signed events posted straight into ``payments.handle_webhook`` (verification,
  event id, state machine, ledger credit): fresh events, then the same events replayed.
Then ``ledger_check``: the ledger report after all of it (must be ok).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "whsec_bench_checkout"


def emit(**fields: object) -> None:
    fields["load_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(fields), flush=True)


def _setup(data_dir: Path, env: dict[str, str]) -> None:
    os.environ["LABELHUB_DATA_DIR"] = str(data_dir)
    os.environ["LABELHUB_DEMO_CREDITS_CENTS"] = str(10_000_000)
    os.environ.update(env)
    from labelhub_app import db
    from labelhub_app.config import reset_settings
    from labelhub_app.migrations import upgrade

    reset_settings()
    db.dispose_engines()
    upgrade()


def _seed(count: int) -> tuple[int, list[int], list[str], list[str]]:
    """A producer with ``count`` images; ``count`` consumers with a project each."""
    from sqlalchemy import insert

    from bench.seed import image_rows
    from labelhub_app import db
    from labelhub_app.models import Image, utcnow
    from labelhub_app.services import accounts, market

    with db.session_scope() as session:
        producer = accounts.sign_up(
            session,
            email=f"p{uuid.uuid4().hex[:6]}@bench.test",
            password="bench-password",
            roles=["producer"],
            display_name="Bench Producer",
        )
        rows = image_rows(producer.id, count, utcnow())
        for r in rows:  # unique across runs in one database
            tag = uuid.uuid4().hex
            r["upload_sha256"] = hashlib.sha256(tag.encode()).hexdigest()
            r["public_id"] = str(uuid.uuid4())
        session.execute(insert(Image), rows)
        session.commit()
        buyers, projects = [], []
        for _ in range(count):
            c = accounts.sign_up(
                session,
                email=f"c{uuid.uuid4().hex[:8]}@bench.test",
                password="bench-password",
                roles=["consumer"],
                display_name="Bench Consumer",
            )
            buyers.append(c.id)
            projects.append(market.create_project(session, actor=c, name="Bench").public_id)
        return producer.id, buyers, projects, [r["public_id"] for r in rows]


def bench_ledger(n: int, threads: int) -> None:
    from labelhub_app import db
    from labelhub_app.models import User
    from labelhub_app.services import market

    _, buyers, projects, images = _seed(2 * n)

    def buy(i: int) -> None:
        with db.session_scope() as s:
            market.buy_images(
                s,
                buyer=s.get(User, buyers[i]),  # type: ignore[arg-type]
                project_id=projects[i],
                image_ids=[images[i]],
                idempotency_key=f"b{i}",
            )

    started = time.perf_counter()
    for i in range(n):
        buy(i)
    serial = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(buy, range(n, 2 * n)))
    parallel = time.perf_counter() - started
    emit(
        bench="ledger_purchases",
        purchases=n,
        serial_per_s=round(n / serial, 1),
        serial_ms_each=round(1000 * serial / n, 2),
        threads=threads,
        concurrent_per_s=round(n / parallel, 1),
    )


def _sign(payload: bytes) -> str:
    at = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def bench_webhooks(n: int) -> None:
    from labelhub_app import db
    from labelhub_app.models import User
    from labelhub_app.models.payments import Payment
    from labelhub_app.services import payments

    _, buyers, _, _ = _seed(1)
    with db.session_scope() as s:
        user = s.get(User, buyers[0])
        rows = [
            Payment(
                user_id=user.id,  # type: ignore[union-attr,arg-type]
                purpose="topup",
                amount_cents=100,
                provider="stripe",
                provider_id=f"pi_bench{i}_{uuid.uuid4().hex[:8]}",
                idempotency_key=uuid.uuid4().hex,
                status="processing",
            )
            for i in range(n)
        ]
        s.add_all(rows)
        s.commit()
        bodies = [
            json.dumps(
                {
                    "id": f"evt_{uuid.uuid4().hex}",
                    "type": "payment_intent.succeeded",
                    "data": {
                        "object": {
                            "id": p.provider_id,
                            "amount": 100,
                            "metadata": {"labelhub_payment": p.public_id},
                        }
                    },
                }
            ).encode()
            for p in rows
        ]
    timings = {}
    for label in ("fresh", "replayed"):
        started = time.perf_counter()
        outcomes = {}
        with db.session_scope() as s:
            for body in bodies:
                out = payments.handle_webhook(s, payload=body, signature=_sign(body))
                outcomes[out] = outcomes.get(out, 0) + 1
        took = time.perf_counter() - started
        timings[label] = (round(n / took, 1), outcomes)
    emit(
        bench="webhooks",
        events=n,
        fresh_per_s=timings["fresh"][0],
        fresh_outcomes=timings["fresh"][1],
        replayed_per_s=timings["replayed"][0],
        replayed_outcomes=timings["replayed"][1],
    )


def bench_cards(n: int, base: str, hook_url: str) -> None:
    from sqlmodel import func, select

    from labelhub_app import db
    from labelhub_app.adapters.payments import Card
    from labelhub_app.models import Purchase, User
    from labelhub_app.services import payments
    from tests.payments.localstripe import register_webhook

    register_webhook(base, hook_url, SECRET)
    _, buyers, projects, images = _seed(n)
    card = Card("4242424242424242", 12, 2034, "123")
    started = time.perf_counter()
    for i in range(n):
        with db.session_scope() as s:
            payments.start_card_purchase(
                s,
                buyer=s.get(User, buyers[i]),  # type: ignore[arg-type]
                project_id=projects[i],
                image_ids=[images[i]],
                idempotency_key=f"card{i}",
                card=card,
            )
    requested = time.perf_counter() - started
    ids = buyers
    while True:
        with db.session_scope() as s:
            done = s.exec(
                select(func.count()).where(col_in(Purchase.buyer_id, ids))  # type: ignore[arg-type]
            ).one()
        if done >= n or time.perf_counter() - started > 120:
            break
        time.sleep(0.05)
    total = time.perf_counter() - started
    emit(
        bench="card_purchases",
        purchases=n,
        completed=int(done),
        per_s=round(n / total, 1),
        ms_each_until_recorded=round(1000 * total / n, 1),
        ms_each_request_only=round(1000 * requested / n, 1),
    )


def col_in(column, values):  # type: ignore[no-untyped-def]
    from sqlmodel import col

    return col(column).in_(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--purchases", type=int, default=200)
    parser.add_argument("--card", type=int, default=50)
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    import uvicorn

    from tests.payments.localstripe import API_KEY, LocalstripeUnavailable, free_port, localstripe

    with tempfile.TemporaryDirectory(prefix="lh-bench-checkout-") as tmp:
        try:
            ls = localstripe()
            base = ls.__enter__()
        except LocalstripeUnavailable as exc:
            base = ""
            emit(bench="card_purchases", skipped=str(exc))
        env = {
            "LABELHUB_PAYMENTS": "stripe" if base else "internal",
            "LABELHUB_STRIPE_API_KEY": API_KEY,
            "LABELHUB_STRIPE_WEBHOOK_SECRET": SECRET,
            "LABELHUB_STRIPE_API_BASE": base,
        }
        _setup(Path(tmp), env)
        try:
            bench_ledger(args.purchases, args.threads)
            if base:
                bench_webhooks(args.webhooks)
                from labelhub_app.api.app import api

                port = free_port()
                server = uvicorn.Server(
                    uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning")
                )
                thread = threading.Thread(target=server.run, daemon=True)
                thread.start()
                while not server.started:
                    time.sleep(0.05)
                bench_cards(args.card, base, f"http://127.0.0.1:{port}/api/v1/payments/webhook")
                server.should_exit = True
            from labelhub_app import db
            from labelhub_app.services import ledger

            with db.session_scope() as s:
                report = ledger.ledger_report(s)
            emit(
                bench="ledger_check",
                ok=report.ok,
                transactions=report.check.transactions,
                sales=report.sales,
                gross_cents=report.gross_cents,
                commission_cents=report.commission_cents,
                producers_share_cents=report.producers_share_cents,
            )
        finally:
            if base:
                ls.__exit__(None, None, None)


if __name__ == "__main__":
    main()
