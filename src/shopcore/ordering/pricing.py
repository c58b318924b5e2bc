"""Order totals: subtotal - discounts + shipping + tax, in integer minor units throughout."""

from __future__ import annotations

from collections.abc import Sequence

from shopcore.ordering.model import Discount, OrderLine, OrderTotals
from shopcore.ordering.ports import CartContents, PriceQuote
from shopcore.shared.errors import InvalidInput
from shopcore.shared.money import Money, total


def price_lines(contents: CartContents, quotes: dict[str, PriceQuote]) -> tuple[OrderLine, ...]:
    """Lines at today's catalog prices: the cart's snapshot may be stale, the catalog is not."""
    lines = []
    for sku, quantity in contents.lines:
        quote = quotes.get(sku)
        if quote is None or not quote.sellable:
            raise InvalidInput(f"{sku} is no longer for sale; remove it from the cart")
        if quote.price.currency != contents.currency:
            raise InvalidInput(f"{sku} is priced in {quote.price.currency}")
        lines.append(OrderLine(sku=sku, name=quote.name, quantity=quantity, unit_price=quote.price))
    return tuple(lines)


def compute_totals(
    lines: Sequence[OrderLine],
    discounts: Sequence[Discount],
    shipping: Money,
    tax_rate: int,
    currency: str,
) -> OrderTotals:
    subtotal = total([line.line_total for line in lines], currency)
    discount = total([entry.amount for entry in discounts], currency)
    if discount.amount < 0 or discount > subtotal:
        raise InvalidInput("discounts must be between zero and the subtotal")
    if shipping.amount < 0:
        raise InvalidInput("shipping cannot be negative")
    taxable = subtotal - discount + shipping
    tax = taxable.portion(tax_rate)
    return OrderTotals(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=taxable + tax,
    )
