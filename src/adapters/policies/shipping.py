"""Flat-rate shipping, free above a threshold."""

from __future__ import annotations

from shopcore.shared.address import Address
from shopcore.shared.money import Money


class FlatRateShipping:
    def __init__(self, rate: Money, free_from: Money | None = None) -> None:
        self._rate = rate
        self._free_from = free_from

    def quote(self, subtotal: Money, address: Address, item_count: int) -> Money:
        if self._free_from is not None and subtotal >= self._free_from:
            return Money.zero(subtotal.currency)
        return self._rate
