"""The discount policy of a shop without promotions: none."""

from __future__ import annotations

from collections.abc import Sequence

from shopcore.ordering.model import Discount, OrderLine
from shopcore.shared.money import Money


class NoDiscounts:
    async def discounts(
        self, customer_id: str, lines: Sequence[OrderLine], subtotal: Money
    ) -> tuple[Discount, ...]:
        return ()
