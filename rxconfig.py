"""Reflex configuration. LabelHub's own settings live in labelhub_app/config.py (LABELHUB_* env vars)."""

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
)
