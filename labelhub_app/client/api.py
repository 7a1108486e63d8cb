"""A small Python client for LabelHub's REST API (``/api/v1``), on httpx.

It lists your projects and the images you bought into them (with labels and boxes), downloads
the originals into a local cache, and fetches exports (full or incremental)::

    from labelhub_app.client import LabelHubClient

    hub = LabelHubClient("https://labelhub.example.com", token="lh_pat_...")
    project = hub.projects()[0]
    for image in hub.images(project.id):
        path = hub.download(image)            # cached: ~/.cache/labelhub/originals/<id>.jpg
    export = hub.export(project.id, "coco")  # export.data, export.mark
    later = hub.export(project.id, "coco", since=export.mark)  # only what changed since

Boxes are ``(x, y, w, h)`` in pixels of the original image, top-left origin, as everywhere in
LabelHub. Needs only httpx and Pillow (no torch): see ``detection.py`` for datasets.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from PIL import Image as PILImage

API_PREFIX = "/api/v1"
EXPORT_MARK_HEADER = "LabelHub-Export-Mark"
PAGE_SIZE = 100
DEFAULT_CACHE = Path(os.environ.get("LABELHUB_CACHE", Path.home() / ".cache" / "labelhub"))
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}")


class LabelHubApiError(RuntimeError):
    """An error answer of the API: ``status`` (HTTP), ``code`` and the API's message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class RemoteBox:
    label: str
    x: float
    y: float
    w: float
    h: float
    score: float | None = None

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return self.x, self.y, self.x + self.w, self.y + self.h


@dataclass(frozen=True)
class RemoteProject:
    id: str
    name: str
    bought: int
    archived: bool = False


@dataclass(frozen=True)
class RemoteImage:
    """One bought image as the API lists it; ``original_url`` needs the bearer token."""

    id: str
    file_name: str
    width: int
    height: int
    labels: tuple[str, ...]
    boxes: tuple[RemoteBox, ...]
    licence: str
    original_url: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteImage:
        return cls(
            id=str(data["id"]),
            file_name=str(data["file_name"]),
            width=int(data["width"]),
            height=int(data["height"]),
            labels=tuple(data.get("labels") or ()),
            boxes=tuple(
                RemoteBox(
                    b["label"],
                    float(b["x"]),
                    float(b["y"]),
                    float(b["w"]),
                    float(b["h"]),
                    b.get("score"),
                )
                for b in data.get("boxes") or ()
            ),
            licence=str(data.get("licence") or ""),
            original_url=str(data["original_url"]),
        )


@dataclass(frozen=True)
class ExportResult:
    file_name: str
    media_type: str
    data: bytes
    mark: str  # pass as ``since`` next time


class LabelHubClient:
    """The REST API with a bearer token (an access token made on the profile page).

    ``http`` replaces the httpx client (tests pass FastAPI's TestClient); ``cache_dir`` is where
    originals are kept (``$LABELHUB_CACHE`` or ``~/.cache/labelhub`` by default).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        cache_dir: str | Path | None = None,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LabelHubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- requests ---------------------------------------------------------------------------

    def _absolute(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        if not path_or_url.startswith(API_PREFIX):
            path_or_url = API_PREFIX + "/" + path_or_url.lstrip("/")
        return self.url + path_or_url

    @staticmethod
    def _check(response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", response.text[:500]
        raise LabelHubApiError(response.status_code, code, message)

    def get_json(self, path: str, **params: Any) -> Any:
        response = self._http.get(self._absolute(path), params=params, headers=self._headers)
        return self._check(response).json()

    def _pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            query = {**params, "limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
            page = self.get_json(path, **query)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # --- listing ------------------------------------------------------------------------------

    def projects(self) -> list[RemoteProject]:
        """Your projects (as a consumer), newest first."""
        return [
            RemoteProject(str(p["id"]), str(p["name"]), int(p.get("bought", 0)),
                          bool(p.get("archived", False)))
            for p in self._pages("/projects")
        ]  # fmt: skip

    def images(self, project_id: str) -> list[RemoteImage]:
        """Every image you bought into the project, with its labels and boxes."""
        return [RemoteImage.from_json(i) for i in self._pages(f"/projects/{project_id}/images")]

    # --- files --------------------------------------------------------------------------------

    def cache_path(self, image: RemoteImage) -> Path:
        """Where ``image``'s original is cached: ``<cache>/originals/<image id><suffix>``."""
        suffix = Path(image.file_name).suffix.lower()
        if not _SAFE_SUFFIX.fullmatch(suffix):
            suffix = ".img"
        safe_id = re.sub(r"[^A-Za-z0-9-]", "_", image.id)
        return self.cache_dir / "originals" / f"{safe_id}{suffix}"

    @staticmethod
    def _cached_ok(path: Path, image: RemoteImage) -> bool:
        """The cached file is there and is the image (its pixel size is read from the header)."""
        try:
            with PILImage.open(path) as opened:
                return opened.size == (image.width, image.height)
        except (OSError, ValueError, PILImage.DecompressionBombError):
            return False

    def download(self, image: RemoteImage, *, force: bool = False) -> Path:
        """The original's local path, downloading it unless a good copy is cached.

        A cached file whose header does not give the image's size (a cut-off download, another
        file) is fetched again. Files are written to a temporary name and renamed, so an
        interrupted download never leaves a partial file under the final name.
        """
        path = self.cache_path(image)
        if not force and path.exists() and self._cached_ok(path, image):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        url = self._absolute(image.original_url)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=path.suffix)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                self._http.stream("GET", url, headers=self._headers) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    self._check(response)
                for chunk in response.iter_bytes():
                    out.write(chunk)
            tmp = Path(tmp_name)
            if not self._cached_ok(tmp, image):
                raise LabelHubApiError(
                    200, "bad_file", f"the downloaded {image.file_name} is not a "
                    f"{image.width}x{image.height} image; try again"
                )  # fmt: skip
            tmp.replace(path)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        return path

    def download_all(
        self, images: list[RemoteImage], progress: Callable[[int, int], None] | None = None
    ) -> list[Path]:
        """Every image's local path, in order (see :meth:`download`)."""
        paths = []
        for done, image in enumerate(images, start=1):
            paths.append(self.download(image))
            if progress is not None:
                progress(done, len(images))
        return paths

    def export(
        self, project_id: str, fmt: str = "coco", *, since: str | None = None
    ) -> ExportResult:
        """The project in a dataset format (``coco``, ``yolo``, ``voc``, ``labelme``,
        ``labelstudio``, ``sagemaker``, ``manifest`` or ``zip``), all or only what changed
        after ``since`` (the ``mark`` of an earlier export)."""
        params = {"format": fmt, **({"since": since} if since else {})}
        response = self._http.get(
            self._absolute(f"/projects/{project_id}/export"), params=params, headers=self._headers
        )
        self._check(response)
        disposition = response.headers.get("content-disposition", "")
        match = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
        name = unquote(match[1]) if match else f"export-{fmt}"
        return ExportResult(
            name,
            response.headers.get("content-type", ""),
            response.content,
            response.headers.get(EXPORT_MARK_HEADER, ""),
        )
