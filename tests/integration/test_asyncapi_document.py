"""The AsyncAPI document of the event stream (asyncapi/asyncapi.json) is the code's: every event
type a message whose payload schema the encoded event satisfies, every handler group a receive
operation for exactly the events it handles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import msgspec

from apps.asyncapi import rendered
from shopcore.event_types import EVENT_TYPES
from shopcore.inventory.events import StockChanged
from shopcore.ordering.events import OrderPlaced
from shopcore.shared.messages import Event
from shopcore.shared.money import Money
from shopcore.subscriptions import HANDLER_GROUPS

COMMITTED = Path(__file__).resolve().parents[2] / "asyncapi" / "asyncapi.json"


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return loaded


def test_the_committed_document_is_the_codes() -> None:
    assert COMMITTED.read_bytes() == rendered(), (
        "asyncapi/asyncapi.json is out of date: run `shopcore asyncapi` and commit the result"
    )


def test_every_event_type_is_a_message_of_the_stream() -> None:
    spec = document()
    names = {kind.__name__ for kind in EVENT_TYPES}

    assert spec["asyncapi"] == "3.0.0"
    assert set(spec["channels"]["events"]["messages"]) == names
    assert set(spec["components"]["messages"]) == names


def test_each_group_receives_exactly_what_its_handlers_take() -> None:
    operations = document()["operations"]
    for group in HANDLER_GROUPS:
        [operation] = [
            value
            for value in operations.values()
            if value["action"] == "receive" and f"`{group.name}`" in value["summary"]
        ]
        listed = {ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]}
        assert listed == {kind.__name__ for kind in group.handlers}


def test_an_encoded_event_satisfies_its_payload_schema() -> None:
    spec = document()
    events: list[Event] = [
        StockChanged(sku="A-1", on_hand=5, reserved=1, allocated=0, available=4, reason="x"),
        OrderPlaced(order_id="o-1", customer_id="c-1", total=Money(100, "EUR")),
    ]
    for event in events:
        name = type(event).__name__
        schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        jsonschema.validate(json.loads(msgspec.json.encode(event)), schema)
        broken = {**json.loads(msgspec.json.encode(event)), "type": "SomethingElse"}
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
