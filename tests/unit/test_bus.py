"""The message bus over the in-memory unit of work: dispatch, publication after commit,
isolation of failing subscribers, cascades, and retries of transient conflicts."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from shopcore.application.bus import MessageBus
from shopcore.application.injection import inject
from shopcore.bootstrap import COMMAND_HANDLERS, EVENT_HANDLERS
from shopcore.shared.errors import Busy, ConcurrencyConflict, TransientConflict
from shopcore.shared.messages import Command, Event
from tests.support.driver import ShopDriver


class Ping(Command[str], frozen=True, kw_only=True):
    text: str


class Unrouted(Command[None], frozen=True, kw_only=True):
    pass


class Pinged(Event, frozen=True, kw_only=True):
    text: str


class Echoed(Event, frozen=True, kw_only=True):
    text: str


class Recorder:
    """Subscribers that write down what they saw, in order."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.seen: list[str] = []

    async def on_pinged(self, event: Pinged, uow: MemoryUnitOfWork) -> None:
        self.seen.append(f"pinged:{event.text}:committed={event in self.store.outbox}")

    async def echo(self, event: Pinged, uow: MemoryUnitOfWork) -> None:
        async with uow:
            uow.emit(Echoed(text=event.text))
            await uow.commit()
        self.seen.append(f"echo:{event.text}")

    async def on_echoed(self, event: Echoed, uow: MemoryUnitOfWork) -> None:
        self.seen.append(f"echoed:{event.text}")

    async def explode(self, event: Pinged, uow: MemoryUnitOfWork) -> None:
        self.seen.append("explode")
        raise RuntimeError("subscriber bug")


def bus_over(store: MemoryStore, **options: Any) -> MessageBus:
    return MessageBus(lambda: MemoryUnitOfWork(store), {}, {}, backoff_seconds=0, **options)


async def ping(command: Ping, uow: MemoryUnitOfWork) -> str:
    async with uow:
        uow.emit(Pinged(text=command.text))
        await uow.commit()
    return command.text.upper()


# -- commands -----------------------------------------------------------------------------


async def test_a_command_returns_its_handlers_result() -> None:
    bus = bus_over(MemoryStore())
    bus.register(Ping, ping)

    assert await bus.handle(Ping(text="hello")) == "HELLO"


async def test_each_command_gets_a_fresh_unit_of_work() -> None:
    bus = bus_over(MemoryStore())
    units: list[MemoryUnitOfWork] = []

    async def remember(command: Ping, uow: MemoryUnitOfWork) -> None:
        units.append(uow)

    bus.register(Ping, remember)
    await bus.handle(Ping(text="a"))
    await bus.handle(Ping(text="b"))

    assert len({id(uow) for uow in units}) == 2


async def test_a_command_without_a_handler_is_a_lookup_error() -> None:
    bus = bus_over(MemoryStore())

    with pytest.raises(LookupError, match="no handler for command Unrouted"):
        await bus.handle(Unrouted())


async def test_a_command_has_exactly_one_handler() -> None:
    bus = bus_over(MemoryStore())
    bus.register(Ping, ping)

    with pytest.raises(ValueError, match="Ping already has a handler"):
        bus.register(Ping, ping)


async def test_the_bus_knows_what_it_handles() -> None:
    store = MemoryStore()
    bus = bus_over(store)
    bus.register(Ping, ping)
    bus.subscribe(Pinged, Recorder(store).on_pinged)

    assert (bus.handles(Ping), bus.handles(Pinged)) == (True, True)
    assert (bus.handles(Unrouted), bus.handles(Echoed)) == (False, False)


def test_the_shop_routes_every_command_and_event_of_every_context(driver: ShopDriver) -> None:
    assert all(driver.shop.bus.handles(kind) for kind in COMMAND_HANDLERS)
    assert all(driver.shop.bus.handles(kind) for kind in EVENT_HANDLERS)


# -- events -------------------------------------------------------------------------------


async def test_events_are_handled_after_the_command_committed_them() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)
    bus.register(Ping, ping)
    bus.subscribe(Pinged, recorder.on_pinged)

    await bus.handle(Ping(text="a"))

    assert recorder.seen == ["pinged:a:committed=True"]


async def test_uncommitted_events_are_never_published() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)

    async def changes_its_mind(command: Ping, uow: MemoryUnitOfWork) -> None:
        async with uow:
            uow.emit(Pinged(text=command.text))
            await uow.rollback()

    bus.register(Ping, changes_its_mind)
    bus.subscribe(Pinged, recorder.on_pinged)

    await bus.handle(Ping(text="a"))

    assert recorder.seen == []
    assert store.outbox == []


async def test_a_failing_command_still_publishes_what_it_committed() -> None:
    """A checkout that fails after releasing stock has still released it: that is a fact."""
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)

    async def commits_then_fails(command: Ping, uow: MemoryUnitOfWork) -> None:
        await ping(command, uow)
        raise ValueError("later step failed")

    bus.register(Ping, commits_then_fails)
    bus.subscribe(Pinged, recorder.on_pinged)

    with pytest.raises(ValueError, match="later step failed"):
        await bus.handle(Ping(text="a"))

    assert recorder.seen == ["pinged:a:committed=True"]


async def test_an_event_sent_on_its_own_reaches_every_subscriber() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)
    bus.subscribe(Pinged, recorder.on_pinged)
    bus.subscribe(Pinged, recorder.echo)

    result = await bus.handle(Pinged(text="a"))

    assert result is None
    assert recorder.seen == ["pinged:a:committed=False", "echo:a"]


