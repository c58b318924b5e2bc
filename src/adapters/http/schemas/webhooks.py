"""Payment gateway events as they arrive at the webhook, and the answer the gateway gets."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import Example


class GatewayEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event. Unlike the API's own bodies, unknown members are accepted: gateways add
    fields to their events over time, the body is signed by the gateway (not a client), and
    nothing in it is assigned to shop state."""

    id: Annotated[
        str, msgspec.Meta(pattern="^[\\x21-\\x7e]{1,255}$", examples=["evt_1QbC2d3E4f5G6h"])
    ]
    type: Annotated[
        str,
        msgspec.Meta(
            max_length=100, pattern="^[a-z0-9_]+(\\.[a-z0-9_]+)*$", examples=["charge.refunded"]
        ),
    ]
    data: Annotated[dict[str, Any], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=dict
    )


class WebhookReceipt(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    type: str
    # "acknowledged": a type shopcore knows, logged for reconciliation; "ignored": any other.
    outcome: str


EVENT_EXAMPLE = Example(
    summary="A refund went through at the gateway",
    value={
        "id": "evt_1QbC2d3E4f5G6h",
        "type": "charge.refunded",
        "data": {"reference": "ch_3PqR", "amount": {"amount": 1200, "currency": "EUR"}},
    },
)
RECEIPT_EXAMPLE = Example(
    summary="Logged",
    value={"event_id": "evt_1QbC2d3E4f5G6h", "type": "charge.refunded", "outcome": "acknowledged"},
)
