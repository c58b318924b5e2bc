from __future__ import annotations

import pytest

from shopcore import WeakPassword
from shopcore.customers.password_policy import MAX_LENGTH, MIN_LENGTH, check_password

EMAIL = "ada@example.com"


def fullwidth(text: str) -> str:
    """The same letters in their fullwidth forms (U+FF01..), which NFKC folds back."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


@pytest.mark.parametrize("length", [MIN_LENGTH, MAX_LENGTH])
def test_passwords_at_the_length_bounds_are_accepted(length: int) -> None:
    password = ("abcdefgh" * 20)[:length]

    assert check_password(password, EMAIL) == password


@pytest.mark.parametrize("length", [0, MIN_LENGTH - 1, MAX_LENGTH + 1])
def test_passwords_outside_the_length_bounds_are_weak(length: int) -> None:
    with pytest.raises(WeakPassword, match="12 to 128 characters") as raised:
        check_password(("abcdefgh" * 20)[:length], EMAIL)

    assert raised.value.code == "weak-password"


def test_length_is_counted_after_nfkc_normalisation() -> None:
    # "ﬃ" (one character) becomes "ffi" under NFKC: 10 characters become 12.
    assert check_password("ﬃabcdefghi", EMAIL) == "ffiabcdefghi"


def test_the_password_comes_back_nfkc_normalised() -> None:
    assert check_password(fullwidth("fullwidth pw"), EMAIL) == "fullwidth pw"


def test_a_password_needs_four_different_characters() -> None:
    assert check_password("abcdabcdabcd", EMAIL) == "abcdabcdabcd"
    with pytest.raises(WeakPassword, match="4 different characters"):
        check_password("abcabcabcabc", EMAIL)


@pytest.mark.parametrize("password", ["password1234", "Password1234", "CORRECTHORSEBATTERYSTAPLE"])
def test_common_passwords_are_weak_in_any_case(password: str) -> None:
    with pytest.raises(WeakPassword, match="too common"):
        check_password(password, EMAIL)


def test_a_password_containing_the_email_local_part_is_weak() -> None:
    with pytest.raises(WeakPassword, match="must not contain the email"):
        check_password("my name is GRACEHOPPER!", "gracehopper@example.com")


def test_a_local_part_shorter_than_four_characters_is_not_checked() -> None:
    assert check_password("i am ada, hello", "ada@example.com") == "i am ada, hello"
