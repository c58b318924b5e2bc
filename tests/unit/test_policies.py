from __future__ import annotations

import pytest

from adapters.policies.discounts import NoDiscounts
from adapters.policies.shipping import FlatRateShipping
from adapters.policies.tax import EU_STANDARD_RATES, CountryTax
from shopcore import InvalidInput, Money
from shopcore.ordering.model import OrderLine
from shopcore.shared.errors import CurrencyMismatch
from tests.support.driver import ADDRESS


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@pytest.mark.parametrize(("subtotal", "expected"), [(0, 495), (4999, 495), (5000, 0), (9000, 0)])
def test_shipping_is_flat_below_the_threshold_and_free_from_it(
    subtotal: int, expected: int
) -> None:
    shipping = FlatRateShipping(rate=eur(495), free_from=eur(5000))

    assert shipping.quote(eur(subtotal), ADDRESS, item_count=3) == eur(expected)


def test_without_a_threshold_shipping_is_always_charged() -> None:
    shipping = FlatRateShipping(rate=eur(495))

    assert shipping.quote(eur(1_000_000), ADDRESS, item_count=1) == eur(495)


def test_a_subtotal_in_another_currency_than_the_threshold_is_refused() -> None:
    shipping = FlatRateShipping(rate=eur(495), free_from=eur(5000))

    with pytest.raises(CurrencyMismatch):
        shipping.quote(Money(9000, "USD"), ADDRESS, item_count=1)


@pytest.mark.parametrize(("country", "rate"), [("DE", 1900), ("FR", 2000), ("IT", 2200)])
def test_tax_uses_the_rate_of_the_destination_country(country: str, rate: int) -> None:
    assert CountryTax(EU_STANDARD_RATES, default=700).rate(country) == rate


def test_tax_falls_back_to_the_default_rate_elsewhere() -> None:
    assert CountryTax(EU_STANDARD_RATES, default=700).rate("US") == 700
    assert CountryTax(EU_STANDARD_RATES).rate("US") == 0


def test_tax_rates_are_copied_so_later_changes_to_the_mapping_do_not_leak_in() -> None:
    rates = {"DE": 1900}
    tax = CountryTax(rates)

    rates["DE"] = 0

    assert tax.rate("DE") == 1900


@pytest.mark.parametrize(
    ("rates", "default"),
    [({"DE": -1}, 0), ({"DE": 10_001}, 0), ({}, -1), ({}, 10_001)],
)
def test_tax_rates_outside_zero_to_ten_thousand_basis_points_are_refused(
    rates: dict[str, int], default: int
) -> None:
    with pytest.raises(InvalidInput, match="0 to 10000"):
        CountryTax(rates, default=default)


def test_the_bounds_of_a_tax_rate_are_allowed() -> None:
    tax = CountryTax({"AA": 0, "BB": 10_000}, default=10_000)

    assert (tax.rate("AA"), tax.rate("BB"), tax.rate("CC")) == (0, 10_000, 10_000)


async def test_the_shop_grants_no_discounts() -> None:
    line = OrderLine(sku="TEE-M", name="Tee", quantity=2, unit_price=eur(2500))

    assert await NoDiscounts().discounts("customer-1", [line], eur(5000)) == ()
