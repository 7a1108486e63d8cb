"""A label field with autocomplete: type, pick a suggestion (click or Enter), see chips.

The page state supplies the chosen labels, the typed text, the suggestions and four handlers;
every label field in LabelHub uses this one component.
"""

from __future__ import annotations

import reflex as rx

from labelhub_app.components.common import label_chip


def label_picker(
    *,
    chosen: rx.Var[list[str]],
    text: rx.Var[str],
    suggestions: rx.Var[list[str]],
    on_text,  # type: ignore[no-untyped-def]
    on_key,  # type: ignore[no-untyped-def]
    on_pick,  # type: ignore[no-untyped-def]
    on_remove,  # type: ignore[no-untyped-def]
    placeholder: str = "Add a label…",
    field_id: str = "labels",
) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.foreach(chosen, lambda name: label_chip(name, on_remove=on_remove(name))),
            rx.el.input(  # not controlled by `text`: see state/label_picker.py
                default_value=text,
                on_change=lambda value: on_text(value, field_id),
                on_key_down=lambda key, _info: on_key(key, field_id),
                placeholder=placeholder,
                id=field_id,
                auto_complete="off",
                aria_label=placeholder,
                style={
                    "flex": "1",
                    "minWidth": "140px",
                    "border": "none",
                    "outline": "none",
                    "background": "transparent",
                    "fontSize": "14px",
                    "padding": "4px 2px",
                    "color": "var(--gray-12)",
                },
            ),
            wrap="wrap",
            gap="6px",
            align="center",
            padding="6px 8px",
            border="1px solid var(--gray-a7)",
            border_radius="8px",
            background="var(--color-surface)",
            min_height="38px",
            _focus_within={
                "borderColor": "var(--accent-8)",
                "boxShadow": "0 0 0 1px var(--accent-8)",
            },
        ),
        rx.cond(
            suggestions.length() > 0,
            rx.vstack(
                rx.foreach(
                    suggestions,
                    lambda s: rx.box(
                        rx.hstack(
                            rx.icon("tag", size=13, color="var(--gray-9)"),
                            rx.text(s, size="2"),
                            spacing="2",
                            align="center",
                        ),
                        on_click=on_pick(s, field_id),
                        padding="6px 10px",
                        cursor="pointer",
                        width="100%",
                        _hover={"background": "var(--accent-a3)"},
                        class_name="label-suggestion",
                    ),
                ),
                position="absolute",
                top="100%",
                left="0",
                right="0",
                z_index="20",
                spacing="0",
                background="var(--color-panel-solid)",
                border="1px solid var(--gray-a6)",
                border_radius="8px",
                box_shadow="0 8px 24px var(--black-a4)",
                margin_top="4px",
                overflow="hidden",
            ),
        ),
        position="relative",
        width="100%",
    )
