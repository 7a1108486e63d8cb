"""#9 checkout: compare licences and buy under one with credits; producer payouts and prices;
card top-ups through Stripe (localstripe) with success, a declined card and 3-D Secure."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
import stripe
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from tests.browser.flows import SOCKET_PROBE, VIEWPORT, open_page, sign_in, unique
from tests.browser.server import RunningApp, running_app, services_env
from tests.payments.localstripe import (
    API_KEY,
    LocalstripeUnavailable,
    authenticate_3ds,
    localstripe,
    register_webhook,
)

pytestmark = pytest.mark.browser

WEBHOOK_SECRET = "whsec_labelhub_browser"


def _seed_shop(email_producer: str, email_consumer: str) -> tuple[str, str]:
    """A producer's image offered under all three licences and a consumer with a project."""
    from labelhub_app import db
    from labelhub_app.services import licences
    from tests.factories import make_image, make_project, make_user

    with db.session_scope() as session:
        producer = make_user(session, "producer", email=email_producer)
        consumer = make_user(session, "consumer", email=email_consumer)
        image = make_image(session, producer, price_cents=300, name="red-car.jpg")
        licences.set_offers(
            session,
            actor=producer,
            image_id=image.public_id,
            standard_cents=300,
            extended_cents=900,
            exclusive_cents=4000,
        )
        make_project(session, consumer, "Cars")
        return image.public_id, producer.pseudonym


def test_consumer_compares_licences_and_buys_extended(page: Page, new_page, app_services, shot):  # type: ignore[no-untyped-def]
    producer_email = f"{unique('pablo')}@example.com"
    consumer_email = f"{unique('clara')}@example.com"
    with app_services():
        image_id, _ = _seed_shop(producer_email, consumer_email)

    sign_in(page, email=consumer_email)
    open_page(page, f"/images/{image_id}")
    page.locator("#compare-licences").click()
    columns = page.locator(".licence-column")
    expect(columns).to_have_count(3)
    standard, extended, exclusive = (
        page.locator(f"#licence-{k}") for k in ("standard", "extended", "exclusive")
    )
    expect(standard).to_contain_text("3.00 credits")
    expect(standard).to_contain_text("Train, fine-tune and evaluate")
    expect(standard).to_contain_text("Redistributing the image")  # what it does not allow
    expect(extended).to_contain_text("9.00 credits")
    expect(extended).to_contain_text("Redistribute the image and its labels inside a product")
    expect(exclusive).to_contain_text("40.00 credits")
    expect(exclusive).to_contain_text("the image leaves the market once you buy it")
    expect(standard).to_contain_text("version 1")
    shot(page, "checkout-01-licence-comparison")

    page.locator("#choose-extended").click()
    expect(page.locator("#choose-extended")).to_have_text("Chosen")
    page.locator("#buy-with-licence").click()
    expect(page.locator("#licence-notice")).to_contain_text(
        "Bought under the Extended licence, version 1, for 9.00 credits"
    )
    shot(page, "checkout-02-bought-extended")
    # Once bought, Exclusive is no longer possible: another licence exists.
    expect(page.locator("#choose-exclusive")).to_be_disabled()
    expect(page.locator("#licence-exclusive")).to_contain_text("Other buyers already license")
    page.locator("#buy-with-licence").click()  # a double click: the same key, bought once
    expect(page.locator("#licence-notice")).to_be_visible()
    expect(page.locator("#licence-error")).to_have_count(0)
    page.keyboard.press("Escape")
    open_page(page, "/purchases")
    expect(page.get_by_text("red-car.jpg")).to_be_visible()
    expect(page.locator("body")).to_contain_text("extended")

    # The producer sees the sale as pending income (inside the refund window) and its prices.
    producer_page = new_page()
    sign_in(producer_page, email=producer_email)
    open_page(producer_page, "/payouts")
    expect(producer_page.locator("body")).to_contain_text("Pending")
    expect(producer_page.locator("body")).to_contain_text("7.20")  # 9.00 less 20 % commission
    expect(producer_page.locator("#request-payout")).to_be_disabled()
    expect(producer_page.get_by_text("No payouts yet")).to_be_visible()
    shot(producer_page, "checkout-03-payouts")
    open_page(producer_page, "/dashboard")
    producer_page.locator(".edit-offers").first.click()
    expect(producer_page.locator("#offer-extended")).to_have_value("9.00")
    producer_page.fill("#offer-extended", "1.00")
    producer_page.locator("#save-offers").click()
    expect(producer_page.get_by_text("at least the Standard price")).to_be_visible()
    shot(producer_page, "checkout-04-licence-prices")
    producer_page.fill("#offer-extended", "12.00")
    producer_page.locator("#save-offers").click()
    # The image has a buyer now, so Exclusive can no longer be offered: the producer is told.
    expect(producer_page.get_by_text("cannot be offered exclusively")).to_be_visible()
    producer_page.fill("#offer-exclusive", "")
    producer_page.locator("#save-offers").click()
    expect(producer_page.get_by_text("Licence prices saved.")).to_be_visible()

    # After the refund window the income is available and the producer requests a payout.
    with app_services():
        from datetime import timedelta

        from sqlalchemy import update

        from labelhub_app import db
        from labelhub_app.models import LedgerEntry, User, utcnow

        with db.session_scope() as session:
            producer_id = session.exec(select(User.id).where(User.email == producer_email)).one()
            session.execute(
                update(LedgerEntry)
                .where(col(LedgerEntry.image_id).is_not(None))
                .where(
                    col(LedgerEntry.account_id).in_(
                        select_account_ids(session, producer_id)  # this producer's income only
                    )
                )
                .values(created_at=utcnow() - timedelta(days=30))
            )
            session.commit()
    open_page(producer_page, "/payouts")
    expect(producer_page.locator("#request-payout")).to_be_enabled()
    producer_page.locator("#request-payout").click()
    expect(producer_page.locator("#payout-notice")).to_contain_text("Payout of 7.20: Paid.")
    expect(producer_page.locator("#payouts-table")).to_contain_text("7.20")
    shot(producer_page, "checkout-05-payout-paid")


