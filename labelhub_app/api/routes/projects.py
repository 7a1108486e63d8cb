"""Consumers' projects: create, rename, archive, add images, buy, list the bought images, export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, paged, slice_list
from labelhub_app.api.schemas import (
    BoxPublic,
    BuyCreate,
    BuyPublic,
    ProjectCreate,
    ProjectDetailPublic,
    ProjectImagePublic,
    ProjectImagesPublic,
    ProjectItemPublic,
    ProjectItemsAdd,
    ProjectItemsAdded,
    ProjectPublic,
    ProjectsPublic,
    ProjectUpdate,
    PurchasePublic,
)
from labelhub_app.errors import InvalidInput
from labelhub_app.models import Image, User
from labelhub_app.services import annotations as annotation_service
from labelhub_app.services import exports, ledger, market

router = APIRouter(tags=["projects"])

EXPORT_MARK_HEADER = "LabelHub-Export-Mark"
Cursor = Annotated[str | None, Query(max_length=512)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _summary_public(p: market.ProjectSummary) -> ProjectPublic:
    return ProjectPublic(
        id=p.public_id,
        name=p.name,
        archived=p.archived,
        created_at=p.created_at,
        items=p.items,
        bought=p.bought,
        spent_cents=p.spent_cents,
        to_buy_cents=p.to_buy_cents,
    )


def _detail(session: SessionDep, user: User, project_id: str) -> ProjectDetailPublic:
    d = market.project_detail(session, actor=user, project_id=project_id)
    return ProjectDetailPublic(
        id=d.public_id,
        name=d.name,
        archived=d.archived,
        items=[
            ProjectItemPublic(
                id=i.public_id,
                file_name=i.file_name,
                price_cents=i.price_cents,
                labels=i.labels,
                producer=i.producer_pseudonym,
                bought=i.bought,
                on_sale=i.on_sale,
            )
            for i in d.items
        ],
        to_buy_cents=sum(i.price_cents for i in d.to_buy),
        balance_cents=d.balance_cents,
    )


@router.get("/projects", response_model=ProjectsPublic)
def list_projects(
    user: CurrentUser,
    session: SessionDep,
    include_archived: bool = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ProjectsPublic:
    """Your projects (consumers), newest first, with what is bought and still to buy."""
    rows = market.list_projects(session, actor=user, include_archived=include_archived)
    page = slice_list(rows, cursor=cursor, limit=limit, list_id=f"projects:{int(include_archived)}")
    return ProjectsPublic(
        items=[_summary_public(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/projects", response_model=ProjectDetailPublic, status_code=status.HTTP_201_CREATED)
def create_project(
    body: ProjectCreate, user: CurrentUser, session: SessionDep
) -> ProjectDetailPublic:
    project = market.create_project(session, actor=user, name=body.name)
    return _detail(session, user, project.public_id)


@router.get("/projects/{project_id}", response_model=ProjectDetailPublic)
def get_project(project_id: str, user: CurrentUser, session: SessionDep) -> ProjectDetailPublic:
    """One of your projects with its images (newest first) and what is still to buy."""
    return _detail(session, user, project_id)


@router.patch("/projects/{project_id}", response_model=ProjectDetailPublic)
def update_project(
    project_id: str, body: ProjectUpdate, user: CurrentUser, session: SessionDep
) -> ProjectDetailPublic:
    """Rename a project, or archive (``archived: true``) or restore it."""
    if body.name is None and body.archived is None:
        raise InvalidInput("Send a new name or archived: true/false.")
    if body.name is not None:
        market.rename_project(session, actor=user, project_id=project_id, name=body.name)
    if body.archived is not None:
        market.archive_project(session, actor=user, project_id=project_id, archived=body.archived)
    return _detail(session, user, project_id)


@router.post("/projects/{project_id}/items", response_model=ProjectItemsAdded)
def add_items(
    project_id: str, body: ProjectItemsAdd, user: CurrentUser, session: SessionDep
) -> ProjectItemsAdded:
    """Add images on sale to the project (to buy later); returns how many were new to it."""
    added = market.add_to_project(
        session, actor=user, project_id=project_id, image_ids=body.image_ids
    )
    return ProjectItemsAdded(added=added)


@router.delete("/projects/{project_id}/items/{image_id}", status_code=204)
def remove_item(project_id: str, image_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """Take an image that is not bought yet out of the project."""
    market.remove_from_project(session, actor=user, project_id=project_id, image_id=image_id)
    return Response(status_code=204)


@router.post("/projects/{project_id}/buy", response_model=BuyPublic)
def buy(
    project_id: str,
    body: BuyCreate,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
) -> BuyPublic:
    """Buy images into the project with credits, in one transaction.

    Send an idempotency key (in the body or the ``Idempotency-Key`` header): a retried request
    with the same key charges once and returns the first request's purchases.
    """
    key = body.idempotency_key or idempotency_key
    if body.idempotency_key and idempotency_key and body.idempotency_key != idempotency_key:
        raise InvalidInput("The Idempotency-Key header and the body's idempotency_key differ.")
    if not key:
        raise InvalidInput(
            "A purchase needs an idempotency key (the Idempotency-Key header or idempotency_key), "
            "so that a retried request charges once."
        )
    purchases = market.buy_images(
        session,
        buyer=user,
        project_id=project_id,
        image_ids=body.image_ids,
        idempotency_key=key,
        licence=body.licence,
    )
    public_ids = {
        p.image_id: image.public_id
        for p in purchases
        if (image := session.get(Image, p.image_id)) is not None
    }
    return BuyPublic(
        purchases=[
            PurchasePublic(
                id=p.public_id,
                image_id=public_ids.get(p.image_id, ""),
                price_cents=p.price_cents,
                licence=p.licence,
                created_at=p.created_at,
            )
            for p in purchases
        ],
        balance_cents=ledger.balance(session, user=user),
    )


@router.get("/projects/{project_id}/images", response_model=ProjectImagesPublic)
def project_images(
    project_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ProjectImagesPublic:
    """The images you bought into the project, with labels, boxes and the original's URL.

    Newest purchase first. This is what the Python dataset client reads.
    """
    market.get_own_project(session, actor=user, project_id=project_id)

    def fetch(page: int, per_page: int) -> tuple[list[market.PurchaseRow], int]:
        s = market.consumer_summary(
            session, actor=user, page=page, per_page=per_page, project_id=project_id
        )
        return s.purchases, s.total_purchases

    rows, total, next_cursor = paged(
        fetch, cursor=cursor, limit=limit, list_id=f"project-images:{project_id}"
    )
    items = []
    for row in rows:
        view = annotation_service.load_annotations(session, actor=user, image_id=row.image_id)
        items.append(
            ProjectImagePublic(
                id=row.image_id,
                file_name=row.file_name,
                width=view.width,
                height=view.height,
                labels=view.tags,
                boxes=[BoxPublic(**b) for b in view.boxes],
                licence=row.licence,
                price_cents=row.price_cents,
                bought_at=row.created_at,
                original_url=str(request.url_for("original", image_id=row.image_id)),
            )
        )
    return ProjectImagesPublic(items=items, total=total, next_cursor=next_cursor)


def _stream(stream: exports.ExportStream, *, mark: bool) -> StreamingResponse:
    chunks = iter(stream.chunks)
    first = next(chunks, b"")  # surfaces a failure before the response starts

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stream.file_name)}"}
    if mark:
        headers[EXPORT_MARK_HEADER] = stream.mark
        headers["Access-Control-Expose-Headers"] = EXPORT_MARK_HEADER
    return StreamingResponse(body(), media_type=stream.media_type, headers=headers)


_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file"}
}


@router.get("/projects/{project_id}/export", response_class=StreamingResponse, responses=_FILE)
def export_project(
    project_id: str,
    user: CurrentUser,
    session: SessionDep,
    fmt: Annotated[
        str,
        Query(
            alias="format",
            max_length=32,
            description="coco, yolo, voc, labelme, labelstudio, sagemaker, manifest (csv) or zip",
        ),
    ] = "coco",
    since: Annotated[
        str | None,
        Query(max_length=512, description="The LabelHub-Export-Mark of an earlier export"),
    ] = None,
) -> StreamingResponse:
    """The project's bought images' labels and boxes in a dataset format, streamed.

    The ``LabelHub-Export-Mark`` response header holds a mark: pass it as ``since`` next time to
    get only the images bought or relabelled after this export.
    """
    stream = exports.export_project(
        session, actor=user, project_id=project_id, fmt=fmt, since=since
    )
    return _stream(stream, mark=True)


@router.get("/projects/{project_id}/download", response_class=StreamingResponse, responses=_FILE)
def download_project(project_id: str, user: CurrentUser, session: SessionDep) -> StreamingResponse:
    """The project's bought images as a dataset zip (images, COCO, CSV manifest, licences)."""
    stream = exports.export_project(session, actor=user, project_id=project_id, fmt="zip")
    return _stream(stream, mark=False)
