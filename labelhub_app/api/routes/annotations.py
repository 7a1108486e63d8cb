"""An image's boxes and tags, its revisions, and restoring one; saves are guarded by ETags.

``GET .../annotations`` answers with ``ETag: "rev-N"``. A save (``PUT``) or a restore must send
that value back in ``If-Match``: without it the API answers 428, and when someone saved in
between it answers 412 with the editor's own conflict message, so a script never silently
overwrites another person's work. This is the same revision check the editor page uses.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.errors import ApiError
from labelhub_app.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from labelhub_app.api.schemas import (
    AnnotationsPublic,
    AnnotationsUpdate,
    BoxPublic,
    RevisionPublic,
    RevisionsPublic,
)
from labelhub_app.errors import Conflict
from labelhub_app.services import annotations as annotation_service
from labelhub_app.services.annotations import BoxEdit

router = APIRouter(tags=["annotations"])

_ETAG = re.compile(r'^(?:W/)?"?rev-(\d{1,9})"?$')
_ETAG_HEADER = {"ETag": {"description": 'The revision, as "rev-N"', "schema": {"type": "string"}}}
IfMatch = Annotated[
    str | None,
    Header(
        max_length=64,
        description='The ETag from GET .../annotations, e.g. "rev-3"',
    ),
]
RevisionNumber = Annotated[int, Path(ge=0, le=2**31 - 1)]


def etag(revision: int) -> str:
    return f'"rev-{revision}"'


def base_revision(if_match: str | None, image_id: str) -> int:
    """The revision a change is based on, from If-Match; 428 without one, 412 for a bad one."""
    hint = f'GET /api/v1/images/{image_id}/annotations and send its ETag, like If-Match: "rev-3"'
    if if_match is None or not if_match.strip():
        raise ApiError(
            428,
            "Saving needs the revision you started from, so that nobody's work is overwritten: "
            f"{hint}.",
        )
    match = _ETAG.match(if_match.strip())
    if match is None:
        raise ApiError(412, f"If-Match {if_match.strip()!r} is not an annotations ETag: {hint}.")
    return int(match.group(1))


def _public(
    view: annotation_service.AnnotationView, summary: str | None = None
) -> AnnotationsPublic:
    return AnnotationsPublic(
        image_id=view.image_id,
        revision=view.revision,
        boxes=[BoxPublic(**b) for b in view.boxes],
        tags=view.tags,
        summary=summary,
    )


@router.get(
    "/images/{image_id}/annotations",
    response_model=AnnotationsPublic,
    responses={200: {"headers": _ETAG_HEADER}},
)
def get_annotations(
    image_id: str, response: Response, user: CurrentUser, session: SessionDep
) -> AnnotationsPublic:
    """The image's current boxes and tags (producer, reviewers and buyers)."""
    view = annotation_service.load_annotations(session, actor=user, image_id=image_id)
    response.headers["ETag"] = etag(view.revision)
    return _public(view)


def _edits(current: list[dict[str, Any]], body: AnnotationsUpdate) -> list[BoxEdit]:
    """The edits that turn ``current`` into the boxes of ``body``.

    A box keeps its id when it names one of the image's boxes; any other box is new and gets a
    fresh id (box ids are unique across all images).
    """
    by_id = {b["id"]: b for b in current}
    edits: list[BoxEdit] = []
    kept: set[str] = set()
    for box in body.boxes:
        data = box.model_dump()
        if data["id"] in by_id and data["id"] not in kept:
            kept.add(data["id"])
            edits.append(BoxEdit("update", data))
        else:
            data["id"] = str(uuid.uuid4())
            edits.append(BoxEdit("create", data))
    edits += [BoxEdit("delete", b) for box_id, b in by_id.items() if box_id not in kept]
    return edits


@router.put(
    "/images/{image_id}/annotations",
    response_model=AnnotationsPublic,
    responses={200: {"headers": _ETAG_HEADER}},
)
def put_annotations(
    image_id: str,
    body: AnnotationsUpdate,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    if_match: IfMatch = None,
) -> AnnotationsPublic:
    """Replace the image's boxes (and tags, when given) as one new revision.

    Boxes with the id of an existing box update it; boxes without one (or with an unknown id) are
    added; existing boxes left out are deleted. Needs ``If-Match``.
    """
    current = annotation_service.load_annotations(
        session, actor=user, image_id=image_id
    )  # 404, 403
    base = base_revision(if_match, image_id)
    try:
        result = annotation_service.save_annotations(
            session,
            actor=user,
            image_id=image_id,
            base_revision=base,
            edits=_edits(current.boxes, body),
            tags=body.tags,
        )
    except Conflict as exc:  # the only conflict of a save: someone saved since `base`
        raise ApiError(412, exc.message) from None
    view = annotation_service.load_annotations(session, actor=user, image_id=image_id)
    response.headers["ETag"] = etag(view.revision)
    return _public(view, result.summary)


@router.get("/images/{image_id}/revisions", response_model=RevisionsPublic)
def list_revisions(
    image_id: str,
    user: CurrentUser,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> RevisionsPublic:
    """The image's saves, newest first: who, when, what changed.

    The cursor remembers the last revision number seen, so saves made during a walk do not
    shift the pages.
    """
    list_id = f"revisions:{image_id}"
    pos = decode_cursor(cursor, list_id, "b")
    newest = annotation_service.list_revisions(session, actor=user, image_id=image_id, limit=1)
    if not newest:
        return RevisionsPublic(items=[], next_cursor=None)
    before = pos["b"] if pos else newest[0].number + 1
    # revision numbers run 1..newest without gaps: the rows above ``before`` come first
    skip = max(0, newest[0].number + 1 - before)
    rows = annotation_service.list_revisions(
        session, actor=user, image_id=image_id, limit=skip + limit + 1
    )
    page = [r for r in rows if r.number < before][: limit + 1]
    more = len(page) > limit
    page = page[:limit]
    return RevisionsPublic(
        items=[RevisionPublic(**r.__dict__) for r in page],
        next_cursor=encode_cursor(list_id, b=page[-1].number) if more else None,
    )


@router.get("/images/{image_id}/revisions/{number}", response_model=AnnotationsPublic)
def get_revision(
    image_id: str, number: RevisionNumber, user: CurrentUser, session: SessionDep
) -> AnnotationsPublic:
    """The boxes and tags as they were after revision ``number``."""
    state = annotation_service.preview_revision(
        session, actor=user, image_id=image_id, number=number
    )
    return AnnotationsPublic(
        image_id=image_id,
        revision=state.revision,
        boxes=[BoxPublic(**b) for b in state.boxes],
        tags=state.tags,
    )


@router.post(
    "/images/{image_id}/revisions/{number}/restore",
    response_model=AnnotationsPublic,
    responses={200: {"headers": _ETAG_HEADER}},
)
def restore_revision(
    image_id: str,
    number: RevisionNumber,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    if_match: IfMatch = None,
) -> AnnotationsPublic:
    """Make revision ``number``'s boxes and tags current again, as a new revision (If-Match)."""
    annotation_service.load_annotations(session, actor=user, image_id=image_id)  # 404, 403 first
    base = base_revision(if_match, image_id)
    try:
        result = annotation_service.restore_revision(
            session, actor=user, image_id=image_id, number=number, base_revision=base
        )
    except Conflict as exc:
        raise ApiError(412, exc.message) from None
    view = annotation_service.load_annotations(session, actor=user, image_id=image_id)
    response.headers["ETag"] = etag(view.revision)
    return _public(view, result.summary)
