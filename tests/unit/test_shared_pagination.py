from __future__ import annotations

import base64

import pytest

from shopcore.shared.errors import InvalidInput
from shopcore.shared.pagination import MAX_PAGE, check_limit, decode_cursor, encode_cursor, page_of


# A fixed id: parallel workers must collect the same test ids.
@pytest.mark.parametrize(
    "key", ["01a24efd-6206-71d2-9c86-7e100fb45dc1", "a", "ab", "abc", "ümlaut/key+with=chars"]
)
def test_a_cursor_decodes_back_to_its_key(key: str) -> None:
    assert decode_cursor(encode_cursor(key)) == key


def test_a_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor("ab?>")  # base64 of these bytes uses '/' and '=' in the plain alphabet

    assert base64.b64encode(b"ab?>").decode() == "YWI/Pg=="
    assert cursor == "YWI_Pg"


def test_no_cursor_means_the_first_page() -> None:
    assert decode_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "a",  # one character more than a multiple of four cannot be base64
        "abcde",
        "ÿÿÿÿ",  # not ASCII
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),  # not UTF-8 once decoded
        "x" * 201,
    ],
)
def test_a_tampered_cursor_is_rejected(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor is malformed") as raised:
        decode_cursor(cursor)

    assert raised.value.code == "invalid-input"


@pytest.mark.parametrize("limit", [1, 20, MAX_PAGE])
def test_limits_from_one_to_the_maximum_page_are_accepted(limit: int) -> None:
    assert check_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1, True, 10.0, "10"])
def test_other_limits_are_rejected(limit: object) -> None:
    with pytest.raises(InvalidInput, match="limit must be from 1 to 100"):
        check_limit(limit)  # type: ignore[arg-type]


def test_page_of_keeps_limit_rows_and_points_past_the_last_when_more_exist() -> None:
    page = page_of(["e", "d", "c"], 2, key=str.upper)

    assert list(page.items) == ["e", "d"]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == "D"


@pytest.mark.parametrize("rows", [[], ["b"], ["b", "a"]])
def test_page_of_has_no_next_cursor_when_nothing_follows(rows: list[str]) -> None:
    page = page_of(rows, 2, key=str)

    assert list(page.items) == rows
    assert page.next_cursor is None
