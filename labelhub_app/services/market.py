"""Projects, buying with credits, and the consumers' and producers' money views.

A consumer collects images in projects and buys them; one purchase request is one database
transaction: purchases, one balanced ledger transaction, sales counters and search outbox rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelhub_app.models import (
    STATUS_ON_SALE,
    Image,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Project,
    ProjectItem,
    Purchase,
    SearchOutbox,
    User,
    utcnow,
)
from labelhub_app.models.ledger import ACCOUNT_INCOME
from labelhub_app.services import ledger
from labelhub_app.services.accounts import require_role

MAX_PROJECT_NAME = 120
MAX_BATCH = 500


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the project a name.")
    if len(name) > MAX_PROJECT_NAME:
        raise InvalidInput(f"Project names are at most {MAX_PROJECT_NAME} characters.")
    return name


def create_project(session: Session, *, actor: User, name: str) -> Project:
    require_role(actor, "consumer")
    name = _check_name(name)
    clash = session.exec(
        select(Project.id).where(
            Project.owner_id == actor.id, Project.name == name, col(Project.archived_at).is_(None)
        )
    ).first()
    if clash is not None:
        raise Conflict(f"You already have a project called {name!r}.")
    project = Project(owner_id=actor.id, name=name)  # type: ignore[arg-type]
    session.add(project)
    session.commit()
    session.refresh(project)
    return project


def get_own_project(session: Session, *, actor: User, project_id: str) -> Project:
    """A project of the actor's; another consumer's project is reported as not found."""
    require_role(actor, "consumer")
    project = session.exec(select(Project).where(Project.public_id == project_id)).first()
    if project is None or project.owner_id != actor.id:
        raise NotFound("No such project among yours.")
    return project


def rename_project(session: Session, *, actor: User, project_id: str, name: str) -> Project:
    project = get_own_project(session, actor=actor, project_id=project_id)
    project.name = _check_name(name)
    session.add(project)
    session.commit()
    return project


def archive_project(
    session: Session, *, actor: User, project_id: str, archived: bool = True
) -> Project:
    """Archive (or restore) a project; its purchases stay downloadable."""
    project = get_own_project(session, actor=actor, project_id=project_id)
    project.archived_at = utcnow() if archived else None
    session.add(project)
    session.commit()
    return project


@dataclass(frozen=True)
class ProjectSummary:
    public_id: str
    name: str
    archived: bool
    created_at: datetime
    items: int
    bought: int
    spent_cents: int
    to_buy_cents: int


def list_projects(
    session: Session, *, actor: User, include_archived: bool = False
) -> list[ProjectSummary]:
    require_role(actor, "consumer")
    query = select(Project).where(Project.owner_id == actor.id)
    if not include_archived:
        query = query.where(col(Project.archived_at).is_(None))
    projects = session.exec(query.order_by(col(Project.created_at).desc())).all()
    ids = [p.id for p in projects]
    items = (
        dict(
            session.exec(
                select(ProjectItem.project_id, func.count())
                .where(col(ProjectItem.project_id).in_(ids))
                .group_by(ProjectItem.project_id)
            ).all()
        )
        if ids
        else {}
    )
    bought = (
        {
            pid: (n, s)
            for pid, n, s in session.exec(
                select(Purchase.project_id, func.count(), func.sum(Purchase.price_cents))
                .where(col(Purchase.project_id).in_(ids), Purchase.buyer_id == actor.id)
                .group_by(Purchase.project_id)
            ).all()
        }
        if ids
        else {}
    )
    to_buy = (
        dict(
            session.exec(
                select(ProjectItem.project_id, func.sum(Image.price_cents))
                .join(Image, col(Image.id) == ProjectItem.image_id)
                .where(
                    col(ProjectItem.project_id).in_(ids),
                    Image.status == STATUS_ON_SALE,
                    ~col(Image.id).in_(
                        select(Purchase.image_id).where(Purchase.buyer_id == actor.id)
                    ),
                )
                .group_by(ProjectItem.project_id)
            ).all()
        )
        if ids
        else {}
    )
    return [
        ProjectSummary(
            p.public_id,
            p.name,
            p.archived_at is not None,
            p.created_at,
            int(items.get(p.id, 0)),
            int(bought.get(p.id, (0, 0))[0]),
            int(bought.get(p.id, (0, 0))[1] or 0),
            int(to_buy.get(p.id) or 0),
        )
        for p in projects
    ]


def _images_by_public_id(session: Session, public_ids: list[str]) -> list[Image]:
    wanted = list(dict.fromkeys(public_ids))
    if not wanted:
        raise InvalidInput("Select at least one image.")
    if len(wanted) > MAX_BATCH:
        raise InvalidInput(f"Select at most {MAX_BATCH} images at a time.")
    found = {
        i.public_id: i for i in session.exec(select(Image).where(col(Image.public_id).in_(wanted)))
    }
    missing = [p for p in wanted if p not in found]
    if missing:
        raise NotFound(f"{len(missing)} of the selected images no longer exist.")
    return [found[p] for p in wanted]


def add_to_project(session: Session, *, actor: User, project_id: str, image_ids: list[str]) -> int:
    """Add images (public ids) to a project; returns how many were new to it."""
    project = get_own_project(session, actor=actor, project_id=project_id)
    if project.archived_at is not None:
        raise Conflict("This project is archived; restore it before adding images.")
    images = _images_by_public_id(session, image_ids)
    present = set(
        session.exec(select(ProjectItem.image_id).where(ProjectItem.project_id == project.id)).all()
    )
    added = 0
    for image in images:
        if image.id in present:
            continue
        if image.status != STATUS_ON_SALE:
            raise Conflict(f"{image.file_name} is no longer on sale.")
        session.add(ProjectItem(project_id=project.id, image_id=image.id))  # type: ignore[arg-type]
        added += 1
    session.commit()
    return added


def remove_from_project(session: Session, *, actor: User, project_id: str, image_id: str) -> None:
    project = get_own_project(session, actor=actor, project_id=project_id)
    image = _images_by_public_id(session, [image_id])[0]
    if session.exec(
        select(Purchase.id).where(Purchase.project_id == project.id, Purchase.image_id == image.id)
    ).first():
        raise Conflict("A bought image stays in its project.")
    item = session.get(ProjectItem, (project.id, image.id))
    if item is not None:
        session.delete(item)
        session.commit()


def buy_images(
    session: Session,
    *,
    buyer: User,
    project_id: str,
    image_ids: list[str],
    idempotency_key: str,
    licence: str = "standard",
) -> list[Purchase]:
    """Buy images into a project with credits under one licence kind, in one transaction.

    A retried request (double click, network retry) with the same idempotency key charges once
    and returns the purchases of the first one. ``licence`` is the market licence kind
    (standard, extended, exclusive; services/licences.py); each image's price is its offer.
    """
    from labelhub_app.services import licences

    require_role(buyer, "consumer")
    if not idempotency_key or len(idempotency_key) > 64:
        raise InvalidInput("A purchase needs an idempotency key of 1-64 characters.")
    licences.check_kind(licence)
    key = f"purchase:{buyer.id}:{idempotency_key}"
    # Take the buyer's balance row first, so that concurrent purchases by one buyer queue here
    # (SQLite: the write lock; PostgreSQL: the row lock) and everything read below is current:
    # a retry racing its first request finds the first one's purchases instead of "you already
    # own" (tests/services/test_reliability.py, 20 concurrent requests with one key).
    ledger.lock_account(session, kind=ledger.ACCOUNT_BALANCE, user_id=buyer.id)  # type: ignore[arg-type]
    done = _purchases_for_key(session, key)
    if done is not None:
        session.commit()  # ends the transaction, so the lock is not held
        return done
    project = get_own_project(session, actor=buyer, project_id=project_id)
    images = _images_by_public_id(session, image_ids)
    prices = check_buyable(session, buyer=buyer, project=project, images=images, licence=licence)
    total = sum(prices.values())
    available = ledger.balance(session, user=buyer)
    if total > available:
        session.rollback()
        raise InvalidInput(
            f"Not enough credits: this costs {total / 100:,.2f} and your balance is "
            f"{available / 100:,.2f}. Top up credits on your purchases page."
        )
    return record_sale(
        session,
        buyer=buyer,
        project=project,
        images=images,
        licence=licence,
        prices=prices,
        key=key,
    )


def check_buyable(
    session: Session,
    *,
    buyer: User,
    project: Project,
    images: list[Image],
    licence: str,
    reserved_by: str | None = None,
) -> dict[int, int]:
    """Refuse what cannot be bought; returns image id -> price under ``licence``.

    ``reserved_by``: an Exclusive image reserved for this payment counts as on sale.
    """
    from labelhub_app.models.licences import LICENCE_EXCLUSIVE, STATUS_RESERVED
    from labelhub_app.services import licences

    if project.archived_at is not None:
        raise Conflict("This project is archived; restore it before buying into it.")
    for image in images:
        if image.owner_id == buyer.id:
            raise Conflict(f"{image.file_name} is your own image.")
        reserved_here = reserved_by is not None and image.status == STATUS_RESERVED
        if image.status != STATUS_ON_SALE and not reserved_here:
            raise Conflict(f"{image.file_name} is no longer on sale.")
    owned = set(
        session.exec(
            select(Purchase.image_id).where(
                Purchase.buyer_id == buyer.id, col(Purchase.image_id).in_([i.id for i in images])
            )
        ).all()
    )
    if owned:
        first = next(i for i in images if i.id in owned)
        more = f" (and {len(owned) - 1} more)" if len(owned) > 1 else ""
        raise Conflict(f"You already own {first.file_name}{more}; deselect it to buy the rest.")
    offers = licences.offer_prices(session, images)
    prices: dict[int, int] = {}
    for image in images:
        price = offers[image.id].get(licence)  # type: ignore[index]
        if price is None:
            raise Conflict(
                f"{image.file_name} is not offered under the {licences.KIND_NAMES[licence]} "
                "licence; choose another licence."
            )
        if licence == LICENCE_EXCLUSIVE and image.sales_count > 0:
            raise Conflict(
                f"{image.file_name} already has buyers, so it cannot be bought exclusively."
            )
        prices[image.id] = price  # type: ignore[index]
    return prices


def record_sale(
    session: Session,
    *,
    buyer: User,
    project: Project,
    images: list[Image],
    licence: str,
    prices: dict[int, int],
    key: str,
    funding: list[ledger.Posting] | None = None,
    reserved_by: str | None = None,
    commit: bool = True,
) -> list[Purchase]:
    """Write the purchases, one balanced ledger transaction, counters and outbox rows; commit.

    ``funding``: postings added to the same transaction (a card payment's money entering the
    buyer's balance). ``reserved_by``: Exclusive images reserved for that payment may be sold.
    ``commit=False``: part of a larger transaction (a webhook); errors are raised, the caller
    rolls back.
    """
    from labelhub_app.models.licences import (
        LICENCE_EXCLUSIVE,
        LICENCE_STANDARD,
        STATUS_RESERVED,
        STATUS_SOLD_EXCLUSIVE,
    )
    from labelhub_app.services import licences

    texts = licences.current_texts(session)
    postings: list[ledger.Posting] = []
    for image in images:
        postings += ledger.sale_postings(
            session,
            buyer_id=buyer.id,
            producer_id=image.owner_id,  # type: ignore[arg-type]
            image_id=image.id,
            price_cents=prices[image.id],  # type: ignore[index]
        )  # type: ignore[arg-type]
    try:
        if licence == LICENCE_EXCLUSIVE:
            for image in images:
                # Only one Exclusive sale: the first transaction to flip the status wins.
                allowed = [STATUS_ON_SALE] + ([STATUS_RESERVED] if reserved_by else [])
                result = session.execute(
                    update(Image)
                    .where(
                        col(Image.id) == image.id,
                        col(Image.status).in_(allowed),
                        col(Image.sales_count) == 0,
                    )
                    .values(status=STATUS_SOLD_EXCLUSIVE, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    raise _SoldMeanwhile(image.file_name)
        txn = ledger.post_transaction(
            session,
            kind="purchase",
            postings=(funding or []) + postings,
            actor_id=buyer.id,
            idempotency_key=key,
            memo=f"{len(images)} image(s), {licence} licence",
        )
        present = set(
            session.exec(
                select(ProjectItem.image_id).where(ProjectItem.project_id == project.id)
            ).all()
        )
        text = texts.get(licence)
        purchases = []
        for image, producer_share in zip(images, postings[1::3], strict=True):
            purchase = Purchase(
                buyer_id=buyer.id,
                image_id=image.id,
                project_id=project.id,  # type: ignore[arg-type]
                price_cents=prices[image.id],  # type: ignore[index]
                licence=image.licence if licence == LICENCE_STANDARD else licence,
                licence_kind=licence,
                licence_version=text.version if text is not None else None,
                ledger_txn_id=txn.id,
            )  # type: ignore[arg-type]
            session.add(purchase)
            purchases.append(purchase)
            if image.id not in present:
                session.add(ProjectItem(project_id=project.id, image_id=image.id))  # type: ignore[arg-type]
            # Conditional on the status, so no sale lands after an Exclusive one committed.
            sold_as = STATUS_SOLD_EXCLUSIVE if licence == LICENCE_EXCLUSIVE else STATUS_ON_SALE
            counted = session.execute(
                update(Image)
                .where(col(Image.id) == image.id, col(Image.status) == sold_as)
                .values(
                    sales_count=Image.sales_count + 1,
                    income_cents=Image.income_cents + producer_share.amount_cents,
                )
                .execution_options(synchronize_session=False)
            )
            if counted.rowcount != 1:  # type: ignore[attr-defined]
                raise _SoldMeanwhile(image.file_name)
            session.add(SearchOutbox(image_id=image.id))  # type: ignore[arg-type]
        session.flush()
        if ledger.balance(session, user=buyer) < 0:  # a concurrent purchase spent the credits first
            raise InvalidInput("Not enough credits left for this purchase; your balance changed.")
        if not commit:
            return purchases
        session.commit()
    except _SoldMeanwhile as sold:
        if commit:
            session.rollback()
        raise Conflict(
            f"{sold.args[0]} was just sold exclusively to another buyer or taken off the market."
        ) from None
    except IntegrityError:
        if not commit:
            raise
        session.rollback()
        done = _purchases_for_key(session, key)
        if done is not None:
            return done
        raise Conflict("You already own one of these images; reload the page.") from None
    except InvalidInput:
        if commit:
            session.rollback()
        raise
    for image in images:
        session.refresh(image)
    return purchases


class _SoldMeanwhile(Exception):
    pass


def _purchases_for_key(session: Session, key: str) -> list[Purchase] | None:
    txn_id = session.exec(
        select(LedgerTransaction.id).where(LedgerTransaction.idempotency_key == key)
    ).first()
    if txn_id is None:
        return None
    return list(
        session.exec(select(Purchase).where(Purchase.ledger_txn_id == txn_id).order_by(Purchase.id))
    )


# --- what consumers see ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseRow:
    purchase_id: str
    image_id: str
    file_name: str
    price_cents: int
    licence: str
    project_id: str
    project_name: str
    created_at: datetime


@dataclass(frozen=True)
class ConsumerSummary:
    balance_cents: int
    spent_cents: int
    purchases: list[PurchaseRow]
    total_purchases: int
    spending_by_project: list[tuple[str, str, int]]  # (project public id, name, cents)


def consumer_summary(
    session: Session,
    *,
    actor: User,
    page: int = 1,
    per_page: int = 50,
    project_id: str | None = None,
) -> ConsumerSummary:
    """The consumer dashboard: only the actor's own purchases, ever."""
    require_role(actor, "consumer")
    base = (
        select(Purchase, Image.public_id, Image.file_name, Project.public_id, Project.name)
        .join(Image, col(Image.id) == Purchase.image_id)
        .join(Project, col(Project.id) == Purchase.project_id)
        .where(Purchase.buyer_id == actor.id)
    )
    if project_id:
        base = base.where(Project.public_id == project_id)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(
        base.order_by(col(Purchase.created_at).desc(), col(Purchase.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    purchases = [
        PurchaseRow(
            p.public_id, img_pid, fname, p.price_cents, p.licence, proj_pid, pname, p.created_at
        )
        for p, img_pid, fname, proj_pid, pname in rows
    ]
    spending = session.exec(
        select(Project.public_id, Project.name, func.sum(Purchase.price_cents))
        .join(Project, col(Project.id) == Purchase.project_id)
        .where(Purchase.buyer_id == actor.id)
        .group_by(Project.public_id, Project.name)
        .order_by(func.sum(Purchase.price_cents).desc())
    ).all()
    spent = session.exec(
        select(func.coalesce(func.sum(Purchase.price_cents), 0)).where(
            Purchase.buyer_id == actor.id
        )
    ).one()
    return ConsumerSummary(
        ledger.balance(session, user=actor),
        int(spent),
        purchases,
        int(total),
        [(a, b, int(c)) for a, b, c in spending],
    )


# --- what producers see ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProducerSummary:
    images: int
    on_sale: int
    sales: int
    income_cents: int
    income_by_day: list[tuple[date, int]]  # the last ``days`` days, zero-filled, oldest first


def producer_summary(session: Session, *, actor: User, days: int = 30) -> ProducerSummary:
    """Totals and income per day for the producer dashboard. Buyers are never named."""
    require_role(actor, "producer")
    images, on_sale, sales = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(case((col(Image.status) == STATUS_ON_SALE, 1), else_=0)), 0),
            func.coalesce(func.sum(Image.sales_count), 0),
        ).where(Image.owner_id == actor.id)
    ).one()
    since = utcnow() - timedelta(days=days)
    per_day: dict[date, int] = defaultdict(int)
    entries = session.exec(
        select(LedgerEntry.created_at, LedgerEntry.amount_cents)
        .join(LedgerAccount, col(LedgerAccount.id) == LedgerEntry.account_id)
        .where(
            LedgerAccount.kind == ACCOUNT_INCOME,
            LedgerAccount.user_id == actor.id,
            LedgerEntry.created_at >= since,
        )
    ).all()
    for created, amount in entries:
        per_day[created.date()] += amount
    today = utcnow().date()
    series = [
        (today - timedelta(days=d), per_day.get(today - timedelta(days=d), 0))
        for d in range(days - 1, -1, -1)
    ]
    return ProducerSummary(
        int(images), int(on_sale or 0), int(sales), ledger.income(session, user=actor), series
    )


def ensure_not_other_consumer(viewer: User, owner_id: int) -> None:
    if viewer.id != owner_id and not viewer.is_admin:
        raise Forbidden("That belongs to someone else.")


@dataclass(frozen=True)
class ProjectItemView:
    public_id: str
    file_name: str
    price_cents: int
    labels: list[str]
    producer_pseudonym: str
    bought: bool
    on_sale: bool


@dataclass(frozen=True)
class ProjectDetail:
    public_id: str
    name: str
    archived: bool
    items: list[ProjectItemView]
    balance_cents: int

    @property
    def to_buy(self) -> list[ProjectItemView]:
        return [i for i in self.items if not i.bought and i.on_sale]


def project_detail(session: Session, *, actor: User, project_id: str) -> ProjectDetail:
    """One project of the actor's with its images, newest first, and what is still to buy."""
    from labelhub_app.services.images import labels_by_image

    project = get_own_project(session, actor=actor, project_id=project_id)
    rows = session.exec(
        select(Image, Purchase.id, User.pseudonym)
        .join(ProjectItem, col(ProjectItem.image_id) == Image.id)
        .join(User, col(User.id) == Image.owner_id)
        .outerjoin(Purchase, (col(Purchase.image_id) == Image.id) & (Purchase.buyer_id == actor.id))
        .where(ProjectItem.project_id == project.id)
        .order_by(col(ProjectItem.added_at).desc(), col(Image.id).desc())
    ).all()
    names = labels_by_image(session, [img.id for img, _, _ in rows])  # type: ignore[misc]
    items = [
        ProjectItemView(
            img.public_id,
            img.file_name,
            img.price_cents,
            names.get(img.id, []),  # type: ignore[arg-type]
            pseudonym,
            bought is not None,
            img.status == STATUS_ON_SALE,
        )
        for img, bought, pseudonym in rows
    ]
    return ProjectDetail(
        project.public_id,
        project.name,
        project.archived_at is not None,
        items,
        ledger.balance(session, user=actor),
    )
