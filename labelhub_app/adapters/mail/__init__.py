"""Outgoing email port: password reset and verification links.

``LABELHUB_MAIL_BACKEND=outbox`` (the default, embedded mode) writes each message as an ``.eml``
file into ``data_dir/outbox`` (``LABELHUB_MAIL_OUTBOX_DIR``), where a developer reads it
(``labelhub outbox``) and tests open it; ``smtp`` sends through ``LABELHUB_SMTP_*``.
"""

from __future__ import annotations

import email.policy
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol

from labelhub_app.config import Settings, get_settings
from labelhub_app.models._base import utcnow


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def compose(*, sender: str, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Message-ID"] = f"<{uuid.uuid4()}@labelhub>"
    message.set_content(text)
    return message


class OutboxMailer:
    """Writes messages as .eml files, named so that a listing sorts oldest first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(message.as_bytes(policy=email.policy.SMTP))
        tmp.replace(self.folder / name)  # readers never see half a message


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(message)


def get_mailer(settings: Settings | None = None) -> Mailer:
    settings = settings or get_settings()
    if settings.mail_backend == "smtp":
        return SmtpMailer(settings)
    return OutboxMailer(settings.resolved_outbox_dir)


@dataclass(frozen=True)
class OutboxMessage:
    path: Path
    to: str
    subject: str
    date: str
    body: str


def read_outbox(folder: Path, *, to: str = "", limit: int = 50) -> list[OutboxMessage]:
    """The newest messages in an outbox folder (to one address if given), newest first."""
    if not folder.is_dir():
        return []
    found: list[OutboxMessage] = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        with path.open("rb") as fh:
            msg = BytesParser(policy=email.policy.default).parse(fh)
        if to and str(msg["To"]).strip().lower() != to.strip().lower():
            continue
        body = msg.get_body(preferencelist=("plain",))
        found.append(
            OutboxMessage(
                path,
                str(msg["To"]),
                str(msg["Subject"]),
                str(msg["Date"]),
                body.get_content() if body is not None else "",  # type: ignore[union-attr]
            )
        )
        if len(found) >= limit:
            break
    return found
