"""The detector's model versions (#6): list, weights and metrics downloads.

``GET /api/v1/models?scope=global|producer|project[&project=<id>]`` lists versions;
``GET /api/v1/models/{version_id}/weights`` streams the weights file (a torch checkpoint: arch,
labels, image size, state dict); ``GET /api/v1/models/{version_id}/metrics`` gives AP / AP50 /
AP75, the held-out image ids and training facts. Admins download the global model; producers
their own model; consumers the baseline trained on their project. A bearer token or the
browser's session cookie works, as for originals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from labelhub_app.adapters.storage import get_store
from labelhub_app.api.deps import OptionalUser, SessionDep
from labelhub_app.services import detectors

router = APIRouter(tags=["models"])


@router.get("/models")
def list_models(
    viewer: OptionalUser,
    session: SessionDep,
    scope: str = Query("global"),
    project: str | None = Query(None, max_length=64),
) -> list[dict[str, Any]]:
    """A scope's versions, oldest first, with metrics and the activation decision."""
    views = detectors.list_versions(session, viewer=viewer, scope=scope, project_id=project)
    return [{**asdict(v), "created_at": v.created_at.isoformat()} for v in views]


@router.get(
    "/models/{version_id}/weights",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "Weights"}},
)
def weights(
    viewer: OptionalUser, session: SessionDep, version_id: str = Path(max_length=64)
) -> StreamingResponse:
    key, name = detectors.weights_for_download(session, actor=viewer, version_id=version_id)

    def chunks() -> Iterator[bytes]:
        with get_store().open(key) as fh:
            while block := fh.read(1 << 20):
                yield block

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private",
        },
    )


@router.get("/models/{version_id}/metrics")
def metrics(
    viewer: OptionalUser, session: SessionDep, version_id: str = Path(max_length=64)
) -> dict[str, Any]:
    return detectors.metrics_for_download(session, actor=viewer, version_id=version_id)
