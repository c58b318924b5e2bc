from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from apps.settings import Settings
from shopcore import (
    Address,
    ArchiveProduct,
    InvalidInput,
    Money,
    PlaceOrder,
    UpdateProduct,
    Variant,
)
from shopcore.cart.model import CartAccess, CartStatus
from shopcore.cart.queries import get_cart
from shopcore.ordering.model import Discount, Order, OrderLine, OrderTotals
from shopcore.ordering.ports import CartContents, PriceQuote
from shopcore.ordering.pricing import compute_totals, price_lines
from tests.support.driver import ADDRESS, ShopDriver, build_driver, eur


def line(unit_price: int, quantity: int = 1, sku: str = "TEE-M") -> OrderLine:
    return OrderLine(sku=sku, name="Tee", quantity=quantity, unit_price=eur(unit_price))


def shipped_to(country: str) -> Address:
    return Address(
        name="A Buyer", line1="1 Road", city="Somewhere", postal_code="12345", country=country
    )


async def checkout_to(driver: ShopDriver, lines: dict[str, int], address: Address) -> Order:
    customer = await driver.customer()
    cart = await driver.cart(customer, lines)
    order: Order = await driver.handle(
        PlaceOrder(
            customer_id=customer.id,
            cart_id=cart.id,
            shipping_address=address,
            payment_token="tok_visa",
        )
    )
    return order


class FixedDiscount:
    def __init__(self, amount: int, code: str = "WELCOME") -> None:
        self.discount = Discount(code=code, amount=eur(amount))
        self.asked: list[tuple[str, int]] = []

    async def discounts(
        self, customer_id: str, lines: Sequence[OrderLine], subtotal: Money
    ) -> tuple[Discount, ...]:
        self.asked.append((customer_id, subtotal.amount))
        return (self.discount,)


# -- through checkout, with the default settings: 4.95 shipping, free from 50.00 ----------


async def test_below_the_threshold_shipping_is_charged_and_taxed(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=1000)
    await driver.receive("TEE-M", 5)

    order = await checkout_to(driver, {"TEE-M": 2}, ADDRESS)

    # DE: 19 % of (20.00 + 4.95) = 4.7405, rounded to 4.74.
    assert order.totals == OrderTotals(
        subtotal=eur(2000), discount=eur(0), shipping=eur(495), tax=eur(474), total=eur(2969)
    )
    assert order.total == eur(2969)


async def test_shipping_is_free_from_the_threshold_on(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=2500)
    await driver.product("CAP-1", price=4999)
    await driver.receive("TEE-M", 5)
    await driver.receive("CAP-1", 5)

    at_threshold = await checkout_to(driver, {"TEE-M": 2}, shipped_to("US"))
    just_below = await checkout_to(driver, {"CAP-1": 1}, shipped_to("US"))

    assert at_threshold.totals.shipping == eur(0)
    assert at_threshold.total == eur(5000)
    assert just_below.totals.shipping == eur(495)
    assert just_below.total == eur(4999 + 495)


@pytest.mark.parametrize(
    ("country", "tax", "why"),
    [
        ("DE", 474, "19 % of 24.95 is 4.7405"),
        ("FR", 499, "20 % of 24.95 is 4.99"),
        ("NL", 524, "21 % of 24.95 is 5.2395"),
        ("US", 0, "no configured rate: the default, 0"),
    ],
)
async def test_tax_follows_the_destination_country(
    driver: ShopDriver, country: str, tax: int, why: str
) -> None:
    await driver.product("TEE-M", price=1000)
    await driver.receive("TEE-M", 5)

    order = await checkout_to(driver, {"TEE-M": 2}, shipped_to(country))

    assert order.totals.tax == eur(tax), why
    assert order.total == eur(2495 + tax)


async def test_settings_set_the_shipping_rate_threshold_and_default_tax() -> None:
    driver = build_driver(
        Settings(shipping_rate=700, free_shipping_from=None, default_tax_rate=1000)
    )
    await driver.product("TEE-M", price=9000)
    await driver.receive("TEE-M", 5)

    order = await checkout_to(driver, {"TEE-M": 1}, shipped_to("US"))

    # No threshold: 90.00 still pays 7.00 shipping; 10 % of 97.00 is 9.70.
    assert (order.totals.shipping, order.totals.tax, order.total) == (
        eur(700),
        eur(970),
        eur(10670),
    )


async def test_the_shop_has_no_discounts_by_default(driver: ShopDriver) -> None:
    await driver.product("TEE-M", price=1000)
    await driver.receive("TEE-M", 5)

    order = await driver.buy({"TEE-M": 1})

    assert order.discounts == ()
    assert order.totals.discount == eur(0)


async def test_a_discount_lowers_the_taxable_amount() -> None:
    policy = FixedDiscount(500)
    driver = build_driver(discounts=policy)
    await driver.product("TEE-M", price=1000)
    await driver.receive("TEE-M", 5)

    order = await checkout_to(driver, {"TEE-M": 2}, ADDRESS)

    # 19 % of (20.00 - 5.00 + 4.95) = 3.7905 -> 3.79
    assert order.discounts == (policy.discount,)
    assert order.totals == OrderTotals(
        subtotal=eur(2000), discount=eur(500), shipping=eur(495), tax=eur(379), total=eur(2374)
    )
    assert policy.asked == [(order.customer_id, 2000)]


