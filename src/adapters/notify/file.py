"""Notifications appended to a file, one JSON object a line: the embedded shop's outgoing
mail, readable without a mail server (`tail -f mail.jsonl`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from shopcore.shared.notifications import Notification


class _Line(msgspec.Struct, frozen=True, kw_only=True):
    sent_at: datetime
    to: str
    subject: str
    body: str
    dedup_key: str


class FileNotifier:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = asyncio.Lock()
        # Repeats within this process are dropped; across restarts the processed-event
        # records keep an event from being handled twice.
        self._sent: set[str] = set()

    async def send(self, notification: Notification) -> None:
        async with self._lock:
            if notification.dedup_key in self._sent:
                return
            line = msgspec.json.encode(
                _Line(
                    sent_at=datetime.now(UTC),
                    to=notification.to,
                    subject=notification.subject,
                    body=notification.body,
                    dedup_key=notification.dedup_key,
                )
            )
            await asyncio.to_thread(self._append, line + b"\n")
            self._sent.add(notification.dedup_key)

    def _append(self, line: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # One write of the whole line in append mode: processes sharing the file never
        # interleave within a line.
        with self._path.open("ab") as file:
            file.write(line)
