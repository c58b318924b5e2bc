"""Effectively-once event handling: a handler records the events it has handled in the same
transaction as its effect, so a redelivered event finds the record and is skipped.

`once(name, handler)` wraps an event handler: inside one unit of work it checks the record,
stages the mark, runs the handler and commits. The mark is written by the unit's first commit,
whether the handler's or the wrapper's own, so the effect and the mark land together or not at
all. A handler whose effect leaves the database (an email) is at least once: a crash after the
send and before the commit sends again, which is why notifications carry a dedup key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.shared.messages import Event

logger = logging.getLogger("shopcore.processed")


class ProcessedEvents(Protocol):
    """Which handler has handled which event; a repository of the unit of work."""

    async def contains(self, handler: str, event_id: str) -> bool: ...

    def add(self, handler: str, event_id: str) -> None:
        """Record the pair at the unit's next commit, in its transaction. A rollback keeps it
        staged: a handler that leaves its own block without committing (nothing to do) must
        not take the mark with it. A pair recorded already makes that commit fail with
        AlreadyExists, which settles two consumers racing on one event."""
        ...


class IdempotentUnitOfWork(UnitOfWork, Protocol):
    @property
    def processed(self) -> ProcessedEvents: ...


Handler = Callable[[Any, Any], Awaitable[None]]


def once(name: str, handler: Handler) -> Callable[[Event, IdempotentUnitOfWork], Awaitable[None]]:
    """`handler`, skipping events that the handler called `name` has handled before."""

    async def handle_once(event: Event, uow: IdempotentUnitOfWork) -> None:
        async with uow:
            if await uow.processed.contains(name, event.event_id):
                logger.info("%s already handled %s; skipping", name, event.event_id)
                return
            uow.processed.add(name, event.event_id)
            await handler(event, uow)
            # The handler may have committed nothing (its effect is an email): record the mark.
            await uow.commit()

    handle_once.__name__ = name
    return handle_once
