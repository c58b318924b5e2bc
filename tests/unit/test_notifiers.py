"""The notifiers behind the Notifier port: a JSON-lines mail file for the embedded shop and
SMTP (aiosmtplib) for production, chosen by the settings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from email import message_from_bytes
from pathlib import Path

import pytest

from adapters.memory.notifier import LogNotifier
from adapters.notify.file import FileNotifier
from adapters.notify.smtp import SmtpNotifier, SmtpServer
from apps.components import Components
from apps.settings import Settings
from shopcore.shared.notifications import Notification


def _note(key: str = "order-confirmation:o1") -> Notification:
    return Notification(to="ada@example.com", subject="Confirmed", body="Thank you.", dedup_key=key)


async def test_the_file_notifier_appends_one_json_line_per_notification(tmp_path: Path) -> None:
    path = tmp_path / "mail" / "out.jsonl"
    notifier = FileNotifier(path)

    await notifier.send(_note("a"))
    await notifier.send(_note("a"))  # a repeat of the same notification
    await notifier.send(_note("b"))

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["dedup_key"], line["to"], line["subject"]) for line in lines] == [
        ("a", "ada@example.com", "Confirmed"),
        ("b", "ada@example.com", "Confirmed"),
    ]


def test_an_smtp_url_names_server_credentials_and_tls() -> None:
    plain = SmtpServer.from_url("smtp://mailer:p%40ss@mail.example.com:2525")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "mail.example.com",
        2525,
        "mailer",
        "p@ss",
    )
    assert plain.starttls is None and not plain.implicit_tls
    assert SmtpServer.from_url("smtp://mail.example.com?starttls=required").starttls is True
    assert SmtpServer.from_url("smtp://mail.example.com").port == 587
    tls = SmtpServer.from_url("smtps://mail.example.com")
    assert (tls.port, tls.implicit_tls, tls.starttls) == (465, True, False)
    for bad in ("http://mail.example.com", "smtp://"):
        with pytest.raises(ValueError):
            SmtpServer.from_url(bad)


def test_a_repeated_email_carries_the_same_message_id() -> None:
    notifier = SmtpNotifier(SmtpServer(host="h", port=25), "Shop <shop@example.com>")
    first, again = notifier.message(_note()), notifier.message(_note())
    other = notifier.message(_note("order-shipped:o1"))

    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@example.com>")
    assert (first["From"], first["To"], first["Subject"]) == (
        "Shop <shop@example.com>",
        "ada@example.com",
        "Confirmed",
    )


class FakeSmtpServer:
    """Just enough SMTP on localhost to receive one message (no TLS, no auth)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, str]] = []

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            writer.write(f"{line}\r\n".encode())
            await writer.drain()

        await reply("220 fake ESMTP")
        sender = ""
        while line := (await reader.readline()).decode().strip():
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                await reply("250 fake")
            elif verb == "MAIL":
                sender = line
                await reply("250 ok")
            elif verb == "RCPT":
                self.envelopes.append((sender, line))
                await reply("250 ok")
            elif verb == "DATA":
                await reply("354 go on")
                self.messages.append(await reader.readuntil(b"\r\n.\r\n"))
                await reply("250 queued")
            elif verb == "QUIT":
                await reply("221 bye")
                break
            else:
                await reply("502 not here")
        writer.close()


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[FakeSmtpServer, int]]:
    fake = FakeSmtpServer()
    server = await asyncio.start_server(fake.session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield fake, port


async def test_the_smtp_notifier_sends_the_email(smtp: tuple[FakeSmtpServer, int]) -> None:
    fake, port = smtp
    notifier = SmtpNotifier(SmtpServer.from_url(f"smtp://127.0.0.1:{port}"), "shop@example.com")

    await notifier.send(_note())

    assert len(fake.messages) == 1
    received = message_from_bytes(fake.messages[0].removesuffix(b".\r\n"))
    assert received["Subject"] == "Confirmed" and received["To"] == "ada@example.com"
    assert "shop@example.com" in fake.envelopes[0][0]
    assert "ada@example.com" in fake.envelopes[0][1]
    assert "Thank you." in received.get_payload()


def test_settings_choose_the_notifier(tmp_path: Path) -> None:
    def notifier(**settings: object) -> object:
        return Components(Settings(**settings)).notifier  # type: ignore[arg-type]

    assert isinstance(notifier(), LogNotifier)
    assert isinstance(notifier(mail_file=str(tmp_path / "m.jsonl")), FileNotifier)
    assert isinstance(notifier(smtp_url="smtp://mail.example.com", mail_file="x"), SmtpNotifier)
