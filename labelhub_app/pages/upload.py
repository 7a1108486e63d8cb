"""Upload: drop several images, label them per image and in bulk, set price and licence.

Files stream to the server in chunks; each file is checked and stored as soon as it has
arrived, and its row shows its own progress, then its outcome (uploaded, duplicate, refused).
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx
from reflex_base.vars.base import Var, VarData
from reflex_components_core.core.upload import get_upload_files_context_var_data

from labelhub_app import routes
from labelhub_app.components.common import error_callout, label_input, label_options
from labelhub_app.components.label_picker import label_picker
from labelhub_app.components.layout import page_frame
from labelhub_app.components.verify_banner import verify_email_banner  # (#9)
from labelhub_app.config import get_settings
from labelhub_app.db import session_scope
from labelhub_app.errors import InvalidInput, LabelHubError
from labelhub_app.models import LICENCES
from labelhub_app.services import accounts, images, labels, licences
from labelhub_app.services.ledger import parse_credits
from labelhub_app.state.auth import AuthState, session_token
from labelhub_app.state.label_picker import LabelPickerMixin

UPLOAD_ID = "upload"
ACCEPT = {"image/*": [".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"]}

# [name, size] of each selected file, read from the browser's file list (sizes give per-file progress)
selected_sizes = Var(
    _js_expr=f"(filesById['{UPLOAD_ID}'] ? filesById['{UPLOAD_ID}'].map((f) => [f.name, f.size]) : [])",
    _var_type=list[list[Any]],
    _var_data=VarData.merge(get_upload_files_context_var_data()),
)


def _human(size: int) -> str:
    if size >= 1_048_576:
        return f"{size / 1_048_576:.1f} MB"
    return f"{-(-size // 1024)} KB"


class UploadState(LabelPickerMixin, rx.State):
    price: str = "2.00"
    licence: str = "standard"
    extended_price: str = ""  # #9: optional Extended and Exclusive licence prices
    exclusive_price: str = ""
    file_labels: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    uploading: bool = False
    error: str = ""
    summary: str = ""
    label_options: list[str] = []
    _batch: dict[str, Any] = {}

    @rx.var
    def done_count(self) -> int:
        return sum(1 for r in self.rows if r["status"] in ("done", "error", "duplicate"))

    @rx.event
    def load(self) -> None:
        with session_scope() as session:
            self.label_options = labels.all_label_names(session)

    @rx.event
    def set_price(self, value: str) -> None:
        self.price = value

    @rx.event
    def set_licence(self, value: str) -> None:
        self.licence = value

    @rx.event
    def set_extended_price(self, value: str) -> None:
        self.extended_price = value

    @rx.event
    def set_exclusive_price(self, value: str) -> None:
        self.exclusive_price = value

    @rx.event
    def set_file_label(self, name: str, value: str) -> None:
        self.file_labels = {**self.file_labels, name: value}

    @rx.event
    def rejected(self, files: list[dict[str, Any]]) -> None:
        names = ", ".join(
            f.get("file", {}).get("path", "?")
            if isinstance(f.get("file"), dict)
            else str(f.get("file", "?"))
            for f in files[:3]
        )
        limit = get_settings().max_upload_bytes // 1_048_576
        self.error = (
            f"Some files were not added ({names}): only images up to {limit} MB are accepted."
        )

    @rx.event
    async def start(self, sizes: list[list[Any]]) -> None:
        """Check the batch settings and lay out one row per file before the bytes arrive."""
        self.error = self.summary = ""
        self._batch = {}
        if self.uploading:
            return
        if not sizes:
            self.error = "Choose or drop at least one image first."
            return
        try:
            price = parse_credits(self.price, "price")
            if price is None:
                raise InvalidInput("Set a price (0 is allowed for free images).")
            price = images.check_price(price)
            images.check_licence(self.licence)
            offers = licences.check_offer_prices(
                price,
                parse_credits(self.extended_price, "Extended price"),
                parse_credits(self.exclusive_price, "Exclusive price"),
            )
            bulk = [labels.check_label_name(n) for n in self.chosen_labels]
            per_file = {name: labels.split_labels(text) for name, text in self.file_labels.items()}
            for names in per_file.values():
                for n in names:
                    labels.check_label_name(n)
            with session_scope() as session:
                user = accounts.require_role(
                    accounts.user_for_token(session, session_token(self)), "producer"
                )
                user_id = user.id
        except LabelHubError as exc:
            self.error = exc.message
            return
        self.rows = [
            {
                "name": str(n),
                "size": _human(int(s)),
                "bytes": int(s),
                "status": "waiting",
                "progress": 0,
                "message": "",
                "href": "",
                "thumb": "",
            }
            for n, s in sizes
        ]
        self._batch = {
            "price": price,
            "licence": self.licence,
            "offers": offers,
            "labels": bulk,
            "per_file": per_file,
            "user_id": user_id,
        }
        self.uploading = True

    @rx.event
    def on_progress(self, prog: dict[str, Any]) -> None:
        """Split the request's overall bytes over the files, in the order they are sent."""
        loaded = int(prog.get("loaded", 0))
        rows = []
        for row in self.rows:
            share = min(max(loaded, 0), row["bytes"])
            loaded -= row["bytes"]
            pct = 100 if row["bytes"] == 0 else int(share * 100 / row["bytes"])
            status = row["status"]
            if status == "waiting" and pct > 0:
                status = "sending"
            rows.append({**row, "progress": max(row["progress"], pct), "status": status})
        self.rows = rows

    @rx.event(background=True)
    async def receive(self, chunks: rx.UploadChunkIterator):  # type: ignore[no-untyped-def]
        async with self:
            batch = dict(self._batch)
            names = [r["name"] for r in self.rows]
            base = (await self.get_state(AuthState)).api_base
        if not batch:
            async for _ in chunks:  # settings were refused: drain and drop the bytes
                pass
            return
        index = -1
        current: str | None = None
        buffer = bytearray()
        limit = get_settings().max_upload_bytes
        too_big = False

        async def finish(i: int, name: str, data: bytes, oversize: bool) -> None:
            async with self:
                self._set_row(i, status="checking", progress=100)
            result = await asyncio.to_thread(_ingest, batch, name, data, oversize)
            if result.get("image_id"):
                result["thumb"] = (
                    f"{base}{routes.API}/images/{result['image_id']}/private-thumb/256"
                )
            async with self:
                self._set_row(i, progress=100, **result)

        # Files arrive one after another; a chunk at offset 0 starts the next file. Each file is
        # checked and stored as soon as it is complete (reading waits meanwhile: backpressure).
        async for chunk in chunks:
            if current is None or chunk.filename != current or (chunk.offset == 0 and buffer):
                if current is not None:
                    await finish(index, current, bytes(buffer), too_big)
                current, buffer, too_big = chunk.filename, bytearray(), False
                index = await self._next_row(names, index, current)
            if too_big or len(buffer) + len(chunk.data) > limit:
                too_big, buffer = True, bytearray()  # keep reading, store nothing
            else:
                buffer.extend(chunk.data)
        if current is not None:
            await finish(index, current, bytes(buffer), too_big)
        await self._next_row(names, index, None)
        async with self:
            ok = sum(1 for r in self.rows if r["status"] == "done")
            bad = len(self.rows) - ok
            self.summary = f"{ok} of {len(self.rows)} images uploaded" + (
                f", {bad} not uploaded." if bad else "."
            )
            self.uploading = False
            self._batch = {}
            self.file_labels = {}
        yield rx.clear_selected_files(UPLOAD_ID)

    async def _next_row(self, names: list[str], index: int, name: str | None) -> int:
        """The row of the file that starts now; files skipped over sent no bytes (empty files)."""
        following = index + 1
        while following < len(names) and names[following] != name:
            async with self:
                self._set_row(
                    following,
                    status="error",
                    progress=100,
                    message=f"{names[following]} is empty: there is nothing to upload.",
                )
            following += 1
        return following

    def _set_row(self, i: int, **changes: Any) -> None:
        if 0 <= i < len(self.rows):
            rows = list(self.rows)
            rows[i] = {**rows[i], **changes}
            self.rows = rows

    @rx.event
    def clear(self) -> None:
        self.rows, self.summary, self.error = [], "", ""


