"""NATS JetStream: a file-backed stream, publishes acked by the server, durable pull consumers.

nats-py's `PullSubscription.fetch(batch, timeout)` holds the messages it has until the batch is
full or the timeout passes, which would add up to the timeout to every latency at low rates. So
each group pulls continuously instead, as the Go client's `Consume()` does: pull requests of
`PULL_BATCH` messages with a long expiry on an inbox of its own, a new one sent whenever half of
the outstanding ones have arrived, and each message handled and acknowledged as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, DeliverPolicy, StorageType
from nats.js.errors import NotFoundError

from adapters.machinery.outbox import OutboxEntry
from bench.brokers.broker import GROUPS, Acked

PULL_BATCH = 200
PULL_EXPIRES_NS = 30 * 1_000_000_000


class NatsJetStreamBroker:
    def __init__(self, url: str, stream: str) -> None:
        self.name = "NATS JetStream"
        self._url = url
        self._stream = stream  # stream names allow no dots
        self._subject = f"{stream.lower()}.events"
        self._nc: Client | None = None

    async def _client(self) -> Client:
        if self._nc is None:
            self._nc = await nats.connect(self._url)
        return self._nc

    async def reset(self) -> None:
        js = (await self._client()).jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(self._stream)
        await js.add_stream(name=self._stream, subjects=[self._subject], storage=StorageType.FILE)
        for group in GROUPS:
            await js.add_consumer(
                self._stream,
                durable_name=group,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=10_000,
            )

    async def publish(self, entries: Sequence[OutboxEntry]) -> None:
        js = (await self._client()).jetstream()
        acks = [
            await js.publish_async(
                self._subject,
                entry.payload,
                headers={
                    "Nats-Msg-Id": entry.event_id,  # the server drops a repeat within its window
                    "type": entry.event_type,
                    "outbox_id": str(entry.id),
                },
            )
            for entry in entries
        ]
        await asyncio.gather(*acks)

    async def consume(self, group: str, acked: Acked, stop: asyncio.Event) -> None:
        nc = await self._client()
        inbox = nc.new_inbox()
        request_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{group}"
        request = json.dumps({"batch": PULL_BATCH, "expires": PULL_EXPIRES_NS}).encode()
        outstanding = 0

        async def pull() -> None:
            nonlocal outstanding
            outstanding += PULL_BATCH
            await nc.publish(request_subject, request, reply=inbox)

        async def arrived(msg: Msg) -> None:
            nonlocal outstanding
            status = msg.headers.get("Status") if msg.headers else None
            if status is not None:  # 408: a request expired; 409 and others: it ended
                outstanding = max(0, outstanding - PULL_BATCH)
                if status != "100" and outstanding <= PULL_BATCH // 2:
                    await pull()
                return
            outstanding -= 1
            await msg.ack()
            assert msg.headers is not None
            acked(msg.headers["Nats-Msg-Id"])
            if outstanding <= PULL_BATCH // 2:
                await pull()

        subscription = await nc.subscribe(inbox, cb=arrived, pending_msgs_limit=1_000_000)
        try:
            await pull()
            await pull()
            await stop.wait()
        finally:
            await subscription.unsubscribe()

    async def close(self) -> None:
        nc = await self._client()
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(self._stream)
        await nc.close()
        self._nc = None