def select_account_ids(session, user_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    from labelhub_app.models import LedgerAccount

    return list(
        session.exec(
            select(LedgerAccount.id).where(
                LedgerAccount.user_id == user_id, LedgerAccount.kind == "income"
            )
        )
    )


# --- card top-ups through Stripe (localstripe) ----------------------------------------------------


@pytest.fixture(scope="module")
def stripe_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApp, str]]:
    """A second app with LABELHUB_PAYMENTS=stripe against localstripe, webhooks registered."""
    try:
        ls = localstripe()
        base = ls.__enter__()
    except LocalstripeUnavailable as exc:
        pytest.skip(f"localstripe cannot start: {exc}")
    try:
        env = {
            "LABELHUB_PAYMENTS": "stripe",
            "LABELHUB_STRIPE_API_KEY": API_KEY,
            "LABELHUB_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LABELHUB_STRIPE_API_BASE": base,
        }
        with running_app(tmp_path_factory.mktemp("stripe-app"), extra_env=env) as app:
            register_webhook(base, f"{app.url}/api/v1/payments/webhook", WEBHOOK_SECRET)
            yield app, base
    finally:
        ls.__exit__(None, None, None)


def _check_until(page: Page, pattern: str, tries: int = 30) -> None:
    """Press "Check payment" until the webhook's result shows (webhooks are asynchronous)."""
    target = page.get_by_text(re.compile(pattern))
    for _ in range(tries):
        if target.count() > 0:
            break
        button = page.locator("#check-payment")
        if button.count() > 0:
            button.click()
        page.wait_for_timeout(500)
    expect(target.first).to_be_visible()


