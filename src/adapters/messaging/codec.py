"""Events as Redis stream entries, and back.

An entry has these fields: `event_id` (consumers dedupe on it), `type` (the event's class name,
so a consumer group skips what it does not handle without decoding), `payload` (the tagged
event as msgspec JSON, exactly as the outbox stored it) and, when the relay appended it,
`outbox_id` (its outbox row: how the outbox learns which rows every group has acknowledged)
and, when the outbox row kept one (tracing on), `traceparent` and `tracestate`: the W3C trace
context of the request that wrote it, as a message's headers carry it (`trace_context`).
Decoding reads the payload's tag and builds the right Event class from the union of every event
type the shop declares.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from adapters.machinery.outbox import OutboxEntry
from shopcore.event_types import AnyEvent
from shopcore.shared.messages import Event

Fields = dict[str, str]

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(AnyEvent)


class UndecodableEntry(ValueError):
    """A stream entry that is no event this code knows: retrying cannot help."""


OUTBOX_ID = "outbox_id"


TRACE_FIELDS = ("traceparent", "tracestate")


def entry_fields(entry: OutboxEntry) -> Fields:
    """An outbox entry as stream fields; the payload is forwarded as stored, never re-encoded.
    The trace fields are there only when the entry has them: no bytes for them otherwise."""
    fields = {
        "event_id": entry.event_id,
        "type": entry.event_type,
        "payload": entry.payload.decode(),
        OUTBOX_ID: str(entry.id),
    }
    if entry.traceparent is not None:
        fields["traceparent"] = entry.traceparent
        if entry.tracestate is not None:
            fields["tracestate"] = entry.tracestate
    return fields


def trace_context(fields: Mapping[str, str]) -> dict[str, str]:
    """The W3C trace context an entry carries (empty when it was written with tracing off)."""
    return {name: fields[name] for name in TRACE_FIELDS if name in fields}


def event_fields(event: Event) -> Fields:
    return {
        "event_id": event.event_id,
        "type": type(event).__name__,
        "payload": _encoder.encode(event).decode(),
    }


def decode_event(fields: Mapping[str, str]) -> Event:
    payload = fields.get("payload")
    if payload is None:
        raise UndecodableEntry("the entry has no payload field")
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise UndecodableEntry(f"not a known event: {error}") from error
