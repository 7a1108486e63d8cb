"""The label taxonomy: browse the tree with image counts; producers add labels under a parent."""

from __future__ import annotations

from typing import Any

import reflex as rx

from labelhub_app import routes
from labelhub_app.components.common import error_callout, info_callout, label_input, label_options
from labelhub_app.components.layout import page_frame
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotAuthenticated
from labelhub_app.services import labels
from labelhub_app.state.auth import AuthState, current_user


class LabelsState(rx.State):
    groups: list[dict[str, Any]] = []
    names: list[str] = []
    filter_text: str = ""
    new_name: str = ""
    new_parent: str = ""
    error: str = ""
    notice: str = ""

    @rx.event
    def load(self) -> None:
        with session_scope() as session:
            tree = labels.taxonomy(session)
            self.names = labels.all_label_names(session)
        text = labels.normalise_label(self.filter_text)

        def flatten(node: labels.TaxonomyNode, depth: int) -> list[dict[str, Any]]:
            out = [
                {
                    "name": node.name,
                    "depth": depth,
                    "images": node.total_images,
                    "href": f"{routes.MARKET}?label={node.name}",
                }
            ]
            for child in node.children:
                out += flatten(child, depth + 1)
            return out

        groups = []
        loose = [
            r
            for root in tree
            if not root.children
            for r in flatten(root, 0)
            if not text or text in root.name
        ]
        for root in [r for r in tree if r.children]:
            rows = [r for c in root.children for r in flatten(c, 0)]
            if text and text not in root.name:
                rows = [r for r in rows if text in r["name"]]
                if not rows:
                    continue
            groups.append(
                {
                    "name": root.name,
                    "images": root.total_images,
                    "children": rows,
                    "href": f"{routes.MARKET}?label={root.name}",
                }
            )
        if loose:
            groups.append(
                {
                    "name": "other labels",
                    "images": sum(r["images"] for r in loose),
                    "children": loose,
                    "href": routes.LABELS,
                }
            )
        self.groups = groups

    @rx.event
    def set_filter_text(self, value: str):  # type: ignore[no-untyped-def]
        self.filter_text = value
        return LabelsState.load

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value

    @rx.event
    def set_new_parent(self, value: str) -> None:
        self.new_parent = value

    @rx.event
    async def add(self):  # type: ignore[no-untyped-def]
        self.error = self.notice = ""
        try:
            with session_scope() as session:
                user = await current_user(self, session)
                if user is None:
                    raise NotAuthenticated("Sign in as a producer to add labels.")
                label = labels.create_label(
                    session, actor=user, name=self.new_name, parent=self.new_parent.strip() or None
                )
        except LabelHubError as exc:
            self.error = exc.message
            return None
        where = (
            f" under {labels.normalise_label(self.new_parent)}" if self.new_parent.strip() else ""
        )
        self.notice = f"Added {label.name}{where}."
        self.new_name = self.new_parent = ""
        return LabelsState.load


def _child(row: rx.Var) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.text(row["name"].to(str), size="2"),
            rx.spacer(),
            rx.text(row["images"].to(str), size="1", color_scheme="gray"),
            width="100%",
        ),
        href=row["href"].to(str),
        underline="none",
        color="inherit",
        width="100%",
        padding_left=rx.cond(row["depth"].to(int) > 0, "1.2em", "0"),
        padding_y="3px",
        display="block",
        class_name="taxonomy-label",
    )


def _group(g: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.link(
                rx.hstack(
                    rx.heading(g["name"].to(str), size="4"),
                    rx.spacer(),
                    rx.badge(g["images"].to(str), variant="soft", radius="full"),
                    width="100%",
                    align="center",
                ),
                href=g["href"].to(str),
                underline="none",
                color="inherit",
                width="100%",
            ),
            rx.vstack(
                rx.foreach(g["children"].to(list[dict[str, Any]]), _child),
                spacing="0",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        size="2",
    )


@rx.page(
    route=routes.LABELS, title="Labels · LabelHub", on_load=[AuthState.load_user, LabelsState.load]
)
def labels_page() -> rx.Component:
    add = rx.cond(
        AuthState.is_producer,
        rx.card(
            rx.hstack(
                rx.icon("tag", size=18, color="var(--accent-9)"),
                rx.input(
                    placeholder="New label, e.g. poodle",
                    value=LabelsState.new_name,
                    on_change=LabelsState.set_new_name,
                    id="new-label",
                    width="240px",
                ),
                rx.text("under", color_scheme="gray", size="2"),
                label_input(
                    options_id="taxonomy-names",
                    width="240px",
                    placeholder="parent (optional), e.g. dog",
                    value=LabelsState.new_parent,
                    on_change=LabelsState.set_new_parent,
                    id="new-label-parent",
                ),
                rx.button("Add label", on_click=LabelsState.add, id="add-label"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            width="100%",
            margin_bottom="1em",
        ),
    )
    return page_frame(
        add,
        label_options(LabelsState.names, "taxonomy-names"),
        error_callout(LabelsState.error),
        info_callout(LabelsState.notice),
        rx.input(
            placeholder="Filter labels",
            value=LabelsState.filter_text,
            on_change=LabelsState.set_filter_text,
            width="300px",
            margin_y="1em",
            id="label-filter",
        ),
        rx.grid(
            rx.foreach(LabelsState.groups, _group),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
            align_items="start",
        ),
        title="Labels",
        subtitle="The taxonomy starts with COCO's 80 categories under 12 supercategories. Searching a label "
        "also finds everything under it.",
    )
