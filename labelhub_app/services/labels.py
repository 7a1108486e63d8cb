"""Labels: normalised names, a parent tree, autocomplete, and producers' new labels."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from labelhub_app.errors import InvalidInput, NotFound
from labelhub_app.models import ImageLabel, Label, User

MAX_LABEL_LENGTH = 64
_SPACES = re.compile(r"\s+")
_ALLOWED = re.compile(r"^[\w][\w .&'+-]*$")


def normalise_label(name: str) -> str:
    """Lower case, single spaces, trimmed: ' Traffic   Light ' -> 'traffic light'."""
    return _SPACES.sub(" ", name).strip().lower()


def check_label_name(name: str) -> str:
    norm = normalise_label(name)
    if not norm:
        raise InvalidInput("A label cannot be empty.")
    if len(norm) > MAX_LABEL_LENGTH:
        raise InvalidInput(
            f"Label {norm[:20]!r}... is too long ({MAX_LABEL_LENGTH} characters at most)."
        )
    if not _ALLOWED.match(norm):
        raise InvalidInput(
            f"Label {norm!r} has characters LabelHub does not allow; use letters, digits, "
            "spaces and . & ' + -"
        )
    return norm


def split_labels(text: str) -> list[str]:
    """Labels typed as 'dog, Cat ,  red car' -> ['dog', 'cat', 'red car'] (deduplicated, in order)."""
    out: list[str] = []
    for part in re.split(r"[,;\n]", text):
        norm = normalise_label(part)
        if norm and norm not in out:
            out.append(norm)
    return out


def get_label(session: Session, name: str) -> Label | None:
    return session.exec(select(Label).where(Label.name == normalise_label(name))).first()


def resolve_labels(
    session: Session, *, names: Iterable[str], actor: User | None, create: bool
) -> list[Label]:
    """Look up labels by name; unknown ones are created (by ``actor``) when ``create`` is true.

    Does not commit: it is part of the caller's transaction.
    """
    wanted = list(dict.fromkeys(check_label_name(n) for n in names))
    if not wanted:
        return []
    found = {lb.name: lb for lb in session.exec(select(Label).where(col(Label.name).in_(wanted)))}
    missing = [n for n in wanted if n not in found]
    if missing and not create:
        raise InvalidInput(f"Unknown label {missing[0]!r}.")
    for name in missing:
        label = Label(name=name, created_by_id=actor.id if actor else None)
        session.add(label)
        found[name] = label
    if missing:
        session.flush()
    return [found[n] for n in wanted]


def create_label(session: Session, *, actor: User, name: str, parent: str | None = None) -> Label:
    """A producer adds a label, optionally under an existing parent."""
    if not (actor.is_producer or actor.is_admin or actor.is_reviewer):
        from labelhub_app.errors import Forbidden

        raise Forbidden("Only producers and reviewers can add labels.")
    norm = check_label_name(name)
    if get_label(session, norm) is not None:
        from labelhub_app.errors import Conflict

        raise Conflict(f"The label {norm!r} already exists.")
    parent_id = None
    if parent:
        parent_label = get_label(session, parent)
        if parent_label is None:
            raise NotFound(f"There is no label {normalise_label(parent)!r} to put {norm!r} under.")
        parent_id = parent_label.id
    label = Label(name=norm, parent_id=parent_id, created_by_id=actor.id)
    session.add(label)
    session.commit()
    session.refresh(label)
    return label


def suggest_labels(session: Session, *, prefix: str, limit: int = 8) -> list[str]:
    """Autocomplete: labels starting with the typed text first, then ones containing it; most used first."""
    text = normalise_label(prefix)
    if not text:
        return []
    usage = (
        select(ImageLabel.label_id, func.count().label("n"))
        .group_by(ImageLabel.label_id)
        .subquery()
    )
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = session.exec(
        select(
            Label.name, func.coalesce(usage.c.n, 0), col(Label.name).startswith(text, escape="\\")
        )
        .outerjoin(usage, usage.c.label_id == Label.id)
        .where(col(Label.name).like(f"%{escaped}%", escape="\\"))
        .order_by(
            col(Label.name).startswith(text, escape="\\").desc(),
            func.coalesce(usage.c.n, 0).desc(),
            Label.name,
        )
        .limit(limit)
    ).all()
    return [r[0] for r in rows]


def label_tree(session: Session) -> dict[int, list[int]]:
    """children by parent id, for every label."""
    children: dict[int, list[int]] = defaultdict(list)
    for label_id, parent_id in session.exec(select(Label.id, Label.parent_id)):
        if parent_id is not None:
            children[parent_id].append(label_id)  # type: ignore[arg-type]
    return children


def with_descendants(children: dict[int, list[int]], label_id: int) -> frozenset[int]:
    out: set[int] = set()
    stack = [label_id]
    while stack:
        current = stack.pop()
        if current in out:
            continue
        out.add(current)
        stack.extend(children.get(current, ()))
    return frozenset(out)


def label_path(session: Session, label: Label) -> list[str]:
    """['animal', 'dog'] for dog: the label and its ancestors, root first."""
    path = [label.name]
    seen = {label.id}
    current = label
    while current.parent_id is not None and current.parent_id not in seen:
        parent = session.get(Label, current.parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        path.append(parent.name)
        current = parent
    return list(reversed(path))


def all_label_names(session: Session, *, limit: int = 2000) -> list[str]:
    """Names for a browser-side autocomplete list, most used first."""
    usage = (
        select(ImageLabel.label_id, func.count().label("n"))
        .group_by(ImageLabel.label_id)
        .subquery()
    )
    return list(
        session.exec(
            select(Label.name)
            .outerjoin(usage, usage.c.label_id == Label.id)
            .order_by(func.coalesce(usage.c.n, 0).desc(), Label.name)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class TaxonomyNode:
    name: str
    images: int  # images carrying this label itself
    children: list[TaxonomyNode]

    @property
    def total_images(self) -> int:
        return self.images + sum(c.total_images for c in self.children)


def taxonomy(session: Session) -> list[TaxonomyNode]:
    """The whole label tree, roots sorted by name, with how many images carry each label."""
    usage = dict(
        session.exec(select(ImageLabel.label_id, func.count()).group_by(ImageLabel.label_id)).all()
    )
    rows = session.exec(select(Label.id, Label.name, Label.parent_id)).all()
    children: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
    for label_id, name, parent_id in rows:
        children[parent_id].append((label_id, name))  # type: ignore[arg-type]

    def build(label_id: int, name: str, seen: frozenset[int]) -> TaxonomyNode:
        kids = [
            build(k, n, seen | {label_id})
            for k, n in sorted(children.get(label_id, []), key=lambda x: x[1])
            if k not in seen
        ]
        return TaxonomyNode(name, int(usage.get(label_id, 0)), kids)

    return [build(i, n, frozenset()) for i, n in sorted(children.get(None, []), key=lambda x: x[1])]
