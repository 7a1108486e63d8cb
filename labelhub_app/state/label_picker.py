"""Label-field behaviour shared by every page with a label picker (a Reflex state mixin).

The text field is not controlled by ``label_text`` (a controlled field drops the keys typed while
an event is in flight: each answer would reset it to the text the server had seen). The handlers
that change the text (a label committed, a comma typed) set the field through its id, ``field``.
"""

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

    def _after_commit(self, field: str, rest: str = ""):  # type: ignore[no-untyped-def]
        """Set the text field to ``rest`` (when its id is known) and run the page's hook."""
        events = [rx.set_value(field, rest)] if field else []
        then = self._labels_changed()
        return [*events, then] if then is not None else events

    @rx.event
    def set_label_text(self, value: str, field: str = ""):  # type: ignore[no-untyped-def]
        self.label_text = value
        self.label_error = ""
        committed = None
        if "," in value:  # typing a comma commits what came before it
            parts = value.split(",")
            before = list(self.chosen_labels)
            for part in parts[:-1]:
                self._add_label(part)
            self.label_text = parts[-1]
            if self.chosen_labels != before:
                committed = self._after_commit(field, self.label_text)
            elif field:
                committed = rx.set_value(field, self.label_text)
        with session_scope() as session:
            found = labels.suggest_labels(session, prefix=self.label_text, limit=8)
        self.label_suggestions = [s for s in found if s not in self.chosen_labels]
        return committed

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
    def label_key(self, key: str, field: str = ""):  # type: ignore[no-untyped-def]
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
                return self._after_commit(field)
        elif key == "Backspace" and not self.label_text and self.chosen_labels:
            self.chosen_labels = self.chosen_labels[:-1]
            return self._labels_changed()
        elif key == "Escape":
            self.label_suggestions = []
        return None

    @rx.event
    def pick_label(self, name: str, field: str = ""):  # type: ignore[no-untyped-def]
        if self._add_label(name):
            self.label_text = ""
            self.label_suggestions = []
            return self._after_commit(field)
        return None

    @rx.event
    def remove_label(self, name: str):  # type: ignore[no-untyped-def]
        self.chosen_labels = [n for n in self.chosen_labels if n != name]
        return self._labels_changed()
