"""The memory unit of work with a script: a step runs just before the first commit that would
make a chosen change (confirm an order, check a cart out). The step may be another process's
work on the same rows, committed first (the commit then loses the version check), or a fault
(it raises, and the commit never happens). Each step runs once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork


@dataclass
class Before:
    """`step`, before the first commit for which `makes(stored, changed)` holds of a row the
    unit read (`stored`: that row as committed, None if gone)."""

    makes: Callable[[Any, Any], bool]
    step: Callable[[], Awaitable[None]]


class ScriptedUnitOfWork(MemoryUnitOfWork):
    def __init__(self, store: MemoryStore, script: list[Before]) -> None:
        super().__init__(store)
        self._script = script
        self._read: list[tuple[Any, Any]] = []  # (table, row as this unit holds it)
        for repository, table in ((self.orders, store.orders), (self.carts, store.carts)):
            repository.get = self._remembering(repository.get, table)  # type: ignore[method-assign]
        # A checkout takes its order as it committed it, unread: a row this unit holds too.
        adopt = self.orders.adopt

        def adopted(order: Any) -> None:
            adopt(order)
            self._read.append((store.orders, order))

        self.orders.adopt = adopted  # type: ignore[method-assign]

    def _remembering(self, get: Any, table: Any) -> Any:
        async def remembered(key: str) -> Any:
            row = await get(key)
            if row is not None:
                self._read.append((table, row))
            return row

        return remembered

    async def commit(self) -> None:
        for before in list(self._script):
            if any(before.makes(table.get(row.id), row) for table, row in self._read):
                self._script.remove(before)
                await before.step()
        await super().commit()
