"""Commands ask for a change; events record one. Both are frozen, keyword-only records.

Events are tagged msgspec structs so the outbox and the stream codec can encode any of them
and decode it back to its own class by name.
"""

from __future__ import annotations

import msgspec

from shopcore.shared.ids import new_id


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """An imperative request handled by exactly one handler."""


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A past-tense fact that any number of handlers may react to.

    `event_id` is unique, so a handler can tell a redelivery from a new event."""

    event_id: str = msgspec.field(default_factory=new_id)


Message = Command | Event
