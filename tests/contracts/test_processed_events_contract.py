"""Effectively-once event handling on every backend: the processed-event record is written by
the same commit as the handler's effect, so a redelivered event changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shopcore.application.processed import once
from shopcore.catalog.events import ProductCreated
from shopcore.shared.errors import AlreadyExists
from tests.contracts.backends import Backend
from tests.support.effects import on_hand, product_created, receive_one_each


async def test_a_redelivered_event_is_handled_once(backend: Backend) -> None:
    event = product_created()
    handler = once("stock.receive", receive_one_each)

    await handler(event, backend.uow())
    await handler(event, backend.uow())

    assert await on_hand(backend.uow, event.skus) == {event.skus[0]: 1}
    async with backend.uow() as uow:
        assert await uow.processed.contains("stock.receive", event.event_id)


async def test_each_handler_keeps_its_own_record(backend: Backend) -> None:
    event = product_created()

    await once("first.receive", receive_one_each)(event, backend.uow())
    await once("second.receive", receive_one_each)(event, backend.uow())

    assert await on_hand(backend.uow, event.skus) == {event.skus[0]: 2}


async def test_a_failing_handler_leaves_no_record_and_no_effect(backend: Backend) -> None:
    event = product_created()

    async def receive_then_fail(event: ProductCreated, uow: Any) -> None:
        async with uow:
            await receive_one_each(event, uow)  # commits its effect...
        raise RuntimeError("boom")

    async def fail_before_commit(event: ProductCreated, uow: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await once("stock.receive", fail_before_commit)(event, backend.uow())
    async with backend.uow() as uow:
        assert not await uow.processed.contains("stock.receive", event.event_id)

    # ...and a handler that committed its effect before failing committed its record with it.
    with pytest.raises(RuntimeError):
        await once("stock.receive", receive_then_fail)(event, backend.uow())
    await once("stock.receive", receive_one_each)(event, backend.uow())
    assert await on_hand(backend.uow, event.skus) == {event.skus[0]: 1}


async def test_a_handler_without_database_effect_is_recorded_too(backend: Backend) -> None:
    event = product_created()
    calls: list[str] = []

    async def send_email(event: ProductCreated, uow: Any) -> None:
        async with uow:  # looks, decides there is nothing to write, leaves without commit
            calls.append(event.event_id)

    handler = once("mail.send", send_email)
    await handler(event, backend.uow())
    await handler(event, backend.uow())

    assert calls == [event.event_id]


async def test_two_consumers_racing_on_one_event_apply_it_once(backend: Backend) -> None:
    event = product_created()
    both_checked = asyncio.Barrier(2)

    async def receive_after_both_checked(event: ProductCreated, uow: Any) -> None:
        await both_checked.wait()  # both have seen "not processed" before either commits
        await receive_one_each(event, uow)

    handler = once("stock.receive", receive_after_both_checked)
    results = await asyncio.gather(
        handler(event, backend.uow()), handler(event, backend.uow()), return_exceptions=True
    )

    failures = [result for result in results if isinstance(result, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], AlreadyExists), repr(failures[0])
    assert await on_hand(backend.uow, event.skus) == {event.skus[0]: 1}
