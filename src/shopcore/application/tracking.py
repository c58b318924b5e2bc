"""Seen-aggregate tracking: adapters register every aggregate they hand out or accept, and the
unit of work harvests those aggregates' events when it commits, and only then."""

from __future__ import annotations

from typing import TypeVar

from shopcore.shared.aggregate import Aggregate
from shopcore.shared.messages import Event

A = TypeVar("A", bound=Aggregate)


class EventLedger:
    """What a unit of work owes the bus: pending events until commit, committed ones after."""

    def __init__(self) -> None:
        self._seen: dict[int, Aggregate] = {}
        self._emitted: list[Event] = []
        self._committed: list[Event] = []

    def track(self, aggregate: A) -> A:
        self._seen[id(aggregate)] = aggregate
        return aggregate

    def emit(self, event: Event) -> None:
        self._emitted.append(event)

    def pending(self) -> list[Event]:
        """Events a commit would publish; SQL adapters write them to the outbox in the same
        transaction as the state."""
        events = [event for aggregate in self._seen.values() for event in aggregate.events]
        return events + self._emitted

    def committed(self) -> None:
        self._committed.extend(self.pending())
        self._clear_pending()

    def rolled_back(self) -> None:
        self._clear_pending()

    def _clear_pending(self) -> None:
        for aggregate in self._seen.values():
            aggregate.events.clear()
        self._seen.clear()
        self._emitted.clear()

    def take_committed(self) -> list[Event]:
        events, self._committed = self._committed, []
        return events