async def test_an_event_nobody_subscribed_to_is_fine() -> None:
    bus = bus_over(MemoryStore())

    assert await bus.handle(Echoed(text="a")) is None


async def test_a_failing_subscriber_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)
    bus.register(Ping, ping)
    bus.subscribe(Pinged, recorder.explode)
    bus.subscribe(Pinged, recorder.on_pinged)

    with caplog.at_level(logging.ERROR, logger="shopcore.bus"):
        result = await bus.handle(Ping(text="a"))

    assert result == "A"
    assert recorder.seen == ["explode", "pinged:a:committed=True"]
    (record,) = [r for r in caplog.records if r.name == "shopcore.bus"]
    (event,) = [e for e in store.outbox if isinstance(e, Pinged)]
    assert record.getMessage() == f"event handler explode failed on Pinged {event.event_id}"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


async def test_events_raised_by_subscribers_cascade() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)
    bus.register(Ping, ping)
    bus.subscribe(Pinged, recorder.echo)
    bus.subscribe(Pinged, recorder.on_pinged)
    bus.subscribe(Echoed, recorder.on_echoed)

    await bus.handle(Ping(text="a"))

    # Breadth first: every subscriber of Pinged, then what they raised.
    assert recorder.seen == ["echo:a", "pinged:a:committed=True", "echoed:a"]
    assert [type(e).__name__ for e in store.outbox] == ["Pinged", "Echoed"]


async def test_a_failing_subscriber_still_publishes_what_it_committed() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    bus = bus_over(store)

    async def echo_then_fail(event: Pinged, uow: MemoryUnitOfWork) -> None:
        await recorder.echo(event, uow)
        raise RuntimeError("after the echo")

    bus.subscribe(Pinged, echo_then_fail)
    bus.subscribe(Echoed, recorder.on_echoed)

    await bus.handle(Pinged(text="a"))

    assert recorder.seen == ["echo:a", "echoed:a"]


# -- transient conflicts ------------------------------------------------------------------


def flaky(failures: int, error: Exception, units: list[MemoryUnitOfWork]) -> Any:
    async def handler(command: Ping, uow: MemoryUnitOfWork) -> str:
        units.append(uow)
        if len(units) <= failures:
            raise error
        return "done"

    return handler


async def test_a_transient_conflict_is_retried_with_a_fresh_unit_of_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = bus_over(MemoryStore(), attempts=5)
    units: list[MemoryUnitOfWork] = []
    bus.register(Ping, flaky(2, TransientConflict("deadlock detected"), units))

    with caplog.at_level(logging.INFO, logger="shopcore.bus"):
        result = await bus.handle(Ping(text="a"))

    assert result == "done"
    assert len({id(uow) for uow in units}) == 3
    assert [r.getMessage() for r in caplog.records if r.name == "shopcore.bus"] == [
        "retrying Ping after deadlock detected"
    ] * 2


async def test_a_command_that_keeps_conflicting_fails_as_busy() -> None:
    bus = bus_over(MemoryStore(), attempts=3)
    units: list[MemoryUnitOfWork] = []
    conflict = TransientConflict("serialization failure")
    bus.register(Ping, flaky(10, conflict, units))

    with pytest.raises(Busy) as caught:
        await bus.handle(Ping(text="a"))

    assert caught.value.code == "busy"
    assert caught.value.__cause__ is conflict
    assert len(units) == 3


async def test_an_ordinary_concurrency_conflict_is_not_retried() -> None:
    bus = bus_over(MemoryStore(), attempts=3)
    units: list[MemoryUnitOfWork] = []
    bus.register(Ping, flaky(1, ConcurrencyConflict("order changed"), units))

    with pytest.raises(ConcurrencyConflict):
        await bus.handle(Ping(text="a"))

    assert len(units) == 1


async def test_only_the_innermost_command_retries() -> None:
    bus = bus_over(MemoryStore(), attempts=3)
    inner: list[MemoryUnitOfWork] = []
    outer: list[str] = []

    class Outer(Command[None], frozen=True, kw_only=True):
        pass

    async def outer_handler(command: Outer, uow: MemoryUnitOfWork) -> None:
        outer.append("run")
        await bus.handle(Ping(text="inner"))

    bus.register(Ping, flaky(10, TransientConflict("deadlock"), inner))
    bus.register(Outer, outer_handler)

    with pytest.raises(Busy):
        await bus.handle(Outer())

    assert (len(inner), len(outer)) == (3, 1)


# -- injection ----------------------------------------------------------------------------


async def test_inject_binds_dependencies_by_parameter_name() -> None:
    async def handler(message: str, uow: str, clock: str, gateway: str) -> tuple[str, ...]:
        return message, uow, clock, gateway

    bound = inject(handler, {"gateway": "the gateway", "clock": "the clock", "unused": "x"})

    assert await bound("msg", "uow") == ("msg", "uow", "the clock", "the gateway")
    assert bound.__name__ == "handler"


def test_inject_names_what_bootstrap_lacks() -> None:
    async def needy(message: str, uow: str, clock: str, mailer: str, printer: str) -> None:
        return None

    with pytest.raises(LookupError, match="needy needs mailer, printer, which bootstrap lacks"):
        inject(needy, {"clock": "the clock"})
