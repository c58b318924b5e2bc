"""`shopcore dead-letters list` and `replay`: the events a consumer group gave up on, seen and
handed to their group again. A letter handled is removed; one that fails again is kept, and
the command says so and exits 1. /metrics counts them, and the overdue orders, at each scrape."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.db.dead_letters import SqlDeadLetters
from adapters.messaging.codec import event_fields
from adapters.messaging.dead_letters import letter_for
from apps.cli import main
from apps.components import Components
from apps.settings import Settings
from shopcore.inventory.events import StockChanged
from shopcore.shared.ids import new_id
from tests.support.databases import fresh_sqlite


# Sync tests: the commands run their own event loop.
@pytest.fixture
def database(tmp_path: Path) -> str:
    async def create() -> None:
        engine = await fresh_sqlite(tmp_path)
        await engine.dispose()

    asyncio.run(create())
    return f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"


def letters(url: str, *entries: tuple[str, dict[str, str]]) -> list[int]:
    async def record() -> list[int]:
        async with Components(Settings(database_url=url)) as components:
            store = SqlDeadLetters(components.engine)
            for n, (group, fields) in enumerate(entries):
                await store.record(letter_for(fields, group, f"1-{n}", 5, "it failed 5 times"))
            return [letter.id for letter in await store.stored()]

    return asyncio.run(record())


def kept(url: str) -> list[int]:
    async def read() -> list[int]:
        async with Components(Settings(database_url=url)) as components:
            return [letter.id for letter in await SqlDeadLetters(components.engine).stored()]

    return asyncio.run(read())


def shopcore(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["dead-letters", *args], env={"SHOPCORE_DATABASE_URL": url})


def stock_changed() -> dict[str, str]:
    event = StockChanged(sku="DL-1", on_hand=5, reserved=0, allocated=0, available=5, reason="x")
    return event_fields(event)


def undecodable() -> dict[str, str]:
    # What a newer version of the shop might have written: no event this code knows.
    return {"event_id": new_id(), "type": "GiftCardIssued", "payload": '{"type":"GiftCardIssued"}'}


def test_a_replayed_letter_is_handled_and_removed_and_a_failing_one_kept(
    database: str,
) -> None:
    handled, failing = letters(
        database, ("catalog-cache", stock_changed()), ("notifications", undecodable())
    )

    listed = shopcore(database, "list")
    assert listed.exit_code == 0, listed.output
    assert f"{handled}\tcatalog-cache\tStockChanged" in listed.output
    assert "it failed 5 times" in listed.output

    replayed = shopcore(database, "replay", "--all")

    assert replayed.exit_code == 1, replayed.output  # one failed again
    assert f"{handled}\tcatalog-cache\tStockChanged\treplayed" in replayed.output
    assert f"{failing}\tnotifications\tGiftCardIssued\tfailed again: not a known event" in (
        replayed.output
    )
    assert kept(database) == [failing]


def test_a_replay_needs_its_letters_named(database: str) -> None:
    result = shopcore(database, "replay")

    assert result.exit_code == 2
    assert "--id" in result.output and "--all" in result.output


def test_replaying_one_letter_leaves_the_others(database: str) -> None:
    first, second = letters(
        database, ("catalog-cache", stock_changed()), ("catalog-cache", stock_changed())
    )

    result = shopcore(database, "replay", "--id", str(second))

    assert result.exit_code == 0, result.output
    assert kept(database) == [first]
