"""Label-field behaviour shared by every page with a label picker (a Reflex state mixin)."""

from __future__ import annotations

import reflex as rx

from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput
from labelhub_app.services import labels


class LabelPickerMixin(rx.State, mixin=True):
    chosen_labels: list[str] = []
    label_text: str = ""
    label_suggestions: list[str] = []
    label_error: str = ""

    def _labels_changed(self):  # type: ignore[no-untyped-def]
        """Hook for the page: called after a label is added or removed."""
        return None

    @rx.event
    def set_label_text(self, value: str) -> None:
        self.label_text = value
        self.label_error = ""
        if "," in value:  # typing a comma commits what came before it
            parts = value.split(",")
            for part in parts[:-1]:
                self._add_label(part)
            self.label_text = parts[-1]
        with session_scope() as session:
            found = labels.suggest_labels(session, prefix=self.label_text, limit=8)
        self.label_suggestions = [s for s in found if s not in self.chosen_labels]

    def _add_label(self, name: str) -> bool:
        try:
            norm = labels.check_label_name(name)
        except InvalidInput as exc:
            if labels.normalise_label(name):
                self.label_error = exc.message
            return False
        if norm not in self.chosen_labels:
            self.chosen_labels = [*self.chosen_labels, norm]
        return True

    @rx.event
    def label_key(self, key: str):  # type: ignore[no-untyped-def]
        if key == "Enter":
            typed = labels.normalise_label(self.label_text)
            pick = typed
            if (
                self.label_suggestions
                and typed
                and self.label_suggestions[0].startswith(typed)
                and typed not in self.label_suggestions
            ):
                pick = self.label_suggestions[0]
            if pick and self._add_label(pick):
                self.label_text = ""
                self.label_suggestions = []
                return self._labels_changed()
        elif key == "Backspace" and not self.label_text and self.chosen_labels:
            self.chosen_labels = self.chosen_labels[:-1]
            return self._labels_changed()
        elif key == "Escape":
            self.label_suggestions = []
        return None

    @rx.event
    def pick_label(self, name: str):  # type: ignore[no-untyped-def]
        if self._add_label(name):
            self.label_text = ""
            self.label_suggestions = []
            return self._labels_changed()
        return None

    @rx.event
    def remove_label(self, name: str):  # type: ignore[no-untyped-def]
        self.chosen_labels = [n for n in self.chosen_labels if n != name]
        return self._labels_changed()
