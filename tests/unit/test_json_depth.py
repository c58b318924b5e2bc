"""How deep a JSON body nests, counted as the decoder would: brackets inside strings (escaped
quotes included) are text, not nesting."""

from __future__ import annotations

import pytest

from adapters.http.json_requests import is_json, nests_deeper


@pytest.mark.parametrize(
    ("body", "deeper_than_3"),
    [
        (b"[[[]]]", False),
        (b"[[[[]]]]", True),
        (b'{"a": {"b": {"c": {"d": 1}}}}', True),
        (b'{"a": "[[[[[[[[", "b": [1, 2, 3]}', False),
        (b'{"a": "\\"[[[[[[", "b": "]]"}', False),  # an escaped quote does not end the text
        (b'{"a": "\\\\", "b": [[[[1]]]]}', True),  # an escaped backslash does not escape the quote
        (b"[[],[],[],[],[],[]]", False),  # wide is not deep
    ],
)
def test_nesting_is_counted_outside_strings(body: bytes, deeper_than_3: bool) -> None:
    assert nests_deeper(body, 3) is deeper_than_3


@pytest.mark.parametrize(
    ("content_type", "json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("text/json", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
    ],
)
def test_what_counts_as_json(content_type: str, json: bool) -> None:
    assert is_json(content_type) is json
