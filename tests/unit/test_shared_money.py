from __future__ import annotations

import msgspec
import pytest

from shopcore.shared.errors import CurrencyMismatch, InvalidInput
from shopcore.shared.money import BASIS_POINTS, Money, total


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def test_money_holds_integer_minor_units_and_a_currency() -> None:
    price = Money(1999, "EUR")

    assert (price.amount, price.currency) == (1999, "EUR")
    assert price == eur(1999)
    assert price != Money(1999, "USD")
    assert hash(price) == hash(eur(1999))


@pytest.mark.parametrize("amount", [19.99, 1.0, True, "100", None])
def test_money_rejects_non_integer_amounts(amount: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        Money(amount, "EUR")  # type: ignore[arg-type]

    assert raised.value.code == "invalid-input"


@pytest.mark.parametrize("currency", ["eur", "EU", "EURO", "", "E1R", "EUR\n", " EUR"])
def test_money_rejects_currencies_that_are_not_iso_4217_codes(currency: str) -> None:
    with pytest.raises(InvalidInput, match="ISO 4217"):
        Money(100, currency)


def test_money_may_be_negative_as_the_result_of_a_subtraction() -> None:
    assert eur(100) - eur(250) == eur(-150)


def test_zero_is_zero_in_the_given_currency() -> None:
    zero = Money.zero("USD")

    assert zero == Money(0, "USD")
    assert zero.is_zero
    assert not eur(1).is_zero


def test_adding_and_subtracting_keep_the_currency() -> None:
    assert eur(1050) + eur(250) == eur(1300)
    assert eur(1050) - eur(250) == eur(800)


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_combining_two_currencies_raises_currency_mismatch(combine: object) -> None:
    with pytest.raises(CurrencyMismatch) as raised:
        combine(eur(100), Money(100, "USD"))  # type: ignore[operator]

    assert raised.value.code == "currency-mismatch"
    assert isinstance(raised.value, InvalidInput)
    assert "EUR" in raised.value.detail and "USD" in raised.value.detail


def test_multiplying_by_a_whole_number_scales_the_amount() -> None:
    assert eur(1299) * 3 == eur(3897)
    assert eur(1299) * 0 == eur(0)


@pytest.mark.parametrize("factor", [1.5, 2.0, True])
def test_multiplying_by_anything_but_an_int_is_refused(factor: object) -> None:
    with pytest.raises(InvalidInput, match="integer"):
        eur(100) * factor  # type: ignore[operator]


def test_comparisons_order_by_amount_within_a_currency() -> None:
    assert eur(100) < eur(101)
    assert eur(100) <= eur(100)
    assert eur(101) > eur(100)
    assert eur(100) >= eur(100)
    assert not eur(100) < eur(100)
    assert not eur(100) > eur(100)


@pytest.mark.parametrize(
    ("amount", "basis_points", "expected"),
    [
        (10_000, 1900, 1900),  # 19 % of 100.00
        (1000, 0, 0),
        (1234, BASIS_POINTS, 1234),
        (1, 5000, 1),  # 0.5 rounds up
        (3, 5000, 2),  # 1.5 rounds up
        (1, 4999, 0),  # 0.4999 rounds down
        (999, 1900, 190),  # 189.81 rounds up
        (1005, 1000, 101),  # 100.5 rounds up
        (1004, 1000, 100),  # 100.4 rounds down
        (100, 25_000, 250),  # rates above 100 % are allowed
        (-3, 5000, -1),  # -1.5 rounds half up, towards +infinity
    ],
)
def test_portion_applies_basis_points_rounding_half_up(
    amount: int, basis_points: int, expected: int
) -> None:
    assert eur(amount).portion(basis_points) == eur(expected)


def test_portion_refuses_a_negative_rate() -> None:
    with pytest.raises(InvalidInput, match="negative"):
        eur(100).portion(-1)


def test_total_sums_amounts_in_one_currency() -> None:
    assert total([eur(100), eur(250), eur(-50)], "EUR") == eur(300)


def test_total_of_nothing_is_zero_in_the_requested_currency() -> None:
    assert total([], "GBP") == Money(0, "GBP")


def test_total_refuses_an_amount_in_another_currency() -> None:
    with pytest.raises(CurrencyMismatch):
        total([eur(100), Money(100, "USD")], "EUR")


def test_money_round_trips_through_json_and_is_validated_on_decode() -> None:
    encoded = msgspec.json.encode(eur(4200))

    assert msgspec.json.decode(encoded, type=Money) == eur(4200)
    with pytest.raises(InvalidInput):
        msgspec.json.decode(b'{"amount": 1, "currency": "eur"}', type=Money)
