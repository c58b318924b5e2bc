"""Every event the shop records survives the trip outbox -> stream entry -> event, decoded to
its own class by its tag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from adapters.db.outbox import event_type
from adapters.machinery.outbox import OutboxEntry
from adapters.messaging.codec import UndecodableEntry, decode_event, entry_fields, event_fields
from shopcore.event_types import EVENT_TYPES
from shopcore.shared.messages import Event
from shopcore.shared.money import Money
from tests.support.messaging import Bed


def _sample(kind: type[Event]) -> Event:
    """An instance with a value in every field, built from the type's own description, so a
    new event type is covered without editing this test (an unknown field type fails it)."""
    values: dict[str, Any] = {}
    for field in msgspec.inspect.type_info(kind).fields:  # type: ignore[attr-defined]
        values[field.name] = _value(f"{kind.__name__}.{field.name}", field.type)
    return kind(**values)


def _value(name: str, info: msgspec.inspect.Type) -> Any:
    if isinstance(info, msgspec.inspect.StrType):
        return f"{name}: Zoë ✓"
    if isinstance(info, msgspec.inspect.BoolType):
        return True
    if isinstance(info, msgspec.inspect.IntType):
        return 7
    if isinstance(info, msgspec.inspect.VarTupleType):
        return ("SKU-1", "SKU-2")
    if isinstance(info, msgspec.inspect.StructType) and info.cls is Money:
        return Money(12345, "EUR")
    if isinstance(info, msgspec.inspect.DateTimeType):
        return datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    if isinstance(info, msgspec.inspect.UnionType):
        # An optional field: fill it, so the round trip carries a real value.
        present = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(present) == 1:
            return _value(name, present[0])
    if isinstance(info, msgspec.inspect.UnionType):  # optional: a value, not None
        [present] = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _value(name, present)
    raise AssertionError(f"{name}: no sample for {info!r}")  # pragma: no cover - teach me


SAMPLES = [_sample(kind) for kind in EVENT_TYPES]


def _all_subclasses(kind: type[Event]) -> set[type[Event]]:
    found = set()
    for sub in kind.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_every_event_class_of_the_core_is_known_to_the_codec() -> None:
    declared = {kind for kind in _all_subclasses(Event) if kind.__module__.startswith("shopcore.")}
    assert declared <= set(EVENT_TYPES)


def test_event_tags_are_unique() -> None:
    tags = [msgspec.inspect.type_info(kind).tag for kind in EVENT_TYPES]  # type: ignore[attr-defined]
    assert len(tags) == len(set(tags))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: type(event).__name__)
def test_an_event_round_trips_through_stream_fields(event: Event) -> None:
    fields = event_fields(event)

    assert fields["event_id"] == event.event_id
    assert fields["type"] == type(event).__name__
    decoded = decode_event(fields)
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: type(event).__name__)
def test_an_outbox_entry_is_forwarded_untouched(event: Event) -> None:
    payload = msgspec.json.encode(event)  # what write_outbox stores
    entry = OutboxEntry(
        id=1, event_id=event.event_id, event_type=event_type(event), payload=payload
    )

    fields = entry_fields(entry)

    assert fields["payload"].encode() == payload
    assert decode_event(fields) == event


def test_an_unknown_or_broken_entry_is_undecodable() -> None:
    with pytest.raises(UndecodableEntry):
        decode_event({"event_id": "x", "type": "Nope", "payload": '{"type": "Nope"}'})
    with pytest.raises(UndecodableEntry):
        decode_event({"event_id": "x", "type": "OrderPlaced", "payload": "{not json"})
    with pytest.raises(UndecodableEntry):
        decode_event({"event_id": "x", "type": "OrderPlaced"})


@pytest.mark.redis
async def test_every_event_round_trips_through_a_redis_stream(bed: Bed) -> None:
    for event in SAMPLES:
        await bed.redis.xadd(bed.streams.events, event_fields(event))  # type: ignore[arg-type]

    entries = await bed.redis.xrange(bed.streams.events)

    assert [decode_event(fields) for _, fields in entries or ()] == SAMPLES  # type: ignore[arg-type]
