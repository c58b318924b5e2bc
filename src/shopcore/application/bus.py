"""The async message bus: one handler per command, any number per event.

Every message gets a fresh unit of work. After a handler returns, the events its commits
produced are handled in turn, each by every subscriber with a unit of work of its own.
A command's failure propagates to the caller; an event handler's failure is logged and does
not stop the other subscribers, because the change that raised the event is already committed.

A command whose unit of work hits a TransientConflict (a database deadlock or serialization
failure) rolled back everything it wrote, so it is run again with a fresh unit of work, a
bounded number of times with jittered backoff. When the retries run out it fails as Busy,
which is not retried again by an enclosing command: only the innermost transaction retries.

A use case that spans contexts may ask for one transaction across them (`joined`): inside the
block, every command the bus runs (a link's call into another context) works in the caller's
unit of work and does not commit; the block commits once at its end, or rolls everything back.
Such a command is not retried on its own (its transaction is the caller's, aborted with it):
the caller retries the block as a whole.

`handle` is typed `Command[R] -> R`: each command declares what its handler returns. The
handlers sit in a table keyed by type, which the type system cannot relate to their results,
so the one `cast` is where a handler's result comes back (a unit test keeps the declarations
equal to the handlers' annotations).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self, TypeVar, cast, overload

from shopcore.application.unit_of_work import UnitOfWork
from shopcore.shared.errors import Busy, TransientConflict
from shopcore.shared.messages import Command, Event, Message

logger = logging.getLogger("shopcore.bus")

Result = TypeVar("Result")

# A handler after bootstrap bound its other dependencies: it takes the message and a unit of work.
CommandHandler = Callable[[Any, Any], Awaitable[Any]]
EventHandler = Callable[[Any, Any], Awaitable[None]]
# Dispatch tables as each context declares them, before bootstrap injects dependencies.
CommandTable = dict[type[Command[Any]], Callable[..., Awaitable[Any]]]
EventTable = dict[type[Event], list[Callable[..., Awaitable[None]]]]


# The unit of work of the `joined` block this task is in, and the bus that opened it.
_enclosing: ContextVar[tuple[MessageBus, UnitOfWork] | None] = ContextVar(
    "shopcore_enclosing_unit_of_work", default=None
)


class Joined:
    """A command's view of the enclosing block's unit of work: the same repositories and the
    same transaction; its own `async with` and `commit` leave the ending to the block."""

    def __init__(self, enclosing: UnitOfWork) -> None:
        self._enclosing = enclosing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._enclosing, name)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None  # a failure propagates to the block, which rolls everything back

    async def commit(self) -> None:
        return None

    async def rollback(self) -> None:
        # Rolling back the block's work and going on would commit half of it at the block's end.
        raise RuntimeError("a command inside a joined block fails by raising, not rolling back")

    def emit(self, event: Event) -> None:
        self._enclosing.emit(event)

    def collect_new_events(self) -> Iterator[Event]:
        return iter(())  # the block's own unit of work hands them over after its commit


class MessageBus:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        command_handlers: Mapping[type[Command[Any]], CommandHandler],
        event_handlers: Mapping[type[Event], Sequence[EventHandler]],
        *,
        attempts: int = 5,
        backoff_seconds: float = 0.005,
    ) -> None:
        if attempts < 1:
            raise ValueError("a command needs at least one attempt")
        self._uow_factory = uow_factory
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._command_handlers = dict(command_handlers)
        self._event_handlers = {kind: list(handlers) for kind, handlers in event_handlers.items()}

    def register(self, kind: type[Command[Any]], handler: CommandHandler) -> None:
        if kind in self._command_handlers:
            raise ValueError(f"{kind.__name__} already has a handler")
        self._command_handlers[kind] = handler

    def subscribe(self, kind: type[Event], handler: EventHandler) -> None:
        """Add a subscriber after bootstrap (the stock stream, a test probe)."""
        self._event_handlers.setdefault(kind, []).append(handler)

    def handles(self, kind: type[Message]) -> bool:
        return kind in self._command_handlers or kind in self._event_handlers

    @overload
    async def handle(self, message: Command[Result]) -> Result: ...

    @overload
    async def handle(self, message: Event) -> None: ...

    async def handle(self, message: Command[Result] | Event) -> Result | None:
        """Run a command (returning its result) or publish an event, then the events that follow."""
        queue: deque[Event] = deque()
        result: Result | None = None
        try:
            if isinstance(message, Command):
                result = await self._run_command(message, queue)
            else:
                queue.append(message)
        finally:
            # Also when the command failed: what it committed before failing is queued too.
            while queue:
                await self._publish(queue.popleft(), queue)
        return result

    def enclosing(self) -> UnitOfWork | None:
        """Inside a `joined` block, the block's unit as a command sent there sees it (`Joined`):
        a query run through it reads in the block's transaction, and what it loads is the
        copy the block's commands then change. None outside any block."""
        enclosing = _enclosing.get()
        if enclosing is not None and enclosing[0] is self:
            return Joined(enclosing[1])
        return None

    @asynccontextmanager
    async def joined(self, uow: UnitOfWork) -> AsyncIterator[None]:
        """Run the block in `uow`, with every command sent inside it, and commit once at its
        end; a failure anywhere rolls all of it back. Inside another block: joins that one."""
        enclosing = _enclosing.get()
        if enclosing is not None and enclosing[0] is self:
            yield
            return
        token = _enclosing.set((self, uow))
        try:
            async with uow:
                yield
                await uow.commit()
        finally:
            _enclosing.reset(token)

    async def _run_command(self, command: Command[Result], queue: deque[Event]) -> Result:
        handler = self._command_handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for command {type(command).__name__}")
        if (joined := self.enclosing()) is not None:
            return cast(Result, await handler(command, joined))
        for attempt in range(1, self._attempts + 1):
            uow = self._uow_factory()
            try:
                # The table's handler for this command's type returns what the command declares.
                return cast(Result, await handler(command, uow))
            except TransientConflict as conflict:
                if attempt == self._attempts:
                    raise Busy(f"{type(command).__name__} kept conflicting; retry later") from (
                        conflict
                    )
                logger.info("retrying %s after %s", type(command).__name__, conflict.detail)
                await asyncio.sleep(self._backoff * 2**attempt * random.uniform(0.5, 1.5))
            finally:
                # Even a failing command may have committed part of its work (a released
                # reservation); those events are facts and must still be published.
                queue.extend(uow.collect_new_events())
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def _publish(self, event: Event, queue: deque[Event]) -> None:
        for handler in self._event_handlers.get(type(event), ()):
            uow = self._uow_factory()
            try:
                await handler(event, uow)
            except Exception:
                logger.exception(
                    "event handler %s failed on %s %s",
                    getattr(handler, "__name__", handler),
                    type(event).__name__,
                    event.event_id,
                )
            finally:
                queue.extend(uow.collect_new_events())


async def retried(
    work: Callable[[], Awaitable[Result]],
    what: str,
    *,
    attempts: int = 5,
    backoff_seconds: float = 0.005,
) -> Result:
    """`work()`, run again after a TransientConflict, as the bus runs a command: for a step
    of a longer use case that writes through its own unit of work (an order's state change in
    the middle of a checkout), which must not send the bus back to the use case's first step.
    `work` must be safe to repeat: a commit whose answer was lost may have gone through."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except TransientConflict as conflict:
            if attempt == attempts:
                raise Busy(f"{what} kept conflicting; retry later") from conflict
            logger.info("retrying %s after %s", what, conflict.detail)
            await asyncio.sleep(backoff_seconds * 2**attempt * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
