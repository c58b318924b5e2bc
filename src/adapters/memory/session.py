"""The identity map of one in-memory unit of work, in a module of its own: the repositories
load and stage through it, and so need not import the unit of work that owns them (which
imports them).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

from adapters.memory.table import Table
from shopcore.application.tracking import EventLedger
from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists

A = TypeVar("A", bound=Aggregate)


class Session:
    """The identity map of one unit of work: each row loaded at most once, as a private copy."""

    def __init__(self, events: EventLedger) -> None:
        self._events = events
        self._entries: dict[tuple[int, str], tuple[Table[Any], Aggregate, bool]] = {}

    def load(self, table: Table[A], key: str) -> A | None:
        entry = self._entries.get((id(table), key))
        if entry is not None:
            return entry[1]  # type: ignore[return-value]
        row = table.get(key)
        if row is None:
            return None
        self._entries[(id(table), key)] = (table, row, False)
        return self._events.track(row)

    def adopt(self, table: Table[A], key: str, aggregate: A) -> None:
        """Take the caller's own copy as if loaded: its version is checked at commit."""
        self._entries.setdefault((id(table), key), (table, aggregate, False))
        self._events.track(aggregate)

    def stage(self, table: Table[A], key: str, aggregate: A) -> None:
        if (id(table), key) in self._entries:
            raise AlreadyExists(f"{table.name} {key} already exists")
        self._entries[(id(table), key)] = (table, aggregate, True)
        self._events.track(aggregate)

    def flush(self) -> None:
        """Check every row first, then write them all: all of it lands, or none of it."""
        changed = [
            (table, key, aggregate)
            for (_, key), (table, aggregate, new) in self._entries.items()
            if table.check(key, aggregate, new=new)
        ]
        # `check` compares with the stored rows only; rows of this unit may clash each other.
        claimed: dict[tuple[int, str, Hashable], str] = {}
        for table, key, aggregate in changed:
            for index, value in table.unique_values(aggregate):
                if claimed.setdefault((id(table), index, value), key) != key:
                    raise AlreadyExists(f"{index} {value!r} is taken")
        for table, key, aggregate in changed:
            table.write(key, aggregate)
        self._entries.clear()

    def clear(self) -> None:
        self._entries.clear()
