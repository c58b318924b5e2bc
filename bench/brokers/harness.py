"""The two measurements, the same for every broker: relay throughput and fixed-rate latency."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

from adapters.machinery.outbox import OutboxEntry
from bench.brokers.broker import GROUPS, Broker
from bench.brokers.payload import outbox
from bench.brokers.stats import percentile

RELAY_BATCH = 200  # OutboxRelay's default batch_size
DRAIN_SECONDS = 15.0  # how long the latency run waits for the last events to arrive


@dataclass(frozen=True)
class Throughput:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class Latency:
    rate: int  # events a second, as sent
    sent: int  # counted events (after the warm-up)
    received: int  # counted deliveries acknowledged, over both groups (2 x sent when all came)
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    sent_rate: float  # events a second the sender achieved

    @property
    def lost(self) -> int:
        return self.sent * len(GROUPS) - self.received


async def relay_throughput(broker: Broker, events: int) -> Throughput:
    """One publisher drains an outbox of `events` entries in batches, a batch confirmed before
    the next is taken (the relay marks a batch published only after that)."""
    await broker.reset()
    entries = outbox(events)
    await broker.publish(outbox(RELAY_BATCH, first_id=events + 1))  # warm-up: connections
    await broker.reset()
    started = time.perf_counter()
    for start in range(0, len(entries), RELAY_BATCH):
        await broker.publish(entries[start : start + RELAY_BATCH])
    return Throughput(events=events, seconds=time.perf_counter() - started)


@dataclass
class _Outbox:
    """Committed entries the relay has not taken yet, and the event that wakes it (NOTIFY)."""

    pending: deque[OutboxEntry] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    done: bool = False


async def _relay(broker: Broker, box: _Outbox) -> None:
    while True:
        if not box.pending:
            if box.done:
                return
            box.wake.clear()
            await box.wake.wait()
            continue
        batch = [box.pending.popleft() for _ in range(min(RELAY_BATCH, len(box.pending)))]
        await broker.publish(batch)


async def latency_at(broker: Broker, rate: int, seconds: float, warmup: float = 1.0) -> Latency:
    """Commit events at `rate` a second for `warmup + seconds` (open loop), relay them, and time
    each from its due moment to its acknowledgement by each group; the warm-up is not counted."""
    await broker.reset()
    total = int(rate * (warmup + seconds))
    warm = int(rate * warmup)
    entries = outbox(total)
    due: dict[str, float] = {}
    latencies: list[float] = []
    counted = {entry.event_id for entry in entries[warm:]}

    expected = len(counted) * len(GROUPS)
    arrived = asyncio.Event()

    def acked(event_id: str) -> None:
        if event_id in counted:
            latencies.append(time.perf_counter() - due[event_id])
            if len(latencies) >= expected:
                arrived.set()

    stop = asyncio.Event()
    consumers = [asyncio.create_task(broker.consume(group, acked, stop)) for group in GROUPS]
    await asyncio.sleep(0.5)  # consumers attached
    box = _Outbox()
    relay = asyncio.create_task(_relay(broker, box))
    started = time.perf_counter()
    for n, entry in enumerate(entries):
        moment = started + n / rate
        delay = moment - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due[entry.event_id] = moment
        box.pending.append(entry)
        box.wake.set()
    sent_rate = total / (time.perf_counter() - started)
    box.done = True
    box.wake.set()
    await relay
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(arrived.wait(), DRAIN_SECONDS)
    stop.set()
    await asyncio.gather(*consumers)
    measured = [value * 1_000 for value in latencies]
    return Latency(
        rate=rate,
        sent=len(counted),
        received=len(measured),
        p50_ms=percentile(measured, 0.50) if measured else None,
        p99_ms=percentile(measured, 0.99) if measured else None,
        max_ms=max(measured) if measured else None,
        sent_rate=sent_rate,
    )
