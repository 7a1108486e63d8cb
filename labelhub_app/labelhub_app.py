"""The Reflex app: theme, the HTTP routes mounted beside it, and the pages (registered by import)."""

import reflex as rx

from labelhub_app.api.app import api
from labelhub_app.pages import (  # noqa: F401  (each module registers its page with @rx.page)
    auth,
    dashboard,
    image_detail,
    market,
    profile,
    projects,
    purchases,
    upload,
)

app = rx.App(
    api_transformer=api,
    stylesheets=["/styles.css"],
)
