from __future__ import annotations

import pytest

from shopcore.shared import validation
from shopcore.shared.errors import InvalidInput


def test_text_is_trimmed_and_nfc_normalised() -> None:
    decomposed = "Cafe\u0301"

    assert validation.text(f"  {decomposed}\n", "name", max_length=10) == "Caf\u00e9"


def test_text_keeps_inner_newlines_and_tabs() -> None:
    assert validation.text("line one\n\tline two", "description", max_length=50) == (
        "line one\n\tline two"
    )


@pytest.mark.parametrize("value", ["bad\x00byte", "bell\x07", "esc\x1b[0m", "lone \ud800"])
def test_text_with_control_or_surrogate_characters_is_rejected(value: str) -> None:
    with pytest.raises(InvalidInput, match="name contains control characters"):
        validation.text(value, "name", max_length=50)


def test_text_length_is_checked_after_trimming() -> None:
    assert validation.text("  abc  ", "name", min_length=3, max_length=3) == "abc"
    with pytest.raises(InvalidInput, match="name must be 1 to 3 characters long"):
        validation.text("abcd", "name", max_length=3)
    with pytest.raises(InvalidInput, match="name must be 1 to 3 characters long"):
        validation.text("   ", "name", max_length=3)


def test_text_may_be_empty_when_the_minimum_is_zero() -> None:
    assert validation.text(" ", "line2", min_length=0, max_length=3) == ""


@pytest.mark.parametrize("value", ["shirts", "blue-shirt", "tee-2026", "a", "a" * 100])
def test_valid_slugs_pass_unchanged(value: str) -> None:
    assert validation.slug(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Blue-Shirt",
        "blue_shirt",
        "-blue",
        "blue-",
        "blue--shirt",
        "blue shirt",
        "a" * 101,
        "shirts\n",
    ],
)
def test_invalid_slugs_are_rejected_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidInput, match="category must be lowercase words"):
        validation.slug(value, "category")


@pytest.mark.parametrize("value", ["TEE-M", "tee.m_2", "9", "A" * 64])
def test_valid_skus_pass_unchanged(value: str) -> None:
    assert validation.sku(value) == value


@pytest.mark.parametrize("value", ["", "-TEE", ".TEE", "TEE M", "TEE/M", "A" * 65, "TEE-M\n"])
def test_invalid_skus_are_rejected(value: str) -> None:
    with pytest.raises(InvalidInput, match="invalid SKU"):
        validation.sku(value)


@pytest.mark.parametrize("value", [1, 5, 10])
def test_quantities_within_bounds_pass(value: int) -> None:
    assert validation.quantity(value, maximum=10) == value


@pytest.mark.parametrize("value", [0, -1, 11, True, 2.0])
def test_quantities_outside_bounds_or_not_whole_are_rejected(value: object) -> None:
    with pytest.raises(InvalidInput, match="count must be a whole number from 1 to 10"):
        validation.quantity(value, "count", maximum=10)  # type: ignore[arg-type]


def test_a_quantity_minimum_can_be_zero() -> None:
    assert validation.quantity(0, minimum=0, maximum=10) == 0