def test_card_top_up_success_decline_and_3d_secure(browser, stripe_app, shot):  # type: ignore[no-untyped-def]
    app, base = stripe_app
    email = f"{unique('wanda')}@example.com"
    with services_env(app.data_dir):
        from labelhub_app import db
        from labelhub_app.models import User

        image_id, _ = _seed_shop(f"{unique('piet')}@example.com", email)
        with db.session_scope() as session:
            user_id = session.exec(select(User.id).where(User.email == email)).one()
    context = browser.new_context(base_url=app.url, viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    context.add_init_script(SOCKET_PROBE)
    page = context.new_page()
    try:
        sign_in(page, email=email)
        open_page(page, "/wallet")
        expect(page.get_by_text("Buy credits by card", exact=True)).to_be_visible()
        expect(page.get_by_text("No card payments yet")).to_be_visible()
        shot(page, "checkout-06-wallet")

        page.fill("#card-amount", "25")
        page.fill("#card-number", "4242 4242 4242 4242")
        page.locator("#card-pay").click()
        _check_until(page, r"Paid: 25\.00 credits were added")
        expect(page.locator("#payments-table")).to_contain_text("Paid")
        expect(page.locator("body")).to_contain_text("125.00")  # 100 welcome credits + 25
        shot(page, "checkout-07-card-paid")

        page.fill("#card-number", "4000 0000 0000 0341")
        page.locator("#card-pay").click()
        expect(page.locator("#wallet-error")).to_contain_text(
            "The payment failed: Your card was declined."
        )
        shot(page, "checkout-08-card-declined")

        page.fill("#card-amount", "12")
        page.fill("#card-number", "4000 0025 0000 3155")
        page.locator("#card-pay").click()
        expect(page.locator("#payment-next-step")).to_contain_text("3-D Secure")
        shot(page, "checkout-09-3ds-required")
        # The bank's 3-D Secure page: the test confirms through localstripe.
        with services_env(app.data_dir):
            from labelhub_app import db
            from labelhub_app.models.payments import Payment

            with db.session_scope() as session:
                intent_id = session.exec(
                    select(Payment.provider_id)
                    .where(Payment.user_id == user_id, Payment.status == "requires_action")
                    .order_by(col(Payment.id).desc())
                ).first()
        assert intent_id
        client = stripe.StripeClient(API_KEY, base_addresses={"api": base})
        secret = client.v1.payment_intents.retrieve(intent_id).client_secret
        authenticate_3ds(base, intent_id, secret or "", success=True)
        _check_until(page, r"Paid: 12\.00 credits were added")
        expect(page.locator("body")).to_contain_text("137.00")
        # A forged webhook to the running app is refused.
        forged = httpx.post(
            f"{app.url}/api/v1/payments/webhook",
            content=b'{"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {}}}',
            headers={"Stripe-Signature": "t=1,v1=forged"},
        )
        assert forged.status_code == 400

        # Buying directly by card, under the Exclusive licence: a declined card releases the
        # reservation (Exclusive stays choosable), a good card buys it once the webhook lands.
        open_page(page, f"/images/{image_id}")
        page.locator("#compare-licences").click()
        page.locator("#choose-exclusive").click()
        page.fill("#licence-card-number", "4000 0000 0000 0341")
        page.locator("#pay-by-card").click()
        expect(page.locator("#licence-error")).to_contain_text("Your card was declined.")
        expect(page.locator("#choose-exclusive")).to_be_enabled()
        page.fill("#licence-card-number", "4242 4242 4242 4242")
        page.locator("#pay-by-card").click()
        target = page.locator("#licence-notice")
        for _ in range(30):
            if target.count() > 0:
                break
            check = page.locator("#licence-check-payment")
            if check.count() > 0:
                check.click()
            page.wait_for_timeout(500)
        expect(target).to_contain_text("Paid by card and bought")
        expect(page.locator("#choose-exclusive")).to_be_disabled()
        expect(page.locator("#pay-by-card")).to_be_disabled()  # sold: nothing more to buy
        shot(page, "checkout-10-exclusive-by-card")
        with services_env(app.data_dir):
            from labelhub_app import db
            from labelhub_app.models import Image, Purchase

            with db.session_scope() as session:
                status = session.exec(select(Image.status).where(Image.public_id == image_id)).one()
                kinds = session.exec(
                    select(Purchase.licence_kind).where(Purchase.buyer_id == user_id)
                ).all()
        assert status == "sold_exclusive" and kinds == ["exclusive"]
    finally:
        context.close()
