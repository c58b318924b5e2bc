"""A database effect that shows how often an event was handled: each handling receives one
unit of every SKU the event names, in the handler's own unit of work. An event handled once
leaves on hand at 1; handled twice, at 2."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from shopcore.catalog.events import ProductCreated
from shopcore.inventory.model import DEFAULT_LOCATION, MovementKind, StockMovement
from shopcore.shared.ids import new_id


def product_created(*skus: str) -> ProductCreated:
    return ProductCreated(product_id=new_id(), skus=skus or (f"SKU-{new_id()[-12:]}",))


async def receive_one_each(event: ProductCreated, uow: Any) -> None:
    async with uow:
        for sku in event.skus:
            await uow.stock.receive(
                StockMovement(
                    sku=sku,
                    location=DEFAULT_LOCATION,
                    kind=MovementKind.RECEIVED,
                    delta=1,
                    reason=f"event {event.event_id}",
                    at=datetime.now(UTC),
                )
            )
        await uow.commit()


async def on_hand(uow: Callable[[], Any], skus: Iterable[str]) -> dict[str, int]:
    """On hand per SKU (0 for a SKU never received)."""
    wanted = list(skus)
    async with uow() as reader:
        levels = await reader.stock.levels(wanted, datetime.now(UTC))
    found = {level.sku: level.on_hand for level in levels}
    return {sku: found.get(sku, 0) for sku in wanted}
