"""A development page (/dev/worker, only with LABELHUB_DEV_PAGES): which app worker process
handles this browser's events, who is signed in, and a note kept only in Reflex state.

With several workers (REFLEX_REDIS_URL set), a reload may connect to another worker; the note
and the signed-in person are still there because the state lives in Redis. The multi-worker test
(tests/browser/test_redis_workers.py) reads this page.
"""

from __future__ import annotations

import os

import reflex as rx

from labelhub_app.components.layout import page_frame
from labelhub_app.state.auth import AuthState

ROUTE = "/dev/worker"


class WorkerState(rx.State):
    pid: int = 0  # the worker process that handled the last event of this browser tab
    note: str = ""  # kept in Reflex state only (memory of one worker, or Redis)
    events: int = 0

    @rx.event
    def where(self) -> None:
        self.pid = os.getpid()
        self.events += 1

    @rx.event
    def set_note(self, value: str) -> None:
        self.note = value[:200]
        self.pid = os.getpid()


def view() -> rx.Component:
    return page_frame(
        rx.vstack(
            rx.data_list.root(
                rx.data_list.item(
                    rx.data_list.label("Worker pid"),
                    rx.data_list.value(rx.code(WorkerState.pid, id="worker-pid")),
                ),
                rx.data_list.item(
                    rx.data_list.label("Signed in as"),
                    rx.data_list.value(
                        rx.text(
                            rx.cond(AuthState.signed_in, AuthState.email, "nobody"),
                            id="worker-user",
                        )
                    ),
                ),
                rx.data_list.item(
                    rx.data_list.label("Note (state only)"),
                    rx.data_list.value(rx.text(WorkerState.note, id="worker-note")),
                ),
                rx.data_list.item(
                    rx.data_list.label("Events seen"),
                    rx.data_list.value(rx.text(WorkerState.events, id="worker-events")),
                ),
            ),
            rx.hstack(
                rx.input(
                    id="note-input",
                    placeholder="Type a note, then press Enter",
                    on_blur=WorkerState.set_note,
                    width="320px",
                ),
                rx.button("Ask again", id="ask-worker", on_click=WorkerState.where),
            ),
            spacing="4",
            align="start",
        ),
        title="App worker",
        subtitle="Which worker process answers this tab. With Redis configured every worker "
        "shares the page state, so a reload that lands on another worker keeps it.",
    )


@rx.page(
    route=ROUTE, title="App worker · LabelHub", on_load=[AuthState.load_user, WorkerState.where]
)
def worker_page() -> rx.Component:
    return view()
