"""Labelling campaigns: create, join, hand out tasks, take answers, consolidate.

Rules (see models/campaigns.py for the tables):
- A producer starts a campaign on their own images (chosen by id, by a tag, or all of them); a
  consumer on the images they bought into one of their projects. The owner never labels their
  own campaign, and nobody labels an image they own: answers come from independent people.
- Producers join. A "tags" campaign hands out tiled tasks: up to 20 images and ONE label at a
  time ("select every image that shows: dog"); a "boxes" campaign one image at a time in the
  box editor. A task reserves its images for ``TASK_MINUTES``, so an image never gets more
  labellers than asked for, and a labeller never answers the same image (and label) twice.
- Gold images (services/gold.py) are mixed into tasks unannounced; their answers are graded
  with ``record_gold_result`` and never count as campaign answers.
- Each labeller's answers are separate rows; the labelling page only ever gets the task's
  images and label, never anyone's answers. Only the owner sees agreement and results.
- Consolidation (services/consensus.py): Dawid-Skene or majority vote for tags, IoU matching
  and fusion for boxes; images below the campaign's agreement threshold go to the review queue
  (services/reviews.request_review). For a producer's campaign the result becomes the image's
  labels as a new annotation revision (kind "consensus") whose changes carry their provenance
  (campaign, method, agreement, every labeller's answer). A consumer's campaign keeps its results
  in the campaign: the images belong to their producer, and other buyers share them.
- Every action on an image goes to the operation log.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import (
    STATUS_ON_SALE,
    Image,
    ImageLabel,
    Label,
    Operation,
    Project,
    Purchase,
    User,
    utcnow,
)
from labelhub_app.models.campaigns import (
    CAMPAIGN_KINDS,
    KIND_BOXES,
    KIND_TAGS,
    TASK_OPEN,
    TASK_SUBMITTED,
    Campaign,
    CampaignAnswer,
    CampaignImage,
    CampaignLabeller,
    CampaignResult,
    CampaignTask,
    CampaignTaskItem,
)
from labelhub_app.services import consensus

TILES_PER_TASK = 20
GOLD_PER_TASK = 2  # gold images mixed into a tiled task, when there are any
GOLD_EVERY_BOX_TASKS = 5  # every 5th boxes task is a gold image, when there is one
TASK_MINUTES = 30
MAX_IMAGES = 5000
MAX_LABELS = 20
ACTION_CREATE = "campaign_add"
ACTION_ANSWER = "campaign_answer"
ACTION_CONSOLIDATE = "consolidate"


# --- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    public_id: str
    name: str
    kind: str
    labels: list[str]
    labellers_per_image: int
    images: int
    answers_done: int
    answers_needed: int
    owner: str  # pseudonym
    is_owner: bool
    joined: bool
    my_answers: int
    consolidated: bool
    created_at: datetime

    @property
    def progress(self) -> float:
        return min(1.0, self.answers_done / self.answers_needed) if self.answers_needed else 1.0


@dataclass(frozen=True)
class LabellerRow:
    pseudonym: str
    answers: int
    agreement: float | None
    gold_answers: int
    gold_correct: int


@dataclass(frozen=True)
class ImageRow:
    public_id: str
    file_name: str
    on_sale: bool
    answers: int
    agreement: float | None
    method: str
    result: list[str]  # labels judged present, or "label (n boxes)" for boxes
    needs_review: bool
    revision: int | None


@dataclass(frozen=True)
class CampaignDetail:
    row: CampaignRow
    agreement_threshold: float
    labellers: list[LabellerRow]  # owner only
    images: list[ImageRow]  # owner only, one page
    images_total: int
    page: int
    per_page: int
    review_count: int
    may_label: bool
    remaining_for_me: int  # answers this person could still give


@dataclass(frozen=True)
class TaskTile:
    image_id: str  # public id
    on_sale: bool


@dataclass(frozen=True)
class TaskView:
    public_id: str
    campaign_id: str
    campaign_name: str
    kind: str
    label: str  # the question's label ("" for boxes)
    labels: list[str]  # the campaign's label set (the editor's palette)
    tiles: list[TaskTile]
    width: int = 0  # boxes: the image's size
    height: int = 0


@dataclass(frozen=True)
class SubmitResult:
    answers: int
    gold_checked: int
    campaign_progress: float


@dataclass(frozen=True)
class ConsolidationSummary:
    method: str
    images: int
    changed: int  # images whose labels changed
    to_review: int
    mean_agreement: float
    labellers: dict[str, float] = field(default_factory=dict)  # pseudonym -> agreement


# --- helpers --------------------------------------------------------------------------------------


def _require_user(actor: User | None) -> User:
    if actor is None:
        raise NotAuthenticated("Sign in to work on campaigns.")
    return actor


def _campaign(session: Session, public_id: str) -> Campaign:
    campaign = session.exec(select(Campaign).where(Campaign.public_id == public_id)).first()
    if campaign is None:
        raise NotFound("This campaign does not exist.")
    return campaign


def _own_campaign(session: Session, actor: User, public_id: str) -> Campaign:
    campaign = _campaign(session, public_id)
    if campaign.owner_id != actor.id and not actor.is_admin:
        raise Forbidden("Only the campaign's owner can see its answers and consolidate it.")
    return campaign


def _log(
    session: Session, *, user_id: int, image_id: int, action: str, payload: dict[str, Any]
) -> None:
    session.add(Operation(user_id=user_id, image_id=image_id, action=action, payload=payload))


def _gold():  # type: ignore[no-untyped-def]
    """services/gold.py (the reviews part of #7), or None when it is not there."""
    try:
        from labelhub_app.services import gold
    except ImportError:
        return None
    return gold


def _gold_field(answer: Any, name: str) -> Any:
    if answer is None:
        return None
    if isinstance(answer, dict):
        return answer.get(name)
    return getattr(answer, name, None)


# --- creating and listing -------------------------------------------------------------------------


def _check_labels(labels: Sequence[str]) -> list[str]:
    from labelhub_app.services.labels import check_label_name

    names = list(dict.fromkeys(check_label_name(n) for n in labels if n and n.strip()))
    if not names:
        raise InvalidInput("Give the campaign at least one label.")
    if len(names) > MAX_LABELS:
        raise InvalidInput(f"A campaign can ask about {MAX_LABELS} labels at most.")
    return names


def _campaign_images(
    session: Session,
    *,
    actor: User,
    image_ids: Sequence[str] | None,
    project_id: str | None,
    label_filter: str | None,
) -> tuple[list[int], int | None]:
    """The images (ids) the actor may run a campaign on, and the project's id if one was used."""
    if project_id:
        project = session.exec(select(Project).where(Project.public_id == project_id)).first()
        if project is None or project.owner_id != actor.id:
            raise NotFound("This project does not exist (or is not yours).")
        query = (
            select(Image.id, Image.public_id)
            .join(Purchase, col(Purchase.image_id) == Image.id)
            .where(Purchase.buyer_id == actor.id, Purchase.project_id == project.id)
        )
        rows = session.exec(query.order_by(col(Purchase.id))).all()
        if image_ids:
            wanted = set(image_ids)
            rows = [r for r in rows if r[1] in wanted]
        if not rows:
            raise InvalidInput("This project has no bought images to label; buy some first.")
        return [r[0] for r in rows], project.id
    if not actor.is_producer and not actor.is_admin:
        raise Forbidden(
            "Campaigns run on your own images (producers) or on images bought into one of your "
            "projects (consumers): choose a project."
        )
    if image_ids:
        rows = session.exec(
            select(Image.id, Image.public_id, Image.owner_id).where(
                col(Image.public_id).in_(list(image_ids))
            )
        ).all()
        found = {r[1]: r for r in rows}
        missing = [i for i in image_ids if i not in found]
        if missing:
            raise NotFound(f"Image {missing[0]} does not exist.")
        if any(r[2] != actor.id for r in rows):
            raise Forbidden(
                "A campaign can only include your own images, or images you bought into a project."
            )
        order = {pid: n for n, pid in enumerate(dict.fromkeys(image_ids))}
        return [r[0] for r in sorted(rows, key=lambda r: order[r[1]])], None
    query = select(Image.id).where(Image.owner_id == actor.id)
    if label_filter and label_filter.strip():
        from labelhub_app.services.labels import normalise_label

        query = query.where(
            col(Image.id).in_(
                select(ImageLabel.image_id)
                .join(Label, col(Label.id) == ImageLabel.label_id)
                .where(Label.name == normalise_label(label_filter))
            )
        )
    ids = list(
        session.exec(query.order_by(col(Image.created_at), col(Image.id)).limit(MAX_IMAGES + 1))
    )
    if not ids:
        raise InvalidInput(
            "No images match: upload some, or choose another label filter."
            if label_filter
            else "You have no images yet: upload some first."
        )
    return ids, None  # type: ignore[return-value]


def create_campaign(
    session: Session,
    *,
    actor: User | None,
    name: str,
    kind: str = KIND_TAGS,
    labels: Sequence[str],
    labellers_per_image: int = 3,
    agreement_threshold: float = 0.7,
    image_ids: Sequence[str] | None = None,
    project_id: str | None = None,
    label_filter: str | None = None,
) -> Campaign:
    """Start a campaign on the actor's images (ids, a tag, or all) or a project's bought images."""
    user = _require_user(actor)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the campaign a name.")
    if len(name) > 120:
        raise InvalidInput("A campaign name has 120 characters at most.")
    if kind not in CAMPAIGN_KINDS:
        raise InvalidInput("A campaign asks for image labels (tags) or boxes.")
    if not 1 <= int(labellers_per_image) <= 5:
        raise InvalidInput("Ask for 1 to 5 labellers per image.")
    if not 0.0 <= float(agreement_threshold) <= 1.0:
        raise InvalidInput("The agreement threshold is a share between 0 and 1 (e.g. 0.7).")
    names = _check_labels(labels)
    ids, project_pk = _campaign_images(
        session, actor=user, image_ids=image_ids, project_id=project_id, label_filter=label_filter
    )
    if len(ids) > MAX_IMAGES:
        raise InvalidInput(f"A campaign holds {MAX_IMAGES:,} images at most; narrow the choice.")
    per_image = labellers_per_image * (len(names) if kind == KIND_TAGS else 1)
    campaign = Campaign(
        owner_id=user.id,  # type: ignore[arg-type]
        project_id=project_pk,
        name=name,
        kind=kind,
        labels=names,
        labellers_per_image=int(labellers_per_image),
        agreement_threshold=float(agreement_threshold),
        images_count=len(ids),
        answers_needed=len(ids) * per_image,
    )
    session.add(campaign)
    session.flush()
    for position, image_id in enumerate(ids):
        session.add(CampaignImage(campaign_id=campaign.id, image_id=image_id, position=position))  # type: ignore[arg-type]
        _log(
            session,
            user_id=user.id,  # type: ignore[arg-type]
            image_id=image_id,
            action=ACTION_CREATE,
            payload={"campaign": campaign.public_id, "name": name, "kind": kind, "labels": names},
        )
    session.commit()
    session.refresh(campaign)
    return campaign


def _row(
    session: Session, campaign: Campaign, viewer: User, owner: str | None = None
) -> CampaignRow:
    member = session.get(CampaignLabeller, (campaign.id, viewer.id))
    if owner is None:
        owner_user = session.get(User, campaign.owner_id)
        owner = owner_user.pseudonym if owner_user else ""
    return CampaignRow(
        campaign.public_id,
        campaign.name,
        campaign.kind,
        list(campaign.labels),
        campaign.labellers_per_image,
        campaign.images_count,
        min(campaign.answers_done, campaign.answers_needed),
        campaign.answers_needed,
        owner,
        campaign.owner_id == viewer.id,
        member is not None,
        member.answers if member else 0,
        campaign.consolidated_at is not None,
        campaign.created_at,
    )


@dataclass(frozen=True)
class CampaignLists:
    own: list[CampaignRow]
    joined: list[CampaignRow]
    open: list[CampaignRow]  # others' campaigns with work left, not joined yet


def list_campaigns(session: Session, *, actor: User | None, limit: int = 50) -> CampaignLists:
    user = _require_user(actor)
    own = session.exec(
        select(Campaign)
        .where(Campaign.owner_id == user.id)
        .order_by(col(Campaign.id).desc())
        .limit(limit)
    ).all()
    joined = session.exec(
        select(Campaign)
        .join(CampaignLabeller, col(CampaignLabeller.campaign_id) == Campaign.id)
        .where(CampaignLabeller.user_id == user.id)
        .order_by(col(Campaign.id).desc())
        .limit(limit)
    ).all()
    others: list[Campaign] = []
    if user.is_producer:
        others = list(
            session.exec(
                select(Campaign)
                .where(
                    Campaign.owner_id != user.id,
                    col(Campaign.answers_done) < col(Campaign.answers_needed),
                    ~select(CampaignLabeller.user_id)
                    .where(
                        CampaignLabeller.campaign_id == Campaign.id,
                        CampaignLabeller.user_id == user.id,
                    )
                    .exists(),
                )
                .order_by(col(Campaign.id).desc())
                .limit(limit)
            )
        )
    owners = {
        u.id: u.pseudonym
        for u in session.exec(
            select(User).where(col(User.id).in_({c.owner_id for c in [*own, *joined, *others]}))
        )
    }
    return CampaignLists(
        [_row(session, c, user, owners.get(c.owner_id, "")) for c in own],
        [_row(session, c, user, owners.get(c.owner_id, "")) for c in joined],
        [_row(session, c, user, owners.get(c.owner_id, "")) for c in others],
    )


def join_campaign(session: Session, *, actor: User | None, campaign_id: str) -> CampaignRow:
    user = _require_user(actor)
    campaign = _campaign(session, campaign_id)
    if campaign.owner_id == user.id:
        raise Forbidden("You started this campaign: its answers must come from other people.")
    if not user.is_producer:
        raise Forbidden(
            "Campaigns are labelled by producers; add the producer role in your profile."
        )
    if session.get(CampaignLabeller, (campaign.id, user.id)) is None:
        session.add(CampaignLabeller(campaign_id=campaign.id, user_id=user.id))  # type: ignore[arg-type]
        session.commit()
    return _row(session, campaign, user)


def _remaining_for(campaign: Campaign, user: User, label: str) -> Any:
    """A query of campaign images this person may still answer for ``label`` (free slots left)."""
    now = utcnow()
    answered = (
        select(func.count())
        .select_from(CampaignAnswer)
        .where(
            CampaignAnswer.campaign_id == campaign.id,
            CampaignAnswer.image_id == CampaignImage.image_id,
            CampaignAnswer.label == label,
        )
        .scalar_subquery()
    )
    reserved = (
        select(func.count())
        .select_from(CampaignTaskItem)
        .join(CampaignTask, col(CampaignTask.id) == CampaignTaskItem.task_id)
        .where(
            CampaignTask.campaign_id == campaign.id,
            CampaignTask.status == TASK_OPEN,
            CampaignTask.expires_at > now,
            CampaignTask.label == label,
            CampaignTask.labeller_id != user.id,  # their own open task is theirs to finish
            CampaignTaskItem.image_id == CampaignImage.image_id,
        )
        .scalar_subquery()
    )
    mine = (
        select(CampaignAnswer.id)
        .where(
            CampaignAnswer.campaign_id == campaign.id,
            CampaignAnswer.image_id == CampaignImage.image_id,
            CampaignAnswer.label == label,
            CampaignAnswer.labeller_id == user.id,
        )
        .exists()
    )
    return (
        select(CampaignImage.image_id)
        .join(Image, col(Image.id) == CampaignImage.image_id)
        .where(
            CampaignImage.campaign_id == campaign.id,
            Image.owner_id != user.id,
            ~mine,
            answered + reserved < campaign.labellers_per_image,
        )
        .order_by(col(CampaignImage.position))
    )


def campaign_detail(
    session: Session, *, actor: User | None, campaign_id: str, page: int = 1, per_page: int = 50
) -> CampaignDetail:
    """The owner sees everything; anyone else sees the progress and whether they may label."""
    user = _require_user(actor)
    campaign = _campaign(session, campaign_id)
    is_owner = campaign.owner_id == user.id or user.is_admin
    if page < 1 or not 1 <= per_page <= 200:
        raise InvalidInput("Page out of range.")
    may_label = campaign.owner_id != user.id and user.is_producer
    remaining = 0
    if may_label:
        keys = campaign.labels if campaign.kind == KIND_TAGS else [""]
        for label in keys:
            remaining += int(
                session.exec(
                    select(func.count()).select_from(
                        _remaining_for(campaign, user, label).subquery()
                    )
                ).one()
            )
    labellers: list[LabellerRow] = []
    rows: list[ImageRow] = []
    review_count = 0
    if is_owner:
        labellers = [
            LabellerRow(pseudonym, m.answers, m.agreement, m.gold_answers, m.gold_correct)
            for m, pseudonym in session.exec(
                select(CampaignLabeller, User.pseudonym)
                .join(User, col(User.id) == CampaignLabeller.user_id)
                .where(CampaignLabeller.campaign_id == campaign.id)
                .order_by(col(CampaignLabeller.joined_at))
            )
        ]
        images = session.exec(
            select(Image)
            .join(CampaignImage, col(CampaignImage.image_id) == Image.id)
            .where(CampaignImage.campaign_id == campaign.id)
            .order_by(col(CampaignImage.position))
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        ids = [i.id for i in images]
        counts: dict[int, int] = defaultdict(int)
        for image_id, n in session.exec(
            select(CampaignAnswer.image_id, func.count())
            .where(CampaignAnswer.campaign_id == campaign.id, col(CampaignAnswer.image_id).in_(ids))
            .group_by(CampaignAnswer.image_id)
        ):
            counts[image_id] = int(n)
        results: dict[int, list[CampaignResult]] = defaultdict(list)
        for r in session.exec(
            select(CampaignResult).where(
                CampaignResult.campaign_id == campaign.id, col(CampaignResult.image_id).in_(ids)
            )
        ):
            results[r.image_id].append(r)
        for image in images:
            rs = sorted(results.get(image.id, []), key=lambda r: r.label)  # type: ignore[arg-type]
            if campaign.kind == KIND_TAGS:
                shown = [r.label for r in rs if r.present]
            else:
                shown = [f"{len(r.boxes or [])} boxes" for r in rs]
            rows.append(
                ImageRow(
                    image.public_id,
                    image.file_name,
                    image.status == STATUS_ON_SALE,
                    counts.get(image.id, 0),  # type: ignore[arg-type]
                    min(r.agreement for r in rs) if rs else None,
                    rs[0].method if rs else "",
                    shown,
                    any(r.needs_review for r in rs),
                    rs[0].revision if rs else None,
                )
            )
        review_count = int(
            session.exec(
                select(func.count(func.distinct(CampaignResult.image_id))).where(
                    CampaignResult.campaign_id == campaign.id, col(CampaignResult.needs_review)
                )
            ).one()
        )
    return CampaignDetail(
        _row(session, campaign, user),
        campaign.agreement_threshold,
        labellers,
        rows,
        campaign.images_count if is_owner else 0,
        page,
        per_page,
        review_count,
        may_label,
        remaining,
    )


# --- tasks ----------------------------------------------------------------------------------------


def _task_view(session: Session, campaign: Campaign, task: CampaignTask) -> TaskView:
    rows = session.exec(
        select(Image.public_id, Image.status, Image.width, Image.height)
        .join(CampaignTaskItem, col(CampaignTaskItem.image_id) == Image.id)
        .where(CampaignTaskItem.task_id == task.id)
        .order_by(col(CampaignTaskItem.position))
    ).all()
    tiles = [TaskTile(pid, status == STATUS_ON_SALE) for pid, status, _, _ in rows]
    width, height = (rows[0][2], rows[0][3]) if rows else (0, 0)
    return TaskView(
        task.public_id,
        campaign.public_id,
        campaign.name,
        campaign.kind,
        task.label,
        list(campaign.labels),
        tiles,
        width,
        height,
    )


def next_task(session: Session, *, actor: User | None, campaign_id: str) -> TaskView | None:
    """The labeller's open task in this campaign, or a new one; None when nothing is left for them.

    Joins the campaign on the first call.
    """
    user = _require_user(actor)
    campaign = _campaign(session, campaign_id)
    if campaign.owner_id == user.id:
        raise Forbidden("You started this campaign: its answers must come from other people.")
    if not user.is_producer:
        raise Forbidden(
            "Campaigns are labelled by producers; add the producer role in your profile."
        )
    now = utcnow()
    member = session.get(CampaignLabeller, (campaign.id, user.id))
    if member is None:
        member = CampaignLabeller(campaign_id=campaign.id, user_id=user.id)  # type: ignore[arg-type]
        session.add(member)
        session.flush()
    task = session.exec(
        select(CampaignTask)
        .where(
            CampaignTask.campaign_id == campaign.id,
            CampaignTask.labeller_id == user.id,
            CampaignTask.status == TASK_OPEN,
            CampaignTask.expires_at > now,
        )
        .order_by(col(CampaignTask.id))
    ).first()
    if task is not None:
        session.commit()
        return _task_view(session, campaign, task)

    rng = random.Random()
    gold = _gold()
    if campaign.kind == KIND_TAGS:
        label, picked = "", []
        for candidate in campaign.labels:
            picked = list(
                session.exec(_remaining_for(campaign, user, candidate).limit(TILES_PER_TASK))
            )
            if picked:
                label = candidate
                break
        if not picked:
            session.commit()
            return None
        golden: list[int] = []
        if gold is not None:
            want = GOLD_PER_TASK if len(picked) >= 8 else 1  # a short last page gets one
            golden = [
                image.id  # type: ignore[misc]
                for image in gold.gold_images_for(
                    session, user=user, limit=want, exclude_image_ids=tuple(picked)
                )
                if image.owner_id != user.id
            ]
        picked = picked[: TILES_PER_TASK - len(golden)]
        items: list[tuple[int, bool]] = [(i, False) for i in picked] + [(g, True) for g in golden]
        rng.shuffle(items)
    else:
        label = ""
        items = []
        submitted = int(
            session.exec(
                select(func.count())
                .select_from(CampaignTask)
                .where(
                    CampaignTask.campaign_id == campaign.id,
                    CampaignTask.labeller_id == user.id,
                    CampaignTask.status == TASK_SUBMITTED,
                )
            ).one()
        )
        picked = list(session.exec(_remaining_for(campaign, user, "").limit(1)))
        if not picked:
            session.commit()
            return None
        if gold is not None and submitted % GOLD_EVERY_BOX_TASKS == GOLD_EVERY_BOX_TASKS - 1:
            answered_gold = session.exec(
                select(CampaignTaskItem.image_id)
                .join(CampaignTask, col(CampaignTask.id) == CampaignTaskItem.task_id)
                .where(CampaignTask.labeller_id == user.id, col(CampaignTaskItem.is_gold))
            ).all()
            for image in gold.gold_images_for(
                session, user=user, limit=1, exclude_image_ids=(*picked, *answered_gold)
            ):
                if image.owner_id != user.id:
                    items = [(image.id, True)]  # type: ignore[list-item]
        if not items:
            items = [(picked[0], False)]
    task = CampaignTask(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        labeller_id=user.id,  # type: ignore[arg-type]
        label=label,
        expires_at=now + timedelta(minutes=TASK_MINUTES),
    )
    session.add(task)
    session.flush()
    for position, (image_id, is_gold) in enumerate(items):
        session.add(
            CampaignTaskItem(task_id=task.id, image_id=image_id, position=position, is_gold=is_gold)
        )  # type: ignore[arg-type]
    session.commit()
    return _task_view(session, campaign, task)


def _open_task(session: Session, user: User, task_id: str) -> tuple[CampaignTask, Campaign]:
    task = session.exec(select(CampaignTask).where(CampaignTask.public_id == task_id)).first()
    if task is None or task.labeller_id != user.id:
        raise NotFound("This task does not exist (or is someone else's).")
    if task.status != TASK_OPEN:
        raise Conflict("This task was already submitted; the next one is ready.")
    campaign = session.get(Campaign, task.campaign_id)
    assert campaign is not None
    return task, campaign


def _finish(
    session: Session,
    *,
    user: User,
    task: CampaignTask,
    campaign: Campaign,
    answers: list[CampaignAnswer],
    gold_checked: int,
    gold_correct: int,
) -> SubmitResult:
    task.status = TASK_SUBMITTED
    task.submitted_at = utcnow()
    session.add(task)
    for answer in answers:
        session.add(answer)
        payload: dict[str, Any] = {"campaign": campaign.public_id, "task": task.public_id}
        if answer.label:
            payload |= {"label": answer.label, "present": answer.present}
        else:
            payload |= {"boxes": len(answer.boxes or [])}
        _log(
            session,
            user_id=user.id,
            image_id=answer.image_id,
            action=ACTION_ANSWER,
            payload=payload,
        )  # type: ignore[arg-type]
    member = session.get(CampaignLabeller, (campaign.id, user.id))
    if member is None:
        member = CampaignLabeller(campaign_id=campaign.id, user_id=user.id)  # type: ignore[arg-type]
    member.answers += len(answers)
    member.gold_answers += gold_checked
    member.gold_correct += gold_correct
    session.add(member)
    campaign.answers_done += len(answers)
    session.add(campaign)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "These answers were already saved (a second click?); the next task is ready."
        ) from None
    progress = (
        min(1.0, campaign.answers_done / campaign.answers_needed)
        if campaign.answers_needed
        else 1.0
    )
    return SubmitResult(len(answers), gold_checked, progress)


def submit_tiled_task(
    session: Session, *, actor: User | None, task_id: str, selected: Sequence[str]
) -> SubmitResult:
    """Save a tiled task: the images in ``selected`` (public ids) show the label; the rest not."""
    user = _require_user(actor)
    task, campaign = _open_task(session, user, task_id)
    if campaign.kind != KIND_TAGS:
        raise InvalidInput("This campaign's tasks are answered in the box editor.")
    items = session.exec(
        select(CampaignTaskItem, Image.public_id)
        .join(Image, col(Image.id) == CampaignTaskItem.image_id)
        .where(CampaignTaskItem.task_id == task.id)
        .order_by(col(CampaignTaskItem.position))
    ).all()
    chosen = set(selected)
    unknown = chosen - {pid for _, pid in items}
    if unknown:
        raise InvalidInput(
            "An answer names an image that is not part of this task; reload the task."
        )
    answers: list[CampaignAnswer] = []
    gold = _gold()
    gold_checked = gold_correct = 0
    for item, pid in items:
        present = pid in chosen
        if item.is_gold:
            if gold is None:
                continue
            truth = task.label in (
                _gold_field(gold.gold_answer(session, image_id=item.image_id), "tags") or []
            )
            correct = present == truth
            gold.record_gold_result(
                session,
                user=user,
                image_id=item.image_id,
                context="tiled",
                correct=correct,
                detail=f"{task.label}: answered {'yes' if present else 'no'}",
            )
            gold_checked += 1
            gold_correct += int(correct)
            continue
        answers.append(
            CampaignAnswer(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                image_id=item.image_id,
                labeller_id=user.id,  # type: ignore[arg-type]
                task_id=task.id,  # type: ignore[arg-type]
                label=task.label,
                present=present,
            )
        )
    return _finish(
        session,
        user=user,
        task=task,
        campaign=campaign,
        answers=answers,
        gold_checked=gold_checked,
        gold_correct=gold_correct,
    )


def _clean_boxes(
    raw: Sequence[dict[str, Any]], image: Image, labels: list[str]
) -> list[dict[str, Any]]:
    from labelhub_app.services.labels import normalise_label

    out: list[dict[str, Any]] = []
    for b in raw:
        try:
            x, y, w, h = (float(b[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("A box needs numeric x, y, w and h.") from exc
        if w < 0:
            x, w = x + w, -w
        if h < 0:
            y, h = y + h, -h
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(image.width), x + w), min(float(image.height), y + h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        label = normalise_label(str(b.get("label") or ""))
        if label not in labels:
            raise InvalidInput(
                f"This campaign asks only for {', '.join(labels)}; "
                f"{label or 'a box without label'} is not one of them."
            )
        out.append(
            {
                "label": label,
                "x": round(x0, 1),
                "y": round(y0, 1),
                "w": round(x1 - x0, 1),
                "h": round(y1 - y0, 1),
            }
        )
    return out


def _grade_boxes(given: list[dict[str, Any]], truth: list[dict[str, Any]]) -> tuple[bool, str]:
    """A gold boxes answer is correct when its F1 on the verified boxes (IoU >= 0.5) is >= 0.8."""
    left = list(truth)
    matched = 0
    for box in given:
        best = max(
            (
                (consensus.iou(box, t), i)
                for i, t in enumerate(left)
                if t.get("label") == box["label"]
            ),
            default=(0.0, -1),
        )
        if best[0] >= consensus.BOX_IOU:
            matched += 1
            left.pop(best[1])
    if not given and not truth:
        return True, "no boxes, as verified"
    f1 = 2 * matched / (len(given) + len(truth)) if given or truth else 1.0
    return f1 >= 0.8, f"{matched} of {len(truth)} verified boxes found, {len(given)} drawn"


def submit_box_task(
    session: Session, *, actor: User | None, task_id: str, boxes: Sequence[dict[str, Any]]
) -> SubmitResult:
    """Save a boxes task: this labeller's boxes for the image, kept apart from everyone else's."""
    user = _require_user(actor)
    task, campaign = _open_task(session, user, task_id)
    if campaign.kind != KIND_BOXES:
        raise InvalidInput("This campaign's tasks are answered in the tiled grid.")
    item = session.exec(select(CampaignTaskItem).where(CampaignTaskItem.task_id == task.id)).first()
    if item is None:
        raise NotFound("This task has no image.")
    image = session.get(Image, item.image_id)
    assert image is not None
    cleaned = _clean_boxes(boxes, image, list(campaign.labels))
    answers: list[CampaignAnswer] = []
    gold_checked = gold_correct = 0
    gold = _gold()
    if item.is_gold:
        if gold is not None:
            truth = _gold_field(gold.gold_answer(session, image_id=item.image_id), "boxes") or []
            correct, detail = _grade_boxes(cleaned, list(truth))
            gold.record_gold_result(
                session,
                user=user,
                image_id=item.image_id,
                context="boxes",
                correct=correct,
                detail=detail,
            )
            gold_checked, gold_correct = 1, int(correct)
    else:
        answers.append(
            CampaignAnswer(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                image_id=item.image_id,
                labeller_id=user.id,  # type: ignore[arg-type]
                task_id=task.id,  # type: ignore[arg-type]
                label="",
                boxes=cleaned,
            )
        )
    return _finish(
        session,
        user=user,
        task=task,
        campaign=campaign,
        answers=answers,
        gold_checked=gold_checked,
        gold_correct=gold_correct,
    )


def labeller_may_view(session: Session, *, user_id: int | None, image_id: int) -> bool:
    """Whether this person was handed the image in a campaign task (to show its thumbnail)."""
    if user_id is None:
        return False
    return (
        session.exec(
            select(CampaignTaskItem.task_id)
            .join(CampaignTask, col(CampaignTask.id) == CampaignTaskItem.task_id)
            .where(CampaignTask.labeller_id == user_id, CampaignTaskItem.image_id == image_id)
            .limit(1)
        ).first()
        is not None
    )


# --- consolidation --------------------------------------------------------------------------------


def consolidate_campaign(
    session: Session, *, actor: User | None, campaign_id: str, method: str = "auto"
) -> ConsolidationSummary:
    """Combine the answers so far; low agreement goes to review; results become image labels."""
    from labelhub_app.services import annotations

    user = _require_user(actor)
    campaign = _own_campaign(session, user, campaign_id)
    rows = session.exec(
        select(CampaignAnswer, User.pseudonym)
        .join(User, col(User.id) == CampaignAnswer.labeller_id)
        .where(CampaignAnswer.campaign_id == campaign.id)
        .order_by(col(CampaignAnswer.id))
    ).all()
    if not rows:
        raise InvalidInput("Nobody has answered yet: there is nothing to consolidate.")
    pseudonyms = {a.labeller_id: who for a, who in rows}
    previous = {
        (r.image_id, r.label): r
        for r in session.exec(
            select(CampaignResult).where(CampaignResult.campaign_id == campaign.id)
        )
    }

    # one result per (image, label): present/probability or boxes, method, agreement, answers
    results: dict[tuple[int, str], dict[str, Any]] = {}
    provenance: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    labeller_agreement: dict[Hashable, float]
    if campaign.kind == KIND_TAGS:
        votes = [
            consensus.Vote((a.image_id, a.label), a.labeller_id, bool(a.present)) for a, _ in rows
        ]
        for a, who in rows:
            provenance[(a.image_id, a.label)].append({"labeller": who, "present": bool(a.present)})
        outcome = consensus.consolidate_votes(votes, method=method)
        used = outcome.method
        for key, item in outcome.items.items():
            results[key] = {  # type: ignore[index]
                "present": item.present,
                "probability": round(item.probability, 4),
                "agreement": item.agreement,
                "answers": item.answers,
            }
        labeller_agreement = outcome.labellers
    else:
        used = consensus.METHOD_BOXES
        per_image: dict[int, dict[int, list[dict[str, Any]]]] = defaultdict(dict)
        for a, who in rows:
            per_image[a.image_id][a.labeller_id] = list(a.boxes or [])
            provenance[(a.image_id, "")].append({"labeller": who, "boxes": list(a.boxes or [])})
        kept: dict[Hashable, list[float]] = defaultdict(list)
        for image_id, answers in per_image.items():
            fused = consensus.consolidate_boxes(answers)  # type: ignore[arg-type]
            boxes = [
                {**b, "labellers": [pseudonyms.get(int(i), "") for i in b["labellers"]]}
                for b in fused.boxes
            ]
            results[(image_id, "")] = {
                "boxes": boxes,
                "agreement": fused.agreement,
                "answers": fused.answers,
            }
            for w, share in fused.labellers.items():
                kept[w].append(share)
        labeller_agreement = {w: sum(v) / len(v) for w, v in kept.items()}

    # the results, per image
    by_image: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (image_id, label), r in results.items():
        by_image[image_id][label] = r
    to_review: list[tuple[int, float]] = []
    now = utcnow()
    image_rows = {
        i.id: i for i in session.exec(select(Image).where(col(Image.id).in_(list(by_image))))
    }
    stored: dict[tuple[int, str], CampaignResult] = {}
    for image_id, labels in by_image.items():
        agreement = min(r["agreement"] for r in labels.values())
        low = agreement < campaign.agreement_threshold
        was_flagged = any(
            previous[(image_id, lb)].needs_review for lb in labels if (image_id, lb) in previous
        )
        if low and not was_flagged:
            to_review.append((image_id, agreement))
        for label, r in labels.items():
            row = previous.get((image_id, label)) or CampaignResult(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                image_id=image_id,
                label=label,
                method=used,
                agreement=0.0,
                answers=0,
            )
            row.present = r.get("present")
            row.probability = r.get("probability")
            row.boxes = r.get("boxes")
            row.method = used
            row.agreement = round(float(r["agreement"]), 4)
            row.answers = int(r["answers"])
            row.needs_review = low or row.needs_review
            row.created_at = now
            session.add(row)
            stored[(image_id, label)] = row

    # the results become the image's labels (producer campaigns), with their provenance
    # (one flush now, none per image: autoflush before every query made this loop quadratic)
    from labelhub_app.services.images import labels_by_image

    session.flush()
    tags_now = labels_by_image(session, list(by_image)) if campaign.kind == KIND_TAGS else {}
    with session.no_autoflush:
        changed = 0
        owner_applies = lambda image: image.owner_id == campaign.owner_id  # noqa: E731
        for image_id, labels in by_image.items():
            image = image_rows[image_id]
            base = {"campaign": campaign.public_id, "method": used}
            changes: list[dict[str, Any]] = []
            if owner_applies(image):
                if campaign.kind == KIND_TAGS:
                    have = set(tags_now.get(image_id, []))
                    for label, r in sorted(labels.items()):
                        prov = {
                            **base,
                            "agreement": round(r["agreement"], 4),
                            "answers": provenance[(image_id, label)],
                        }
                        if r["present"] and label not in have:
                            changes.append({"op": "tag_add", "label": label, "consensus": prov})
                        elif not r["present"] and label in have:
                            changes.append({"op": "tag_remove", "label": label, "consensus": prov})
                else:
                    r = labels[""]
                    prov = {
                        **base,
                        "agreement": round(r["agreement"], 4),
                        "answers": provenance[(image_id, "")],
                    }
                    current = [
                        b
                        for b in annotations.current_boxes(session, image_id)
                        if b["label"] in campaign.labels
                    ]
                    wanted = [(b["label"], b["x"], b["y"], b["w"], b["h"]) for b in r["boxes"]]
                    if sorted(wanted) != sorted(
                        (b["label"], b["x"], b["y"], b["w"], b["h"]) for b in current
                    ):
                        changes += [{"op": "remove", "box": b, "consensus": prov} for b in current]
                        changes += [
                            {
                                "op": "add",
                                "box": {
                                    "id": str(uuid.uuid4()),
                                    "label": b["label"],
                                    "x": b["x"],
                                    "y": b["y"],
                                    "w": b["w"],
                                    "h": b["h"],
                                    "source": "human",
                                    "score": None,
                                },
                                "consensus": {
                                    **prov,
                                    "support": b["support"],
                                    "drawn_by": b["labellers"],
                                },
                            }
                            for b in r["boxes"]
                        ]
            if changes:
                annotations._apply(session, actor=user, image=image, changes=changes)
                revision = annotations._append_revision(
                    session, actor=user, image=image, changes=changes, kind="consensus"
                )
                for label in labels:
                    stored[(image_id, label)].revision = revision.number
                changed += 1
            _log(
                session,
                user_id=user.id,  # type: ignore[arg-type]
                image_id=image_id,
                action=ACTION_CONSOLIDATE,
                payload={
                    **base,
                    "agreement": round(min(r["agreement"] for r in labels.values()), 4),
                    "review": any(stored[(image_id, lb)].needs_review for lb in labels),
                    "applied": bool(changes),
                },
            )

        if to_review:
            from labelhub_app.services.reviews import request_review

            for image_id, agreement in to_review:
                request_review(
                    session,
                    image_id=image_id,
                    reason=f"Low agreement ({agreement:.0%}) in the campaign “{campaign.name}”.",
                    source="consensus",
                )

    names: dict[str, float] = {}
    for labeller_id, share in labeller_agreement.items():
        member = session.get(CampaignLabeller, (campaign.id, labeller_id))
        if member is not None:
            member.agreement = round(share, 4)
            session.add(member)
        names[pseudonyms.get(labeller_id, "")] = round(share, 4)  # type: ignore[call-overload]
    campaign.consolidated_at = now
    session.add(campaign)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "Someone saved labels on these images meanwhile; consolidate again."
        ) from None
    agreements = [min(r["agreement"] for r in labels.values()) for labels in by_image.values()]
    return ConsolidationSummary(
        used,
        len(by_image),
        changed,
        sum(1 for i, lbs in by_image.items() if any(stored[(i, lb)].needs_review for lb in lbs)),
        sum(agreements) / len(agreements) if agreements else 1.0,
        names,
    )
