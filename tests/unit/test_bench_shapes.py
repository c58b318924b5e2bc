"""The check that the thin app answers shopcore's JSON: same fields, nesting and types."""

from __future__ import annotations

from bench.shapes import compare, differences

ORDER = {"id": "o", "lines": [{"sku": "A", "quantity": 1}], "history": [], "paid": None}


def test_the_same_fields_with_other_values_and_other_numbers_of_elements_match() -> None:
    other = {
        "id": "p",
        "lines": [{"sku": "B", "quantity": 2}, {"sku": "C", "quantity": 3}],
        "history": [],
        "paid": None,
    }

    assert differences(ORDER, other) == []
    assert compare(b'{"a":[1,2],"b":null}', b'{"a":[3],"b":null}') == []


def test_a_field_renamed_missing_or_moved_is_named_with_its_path() -> None:
    renamed = {**ORDER, "lines": [{"sku": "A", "qty": 1}]}
    moved = {"lines": ORDER["lines"], "id": "o", "history": [], "paid": None}

    assert differences(ORDER, renamed) == [
        "$.lines[0]: fields ['sku', 'quantity'] vs ['sku', 'qty']"
    ]
    assert differences(ORDER, moved)[0].startswith("$: fields ['id', 'lines'")


def test_a_value_of_another_json_type_differs() -> None:
    assert differences(ORDER, {**ORDER, "paid": 0}) == ["$.paid: null vs number"]
    assert differences(ORDER, {**ORDER, "id": 7}) == ["$.id: string vs number"]
    assert differences({"a": []}, {"a": [1]}) == ["$.a: 0 vs 1 elements"]
