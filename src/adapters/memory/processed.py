"""Processed-event records in memory: staged by a unit of work, kept by its commit."""

from __future__ import annotations

from shopcore.shared.errors import AlreadyExists


class MemoryProcessedEvents:
    def __init__(self, records: set[tuple[str, str]]) -> None:
        self._records = records
        self._staged: list[tuple[str, str]] = []

    async def contains(self, handler: str, event_id: str) -> bool:
        return (handler, event_id) in self._records

    def add(self, handler: str, event_id: str) -> None:
        self._staged.append((handler, event_id))

    def check(self) -> None:
        """Before anything is written: another unit recorded one of these pairs first."""
        for pair in self._staged:
            if pair in self._records:
                raise AlreadyExists(f"{pair[0]} has already handled event {pair[1]}")

    def committed(self) -> None:
        self._records.update(self._staged)
        self._staged.clear()
