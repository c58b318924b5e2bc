from __future__ import annotations

import pytest

from shopcore.shared.address import COUNTRIES, Address
from shopcore.shared.errors import InvalidInput


def address(**changes: str) -> Address:
    fields = {
        "name": "Ada Lovelace",
        "line1": "1 Main Street",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    }
    return Address(**{**fields, **changes})


def test_the_country_list_holds_the_249_iso_3166_alpha_2_codes() -> None:
    assert len(COUNTRIES) == 249
    assert {"DE", "US", "GB", "FR", "JP"} <= COUNTRIES
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)


def test_checked_returns_a_trimmed_copy() -> None:
    raw = address(name="  Ada Lovelace ", line1=" 1 Main Street", city="Berlin ", line2="  ")

    assert raw.checked() == address(line2="")


def test_line2_is_optional_but_kept_when_given() -> None:
    assert address().line2 == ""
    assert address(line2="Flat 3").checked().line2 == "Flat 3"


@pytest.mark.parametrize("country", ["de", "DEU", "XX", "", "UK", "Germany"])
def test_an_unknown_country_code_is_rejected(country: str) -> None:
    with pytest.raises(InvalidInput, match="ISO 3166-1 alpha-2") as raised:
        address(country=country).checked()

    assert raised.value.code == "invalid-input"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "x" * 201),
        ("line1", "   "),
        ("line2", "x" * 201),
        ("city", "x" * 101),
        ("postal_code", ""),
        ("postal_code", "1" * 21),
        ("city", "Ber\x00lin"),
    ],
)
def test_a_missing_overlong_or_control_character_field_is_rejected_by_name(
    field: str, value: str
) -> None:
    with pytest.raises(InvalidInput, match=field):
        address(**{field: value}).checked()
