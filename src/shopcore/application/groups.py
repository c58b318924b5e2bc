"""Handler groups: event handlers that are delivered events together.

With Redis each group is one consumer group of the event stream, so a slow or failing group
(email) never holds up another (cache invalidation), and each can run in its own workers.
Without Redis the bus runs every group's handlers in process after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shopcore.application.bus import EventHandler, EventTable
from shopcore.application.processed import once
from shopcore.shared.messages import Event

logger = logging.getLogger("shopcore.groups")


@dataclass(frozen=True, kw_only=True)
class HandlerGroup:
    """A group as the core declares it, before bootstrap binds the handlers' dependencies."""

    name: str
    handlers: EventTable
    # False for handlers that are idempotent by nature (cache invalidation): they then cost
    # no processed-event row per event.
    record_processed: bool = True


class GroupDelivery:
    """One group's bound handlers: deliver an event to each handler that subscribes to it.

    A handler's processed-event records are kept under "<group>.<function name>": renaming a
    handler function (or moving it to another group) starts its record afresh, so do it only
    once the stream holds no event it has handled."""

    def __init__(
        self,
        name: str,
        handlers: Mapping[type[Event], Sequence[EventHandler]],
        uow: Callable[[], Any],
        *,
        record_processed: bool = True,
    ) -> None:
        self.name = name
        self._uow = uow
        self._handlers = {
            kind: [
                once(f"{name}.{getattr(handler, '__name__', 'handler')}", handler)
                if record_processed
                else handler
                for handler in subscribers
            ]
            for kind, subscribers in handlers.items()
        }

    @property
    def event_types(self) -> frozenset[type[Event]]:
        return frozenset(self._handlers)

    def wants(self, kind: type[Event]) -> bool:
        return kind in self._handlers

    async def deliver(self, event: Event) -> None:
        """Run every subscriber, each with a unit of work of its own. The first failure is
        raised after all have run, so the ones that succeeded are recorded and only the
        failing one does its work again when the event is redelivered."""
        failures: list[Exception] = []
        for handler in self._handlers.get(type(event), ()):
            try:
                await handler(event, self._uow())
            except Exception as error:
                failures.append(error)
        if len(failures) > 1:
            for extra in failures[1:]:
                logger.error("%s also failed on %s: %r", self.name, event.event_id, extra)
        if failures:
            raise failures[0]
