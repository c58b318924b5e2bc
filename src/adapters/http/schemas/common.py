"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from shopcore.shared.money import Money

Amount = Annotated[int, msgspec.Meta(ge=0, le=10**12, description="minor units, e.g. cents")]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", examples=["EUR"])]


class MoneyOut(msgspec.Struct, frozen=True, kw_only=True):
    amount: int = msgspec.field()
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=money.amount, currency=money.currency)


class MoneyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: Amount
    currency: Currency

    def to_money(self) -> Money:
        return Money(self.amount, self.currency)


# Query parameters: Litestar validates these bounds and documents them in OpenAPI.
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="page size")]
Cursor = Annotated[
    str | None, QueryParameter(max_length=200, description="`next_cursor` of the last page")
]
