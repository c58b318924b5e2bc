"""Inventory use cases. Each one ends by announcing the new totals of every SKU it touched."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from shopcore.application.bus import CommandTable
from shopcore.inventory.commands import (
    AdjustStock,
    AllocateReservation,
    ExpireReservations,
    ReceiveStock,
    ReleaseReservation,
    ReserveStock,
    ShipReservation,
)
from shopcore.inventory.events import ReservationExpired, StockChanged
from shopcore.inventory.model import (
    MAX_QUANTITY,
    MovementKind,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from shopcore.inventory.ports import InventoryUnitOfWork
from shopcore.shared import validation
from shopcore.shared.clock import Clock
from shopcore.shared.errors import InvalidInput, OutOfStock

MAX_LINES = 100
MAX_TTL_SECONDS = 24 * 3600


async def receive_stock(command: ReceiveStock, uow: InventoryUnitOfWork, clock: Clock) -> None:
    validation.quantity(command.quantity, maximum=MAX_QUANTITY)
    movement = _movement(command, command.quantity, MovementKind.RECEIVED, clock)
    async with uow:
        await uow.stock.receive(movement)
        await _announce(uow, [command.sku], clock, reason=MovementKind.RECEIVED)
        await uow.commit()


async def adjust_stock(command: AdjustStock, uow: InventoryUnitOfWork, clock: Clock) -> None:
    if command.delta == 0 or abs(command.delta) > MAX_QUANTITY:
        raise InvalidInput(f"delta must be non-zero and within ±{MAX_QUANTITY}")
    movement = _movement(command, command.delta, MovementKind.ADJUSTED, clock)
    async with uow:
        await uow.stock.adjust(movement, clock.now())
        await _announce(uow, [command.sku], clock, reason=MovementKind.ADJUSTED)
        await uow.commit()


async def reserve_stock(
    command: ReserveStock, uow: InventoryUnitOfWork, clock: Clock
) -> Reservation:
    wanted = _merge_lines(command.lines)
    if not 1 <= command.ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidInput(f"ttl_seconds must be from 1 to {MAX_TTL_SECONDS}")
    now = clock.now()

    def reservation_of(lines: tuple[ReservationLine, ...]) -> Reservation:
        return Reservation(
            id=command.reservation_id,
            lines=lines,
            status=ReservationStatus.ACTIVE,
            expires_at=now + timedelta(seconds=command.ttl_seconds),
            created_at=now,
        )

    async with uow:
        reservation = await _reserve_where_kept(uow, wanted, reservation_of, now)
        if reservation is None:
            levels = await uow.stock.levels(sorted(wanted), now)
            reservation = reservation_of(_choose_locations(wanted, levels))
            await uow.stock.reserve(reservation, now)
        await _announce(uow, reservation.skus, clock, reason="reserved")
        await uow.commit()
    return reservation


async def _reserve_where_kept(
    uow: InventoryUnitOfWork,
    wanted: dict[str, int],
    reservation_of: Callable[[tuple[ReservationLine, ...]], Reservation],
    now: datetime,
) -> Reservation | None:
    """Reserved at the one location each SKU is kept at, when the ledger knows it for every
    SKU (most SKUs are kept at one, and there is no choosing): no levels are read first, the
    reservation's own take checks every line. None when the ledger does not know, or when a
    line fell short: short, or kept at a location the ledger did not know of yet, which only
    reading the levels tells apart (a refused reservation leaves nothing behind)."""
    sole = uow.stock.sole_locations(sorted(wanted))
    if len(sole) != len(wanted):
        return None
    reservation = reservation_of(
        tuple(
            ReservationLine(sku=sku, location=sole[sku], quantity=quantity)
            for sku, quantity in sorted(wanted.items())
        )
    )
    try:
        await uow.stock.reserve(reservation, now)
    except OutOfStock:
        return None
    return reservation


async def release_reservation(
    command: ReleaseReservation, uow: InventoryUnitOfWork, clock: Clock
) -> Reservation:
    async with uow:
        move = await uow.stock.release(command.reservation_id, clock.now())
        if move.moved:
            await _announce(uow, move.reservation.skus, clock, reason=str(move.reservation.status))
        await uow.commit()
    return move.reservation


async def allocate_reservation(
    command: AllocateReservation, uow: InventoryUnitOfWork, clock: Clock
) -> Reservation:
    async with uow:
        move = await uow.stock.allocate(command.reservation_id, clock.now())
        if move.moved and move.available_changed:
            await _announce(uow, move.reservation.skus, clock, reason="allocated")
        await uow.commit()
    return move.reservation


async def ship_reservation(
    command: ShipReservation, uow: InventoryUnitOfWork, clock: Clock
) -> Reservation:
    async with uow:
        move = await uow.stock.ship(command.reservation_id, clock.now())
        if move.moved:
            await _announce(uow, move.reservation.skus, clock, reason=MovementKind.SHIPPED)
        await uow.commit()
    return move.reservation


async def expire_reservations(
    command: ExpireReservations, uow: InventoryUnitOfWork, clock: Clock
) -> int:
    validation.quantity(command.limit, "limit", maximum=10_000)
    async with uow:
        expired = await uow.stock.expire(clock.now(), command.limit)
        for reservation in expired:
            uow.emit(ReservationExpired(reservation_id=reservation.id))
        skus = sorted({sku for reservation in expired for sku in reservation.skus})
        if skus:
            await _announce(uow, skus, clock, reason="expired")
        await uow.commit()
    return len(expired)


def _movement(
    command: ReceiveStock | AdjustStock, delta: int, kind: MovementKind, clock: Clock
) -> StockMovement:
    return StockMovement(
        sku=validation.sku(command.sku),
        location=validation.slug(command.location, "location"),
        kind=kind,
        delta=delta,
        reason=validation.text(command.reason, "reason", max_length=200),
        at=clock.now(),
    )


def _merge_lines(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        validation.sku(sku)
        validation.quantity(quantity, maximum=MAX_QUANTITY)
        wanted[sku] = wanted.get(sku, 0) + quantity
    if not 1 <= len(wanted) <= MAX_LINES:
        raise InvalidInput(f"a reservation needs 1 to {MAX_LINES} SKUs")
    return wanted


def _choose_locations(
    wanted: dict[str, int], levels: list[StockLevel]
) -> tuple[ReservationLine, ...]:
    """Each SKU from the location with the most available stock (ties: by name), so a line
    is never split. Every SKU short at that location is reported at once, so OutOfStock names
    all of them; the ledger re-checks the rest under its lock."""
    best: dict[str, StockLevel] = {}
    for level in levels:
        current = best.get(level.sku)
        if current is None or level.available > current.available:
            best[level.sku] = level
    short = [
        sku
        for sku, quantity in wanted.items()
        if sku not in best or not best[sku].can_reserve(quantity)
    ]
    if short:
        raise OutOfStock(short)
    return tuple(
        ReservationLine(sku=sku, location=best[sku].location, quantity=quantity)
        for sku, quantity in sorted(wanted.items())
    )


async def _announce(
    uow: InventoryUnitOfWork, skus: Iterable[str], clock: Clock, *, reason: str
) -> None:
    now = clock.now()
    levels = await uow.stock.levels(sorted(set(skus)), now)
    totals: dict[str, list[int]] = {}
    for level in levels:
        total = totals.setdefault(level.sku, [0, 0, 0])
        total[0] += level.on_hand
        total[1] += level.reserved
        total[2] += level.allocated
    for sku, (on_hand, reserved, allocated) in totals.items():
        uow.emit(
            StockChanged(
                sku=sku,
                on_hand=on_hand,
                reserved=reserved,
                allocated=allocated,
                available=on_hand - reserved - allocated,
                reason=str(reason),
                at=now,
            )
        )


COMMAND_HANDLERS: CommandTable = {
    ReceiveStock: receive_stock,
    AdjustStock: adjust_stock,
    ReserveStock: reserve_stock,
    ReleaseReservation: release_reservation,
    AllocateReservation: allocate_reservation,
    ShipReservation: ship_reservation,
    ExpireReservations: expire_reservations,
}
