"""Algebraic properties of Money that pricing code relies on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shopcore.shared.money import BASIS_POINTS, Money, total

amounts = st.integers(min_value=-(10**15), max_value=10**15)
non_negative = st.integers(min_value=0, max_value=10**15)
rates = st.integers(min_value=0, max_value=BASIS_POINTS)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@given(amounts, amounts)
def test_addition_is_commutative(a: int, b: int) -> None:
    assert eur(a) + eur(b) == eur(b) + eur(a)


@given(amounts, amounts, amounts)
def test_addition_is_associative(a: int, b: int, c: int) -> None:
    assert (eur(a) + eur(b)) + eur(c) == eur(a) + (eur(b) + eur(c))


@given(amounts, amounts)
def test_subtraction_undoes_addition(a: int, b: int) -> None:
    assert eur(a) + eur(b) - eur(b) == eur(a)


@given(non_negative, rates)
def test_a_portion_of_at_most_the_whole_rate_never_exceeds_the_whole(
    amount: int, rate: int
) -> None:
    part = eur(amount).portion(rate)

    assert eur(0) <= part <= eur(amount)


@given(amounts, st.integers(min_value=0, max_value=10 * BASIS_POINTS))
def test_a_portion_is_the_exact_product_rounded_half_up(amount: int, rate: int) -> None:
    part = eur(amount).portion(rate).amount
    exact_times_two = 2 * amount * rate

    # part is the rounded value: exact - 1/2 <= part < exact + 1/2, ties going up.
    assert 2 * BASIS_POINTS * part - BASIS_POINTS <= exact_times_two
    assert exact_times_two < 2 * BASIS_POINTS * part + BASIS_POINTS


@given(non_negative, rates, rates)
def test_a_larger_rate_never_gives_a_smaller_portion(amount: int, r1: int, r2: int) -> None:
    low, high = sorted((r1, r2))

    assert eur(amount).portion(low) <= eur(amount).portion(high)


@given(st.lists(amounts, max_size=20))
def test_total_equals_the_sum_of_the_amounts(values: list[int]) -> None:
    assert total([eur(value) for value in values], "EUR") == eur(sum(values))


@given(st.lists(amounts, max_size=10), st.permutations(range(10)))
def test_total_does_not_depend_on_order(values: list[int], order: list[int]) -> None:
    shuffled = [values[i] for i in order if i < len(values)]

    assert total([eur(v) for v in shuffled], "EUR") == total([eur(v) for v in values], "EUR")