async def test_a_discount_above_the_subtotal_fails_before_stock_or_money() -> None:
    driver = build_driver(discounts=FixedDiscount(2001))
    await driver.product("TEE-M", price=1000)
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 2})

    with pytest.raises(InvalidInput) as caught:
        await driver.checkout(customer, cart)

    assert caught.value.code == "invalid-input"
    assert await driver.available("TEE-M") == 5
    assert driver.gateway.calls == 0
    reopened = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert reopened.status is CartStatus.OPEN


async def test_the_order_uses_todays_catalog_price_not_the_carts(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M", price=1000)
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(
        UpdateProduct(product_id=product.id, variants=(Variant(sku="TEE-M", price=eur(1200)),))
    )

    order = await driver.checkout(customer, cart)

    assert order.lines[0].unit_price == eur(1200)
    assert order.totals.subtotal == eur(1200)


async def test_a_product_archived_after_carting_cannot_be_ordered(driver: ShopDriver) -> None:
    product = await driver.product("TEE-M")
    await driver.receive("TEE-M", 5)
    customer = await driver.customer()
    cart = await driver.cart(customer, {"TEE-M": 1})
    await driver.handle(ArchiveProduct(product_id=product.id))

    with pytest.raises(InvalidInput, match="TEE-M is no longer for sale"):
        await driver.checkout(customer, cart)

    assert await driver.available("TEE-M") == 5
    assert driver.gateway.calls == 0
    reopened = await get_cart(driver.shop.uow(), cart.id, CartAccess(customer_id=customer.id))
    assert reopened.status is CartStatus.OPEN


# -- pricing on its own -------------------------------------------------------------------


def test_totals_add_shipping_and_tax_to_the_discounted_subtotal() -> None:
    totals = compute_totals(
        [line(1000, 2), line(250, 3, sku="CAP-1")],
        [Discount(code="A", amount=eur(100)), Discount(code="B", amount=eur(50))],
        eur(495),
        2000,
        "EUR",
    )

    # subtotal 20.00 + 7.50 = 27.50; taxable 27.50 - 1.50 + 4.95 = 30.95; 20 % = 6.19
    assert totals == OrderTotals(
        subtotal=eur(2750), discount=eur(150), shipping=eur(495), tax=eur(619), total=eur(3714)
    )


def test_tax_rounds_half_a_cent_up() -> None:
    # 19 % of 20.50 is exactly 3.895.
    totals = compute_totals([line(1555)], [], eur(495), 1900, "EUR")

    assert totals.tax == eur(390)
    assert totals.total == eur(2440)


def test_a_discount_may_take_the_whole_subtotal_but_not_more() -> None:
    whole = compute_totals([line(1000)], [Discount(code="ALL", amount=eur(1000))], eur(0), 0, "EUR")

    assert whole.total == eur(0)
    with pytest.raises(InvalidInput, match="between zero and the subtotal"):
        compute_totals([line(1000)], [Discount(code="X", amount=eur(1001))], eur(0), 0, "EUR")


def test_a_negative_discount_is_refused() -> None:
    with pytest.raises(InvalidInput, match="between zero and the subtotal"):
        compute_totals([line(1000)], [Discount(code="X", amount=eur(-1))], eur(0), 0, "EUR")


def test_negative_shipping_is_refused() -> None:
    with pytest.raises(InvalidInput, match="shipping cannot be negative"):
        compute_totals([line(1000)], [], eur(-1), 0, "EUR")


def quote(sku: str, price: Money, sellable: bool = True) -> PriceQuote:
    return PriceQuote(sku=sku, name=f"Name of {sku}", price=price, sellable=sellable)


def test_lines_take_name_and_price_from_the_quotes() -> None:
    contents = CartContents(currency="EUR", lines=(("TEE-M", 2), ("CAP-1", 1)))

    lines = price_lines(
        contents, {"TEE-M": quote("TEE-M", eur(1000)), "CAP-1": quote("CAP-1", eur(300))}
    )

    assert lines == (
        OrderLine(sku="TEE-M", name="Name of TEE-M", quantity=2, unit_price=eur(1000)),
        OrderLine(sku="CAP-1", name="Name of CAP-1", quantity=1, unit_price=eur(300)),
    )
    assert [entry.line_total for entry in lines] == [eur(2000), eur(300)]


@pytest.mark.parametrize(
    ("quotes", "message"),
    [
        ({}, "TEE-M is no longer for sale"),
        ({"TEE-M": quote("TEE-M", eur(1000), sellable=False)}, "TEE-M is no longer for sale"),
        ({"TEE-M": quote("TEE-M", Money(1000, "USD"))}, "TEE-M is priced in USD"),
    ],
    ids=["unknown", "unsellable", "other-currency"],
)
def test_a_line_without_a_current_price_in_the_cart_currency_is_refused(
    quotes: dict[str, PriceQuote], message: str
) -> None:
    contents = CartContents(currency="EUR", lines=(("TEE-M", 1),))

    with pytest.raises(InvalidInput, match=message):
        price_lines(contents, quotes)


def test_an_order_needs_a_line() -> None:
    totals = compute_totals([], [], eur(0), 0, "EUR")

    with pytest.raises(InvalidInput, match="at least one line"):
        Order.place(
            id="o",
            customer_id="c",
            cart_id="cart",
            lines=(),
            discounts=(),
            totals=totals,
            shipping_address=ADDRESS,
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
