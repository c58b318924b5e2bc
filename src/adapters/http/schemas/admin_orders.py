"""Orders as staff see them: the customer's view plus who ordered, the payment, and refunds."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import Example

from adapters.http.schemas.common import MoneyOut
from adapters.http.schemas.orders import ORDER_EXAMPLE, OrderOut
from shopcore.ordering.model import Order


class RefundOut(msgspec.Struct, frozen=True, kw_only=True):
    amount: MoneyOut
    completed: bool  # false while the gateway is still being asked


class StaffOrderOut(OrderOut, frozen=True, kw_only=True):
    customer_id: str
    payment_id: str | None
    refundable: MoneyOut
    refunds: list[RefundOut]

    @classmethod
    def of_order(cls, order: Order) -> StaffOrderOut:
        # The refund keys stay inside: they embed the staff member's idempotency keys.
        return cls(
            **msgspec.structs.asdict(OrderOut.of(order)),
            customer_id=order.customer_id,
            payment_id=order.payment_id,
            refundable=MoneyOut.of(order.refundable),
            refunds=[
                RefundOut(amount=MoneyOut.of(refund.amount), completed=refund.completed)
                for refund in order.refunds
            ],
        )


class StaffOrderPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[StaffOrderOut]
    next_cursor: str | None


def _staff_example() -> dict[str, Any]:
    base: dict[str, Any] = dict(ORDER_EXAMPLE.value or {})
    return base | {
        "customer_id": "0193a4b1-1111-7e4f-9a2b-3c4d5e6f7a8b",
        "payment_id": "0193a4b3-2222-7e4f-9a2b-3c4d5e6f7a8b",
        "refundable": {"amount": 0, "currency": "EUR"},
        "refunds": [],
    }


STAFF_ORDER_EXAMPLE = Example(summary="A confirmed order", value=_staff_example())
STAFF_ORDER_PAGE_EXAMPLE = Example(
    summary="One page of orders",
    value={"items": [_staff_example()], "next_cursor": "MDE5M2E0YjMtMDAwMC03ZTRm"},
)
