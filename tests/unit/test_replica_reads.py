"""Catalog reads go to the replicas in turn; a replica that fails is rested and the primary
answers meanwhile, so a stopped replica never fails a read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select, table

from adapters.db.driver_reads import Rows
from adapters.db.replica_reads import ReplicaReads
from shopcore.shared.errors import Busy, ConnectionLost, InvalidInput, Unavailable

STATEMENT = select(table("products"))


class Source:
    def __init__(self, name: str) -> None:
        self.name = name
        self.failure: Exception | None = None
        self.calls = 0

    async def rows(self, statement: Any, parameters: Mapping[str, Any]) -> Rows:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return [(self.name,)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def read(reads: ReplicaReads) -> str:
    rows = await reads.rows(STATEMENT, {})
    return str(rows[0][0])


async def test_the_replicas_answer_in_turn_and_the_primary_not_at_all() -> None:
    one, two, primary = Source("one"), Source("two"), Source("primary")
    reads = ReplicaReads([one, two], primary)

    assert [await read(reads) for _ in range(4)] == ["one", "two", "one", "two"]
    assert primary.calls == 0


@pytest.mark.parametrize("failure", [ConnectionLost("gone"), Busy("full"), Unavailable("no")])
async def test_a_failing_replica_is_rested_and_the_others_or_the_primary_answer(
    failure: Exception,
) -> None:
    one, two, primary = Source("one"), Source("two"), Source("primary")
    clock = Clock()
    reads = ReplicaReads([one, two], primary, rest_seconds=5, now=clock)
    one.failure = failure

    answers = [await read(reads) for _ in range(3)]
    assert answers == ["two", "two", "two"]
    assert one.calls == 1  # tried once, then rested

    two.failure = ConnectionLost("gone too")
    assert await read(reads) == "primary"

    one.failure = two.failure = None
    clock.now += 5.1
    assert {await read(reads) for _ in range(2)} == {"one", "two"}  # back after their rest


async def test_an_error_that_is_not_the_replicas_fault_is_not_hidden() -> None:
    one, primary = Source("one"), Source("primary")
    one.failure = InvalidInput("a bad parameter")
    reads = ReplicaReads([one], primary)

    with pytest.raises(InvalidInput):
        await read(reads)
    assert primary.calls == 0
