"""The events every broker carries: `OrderPlaced` outbox entries, encoded as the outbox stores
them (the tagged event as msgspec JSON, `adapters.db.outbox`), so the payload is the very bytes
shopcore's relay forwards."""

from __future__ import annotations

import msgspec

from adapters.machinery.outbox import OutboxEntry
from shopcore.ordering.events import OrderPlaced
from shopcore.shared.ids import new_id
from shopcore.shared.money import Money

_encoder = msgspec.json.Encoder()


def order_placed(outbox_id: int) -> OutboxEntry:
    """One outbox row holding an `OrderPlaced`, with fresh ids (about 190 bytes of JSON)."""
    event = OrderPlaced(
        order_id=new_id(), customer_id=new_id(), total=Money(amount=12_345, currency="EUR")
    )
    return OutboxEntry(
        id=outbox_id,
        event_id=event.event_id,
        event_type=type(event).__name__,
        payload=_encoder.encode(event),
    )


def outbox(count: int, first_id: int = 1) -> list[OutboxEntry]:
    return [order_placed(first_id + n) for n in range(count)]
