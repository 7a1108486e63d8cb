"""Label autocomplete and producers' new labels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.schemas import LabelCreate, LabelPublic, LabelsPublic
from labelhub_app.services import labels

router = APIRouter(tags=["labels"])


@router.get("/labels", response_model=LabelsPublic)
def suggest(
    session: SessionDep,
    prefix: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> LabelsPublic:
    """Autocomplete: labels starting with ``prefix``, then ones containing it; most used first."""
    return LabelsPublic(labels=labels.suggest_labels(session, prefix=prefix, limit=limit))


@router.get("/labels/suggest", response_model=LabelsPublic, include_in_schema=False)
def suggest_legacy(session: SessionDep, q: str = "", limit: int = 8) -> LabelsPublic:
    """The pages' autocomplete (``q``); same as GET /labels?prefix=."""
    return LabelsPublic(
        labels=labels.suggest_labels(session, prefix=q[:64], limit=max(1, min(limit, 50)))
    )


@router.post("/labels", response_model=LabelPublic, status_code=status.HTTP_201_CREATED)
def create_label(body: LabelCreate, user: CurrentUser, session: SessionDep) -> LabelPublic:
    """Add a label (producers and reviewers), optionally under an existing parent label."""
    label = labels.create_label(session, actor=user, name=body.name, parent=body.parent)
    path = labels.label_path(session, label)
    return LabelPublic(name=label.name, parent=path[-2] if len(path) > 1 else None, path=path)
