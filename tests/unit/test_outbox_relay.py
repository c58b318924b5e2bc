"""The relay moves outbox entries to the publisher in id order and marks them only after they
were published: whatever fails in between, the entries are published again, never lost. It
confirms what every group acknowledged, and when the stream is lost (Redis restarted empty) it
publishes again everything not confirmed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from adapters.machinery.outbox import Acknowledged, FeedLost, OutboxEntry
from adapters.machinery.outbox_relay import OutboxRelay


def _entries(count: int) -> list[OutboxEntry]:
    return [
        OutboxEntry(id=n, event_id=f"e{n}", event_type="T", payload=b"{}")
        for n in range(1, count + 1)
    ]


@dataclass
class _Claim:
    entries: Sequence[OutboxEntry]
    source: FakeSource
    marked: list[int] = field(default_factory=list)

    async def mark_published(self, ids: Sequence[int], position: str) -> None:
        if self.source.fail_marks:
            self.source.fail_marks -= 1
            raise ConnectionError("database went away")
        self.marked.extend(ids)
        self.source.position = position


@dataclass
class FakeSource:
    """Unpublished entries in memory; marks count only when the claim closes cleanly."""

    entries: list[OutboxEntry]
    published: set[int] = field(default_factory=set)
    confirmed: set[int] = field(default_factory=set)
    failures: dict[int, int] = field(default_factory=dict)
    fail_marks: int = 0
    pruned: int = 0
    position: str | None = None

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[_Claim]:
        waiting = [entry for entry in self.entries if entry.id not in self.published]
        claim = _Claim(waiting[:limit], self)
        yield claim
        self.published.update(claim.marked)

    async def record_failure(self, ids: Sequence[int]) -> None:
        for entry_id in ids:
            self.failures[entry_id] = self.failures.get(entry_id, 0) + 1

    async def confirm(self, ids: Sequence[int]) -> None:
        self.confirmed.update(ids)

    async def rewind(self) -> int:
        rewound = self.published - self.confirmed
        self.published -= rewound
        self.position = None
        return len(rewound)

    async def fed_position(self) -> str | None:
        return self.position

    async def prune(self, confirmed_before: timedelta) -> int:
        self.pruned += 1
        return 0


@dataclass
class RecordingPublisher:
    """A stream in memory: what was sent, what every group has acknowledged (`ack`), and a
    `lose()` that empties it as a Redis restart would."""

    sent: list[str] = field(default_factory=list)
    fail: int = 0
    fed: bool = True
    feeds_opened: int = 0
    _unreleased: list[int] = field(default_factory=list)

    async def publish(self, entries: Sequence[OutboxEntry]) -> list[str]:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("redis went away")
        if not self.fed:
            raise FeedLost("not fed")
        self.sent.extend(entry.event_id for entry in entries)
        return [f"{n}-0" for n in range(len(entries))]

    def ack(self, *ids: int) -> None:
        self._unreleased.extend(ids)

    def lose(self) -> None:
        self.fed = False
        self._unreleased.clear()

    async def open_feed(self) -> None:
        self.fed = True
        self.feeds_opened += 1

    async def acknowledged(self, fed: str | None) -> Acknowledged:
        if not self.fed:
            raise FeedLost("not fed")
        return Acknowledged(outbox_ids=list(self._unreleased), through="1-0")

    async def release(self, acknowledged: Acknowledged) -> None:
        self._unreleased = [n for n in self._unreleased if n not in acknowledged.outbox_ids]


async def test_a_pass_publishes_in_id_order_and_marks() -> None:
    source, publisher = FakeSource(_entries(3)), RecordingPublisher()
    relay = OutboxRelay(source, publisher)

    assert await relay.relay_once() == 3
    assert await relay.relay_once() == 0

    assert publisher.sent == ["e1", "e2", "e3"]
    assert source.published == {1, 2, 3}
    assert relay.published == 3


async def test_batches_are_published_in_order() -> None:
    source, publisher = FakeSource(_entries(5)), RecordingPublisher()
    relay = OutboxRelay(source, publisher, batch_size=2)

    counts = [await relay.relay_once() for _ in range(4)]

    assert counts == [2, 2, 1, 0]
    assert publisher.sent == [f"e{n}" for n in range(1, 6)]


async def test_a_failed_publication_marks_nothing_and_is_counted() -> None:
    source, publisher = FakeSource(_entries(2)), RecordingPublisher(fail=1)
    relay = OutboxRelay(source, publisher)

    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert source.published == set()
    assert source.failures == {1: 1, 2: 1}

    assert await relay.relay_once() == 2
    assert publisher.sent == ["e1", "e2"]


async def test_a_crash_between_publishing_and_marking_publishes_again() -> None:
    source, publisher = FakeSource(_entries(2)), RecordingPublisher()
    source.fail_marks = 1
    relay = OutboxRelay(source, publisher)

    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert source.published == set()
    assert source.failures == {}  # published fine: not a publication failure

    assert await relay.relay_once() == 2
    assert publisher.sent == ["e1", "e2", "e1", "e2"]  # at least once: consumers dedupe
    assert source.published == {1, 2}


async def test_running_relays_until_stopped_and_backs_off_on_errors() -> None:
    source, publisher = FakeSource(_entries(3)), RecordingPublisher(fail=2)
    relay = OutboxRelay(source, publisher, poll_interval=0.01, max_backoff=0.02)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))

    for _ in range(200):
        if source.published == {1, 2, 3}:
            break
        await asyncio.sleep(0.01)
    source.entries.append(OutboxEntry(id=4, event_id="e4", event_type="T", payload=b"{}"))
    relay.wake()
    for _ in range(200):
        if 4 in source.published:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=2)

    assert publisher.sent == ["e1", "e2", "e3", "e4"]
    assert source.failures == {1: 2, 2: 2, 3: 2}


@dataclass
class SlowSettling(RecordingPublisher):
    """Every settle after the first waits for `settled` to be set: a Redis slow to answer."""

    settled: asyncio.Event = field(default_factory=asyncio.Event)
    settles: int = 0

    async def acknowledged(self, fed: str | None) -> Acknowledged:
        self.settles += 1
        if self.settles > 1:
            await self.settled.wait()
        return await super().acknowledged(fed)


async def test_a_settle_falling_due_does_not_hold_up_an_event_that_woke_the_relay() -> None:
    source, publisher = FakeSource(_entries(1)), SlowSettling()
    relay = OutboxRelay(source, publisher, poll_interval=60, settle_interval=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    for _ in range(200):
        if 1 in source.published:
            break
        await asyncio.sleep(0.01)
    assert publisher.settles == 1  # the first pass settled before it published
    await asyncio.sleep(0.1)  # the next settle is due now
    source.entries.append(OutboxEntry(id=2, event_id="e2", event_type="T", payload=b"{}"))
    relay.wake()
    for _ in range(200):
        if 2 in source.published:
            break
        await asyncio.sleep(0.01)
    published = set(source.published)
    publisher.settled.set()
    stop.set()
    await asyncio.wait_for(running, timeout=2)

    assert published == {1, 2}  # published while the settle due in the same pass was waiting
    assert publisher.settles == 2  # and that settle still ran, after it


async def test_running_prunes_old_confirmed_entries_now_and_then() -> None:
    source = FakeSource([])
    relay = OutboxRelay(source, RecordingPublisher(), poll_interval=0.01, prune_interval=0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, timeout=2)

    assert source.pruned >= 2


def test_a_batch_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError):
        OutboxRelay(FakeSource([]), RecordingPublisher(), batch_size=0)


async def test_settling_confirms_what_every_group_has_acknowledged() -> None:
    source, publisher = FakeSource(_entries(3)), RecordingPublisher()
    relay = OutboxRelay(source, publisher)
    await relay.relay_once()
    publisher.ack(1, 2)

    assert await relay.settle() == 2
    assert await relay.settle() == 0

    assert source.confirmed == {1, 2}


async def test_a_lost_stream_gets_every_entry_not_confirmed_again_in_order_before_new_ones() -> (
    None
):
    source, publisher = FakeSource(_entries(4)), RecordingPublisher()
    relay = OutboxRelay(source, publisher)
    await relay.relay_once()
    publisher.ack(1, 2)
    await relay.settle()
    publisher.lose()  # Redis restarted empty: 3 and 4 were not acknowledged by every group
    source.entries += _entries(5)[4:]

    assert await relay.relay_once() == 0  # refused by the empty stream: the relay rewinds
    assert (relay.rewound, publisher.feeds_opened) == (2, 1)
    assert await relay.relay_once() == 3

    assert publisher.sent == ["e1", "e2", "e3", "e4", "e3", "e4", "e5"]
    assert source.failures == {}  # a lost stream is no failure of the entries


async def test_an_idle_relay_notices_a_lost_stream_when_it_settles() -> None:
    source, publisher = FakeSource(_entries(2)), RecordingPublisher()
    relay = OutboxRelay(source, publisher)
    await relay.relay_once()
    publisher.lose()

    assert await relay.settle() == 0

    assert relay.rewound == 2
    assert source.published == set()
    assert publisher.fed
