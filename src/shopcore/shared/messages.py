"""Commands ask for a change; events record one. Both are frozen, keyword-only records.

A command names what its handler returns (`class PlaceOrder(Command[Order])`), so the bus can
type its one central call as `Command[R] -> R` and no caller re-annotates a result. A unit test
holds every declared result equal to its handler's return annotation, so the two cannot drift.

Events are tagged msgspec structs so the outbox and the stream codec can encode any of them
and decode it back to its own class by name.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from shopcore.shared.ids import new_id

# Covariant: a command that returns an Order is a command that returns an object.
R = TypeVar("R", covariant=True)


class Command(msgspec.Struct, Generic[R], frozen=True, kw_only=True):
    """An imperative request handled by exactly one handler, which returns an R."""


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A past-tense fact that any number of handlers may react to.

    `event_id` is unique, so a handler can tell a redelivery from a new event."""

    event_id: str = msgspec.field(default_factory=new_id)


Message = Command[Any] | Event
