"""Models: the detector's versions, their held-out metrics, why each was or was not activated.

Three kinds of model (services/detectors.py): the global one (everyone sees it, admins train it),
a producer's own (trained on their images) and a consumer's baseline for one bought project.
The page shows one at a time: a chart of AP and AP50 over its versions, the versions with their
training-set sizes and decision, a "Train now" button for whoever may train it, and downloads of
weights and metrics for whoever may have them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import empty_state, error_callout, stat_card
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.models import User
from labelhub_app.services import detectors, market
from labelhub_app.state.auth import AuthState, current_user

SCOPE_TITLES = {
    "global": "Global model",
    "producer": "My model",
    "project": "Project baseline",
}


def _metric(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def version_row(v: detectors.ModelVersionView, base: str) -> dict[str, Any]:
    api = f"{base}{routes.API}/models/{v.public_id}"
    return {
        "id": v.public_id,
        "version": f"v{v.version}",
        "created": v.created_at.strftime("%d %b %Y %H:%M")
        if isinstance(v.created_at, datetime)
        else "",
        "arch": v.arch,
        "labels": ", ".join(v.labels[:8]) + (" …" if len(v.labels) > 8 else ""),
        "train": f"{v.train_images:,} images · {v.train_boxes:,} boxes",
        "heldout": f"{v.heldout_images:,}",
        "ap": _metric(v.ap),
        "ap50": _metric(v.ap50),
        "ap75": _metric(v.ap75),
        "active": v.active,
        "decision": v.decision or "No decision recorded.",
        "activated": v.decision.startswith("Activated"),
        "compared": f"compared with v{v.compared_with_version}" if v.compared_with_version else "",
        "downloadable": v.downloadable,
        "weights_url": f"{api}/weights",
        "metrics_url": f"{api}/metrics",
    }


class ModelsState(rx.State):
    scope: str = "global"
    project: str = ""  # public id, for the project scope
    projects: list[dict[str, str]] = []
    scopes: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    chart: list[dict[str, Any]] = []
    active: dict[str, str] = {}
    may_train: bool = False
    train_hint: str = ""
    error: str = ""
    notice: str = ""
    last_job: str = ""
    loaded: bool = False

    def _scopes_for(self, user: User | None, projects: list[dict[str, str]]) -> None:
        scopes = [{"value": "global", "title": SCOPE_TITLES["global"]}]
        if user is not None and (user.is_producer or user.is_admin):
            scopes.append({"value": "producer", "title": SCOPE_TITLES["producer"]})
        if projects:
            scopes.append({"value": "project", "title": SCOPE_TITLES["project"]})
        self.scopes = scopes
        if self.scope not in {s["value"] for s in scopes}:
            self.scope = "global"

    @rx.event
    async def load(self) -> None:
        params = self.router.url.query_parameters
        if params.get("scope") in SCOPE_TITLES:
            self.scope = str(params["scope"])
        if params.get("project"):
            self.project = str(params["project"])
        await self._read()

    async def _read(self) -> None:
        self.error = ""
        base = (await self.get_state(AuthState)).api_base
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                projects = (
                    [
                        {"id": p.public_id, "name": p.name}
                        for p in market.list_projects(session, actor=user)
                    ]
                    if user is not None and user.is_consumer
                    else []
                )
                self.projects = projects
                self._scopes_for(user, projects)
                if self.scope == "project" and self.project not in {p["id"] for p in projects}:
                    self.project = projects[0]["id"] if projects else ""
                versions = detectors.list_versions(
                    session,
                    viewer=user,
                    scope=self.scope,
                    project_id=self.project if self.scope == "project" else None,
                )
                self._train_rule(user)
        except LabelHubError as exc:
            self.error, self.loaded = exc.message, True
            self.rows, self.chart, self.active = [], [], {}
            return
        self.rows = [version_row(v, base) for v in reversed(versions)]  # newest first
        self.chart = [
            {
                "version": f"v{v.version}",
                "AP": round(v.ap, 3) if v.ap is not None else None,
                "AP50": round(v.ap50, 3) if v.ap50 is not None else None,
                "AP75": round(v.ap75, 3) if v.ap75 is not None else None,
            }
            for v in versions
        ]
        active = next((v for v in versions if v.active), None)
        self.active = (
            {
                "version": f"v{active.version}",
                "ap50": _metric(active.ap50),
                "ap": _metric(active.ap),
                "train": f"{active.train_images:,}",
            }
            if active
            else {}
        )
        self.loaded = True

    def _train_rule(self, user: User | None) -> None:
        """Who may press "Train now" here (the service checks again)."""
        if user is None:
            self.may_train, self.train_hint = False, ""
        elif self.scope == "global":
            self.may_train = bool(user.is_admin)
            self.train_hint = (
                "Trains on every human-verified box; the new version is activated only if it "
                "beats the active one on the held-out images."
                if user.is_admin
                else "Admins train the global model; it retrains itself as corrections pile up."
            )
        elif self.scope == "producer":
            self.may_train = bool(user.is_producer or user.is_admin)
            self.train_hint = "Trains on the boxes of your own images (drawn or accepted)."
        else:
            self.may_train = bool(self.project)
            self.train_hint = (
                "Trains a baseline on the labelled images you bought into this project."
            )

    @rx.event
    async def set_scope(self, value: str | list[str]) -> None:
        value = value[0] if isinstance(value, list) and value else value
        self.scope = value if value in SCOPE_TITLES else "global"
        self.notice, self.last_job = "", ""
        await self._read()

    @rx.event
    async def set_project(self, value: str) -> None:
        self.project = value
        self.notice, self.last_job = "", ""
        await self._read()

    @rx.event
    async def train(self) -> None:
        self.error, self.notice = "", ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if self.scope == "project":
                    job = detectors.request_baseline_training(
                        session, actor=user, project_id=self.project
                    )
                else:
                    job = detectors.request_training(session, actor=user, scope=self.scope)
                status = job.status
                self.last_job = job.public_id
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.notice = (
            "Training is queued; a worker picks it up, and the new version shows here when done."
            if status == "queued"
            else f"A training job for this model is already {status}; follow it on the Jobs page."
        )


# --- view -----------------------------------------------------------------------------------------


def _chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text("Held-out AP over versions", size="2", weight="bold"),
                rx.spacer(),
                rx.text(
                    "COCO AP (pycocotools) on the same held-out images",
                    size="1",
                    color_scheme="gray",
                ),
                width="100%",
            ),
            rx.recharts.line_chart(
                rx.recharts.line(
                    data_key="AP50",
                    stroke="var(--accent-9)",
                    stroke_width=2,
                    type_="monotone",
                    is_animation_active=False,
                ),
                rx.recharts.line(
                    data_key="AP",
                    stroke="var(--violet-9)",
                    stroke_width=2,
                    type_="monotone",
                    is_animation_active=False,
                ),
                rx.recharts.line(
                    data_key="AP75",
                    stroke="var(--gray-8)",
                    stroke_width=1,
                    stroke_dasharray="4 3",
                    type_="monotone",
                    is_animation_active=False,
                ),
                rx.recharts.x_axis(
                    data_key="version", tick_line=False, axis_line=False, font_size=11
                ),
                rx.recharts.y_axis(
                    domain=[0, 1], width=44, tick_line=False, axis_line=False, font_size=11
                ),
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                data=ModelsState.chart,
                height=240,
                width="100%",
            ),
            width="100%",
            spacing="2",
        ),
        width="100%",
        id="ap-chart",
    )


def _metric_cell(value: rx.Var, strong: bool = False) -> rx.Component:
    return rx.table.cell(
        rx.text(
            value.to(str),
            size="2",
            weight="bold" if strong else "regular",
            font_family="var(--code-font-family)",
        )
    )


def _version_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in (
                        "Version",
                        "Training set",
                        "Held out",
                        "AP",
                        "AP50",
                        "AP75",
                        "Decision",
                        "",
                    )
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                ModelsState.rows,
                lambda r: rx.table.row(
                    rx.table.cell(
                        rx.vstack(
                            rx.hstack(
                                rx.text(r["version"].to(str), weight="bold", size="3"),
                                rx.cond(
                                    r["active"].to(bool),
                                    rx.badge(
                                        "Active",
                                        color_scheme="green",
                                        radius="full",
                                        class_name="active-badge",
                                    ),
                                ),
                                align="center",
                                spacing="2",
                            ),
                            rx.text(r["created"].to(str), size="1", color_scheme="gray"),
                            rx.text(r["arch"].to(str), size="1", color_scheme="gray"),
                            spacing="0",
                        )
                    ),
                    rx.table.cell(
                        rx.vstack(
                            rx.text(r["train"].to(str), size="2"),
                            rx.text(r["labels"].to(str), size="1", color_scheme="gray"),
                            spacing="0",
                        )
                    ),
                    rx.table.cell(rx.text(r["heldout"].to(str), size="2")),
                    _metric_cell(r["ap"]),
                    _metric_cell(r["ap50"], strong=True),
                    _metric_cell(r["ap75"]),
                    rx.table.cell(
                        rx.hstack(
                            rx.cond(
                                r["activated"].to(bool),
                                rx.icon(
                                    "circle-check", size=16, color="var(--green-9)", flex_shrink="0"
                                ),
                                rx.icon(
                                    "circle-minus", size=16, color="var(--gray-9)", flex_shrink="0"
                                ),
                            ),
                            rx.text(r["decision"].to(str), size="2", class_name="version-decision"),
                            spacing="2",
                            align="start",
                        ),
                        max_width="380px",
                    ),
                    rx.table.cell(
                        rx.cond(
                            r["downloadable"].to(bool),
                            rx.hstack(
                                # reload_document: the browser fetches the file itself
                                rx.el.a(
                                    rx.button(
                                        rx.icon("download", size=14),
                                        "Weights",
                                        size="1",
                                        variant="soft",
                                    ),
                                    href=r["weights_url"].to(str),
                                    download=True,
                                    reload_document=True,
                                    class_name="download-weights",
                                ),
                                rx.el.a(
                                    rx.button(
                                        rx.icon("file-json", size=14),
                                        "Metrics",
                                        size="1",
                                        variant="soft",
                                    ),
                                    href=r["metrics_url"].to(str),
                                    download=True,
                                    reload_document=True,
                                    class_name="download-metrics",
                                ),
                                spacing="2",
                            ),
                        )
                    ),
                    class_name="version-row",
                    align="center",
                ),
            )
        ),
        variant="surface",
        width="100%",
        size="2",
    )


def _controls() -> rx.Component:
    return rx.hstack(
        rx.cond(
            ModelsState.scopes.length() > 1,
            rx.segmented_control.root(
                rx.foreach(
                    ModelsState.scopes,
                    lambda s: rx.segmented_control.item(
                        s["title"].to(str), value=s["value"].to(str)
                    ),
                ),
                value=ModelsState.scope,
                on_change=ModelsState.set_scope,
                id="model-scope",
            ),
        ),
        rx.cond(
            (ModelsState.scope == "project") & (ModelsState.projects.length() > 0),
            rx.select.root(
                rx.select.trigger(id="model-project", placeholder="Project"),
                rx.select.content(
                    rx.foreach(
                        ModelsState.projects,
                        lambda p: rx.select.item(p["name"].to(str), value=p["id"].to(str)),
                    )
                ),
                value=ModelsState.project,
                on_change=ModelsState.set_project,
            ),
        ),
        rx.spacer(),
        rx.cond(
            ModelsState.may_train,
            rx.button(
                rx.icon("play", size=16),
                "Train now",
                on_click=ModelsState.train,
                id="train-now",
            ),
        ),
        width="100%",
        align="center",
        spacing="3",
        wrap="wrap",
    )


@rx.page(
    route=routes.MODELS,
    title="Models · LabelHub",
    on_load=[AuthState.require_user, ModelsState.load],
)
def models_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            _controls(),
            rx.text(ModelsState.train_hint, size="2", color_scheme="gray"),
            error_callout(ModelsState.error),
            rx.cond(
                ModelsState.notice != "",
                rx.callout(
                    rx.hstack(
                        rx.text(ModelsState.notice),
                        rx.spacer(),
                        rx.link("Open Jobs", href=routes.JOBS, weight="medium"),
                        width="100%",
                    ),
                    icon="circle-check",
                    color_scheme="green",
                    role="status",
                    width="100%",
                    id="train-notice",
                ),
            ),
            rx.cond(
                ModelsState.rows.length() > 0,
                rx.vstack(
                    rx.grid(
                        stat_card(
                            "Active version",
                            rx.cond(
                                ModelsState.active.contains("version"),
                                ModelsState.active["version"],
                                "none",
                            ),
                            "badge-check",
                        ),
                        stat_card(
                            "Active AP50",
                            rx.cond(
                                ModelsState.active.contains("ap50"), ModelsState.active["ap50"], "–"
                            ),
                            "target",
                        ),
                        stat_card(
                            "Active AP",
                            rx.cond(
                                ModelsState.active.contains("ap"), ModelsState.active["ap"], "–"
                            ),
                            "gauge",
                        ),
                        stat_card(
                            "Trained on",
                            rx.cond(
                                ModelsState.active.contains("train"),
                                ModelsState.active["train"] + " images",
                                "–",
                            ),
                            "images",
                        ),
                        columns=rx.breakpoints(initial="2", md="4"),
                        spacing="3",
                        width="100%",
                    ),
                    _chart(),
                    _version_table(),
                    spacing="4",
                    width="100%",
                ),
                rx.cond(
                    ModelsState.loaded,
                    empty_state(
                        "brain-circuit",
                        "No trained versions yet",
                        "A detector learns from human-verified boxes: label images (or accept "
                        "suggestions), then train. Each version is measured on held-out images "
                        "and activated only when it beats the one before.",
                    ),
                    rx.center(rx.spinner(size="3"), padding="4em"),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        title="Models",
        subtitle="The detector behind the suggestions: its versions, scores, and the active one.",
    )
