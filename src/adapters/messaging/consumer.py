"""One consumer of a consumer group on the event stream.

It reads new entries with a blocking XREADGROUP, at most as many as it has free slots
(`concurrency`; once busy, when at least half of them are free), and handles each in a task of
its own. An entry is acknowledged only after `deliver` returned, that is after the handlers'
units of work committed; a consumer that dies first leaves it pending. The entries whose
handlers finish in the same turn of the loop are acknowledged in one XACK, and the entries of
types the group has no handler for in one XACK per read.

Every consumer periodically takes over entries that have been pending longer than
`claim_idle_ms` (XAUTOCLAIM), whoever held them: that is how the work of a killed consumer, and
the retry of a failed entry, gets done. `claim_idle_ms` must therefore exceed
the longest a handler runs, or a slow entry is handled again while it is still running (the
processed-event record makes the second one a no-op for database effects).

XAUTOCLAIM counts deliveries. An entry whose handling fails for the `max_deliveries`-th time,
or that arrives for a delivery beyond that (its consumers died each time), is recorded as a
dead letter with the error (`dead_letters`: the database in the worker, so that a Redis restart
cannot lose it) and then acknowledged, so one poison entry cannot hold up the rest.

Redis going away is routine, not fatal: every read and creation of the group that fails is
tried again with backoff (up to MAX_BACKOFF seconds), logged when the outage starts and when it
ends; an acknowledgement that fails leaves its entry pending, to be handled (and skipped) again.
A Redis that comes back empty has lost the group: the consumer creates it again from the start
of the stream, and the relay publishes again whatever the group had not acknowledged
(`adapters.machinery.outbox`); an acknowledgement lost with the old Redis costs a redelivery
that the processed-event records skip.

`run(stop)` returns once `stop` is set and the entries already read have been handled (up to
`shutdown_grace` seconds; what is still running then stays pending for another consumer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from redis.exceptions import ResponseError

from adapters.machinery.backoff import backoff
from adapters.machinery.outbox import DeadLetters
from adapters.messaging.codec import Fields, UndecodableEntry, decode_event, trace_context
from adapters.messaging.connection import RedisClient
from adapters.messaging.dead_letters import StreamDeadLetters, letter_for
from adapters.messaging.streams import EventStreams
from shopcore.shared.messages import Event

logger = logging.getLogger("shopcore.consumer")

Deliver = Callable[[Event], Awaitable[None]]
# Runs a delivery inside the trace context an entry carries (apps/tracing.py).
ContinueTrace = Callable[[Mapping[str, str]], AbstractContextManager[object]]

# Longest wait between two tries while Redis fails: also the longest a consumer may take to see
# that Redis is back.
MAX_BACKOFF = 2.0


def consumer_name() -> str:
    """Unique per process: a restarted worker is a new consumer, and reclaims the old one's."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True, kw_only=True)
class ConsumerSettings:
    group: str
    consumer: str = field(default_factory=consumer_name)
    concurrency: int = 8
    block_ms: int = 1_000  # also how long a stop waits for the read in progress
    claim_idle_ms: int = 60_000
    max_deliveries: int = 5
    # Where a new group starts: "0" also handles what was published before it existed (the
    # relay may run before the first worker starts); "$" only what comes after.
    start_id: str = "0"
    shutdown_grace: float = 30.0


# What XREADGROUP answers (RESP2, str responses): per stream, its entries; a null for none.
_ReadReply = list[tuple[str, list[tuple[str, Fields | None]]]] | None


@dataclass(frozen=True)
class _Entry:
    id: str
    fields: Fields
    deliveries: int


