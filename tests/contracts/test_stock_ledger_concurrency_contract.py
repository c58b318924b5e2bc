"""What every StockLedger must do under concurrent units of work: however many reserve and
write off at once, in whatever order they take their rows, they all finish, and together
they take exactly the stock there is, so that

    available = on_hand - reserved - allocated >= 0

holds at the end (see shopcore.inventory.model and .ports)."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime

from adapters.memory.clock import ManualClock
from shopcore.inventory.model import MovementKind, Reservation, StockMovement
from shopcore.shared.errors import InsufficientStock, OutOfStock, TransientConflict
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.ledger_steps import adjustment, level, levels, receive, stored, trail

# Generous: a deadlock shows up as this timeout rather than a hung run.
DEADLOCK_TIMEOUT = 30


# -- concurrency -----------------------------------------------------------------------------
ATTEMPTS = 10


async def try_to_reserve(
    backend: Backend, reservation: Reservation, now: datetime
) -> OutOfStock | None:
    """One unit per attempt; a TransientConflict is retried as the message bus retries it."""
    for attempt in range(ATTEMPTS):
        try:
            async with backend.uow() as uow:
                await uow.stock.reserve(reservation, now)
                await asyncio.sleep(0)  # let the rivals run while this unit is still open
                await uow.commit()
        except TransientConflict:
            await asyncio.sleep(0.001 * 2**attempt * random.random())
            continue
        except OutOfStock as short:
            return short
        return None
    raise AssertionError(f"reservation {reservation.id} kept hitting transient conflicts")


async def test_concurrent_reservations_of_one_sku_take_exactly_the_stock(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 7, now)
    wanted = [b.reservation([("TEE-M", 1)], now=now) for _ in range(20)]

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(try_to_reserve(backend, r, now) for r in wanted)), DEADLOCK_TIMEOUT
    )

    won = [r for r, outcome in zip(wanted, outcomes, strict=True) if outcome is None]
    lost = [outcome for outcome in outcomes if outcome is not None]
    assert len(won) == 7
    assert len(lost) == 13
    assert all(short.skus == ("TEE-M",) for short in lost)
    assert await level(backend, "TEE-M", now) == (7, 7, 0, 0)
    for reservation, outcome in zip(wanted, outcomes, strict=True):
        assert (await stored(backend, reservation.id) is None) == (outcome is not None)


async def test_concurrent_reservations_of_different_sizes_never_oversell(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 10, now)
    sizes = [3, 4, 2, 5, 1, 3, 2, 4, 1, 2]
    wanted = [b.reservation([("TEE-M", size)], now=now) for size in sizes]

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(try_to_reserve(backend, r, now) for r in wanted)), DEADLOCK_TIMEOUT
    )

    taken = sum(size for size, outcome in zip(sizes, outcomes, strict=True) if outcome is None)
    on_hand, reserved, allocated, available = await level(backend, "TEE-M", now)
    assert (on_hand, reserved, allocated) == (10, taken, 0)
    assert available >= 0
    # A refused request did not fit when it ran, and availability only fell after that.
    assert all(size > available for size, outcome in zip(sizes, outcomes, strict=True) if outcome)


async def test_concurrent_multi_line_reservations_in_any_order_finish_without_overselling(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    skus = ["A-1", "B-1", "C-1", "D-1"]
    for sku in skus:
        await receive(backend, sku, 10, now)
    rng = random.Random(20260314)
    wanted = []
    for _ in range(30):
        chosen = rng.sample(skus, rng.randint(2, 4))  # random SKUs in a random order
        wanted.append(b.reservation([(sku, rng.randint(1, 3)) for sku in chosen], now=now))

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(try_to_reserve(backend, r, now) for r in wanted)), DEADLOCK_TIMEOUT
    )

    final = {lv.sku: lv for lv in await levels(backend, skus, now)}
    for sku in skus:
        held = sum(
            line.quantity
            for reservation, outcome in zip(wanted, outcomes, strict=True)
            if outcome is None
            for line in reservation.lines
            if line.sku == sku
        )
        assert final[sku].reserved == held
        assert final[sku].available >= 0
    for reservation, outcome in zip(wanted, outcomes, strict=True):
        assert (await stored(backend, reservation.id) is None) == (outcome is not None)
        if outcome is not None:
            requested = {line.sku: line.quantity for line in reservation.lines}
            assert outcome.skus
            assert set(outcome.skus) <= set(requested)
            assert all(requested[sku] > final[sku].available for sku in outcome.skus)
    assert any(outcome is None for outcome in outcomes)
    assert any(outcome is not None for outcome in outcomes)


async def try_to_adjust(backend: Backend, movement: StockMovement, now: datetime) -> bool:
    for attempt in range(ATTEMPTS):
        try:
            async with backend.uow() as uow:
                await uow.stock.adjust(movement, now)
                await asyncio.sleep(0)
                await uow.commit()
        except TransientConflict:
            await asyncio.sleep(0.001 * 2**attempt * random.random())
            continue
        except InsufficientStock:
            return False
        return True
    raise AssertionError("adjustment kept hitting transient conflicts")


async def test_concurrent_write_offs_and_reservations_never_oversell(
    backend: Backend, clock: ManualClock
) -> None:
    now = clock.now()
    await receive(backend, "TEE-M", 20, now)
    wanted = [b.reservation([("TEE-M", 2)], now=now) for _ in range(10)]
    write_offs = [adjustment("TEE-M", -2, now) for _ in range(10)]
    jobs = [try_to_reserve(backend, r, now) for r in wanted]
    jobs += [try_to_adjust(backend, m, now) for m in write_offs]
    random.Random(7).shuffle(jobs)

    await asyncio.wait_for(asyncio.gather(*jobs), DEADLOCK_TIMEOUT)

    reserved_ok = [r for r in wanted if await stored(backend, r.id) is not None]
    adjustments = [m for m in await trail(backend, "TEE-M") if m.kind is MovementKind.ADJUSTED]
    on_hand, reserved, allocated, available = await level(backend, "TEE-M", now)
    assert reserved == 2 * len(reserved_ok)
    assert on_hand == 20 - 2 * len(adjustments)
    assert allocated == 0
    assert available >= 0
    assert len(reserved_ok) + len(adjustments) == 10  # all 20 units went, none twice
