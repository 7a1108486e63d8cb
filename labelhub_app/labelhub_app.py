"""The Reflex app: the HTTP routes mounted beside it, start-up work, and the pages (registered by import)."""

import asyncio
import logging

import reflex as rx

from labelhub_app.api.app import api
from labelhub_app.config import get_settings
from labelhub_app.pages import (  # noqa: F401  (each module registers its page with @rx.page)
    activity,
    auth,
    campaigns,
    dashboard,
    editor,
    image_detail,
    jobs,
    labels,
    market,
    models,
    payouts,  # #9
    profile,
    projects,
    purchases,
    review,
    tiled,
    upload,
    wallet,  # #9
)

log = logging.getLogger("labelhub")

if get_settings().dev_pages:
    from labelhub_app.pages import (
        dev_worker,  # noqa: F401  (#8: which app worker, /dev/worker)
        editor_demo,  # noqa: F401  (the box editor playground, /dev/editor-demo)
    )


def _on_backend_error(exception: Exception) -> rx.event.EventSpec:
    """A clear message in the page for anything a handler did not catch; the trace goes to the log."""
    from labelhub_app.errors import LabelHubError

    if isinstance(exception, LabelHubError):
        message = exception.message
    else:
        log.error("unhandled error in an event handler", exc_info=exception)
        message = "Something went wrong on our side and it has been logged. Nothing you made was lost; please try again."
    return rx.toast.error(message, id="backend_error", position="top-center")


app = rx.App(
    api_transformer=api,
    stylesheets=["/styles.css"],
    backend_exception_handler=_on_backend_error,
)


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
