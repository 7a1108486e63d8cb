"""The operation log: every label action, browsable by its author (and by admins for everyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from labelhub_app.errors import Forbidden, InvalidInput, NotAuthenticated
from labelhub_app.models import Image, Operation, User

ACTIONS = ("create", "update", "delete", "restore", "tag_add", "tag_remove", "accept", "reject")
# reviews, ratings and gold (#7 services/reviews.py, ratings.py, gold.py)
ACTIONS += ("review_accept", "review_reject", "review_fix", "rate", "gold_mark", "gold_unmark")
# labelling campaigns (#7 services/campaigns.py)
ACTIONS += ("campaign_add", "campaign_answer", "consolidate")


@dataclass(frozen=True)
class OperationRow:
    created_at: datetime
    user: str  # pseudonym
    action: str
    image_id: str
    file_name: str
    revision: int | None
    detail: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class OperationsPage:
    items: list[OperationRow]
    total: int
    page: int
    per_page: int


def describe(action: str, payload: dict[str, Any]) -> str:
    """A one-line human description of an operation's payload."""

    def box(b: dict[str, Any]) -> str:
        return f"{b.get('label', '?')} at ({b.get('x', 0):.0f}, {b.get('y', 0):.0f}) {b.get('w', 0):.0f}x{b.get('h', 0):.0f}"

    op = payload.get("op")
    if action == "accept" and op == "update":
        score = payload["before"].get("score")
        at = f" (score {score:.2f})" if isinstance(score, int | float) else ""
        return f"accepted suggestion {box(payload['after'])}{at}"
    if action == "reject" and op == "remove":
        score = payload["box"].get("score")
        at = f" (score {score:.2f})" if isinstance(score, int | float) else ""
        return f"rejected suggestion {box(payload['box'])}{at}"
    if op == "add":
        return f"added box {box(payload['box'])}"
    if op == "remove":
        return f"removed box {box(payload['box'])}"
    if op == "update":
        before, after = payload["before"], payload["after"]
        if before.get("label") != after.get("label"):
            return f"relabelled box {before.get('label')} → {after.get('label')}"
        return f"moved box {box(before)} → ({after['x']:.0f}, {after['y']:.0f}) {after['w']:.0f}x{after['h']:.0f}"
    if op == "review_accepted":
        return "accepted the labels in review"
    if op == "review_rejected":
        return f"rejected the labels: {payload.get('reason', '')}"
    if op == "review_fixed":
        return f"fixed the labels in review ({payload.get('changes', 0)} changes)"
    if op == "rate":
        return f"rated {payload.get('stars')}/5" + (" (updated)" if payload.get("updated") else "")
    if op == "gold_mark":
        return "marked as gold"
    if op == "gold_unmark":
        return "no longer gold"
    if action == "campaign_add":
        return f"added to campaign {payload.get('name', '')!r}"
    if action == "campaign_answer":
        if "label" in payload:
            seen = "shows" if payload.get("present") else "does not show"
            return f"answered in a campaign: {seen} {payload['label']}"
        return f"answered in a campaign: {payload.get('boxes', 0)} box(es)"
    if action == "consolidate":
        agreement = payload.get("agreement")
        at = f", agreement {agreement:.0%}" if isinstance(agreement, int | float) else ""
        review = ", sent to review" if payload.get("review") else ""
        return f"consolidated campaign answers{at}{review}"
    if op == "tag_add":
        return f"added tag {payload.get('label')}"
    if op == "tag_remove":
        return f"removed tag {payload.get('label')}"
    return action


def list_operations(
    session: Session,
    *,
    actor: User | None,
    everyone: bool = False,
    action: str | None = None,
    image_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> OperationsPage:
    """The actor's own operations, newest first; ``everyone`` (admins only) shows all users'."""
    if actor is None:
        raise NotAuthenticated("Sign in to see your activity.")
    if everyone and not actor.is_admin:
        raise Forbidden("Only admins can see everyone's activity.")
    if action and action not in ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}.")
    if page < 1 or not 1 <= per_page <= 200:
        raise InvalidInput("Page out of range.")
    query = (
        select(Operation, User.pseudonym, Image.public_id, Image.file_name)
        .join(User, col(User.id) == Operation.user_id)
        .join(Image, col(Image.id) == Operation.image_id)
    )
    if not everyone:
        query = query.where(Operation.user_id == actor.id)
    if action:
        query = query.where(Operation.action == action)
    if image_id:
        query = query.where(Image.public_id == image_id)
    if since:
        query = query.where(Operation.created_at >= since)
    if until:
        query = query.where(Operation.created_at < until)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Operation.created_at).desc(), col(Operation.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    items = [
        OperationRow(
            op.created_at,
            who,
            op.action,
            pid,
            name,
            op.revision,
            describe(op.action, op.payload),
            op.payload,
        )
        for op, who, pid, name in rows
    ]
    return OperationsPage(items, int(total), page, per_page)