class StreamConsumer:
    def __init__(
        self,
        redis: RedisClient,
        streams: EventStreams,
        settings: ConsumerSettings,
        deliver: Deliver,
        *,
        handles: Collection[str] | None = None,
        dead_letters: DeadLetters | None = None,
        continue_trace: ContinueTrace | None = None,
    ) -> None:
        """`handles`: the event type names the group has handlers for; other entries are
        acknowledged without being decoded. None: deliver every entry. `dead_letters`: where
        given-up entries are kept (default: the stream `streams.dead`). `continue_trace`:
        with tracing on, each delivery runs inside it, given the entry's trace context."""
        if settings.concurrency < 1:
            raise ValueError("a consumer needs at least one slot")
        self._redis = redis
        self._streams = streams
        self._settings = settings
        self._deliver = deliver
        self._handles = None if handles is None else frozenset(handles)
        self._dead_letters = dead_letters or StreamDeadLetters(redis, streams.dead)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._unacked: list[str] = []  # handled, their XACK not sent yet (`_ack`)
        self._batch_at_least = max(1, settings.concurrency // 2)
        self._gathering = False
        self._continue_trace = continue_trace
        self._cursor = "0-0"
        # For metrics and tests, since this consumer started: entries acknowledged (skipped
        # ones included), events its handlers finished, deliveries that failed, dead letters.
        self.acknowledged = 0
        self.handled = 0
        self.failed = 0
        self.dead_lettered = 0

    @property
    def name(self) -> str:
        return self._settings.consumer

    @property
    def group(self) -> str:
        return self._settings.group

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(
                self._streams.events,
                self._settings.group,
                id=self._settings.start_id,
                mkstream=True,
            )
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        # Reclaim first: a restarted worker takes over what its predecessor left pending.
        next_claim = loop.time()
        failures = 0
        grouped = False
        while not stop.is_set():
            free = self._settings.concurrency - len(self._in_flight)
            if free < self._batch_at_least:
                # A busy group reads when half its slots are free, not at each one: one read
                # per entry was a round trip for every entry, most of a cache group's work.
                await asyncio.wait(self._in_flight.values(), return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                if not grouped:
                    await self.ensure_group()
                    grouped = True
                batch: list[_Entry] = []
                if loop.time() >= next_claim:
                    batch = await self._reclaim(free)
                    # A full batch means more may be waiting: look again on the next turn.
                    full = len(batch) == free
                    next_claim = loop.time() + (0 if full else self._claim_interval())
                if not batch:
                    batch = await self._read(free)
            except Exception as error:
                if isinstance(error, ResponseError) and "NOGROUP" in str(error):
                    # Redis lost the group (restarted empty): create it again, from the start,
                    # at once (Redis answers again, and the relay is publishing).
                    logger.warning(
                        "%s: group %s is gone; creating it", self.name, self._settings.group
                    )
                    grouped, self._cursor = False, "0-0"
                    await self._pause(stop, 0.05)
                    continue
                failures += 1
                if failures == 1:
                    logger.exception("%s could not read %s", self.name, self._streams.events)
                await self._pause(stop, backoff(failures, 0.05, MAX_BACKOFF))
                continue
            if failures:
                logger.info("%s reads %s again", self.name, self._streams.events)
            failures = 0
            foreign = []
            for entry in batch:
                if self._handles is None or entry.fields.get("type") in self._handles:
                    self._start(entry)
                else:
                    foreign.append(entry)
            if foreign:
                await self._ack_foreign(foreign)
        await self._drain()

    async def _ack_foreign(self, entries: list[_Entry]) -> None:
        """Acknowledge, in one XACK, the entries of types this group has no handler for: most
        of a checkout's events are some group's only (a notifications group skips the stock
        changes), and a round trip each was most of such a group's work."""
        try:
            await self._redis.xack(
                self._streams.events, self._settings.group, *[entry.id for entry in entries]
            )
        except Exception:
            # Left pending: they are reclaimed and acknowledged again later.
            logger.exception("%s could not acknowledge %d entries", self.name, len(entries))
            return
        self.acknowledged += len(entries)

    @staticmethod
    async def _pause(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()

    def _claim_interval(self) -> float:
        return self._settings.claim_idle_ms / 2000

    async def _read(self, count: int) -> list[_Entry]:
        response: _ReadReply = await self._redis.xreadgroup(  # type: ignore[assignment]
            self._settings.group,
            self.name,
            {self._streams.events: ">"},
            count=count,
            block=self._settings.block_ms,
        )
        return [
            _Entry(entry_id, fields, deliveries=1)
            for _stream, entries in response or ()
            for entry_id, fields in entries
            if fields is not None
        ]

    async def _reclaim(self, count: int) -> list[_Entry]:
        cursor, claimed, *_deleted = await self._redis.xautoclaim(
            self._streams.events,
            self._settings.group,
            self.name,
            min_idle_time=self._settings.claim_idle_ms,
            start_id=self._cursor,
            count=count,
        )
        self._cursor = cursor
        # Still running here (a slow handler): claiming it again must not start it twice.
        taken = [
            (entry_id, fields)
            for entry_id, fields in claimed
            if fields is not None and entry_id not in self._in_flight
        ]
        if not taken:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in taken:
                pipe.xpending_range(
                    self._streams.events, self._settings.group, entry_id, entry_id, 1
                )
            details = await pipe.execute()
        entries = []
        for (entry_id, fields), detail in zip(taken, details, strict=True):
            deliveries = int(detail[0]["times_delivered"]) if detail else 1
            logger.info("%s reclaimed %s (delivery %d)", self.name, entry_id, deliveries)
            entries.append(_Entry(entry_id, fields, deliveries))
        return entries

    def _start(self, entry: _Entry) -> None:
        task = asyncio.create_task(self._settle(entry), name=f"{self.name}:{entry.id}")
        self._in_flight[entry.id] = task
        task.add_done_callback(lambda _: self._in_flight.pop(entry.id, None))

    async def _settle(self, entry: _Entry) -> None:
        try:
            await self._handle(entry)
        except Exception:
            # Redis failed to take the acknowledgement or the dead letter: the entry stays
            # pending and is reclaimed; its processed-event record makes that a no-op.
            logger.exception("%s could not settle %s", self.name, entry.id)

    async def _handle(self, entry: _Entry) -> None:
        limit = self._settings.max_deliveries
        if entry.deliveries > limit:
            await self._dead_letter(
                entry,
                f"not acknowledged after {entry.deliveries - 1} deliveries: "
                "its consumers died or stalled each time",
            )
            return
        try:
            event = decode_event(entry.fields)
        except UndecodableEntry as error:
            await self._dead_letter(entry, str(error))
            return
        try:
            if self._continue_trace is None:
                await self._deliver(event)
            else:
                with self._continue_trace(trace_context(entry.fields)):
                    await self._deliver(event)
        except Exception as error:
            self.failed += 1
            if entry.deliveries >= limit:
                await self._dead_letter(entry, f"{type(error).__name__}: {error}", error)
            else:
                # Left pending: XAUTOCLAIM redelivers it after claim_idle_ms, which spaces out
                # the retries of a handler that fails for a while (a mail server down).
                logger.warning(
                    "%s: delivery %d of %s failed: %r", self.name, entry.deliveries, entry.id, error
                )
            return
        self.handled += 1
        await self._ack(entry)

    async def _ack(self, entry: _Entry) -> None:
        """Acknowledge `entry`, with the others whose handlers finish in the same turn of the
        loop: one XACK for all of them (an XACK a handled entry was half of a cache group's
        round trips). The first of a turn sends them; a failure leaves them all pending, to be
        reclaimed, and is raised to that first one's caller."""
        self._unacked.append(entry.id)
        if self._gathering:
            return  # the first of this turn sends it
        self._gathering = True
        try:
            await asyncio.sleep(0)
        finally:
            # Also when cancelled (shutdown): what was gathered stays pending, to be reclaimed.
            ids, self._unacked, self._gathering = self._unacked, [], False
        await self._redis.xack(self._streams.events, self._settings.group, *ids)
        self.acknowledged += len(ids)

    async def _dead_letter(
        self, entry: _Entry, error: str, exception: BaseException | None = None
    ) -> None:
        letter = letter_for(
            entry.fields, self._settings.group, entry.id, entry.deliveries, error, exception
        )
        # Recorded before it is acknowledged: a dead letter is never acknowledged and missing
        # (a consumer dying in between records it again, which the record absorbs).
        await self._dead_letters.record(letter)
        await self._ack(entry)
        self.dead_lettered += 1
        logger.error("%s dead-lettered %s: %s", self.name, entry.id, error)

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        tasks = list(self._in_flight.values())
        _done, unfinished = await asyncio.wait(tasks, timeout=self._settings.shutdown_grace)
        for task in unfinished:
            task.cancel()
        if unfinished:
            logger.warning("%s left %d entries pending at shutdown", self.name, len(unfinished))
            await asyncio.gather(*unfinished, return_exceptions=True)
