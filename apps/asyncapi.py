"""The AsyncAPI 3.0 document of the shop's events, generated from the event classes and the
handler groups, as the OpenAPI document is from the routes: what a consumer outside this
repository may rely on in the stream `shopcore:events`, kept equal to the code by
tests/integration/test_asyncapi_document.py (the committed copy is asyncapi/asyncapi.json).

An entry of the stream has the fields `event_id`, `type` (the event's tag), `outbox_id`,
`payload` and, for an event committed under a traced request, `traceparent` and `tracestate`:
the message's headers are all but the payload, its payload the decoded `payload`."""

from __future__ import annotations

import importlib.metadata
import json
from typing import Any

import msgspec

from shopcore.event_types import EVENT_TYPES
from shopcore.shared.messages import Event
from shopcore.subscriptions import HANDLER_GROUPS

STREAM = "shopcore:events"  # the default of SHOPCORE_EVENTS_STREAM
_REF = "#/components/schemas/{name}"


def document() -> dict[str, Any]:
    _refs, schemas = msgspec.json.schema_components(EVENT_TYPES, ref_template=_REF)
    names = [kind.__name__ for kind in EVENT_TYPES]
    messages = {name: _message(kind) for name, kind in zip(names, EVENT_TYPES, strict=True)}
    channel = {"$ref": "#/channels/events"}

    def message_refs(kinds: list[type[Event]]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/events/messages/{kind.__name__}"} for kind in kinds]

    operations: dict[str, Any] = {
        "relayPublishes": {
            "action": "send",
            "channel": channel,
            "summary": "The outbox relay appends every committed event, in commit order per "
            "outbox row, at least once.",
            "messages": message_refs(list(EVENT_TYPES)),
        }
    }
    for group in HANDLER_GROUPS:
        handled = [kind for kind in EVENT_TYPES if kind in group.handlers]
        operations[f"{_camel(group.name)}Receives"] = {
            "action": "receive",
            "channel": channel,
            "summary": f"The consumer group `{group.name}` (`shopcore worker --group "
            f"{group.name}`); an entry it does not handle is acknowledged unread.",
            "messages": message_refs(handled),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "shopcore events",
            "version": importlib.metadata.version("shopcore"),
            "description": "The domain events of the shop, as the outbox relay publishes them "
            "to a Redis stream. Changes are additive: a new event type or a new field with a "
            "default; a consumer ignores what it does not know. A field is never renamed or "
            "removed while an event that has it can still be in the stream or the outbox.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "events": {
                "address": STREAM,
                "title": "The event stream (SHOPCORE_EVENTS_STREAM)",
                "description": "A Redis stream; each handler group is a consumer group on it.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
            }
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {**schemas, "EntryHeaders": _HEADERS},
        },
    }


def _message(kind: type[Event]) -> dict[str, Any]:
    doc = (kind.__doc__ or "").strip()
    message: dict[str, Any] = {
        "name": kind.__name__,
        "title": kind.__name__,
        "headers": {"$ref": "#/components/schemas/EntryHeaders"},
        "payload": {"$ref": _REF.format(name=kind.__name__)},
    }
    if doc:
        message["summary"] = " ".join(doc.split())
    return message


_HEADERS = {
    "type": "object",
    "description": "The stream entry's fields besides its payload.",
    "properties": {
        "event_id": {"type": "string", "description": "Unique; consumers dedupe on it."},
        "type": {"type": "string", "description": "The event's tag: its class name."},
        "outbox_id": {"type": "string", "description": "The outbox row it was relayed from."},
        "traceparent": {
            "type": "string",
            "description": "W3C Trace Context of the request that committed the event, when "
            "it was traced: a consumer's span continues that trace.",
        },
        "tracestate": {
            "type": "string",
            "description": "W3C Trace Context vendor state, beside a traceparent that had one.",
        },
    },
    "required": ["event_id", "type"],
}


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part.title() for part in rest)


def rendered() -> bytes:
    """The document in the committed form: stable and diff-friendly."""
    return (json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
