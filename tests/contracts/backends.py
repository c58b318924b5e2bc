"""The storage backends the contract suites run against.

A backend hands out units of work over one fresh, empty store. Every suite in this package
talks to it through the ports only, so a new adapter family joins by adding a factory (and the
pytest marks that gate it) to the two tables at the bottom.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import pytest

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from shopcore.bootstrap import ShopUnitOfWork


class Backend(Protocol):
    name: str

    def uow(self) -> ShopUnitOfWork: ...

    async def close(self) -> None: ...


@dataclass
class MemoryBackend:
    name: str = "memory"
    store: MemoryStore = field(default_factory=MemoryStore)

    def uow(self) -> ShopUnitOfWork:
        return MemoryUnitOfWork(self.store)

    async def close(self) -> None:
        return None


async def memory_backend() -> Backend:
    return MemoryBackend()


BACKEND_FACTORIES: dict[str, Callable[[], Awaitable[Backend]]] = {
    "memory": memory_backend,
}

# Marks per backend, e.g. {"postgres": (pytest.mark.postgres,)}; a factory may also call
# pytest.skip when its service is not configured.
BACKEND_MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {
    "memory": (),
}
