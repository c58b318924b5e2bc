"""The Notifier port: how the shop tells a person something (email today)."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    subject: str
    body: str
    # Lets a notifier drop a repeat when an event is delivered twice.
    dedup_key: str


class Notifier(Protocol):
    async def send(self, notification: Notification) -> None: ...
