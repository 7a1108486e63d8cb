"""Importing labels and boxes for one's own images from a dataset file (a zip or one file)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from labelhub_app.api.deps import CurrentUser, SessionDep
from labelhub_app.api.errors import ApiError
from labelhub_app.api.schemas import ImportReportPublic, ProblemPublic
from labelhub_app.services import imports

router = APIRouter(tags=["imports"])

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"


@router.post("/imports", response_model=ImportReportPublic)
def import_annotations(
    user: CurrentUser,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="A dataset file, or a zip of a dataset folder")],
    fmt: Annotated[
        str,
        Query(
            alias="format",
            max_length=32,
            description="coco, yolo, voc, labelme, labelstudio, sagemaker or manifest (csv)",
        ),
    ],
) -> ImportReportPublic:
    """Set labels and boxes of your own images (producers) from a dataset file.

    Records are matched to your images by file name. For every image the file names, its boxes
    become the file's boxes and the file's labels are added to its tags, as one new revision.
    Each record that could not be imported is listed in ``problems`` with its file and line; the
    rest is imported.
    """
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, f"Import files can be at most {MAX_UPLOAD_BYTES // 2**20} MB.")
    name = (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    if data[:4] == _ZIP_MAGIC and not name.lower().endswith(".zip"):
        name += ".zip"  # the service unpacks files named *.zip
    report = imports.import_annotations(session, actor=user, fmt=fmt, files={name: data})
    return ImportReportPublic(
        images_updated=report.images_updated,
        images_matched=report.images_matched,
        boxes=report.boxes,
        tags=report.tags,
        problems=[
            ProblemPublic(source=p.source, line=p.line, record=p.record, message=p.message)
            for p in report.problems
        ],
    )
