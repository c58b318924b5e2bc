"""The committed OpenAPI document breaks nothing a client of the released /v1 relies on
(openapi/released/v1.json, the document as released; docs/reference/api-versioning.md has the
rules), and the check finds each kind of break."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.openapi_compat import breaking_changes

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((OPENAPI / name).read_text(encoding="utf-8"))
    return document


def test_the_current_document_keeps_every_promise_of_the_released_one() -> None:
    assert breaking_changes(load("released/v1.json"), load("openapi.json")) == []


def _remove_operation(d: dict[str, Any]) -> None:
    del d["paths"]["/v1/orders/{order_id}"]["get"]


def _drop_a_response_field(d: dict[str, Any]) -> None:
    del d["components"]["schemas"]["CartOut"]["properties"]["item_count"]


def _require_a_request_field(d: dict[str, Any]) -> None:
    d["components"]["schemas"]["CartItemIn"].setdefault("required", []).append("note")


def _drop_a_success_status(d: dict[str, Any]) -> None:
    del d["paths"]["/v1/carts"]["post"]["responses"]["201"]


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (_remove_operation, "GET /v1/orders/{order_id} was removed without being deprecated"),
        (_drop_a_response_field, "CartOut.item_count was removed from a response"),
        (_require_a_request_field, "CartItemIn.note became required in a request"),
        (_drop_a_success_status, "POST /v1/carts no longer answers 201"),
    ],
)
def test_each_kind_of_break_is_found(change: Any, found: str) -> None:
    released = load("released/v1.json")
    current = copy.deepcopy(released)
    change(current)

    problems = breaking_changes(released, current)

    assert any(problem.startswith(found) for problem in problems), problems


def test_an_operation_deprecated_in_a_release_may_go() -> None:
    released = load("released/v1.json")
    released["paths"]["/v1/orders/{order_id}"]["get"]["deprecated"] = True
    current = copy.deepcopy(released)
    _remove_operation(current)

    assert breaking_changes(released, current) == []