def _ingest(batch: dict[str, Any], name: str, data: bytes, oversize: bool) -> dict[str, Any]:
    """Check and store one file (runs in a worker thread; its own transaction)."""
    if oversize:
        limit = get_settings().max_upload_bytes // 1_048_576
        return {"status": "error", "message": f"{name} is larger than {limit} MB."}
    with session_scope() as session:
        from labelhub_app.models import User

        user = session.get(User, batch["user_id"])
        own = tuple(batch["per_file"].get(name, ()))
        [result] = images.ingest_images(
            session,
            actor=user,
            files=[images.UploadedFile(name, data, own)],  # type: ignore[arg-type]
            labels=batch["labels"],
            price_cents=batch["price"],
            licence=batch["licence"],
        )
        extended, exclusive = batch.get("offers", (None, None))
        if result.ok and (extended is not None or exclusive is not None):
            licences.set_offers(  # #9: the optional Extended / Exclusive prices
                session,
                actor=user,  # type: ignore[arg-type]
                image_id=result.image_id,  # type: ignore[arg-type]
                standard_cents=batch["price"],
                extended_cents=extended,
                exclusive_cents=exclusive,
            )
    if result.ok:
        return {
            "status": "done",
            "message": result.message,
            "image_id": result.image_id,
            "href": routes.image(result.image_id or ""),
        }
    if result.duplicate_of:
        return {
            "status": "duplicate",
            "message": result.message,
            "href": routes.image(result.duplicate_of),
        }
    return {"status": "error", "message": result.message}


