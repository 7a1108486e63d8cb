"""The operation log: one's own label actions, newest first (admins: everyone's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, fingerprint, paged
from labelhub_app.api.schemas import OperationPublic, OperationsPublic
from labelhub_app.services import oplog

router = APIRouter(tags=["activity"])


@router.get("/operations", response_model=OperationsPublic)
def list_operations(
    user: CurrentUser,
    session: SessionDep,
    action: Annotated[
        str | None, Query(max_length=16, description=", ".join(oplog.ACTIONS))
    ] = None,
    image_id: Annotated[str | None, Query(max_length=64)] = None,
    everyone: Annotated[bool, Query(description="Everyone's operations (admins only)")] = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> OperationsPublic:
    def fetch(page: int, per_page: int) -> tuple[list[oplog.OperationRow], int]:
        result = oplog.list_operations(
            session,
            actor=user,
            everyone=everyone,
            action=action or None,
            image_id=image_id or None,
            page=page,
            per_page=per_page,
        )
        return result.items, result.total

    rows, total, next_cursor = paged(
        fetch,
        cursor=cursor,
        limit=limit,
        list_id=fingerprint("operations", action=action, image_id=image_id, everyone=everyone),
    )
    return OperationsPublic(
        items=[OperationPublic(**r.__dict__) for r in rows], total=total, next_cursor=next_cursor
    )
