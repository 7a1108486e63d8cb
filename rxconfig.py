"""Reflex configuration. LabelHub's own settings live in labelhub_app/config.py (LABELHUB_* env vars)."""

import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

config = rx.Config(
    app_name="labelhub_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                accent_color="indigo", gray_color="slate", radius="large", scaling="100%"
            )
        )
    ],
    disable_plugins=[SitemapPlugin],
    # Several app workers share state in Redis: REFLEX_REDIS_URL, or LabelHub's own name for it
    # (REFLEX_REDIS_URL wins when both are set).
    redis_url=os.environ.get("LABELHUB_REDIS_URL") or None,
)
