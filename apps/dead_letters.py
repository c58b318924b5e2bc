"""`shopcore dead-letters`: the events a consumer group gave up on, listed and replayed.

A replay hands each letter's event to its group's handlers in this process, as a worker
would have: each handler's processed-event record makes a handler that had already succeeded
skip it, so replaying twice, or a letter whose event a later redelivery handled, does nothing
twice. A letter whose replay succeeds is removed; one that fails again is kept, with its new
error printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.db.dead_letters import SqlDeadLetters, StoredLetter
from adapters.messaging.codec import UndecodableEntry, decode_event
from apps.components import Components
from apps.settings import Settings


class NoDatabase(ValueError):
    pass


@dataclass(frozen=True)
class Replayed:
    letter: StoredLetter
    error: str | None  # None: handled, and removed


async def stored_letters(settings: Settings) -> list[StoredLetter]:
    async with _components(settings) as components:
        return await SqlDeadLetters(components.engine).stored()


async def replay(
    settings: Settings, ids: list[int] | None, report: Callable[[Replayed], None]
) -> list[Replayed]:
    outcomes = []
    async with _components(settings) as components:
        letters = SqlDeadLetters(components.engine)
        for letter in await letters.stored(ids):
            outcome = Replayed(letter, await _redeliver(components, letter))
            if outcome.error is None:
                await letters.remove(letter.id)
            report(outcome)
            outcomes.append(outcome)
    return outcomes


async def _redeliver(components: Components, letter: StoredLetter) -> str | None:
    group = components.shop.groups.get(letter.group)
    if group is None:
        return f"no handler group {letter.group!r} in this version of the shop"
    try:
        event = decode_event({"payload": letter.payload})
    except UndecodableEntry as error:
        return str(error)
    try:
        await group.deliver(event)
    except Exception as error:  # the handler's own failure, reported, the letter kept
        return f"{type(error).__name__}: {error}"
    return None


def _components(settings: Settings) -> Components:
    if settings.database_url is None:
        raise NoDatabase("SHOPCORE_DATABASE_URL=memory keeps no dead letters: name a database")
    return Components(settings)
