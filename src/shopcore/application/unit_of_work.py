"""The unit-of-work port: one atomic change of state plus the events it produced.

Each context extends this Protocol with the repositories it needs, so a handler can reach only
its own context's data. One adapter class may satisfy all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self

from shopcore.shared.messages import Event


class UnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None:
        """Make the changes durable together with the events of the aggregates seen."""
        ...

    async def rollback(self) -> None: ...

    def emit(self, event: Event) -> None:
        """Record an event that belongs to no aggregate (stock movements); kept on commit."""
        ...

    def collect_new_events(self) -> Iterator[Event]:
        """Hand over, once, the events of every commit so far."""
        ...


class Together(Protocol):
    """One transaction across contexts: `async with together(uow):` runs the block in `uow`,
    and every call a link makes into another context inside it joins that unit of work
    instead of committing on its own; the block commits all of it at its end, or none."""

    def __call__(self, uow: UnitOfWork) -> AbstractAsyncContextManager[None]: ...
