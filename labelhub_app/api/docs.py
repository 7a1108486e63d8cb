"""The interactive API docs (Swagger UI), served entirely from this server.

FastAPI's default page loads Swagger UI from a CDN, so it stays blank offline or on an air-gapped
deployment. We serve the Swagger UI 5 bundle that the ``fastapi-offline`` package ships (MIT;
swagger-ui-dist itself is Apache-2.0) under /api/v1/docs/assets/, and turn off the online
validator badge, so the page loads nothing from elsewhere.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from labelhub_app.errors import NotFound

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
OPENAPI_PATH = "/api/v1/openapi.json"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}

router = APIRouter(include_in_schema=False)


def asset_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


@router.get(DOCS_PATH)
def docs_page() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title="LabelHub API",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


@router.get(f"{ASSETS_PATH}/{{name}}")
def docs_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"No docs asset {name!r}.")
    return FileResponse(
        asset_dir() / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
