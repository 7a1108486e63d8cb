"""The Reflex app: the HTTP routes mounted beside it, start-up work, and the pages (registered by import)."""

import asyncio
import logging

import reflex as rx

from labelhub_app.api.app import api
from labelhub_app.pages import (  # noqa: F401  (each module registers its page with @rx.page)
    auth,
    dashboard,
    image_detail,
    labels,
    market,
    profile,
    projects,
    purchases,
    upload,
)

log = logging.getLogger("labelhub")

app = rx.App(api_transformer=api, stylesheets=["/styles.css"])


def _warm_search_index() -> None:
    from labelhub_app.db import session_scope
    from labelhub_app.services import search

    with session_scope() as session:
        count = search.rebuild_index(session)
    log.info("search index built: %d images on sale", count)


@app.register_lifespan_task
async def build_search_index() -> None:
    """Build the in-process search index at start, off the event loop, so the first search is fast."""
    try:
        await asyncio.to_thread(_warm_search_index)
    except Exception:  # the first search builds it instead; never keep the app from starting
        log.exception("could not build the search index at start")
