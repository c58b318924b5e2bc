"""Money: integer minor units with an ISO 4217 currency code. No float ever enters."""

from __future__ import annotations

import re
from typing import Self

import msgspec

from shopcore.shared.errors import CurrencyMismatch, InvalidInput

_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Basis points: 1 bp = 0.01 %, so a 19 % VAT rate is 1900. Keeps rates integral.
BASIS_POINTS = 10_000


class Money(msgspec.Struct, frozen=True, order=False):
    """An amount in the currency's minor unit (cents for EUR)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass: True cents would be a silent bug.
        if type(self.amount) is not int:
            raise InvalidInput("money amount must be an integer number of minor units")
        if not _CURRENCY.fullmatch(self.currency):
            raise InvalidInput(f"currency must be an ISO 4217 code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise InvalidInput("money can only be multiplied by an integer")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def portion(self, basis_points: int) -> Money:
        """This amount times a rate in basis points, rounded half up to the minor unit."""
        if basis_points < 0:
            raise InvalidInput("a rate cannot be negative")
        numerator = self.amount * basis_points
        quotient, remainder = divmod(numerator, BASIS_POINTS)
        if remainder * 2 >= BASIS_POINTS:
            quotient += 1
        return Money(quotient, self.currency)


def total(amounts: list[Money], currency: str) -> Money:
    """Sum of amounts, all in `currency` (an empty list sums to zero)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
