"""Notifiers that keep messages in memory (tests) or write them to the log (embedded demo)."""

from __future__ import annotations

import logging

from shopcore.shared.notifications import Notification

logger = logging.getLogger("shopcore.notifications")


class RecordingNotifier:
    """Keeps what it sends; drops a repeat of the same dedup key (an event delivered twice)."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self._keys: set[str] = set()

    async def send(self, notification: Notification) -> None:
        if notification.dedup_key in self._keys:
            return
        self._keys.add(notification.dedup_key)
        self.sent.append(notification)


class LogNotifier:
    async def send(self, notification: Notification) -> None:
        # The address is personal data: the log gets its domain only.
        domain = notification.to.rsplit("@", 1)[-1]
        logger.info("notification to *@%s: %s", domain, notification.subject)
