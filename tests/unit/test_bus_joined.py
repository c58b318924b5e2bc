"""A joined block: commands sent inside it work in the block's unit of work and commit with
it, once, or not at all; a transient conflict inside is retried by the block, not by the
command alone, whose transaction is the block's."""

from __future__ import annotations

import pytest

from adapters.memory.store import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork
from shopcore.application.bus import MessageBus
from shopcore.shared.errors import TransientConflict
from shopcore.shared.messages import Command, Event


class Note(Command[None], frozen=True, kw_only=True):
    text: str


class Conflicting(Command[None], frozen=True, kw_only=True):
    pass


class Noted(Event, frozen=True, kw_only=True):
    text: str


class Counting(MemoryUnitOfWork):
    commits: list[int]  # shared by every unit the test makes

    async def commit(self) -> None:
        await super().commit()
        self.commits.append(1)


def shop() -> tuple[MessageBus, MemoryStore, list[int], list[str]]:
    store = MemoryStore()
    commits: list[int] = []
    attempts: list[str] = []

    def unit() -> Counting:
        uow = Counting(store)
        uow.commits = commits
        return uow

    async def note(command: Note, uow: MemoryUnitOfWork) -> None:
        async with uow:
            uow.emit(Noted(text=command.text))
            await uow.commit()

    async def conflicting(command: Conflicting, uow: MemoryUnitOfWork) -> None:
        attempts.append("tried")
        raise TransientConflict("the database asked to retry")

    bus = MessageBus(unit, {Note: note, Conflicting: conflicting}, {}, backoff_seconds=0)
    return bus, store, commits, attempts


async def test_commands_in_a_block_commit_once_with_it() -> None:
    bus, store, commits, _ = shop()
    block = Counting(store)
    block.commits = commits

    async with bus.joined(block):
        await bus.handle(Note(text="a"))
        await bus.handle(Note(text="b"))
        async with bus.joined(block):  # a nested block joins the outer one
            await bus.handle(Note(text="c"))
        assert store.outbox == []  # nothing is visible before the block ends

    assert [event.text for event in store.outbox] == ["a", "b", "c"]  # type: ignore[attr-defined]
    assert commits == [1]
    assert [event.text for event in block.collect_new_events()] == ["a", "b", "c"]  # type: ignore[attr-defined]


async def test_a_failure_in_a_block_keeps_none_of_it() -> None:
    bus, store, commits, _ = shop()
    block = Counting(store)
    block.commits = commits

    with pytest.raises(RuntimeError):
        async with bus.joined(block):
            await bus.handle(Note(text="a"))
            raise RuntimeError("a later step failed")

    assert store.outbox == []
    assert commits == []


async def test_a_transient_conflict_inside_is_not_retried_by_the_command_alone() -> None:
    bus, store, _, attempts = shop()

    with pytest.raises(TransientConflict):
        async with bus.joined(Counting(store)):
            await bus.handle(Conflicting())
    assert attempts == ["tried"]

    # Outside a block the bus retries the command on its own, as always.
    with pytest.raises(Exception, match="kept conflicting"):
        await bus.handle(Conflicting())
    assert len(attempts) == 1 + 5
