"""The outbox relay: moves committed events from the outbox to the event stream, in order.

One pass claims a batch, publishes it and marks it published before the claim closes. The
order matters: publishing first means a crash (or a failed mark) leaves the entries
unpublished, so the next pass publishes them again. Nothing is lost; a consumer may see an
event twice and drops the repeat by `event_id`.

Redis is not the record of what was delivered: the outbox is. About once a second
(`settle_interval`) the relay asks the publisher which entries every consumer group has
acknowledged, confirms them in the outbox, and only then lets the stream trim them. When Redis
comes back empty (or the stream was deleted), the publisher refuses to append to a stream this
outbox did not feed (`FeedLost`), and the relay rewinds every published entry that is not
confirmed: they are published again, in id order, before anything newer, and each consumer
group handles what it had not acknowledged and skips what it had (processed-event records).
The same check runs with the settling, so an idle shop notices a lost stream within a second;
the settling also compares the stream's end with the position of the last entry the outbox
marked published, which finds a Redis that came back with an older copy of its data (an RDB
snapshot, an append-only file fsynced a second ago), still marked as fed but missing entries;
the publisher's append refuses such a stream as well. A relay settles before its first publish
(what was lost while no relay ran is found before anything is appended) and after the publish
of each pass from then on: settling is several round trips, and an event that woke the relay
does not wait for it.

Between passes the relay sleeps for `poll_interval` unless `wake()` is called or the last
batch was full (more is waiting). On PostgreSQL a listener calls `wake()` as soon as a commit
wrote outbox rows (`adapters.db.outbox_wakeup`, fed by a NOTIFY trigger on the table), so an
event usually leaves within a few milliseconds of its commit; the poll is the fallback for what
no notification announces (SQLite, or while the listener reconnects). A wake-up that arrives
during a pass is kept, so a commit that the pass's read just missed gets a pass of its own.
Failures back off exponentially with jitter up to `max_backoff`, so a Redis or database outage
is not hammered, and are logged once when they start and once when they end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from datetime import timedelta

from adapters.machinery.backoff import backoff
from adapters.machinery.outbox import EventPublisher, FeedLost, OutboxEntry, OutboxSource

logger = logging.getLogger("shopcore.relay")


class OutboxRelay:
    def __init__(
        self,
        source: OutboxSource,
        publisher: EventPublisher,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.1,
        max_backoff: float = 5.0,
        settle_interval: float = 1.0,
        keep_confirmed: timedelta = timedelta(days=7),
        prune_interval: float = 3600.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("a batch holds at least one entry")
        self._source = source
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll = poll_interval
        self._max_backoff = max_backoff
        self._settle_interval = settle_interval
        self._keep_confirmed = keep_confirmed
        self._prune_interval = prune_interval
        self._woken = asyncio.Event()
        # For metrics and tests, since this relay started: entries published, confirmed, and
        # rewound after the stream was lost.
        self.published = 0
        self.confirmed = 0
        self.rewound = 0
        # time.monotonic() when `run` last began a pass, failed ones included (None: not
        # running): a worker's readiness tells a relay stuck inside a pass by its age.
        self.last_turn: float | None = None

    def wake(self) -> None:
        """Look at the outbox now instead of at the end of the current poll interval."""
        self._woken.set()

    async def relay_once(self) -> int:
        """Publish one batch and mark it; returns how many entries it published."""
        failed: Sequence[OutboxEntry] = ()
        try:
            async with self._source.claim(self._batch_size) as claim:
                entries = claim.entries
                if not entries:
                    return 0
                failed = entries
                positions = await self._publisher.publish(entries)
                failed = ()  # published: a failure from here on is the mark's, not worth counting
                await claim.mark_published([entry.id for entry in entries], positions[-1])
        except FeedLost:
            # The claim is closed (it must be: the rewind waits for claims), nothing appended.
            await self._refeed()
            return 0
        except Exception:
            if failed:
                await self._record_failure(failed)
            raise
        self.published += len(entries)
        return len(entries)

    async def settle(self) -> int:
        """Confirm in the outbox what every consumer group has acknowledged, then let the
        stream drop it; returns how many entries were confirmed."""
        try:
            done = await self._publisher.acknowledged(await self._source.fed_position())
        except FeedLost:
            await self._refeed()
            return 0
        if done.outbox_ids:
            await self._source.confirm(done.outbox_ids)
        await self._publisher.release(done)
        self.confirmed += len(done.outbox_ids)
        return len(done.outbox_ids)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; the batch in progress when it is set is finished."""
        loop = asyncio.get_running_loop()
        failures = 0
        next_settle = loop.time()
        next_prune = loop.time() + self._prune_interval
        first = True
        while not stop.is_set():
            self.last_turn = time.monotonic()
            # Cleared before the pass: a wake-up that arrives during it is not lost.
            self._woken.clear()
            try:
                # The first pass settles before it publishes: a stream lost while no relay ran
                # is found before anything is appended to it. After that the publisher's own
                # append refuses a lost stream, so a pass publishes first and settles after:
                # a settle (several round trips) never delays an event that woke the relay.
                if first:
                    next_settle = loop.time() + self._settle_interval
                    await self.settle()
                    first = False
                count = await self.relay_once()
                if loop.time() >= next_settle:
                    next_settle = loop.time() + self._settle_interval
                    await self.settle()
                if loop.time() >= next_prune:
                    next_prune = loop.time() + self._prune_interval
                    await self._source.prune(self._keep_confirmed)
            except Exception:
                failures += 1
                delay = backoff(failures, self._poll, self._max_backoff)
                if failures == 1:
                    logger.exception("outbox relay pass failed; retrying with backoff")
                else:
                    logger.debug("outbox relay pass failed (%d in a row)", failures, exc_info=True)
                await self._pause(stop, delay * random.uniform(0.5, 1.0))
                continue
            if failures:
                logger.info("outbox relay recovered after %d failed passes", failures)
            failures = 0
            if count < self._batch_size:
                await self._pause(stop, self._poll)

    async def _refeed(self) -> None:
        rewound = await self._source.rewind()
        await self._publisher.open_feed()
        self.rewound += rewound
        logger.warning(
            "the event stream does not hold what the outbox fed it (Redis restarted empty?): "
            "publishing again the %d events some consumer group had not acknowledged",
            rewound,
        )

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._woken.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _record_failure(self, entries: Sequence[OutboxEntry]) -> None:
        try:
            await self._source.record_failure([entry.id for entry in entries])
        except Exception:  # the source is failing too: the pass's own error says enough
            logger.warning("could not count the failed publication of %d entries", len(entries))