_STATUS = {
    "waiting": ("clock", "gray", "Waiting"),
    "sending": ("upload", "blue", "Sending"),
    "checking": ("loader", "blue", "Checking"),
    "done": ("circle-check", "green", "Uploaded"),
    "duplicate": ("copy", "amber", "Duplicate"),
    "error": ("circle-x", "red", "Refused"),
}


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[
            (key, rx.badge(rx.icon(icon, size=12), text, color_scheme=colour, variant="soft"))
            for key, (icon, colour, text) in _STATUS.items()
        ],
        rx.badge(status),
    )


def _result_row(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row["thumb"].to(str) != "",
            rx.image(
                src=row["thumb"].to(str),
                width="48px",
                height="36px",
                object_fit="cover",
                border_radius="6px",
            ),
            rx.center(
                rx.icon("image", size=18, color="var(--gray-9)"),
                width="48px",
                height="36px",
                border_radius="6px",
                background="var(--gray-a3)",
            ),
        ),
        rx.vstack(
            rx.hstack(
                rx.text(row["name"].to(str), size="2", weight="medium"),
                rx.text(row["size"].to(str), size="1", color_scheme="gray"),
                align="baseline",
            ),
            rx.progress(
                value=row["progress"].to(int),
                max=100,
                size="1",
                width="100%",
                duration="150ms",
                color_scheme=rx.match(
                    row["status"].to(str),
                    ("done", "green"),
                    ("error", "red"),
                    ("duplicate", "amber"),
                    "indigo",
                ),
            ),
            rx.cond(
                row["message"].to(str) != "",
                rx.cond(
                    row["href"].to(str) != "",
                    rx.link(row["message"].to(str), href=row["href"].to(str), size="1"),
                    rx.text(
                        row["message"].to(str),
                        size="1",
                        color_scheme="red",
                        class_name="file-error",
                    ),
                ),
            ),
            spacing="1",
            flex="1",
        ),
        _status_badge(row["status"].to(str)),
        width="100%",
        align="center",
        padding="10px 12px",
        border="1px solid var(--gray-a4)",
        border_radius="10px",
        background="var(--color-panel-solid)",
        class_name="upload-row",
    )


def _selected_row(name: rx.Var[str]) -> rx.Component:
    return rx.hstack(
        rx.icon("file-image", size=18, color="var(--accent-9)"),
        rx.text(
            name,
            size="2",
            weight="medium",
            width="40%",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
        ),
        label_input(
            options_id="label-options",
            width="flex",
            placeholder="labels for this image (comma separated)",
            # not controlled (a controlled field drops keys typed while an event is in flight);
            # keyed by file name so a changed selection gets fresh fields
            default_value=UploadState.file_labels.get(name, ""),
            key=name,
            on_change=lambda v: UploadState.set_file_label(name, v),
            class_name="file-labels",
            aria_label=f"labels for {name}",
        ),
        width="100%",
        align="center",
        padding="8px 12px",
        border="1px solid var(--gray-a4)",
        border_radius="10px",
        background="var(--color-panel-solid)",
        class_name="selected-file",
    )


def _settings_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("For the whole batch", size="3"),
            rx.text("Labels", size="2", weight="medium"),
            label_picker(
                chosen=UploadState.chosen_labels,
                text=UploadState.label_text,
                suggestions=UploadState.label_suggestions,
                on_text=UploadState.set_label_text,
                on_key=UploadState.label_key,
                on_pick=UploadState.pick_label,
                on_remove=UploadState.remove_label,
                placeholder="Labels for every image",
                field_id="batch-labels",
            ),
            error_callout(UploadState.label_error),
            rx.text("Price per image (credits)", size="2", weight="medium"),
            rx.input(
                value=UploadState.price,
                on_change=UploadState.set_price,
                id="price",
                width="100%",
                input_mode="decimal",
            ),
            rx.text("Licence", size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(width="100%", id="licence"),
                rx.select.content(
                    *[rx.select.item(title, value=code) for code, title in LICENCES.items()]
                ),
                value=UploadState.licence,
                on_change=UploadState.set_licence,
            ),
            rx.text("Extended licence price (optional)", size="2", weight="medium"),
            rx.input(
                value=UploadState.extended_price,
                on_change=UploadState.set_extended_price,
                id="extended-price",
                placeholder="Not offered",
                width="100%",
                input_mode="decimal",
            ),
            rx.text("Exclusive licence price (optional)", size="2", weight="medium"),
            rx.input(
                value=UploadState.exclusive_price,
                on_change=UploadState.set_exclusive_price,
                id="exclusive-price",
                placeholder="Not offered",
                width="100%",
                input_mode="decimal",
            ),
            spacing="3",
            width="100%",
        ),
        width="340px",
        min_width="300px",
        size="3",
    )


