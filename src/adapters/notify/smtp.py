"""Email through an SMTP server (aiosmtplib), configured by one URL.

`smtp://user:password@host:587` upgrades to TLS when the server offers STARTTLS, and
`?starttls=required` refuses to send otherwise; `smtps://host:465` speaks TLS from the start.
The Message-ID is derived from the notification's dedup key, so a repeat that does get sent
(an event redelivered after a crash) is recognisably the same message to mail clients.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from shopcore.shared.notifications import Notification


@dataclass(frozen=True, kw_only=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool | None = None  # None: if the server offers it; True: required
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("an SMTP URL starts with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("the SMTP URL names no host")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        required = query.get("starttls", [""])[0].lower() in ("required", "true", "1")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=False if implicit else (True if required else None),
        )


class SmtpNotifier:
    def __init__(self, server: SmtpServer, sender: str) -> None:
        self._server = server
        self._sender = sender

    async def send(self, notification: Notification) -> None:
        await aiosmtplib.send(
            self.message(notification),
            hostname=self._server.host,
            port=self._server.port,
            username=self._server.username,
            password=self._server.password,
            use_tls=self._server.implicit_tls,
            start_tls=self._server.starttls,
            timeout=self._server.timeout,
        )

    def message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = notification.to
        message["Subject"] = notification.subject
        message["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(notification.dedup_key.encode()).hexdigest()[:32]
        domain = parseaddr(self._sender)[1].rpartition("@")[2] or "shopcore.invalid"
        message["Message-ID"] = f"<{digest}@{domain}>"
        message.set_content(notification.body)
        return message
