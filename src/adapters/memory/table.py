"""A table of aggregates with unique indexes and optimistic versioning, like a SQL table."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Generic, TypeVar

from shopcore.shared.aggregate import Aggregate
from shopcore.shared.errors import AlreadyExists, ConcurrencyConflict

A = TypeVar("A", bound=Aggregate)
UniqueKey = Callable[[A], Iterable[Hashable]]


def detached(aggregate: A) -> A:
    """A private copy without pending events: what a session hands out or stores."""
    clone = copy.deepcopy(aggregate)
    clone.events = []
    return clone


class Table(Generic[A]):
    def __init__(self, name: str, unique: dict[str, UniqueKey[A]] | None = None) -> None:
        self.name = name
        self._rows: dict[str, A] = {}
        self._unique = unique or {}
        self._index: dict[str, dict[Hashable, str]] = {key: {} for key in self._unique}

    def __iter__(self) -> Iterator[A]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> A | None:
        row = self._rows.get(key)
        return None if row is None else detached(row)

    def peek(self, key: str) -> A | None:
        """The stored row itself, for read-only scans (never hand it out)."""
        return self._rows.get(key)

    def owner(self, index: str, value: Hashable) -> str | None:
        return self._index[index].get(value)

    def check(self, key: str, aggregate: A, *, new: bool) -> bool:
        """Whether writing `aggregate` changes anything; raises on a lost update or clash."""
        stored = self._rows.get(key)
        if new and stored is not None:
            raise AlreadyExists(f"{self.name} {key} already exists")
        if not new:
            if stored is None or stored.version != aggregate.version:
                raise ConcurrencyConflict(f"{self.name} {key} was changed by someone else")
            if stored == aggregate:
                return False
        for index, keys in self._unique.items():
            for value in keys(aggregate):
                holder = self._index[index].get(value)
                if holder is not None and holder != key:
                    raise AlreadyExists(f"{index} {value!r} is taken")
        return True

    def unique_values(self, aggregate: A) -> list[tuple[str, Hashable]]:
        """The (index, value) pairs `aggregate` claims in the unique indexes."""
        return [(index, value) for index, keys in self._unique.items() for value in keys(aggregate)]

    def write(self, key: str, aggregate: A) -> None:
        old = self._rows.get(key)
        if old is not None:
            for index, keys in self._unique.items():
                for value in keys(old):
                    self._index[index].pop(value, None)
        aggregate.version += 1
        self._rows[key] = detached(aggregate)
        for index, keys in self._unique.items():
            for value in keys(aggregate):
                self._index[index][value] = key