@rx.page(
    route=routes.UPLOAD,
    title="Upload · LabelHub",
    on_load=[AuthState.require_user, UploadState.load],
)
def upload_page() -> rx.Component:
    files = rx.selected_files(UPLOAD_ID)
    drop = rx.upload(
        rx.vstack(
            rx.center(
                rx.icon("image-up", size=30, color="var(--accent-9)"),
                width="64px",
                height="64px",
                border_radius="18px",
                background="var(--accent-a3)",
            ),
            rx.heading("Drop images here", size="4"),
            rx.text(
                "or click to choose files. JPEG, PNG, WebP, GIF, TIFF or BMP, up to ",
                f"{get_settings().max_upload_bytes // 1_048_576} MB each.",
                size="2",
                color_scheme="gray",
            ),
            align="center",
            spacing="2",
        ),
        id=UPLOAD_ID,
        multiple=True,
        accept=ACCEPT,
        max_size=get_settings().max_upload_bytes,
        on_drop_rejected=UploadState.rejected,
        border="2px dashed var(--accent-7)",
        border_radius="16px",
        padding="2.5em",
        width="100%",
        background="var(--accent-a2)",
        cursor="pointer",
    )
    return page_frame(
        verify_email_banner(),
        label_options(UploadState.label_options, "label-options"),
        rx.hstack(
            rx.vstack(
                drop,
                error_callout(UploadState.error),
                rx.cond(
                    files.length() > 0,
                    rx.vstack(
                        rx.hstack(
                            rx.heading(files.length().to_string(), " selected", size="3"),
                            rx.spacer(),
                            rx.button(
                                "Clear",
                                variant="ghost",
                                on_click=rx.clear_selected_files(UPLOAD_ID),
                            ),
                            width="100%",
                            align="center",
                        ),
                        rx.foreach(files, _selected_row),
                        rx.button(
                            rx.icon("upload", size=16),
                            "Upload ",
                            files.length().to_string(),
                            " images",
                            size="3",
                            width="100%",
                            id="start-upload",
                            loading=UploadState.uploading,
                            on_click=[
                                UploadState.start(selected_sizes),
                                UploadState.receive(
                                    rx.upload_files_chunk(
                                        upload_id=UPLOAD_ID,
                                        on_upload_progress=UploadState.on_progress,
                                    )
                                ),
                            ],
                        ),
                        width="100%",
                        spacing="2",
                    ),
                ),
                rx.cond(
                    UploadState.rows.length() > 0,
                    rx.vstack(
                        rx.hstack(
                            rx.heading("Progress", size="3"),
                            rx.text(
                                UploadState.done_count.to_string(),
                                " of ",
                                UploadState.rows.length().to_string(),
                                " done",
                                size="2",
                                color_scheme="gray",
                            ),
                            rx.spacer(),
                            rx.cond(
                                ~UploadState.uploading,
                                rx.button(
                                    "Clear list", variant="ghost", on_click=UploadState.clear
                                ),
                            ),
                            width="100%",
                            align="center",
                        ),
                        rx.cond(
                            UploadState.summary != "",
                            rx.callout(
                                UploadState.summary, icon="info", width="100%", id="upload-summary"
                            ),
                        ),
                        rx.foreach(UploadState.rows, _result_row),
                        rx.cond(
                            UploadState.summary != "",
                            rx.link(
                                rx.button("Go to dashboard", variant="soft"), href=routes.DASHBOARD
                            ),
                        ),
                        width="100%",
                        spacing="2",
                    ),
                ),
                flex="1",
                spacing="4",
                min_width="0",
            ),
            _settings_panel(),
            spacing="5",
            align="start",
            width="100%",
        ),
        title="Upload images",
        subtitle="Every file is checked: broken, huge or duplicate images are refused with a reason, the rest land.",
    )
