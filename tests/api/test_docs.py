"""The OpenAPI document and the interactive docs page, which must work offline."""

from __future__ import annotations

import re

from tests.api.conftest import assert_error


def test_openapi_document_lists_the_api(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/search",
        "/api/v1/images/{image_id}/annotations",
        "/api/v1/projects/{project_id}/export",
        "/api/v1/wallet/topup",
        "/api/v1/imports",
    ):
        assert path in paths, path
    assert "token" in doc["components"]["securitySchemes"]
    assert not any("{rest" in p for p in paths)


def test_docs_page_loads_only_our_own_assets(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(
        r"url:\s*'([^']+)'", html
    )
    assert urls and all(u.startswith("/api/v1/") for u in urls), urls
    assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html
    assert '"validatorUrl": null' in html
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000
    js = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in js.headers["content-type"] and b"SwaggerUIBundle" in js.content
    assert_error(client.get("/api/v1/docs/assets/../../secrets"), 404)
    assert_error(client.get("/api/v1/docs/assets/index.html"), 404)
