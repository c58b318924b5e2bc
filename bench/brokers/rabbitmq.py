"""RabbitMQ: a durable fanout exchange to one durable queue per group, persistent messages,
publisher confirms, manual acknowledgements."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aio_pika
from aio_pika import DeliveryMode, ExchangeType, Message
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from adapters.machinery.outbox import OutboxEntry
from bench.brokers.broker import GROUPS, Acked

PREFETCH = 200


class RabbitMqBroker:
    def __init__(self, url: str, prefix: str) -> None:
        self.name = "RabbitMQ"
        self._url = url
        self._exchange_name = f"{prefix}.events"
        self._prefix = prefix
        self._connection: AbstractRobustConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._publishing: aio_pika.abc.AbstractChannel | None = None

    def _queue(self, group: str) -> str:
        return f"{self._prefix}.{group}"

    async def _connect(self) -> AbstractRobustConnection:
        if self._connection is None:
            self._connection = await aio_pika.connect_robust(self._url)
        return self._connection

    async def reset(self) -> None:
        connection = await self._connect()
        channel = await connection.channel()
        for group in GROUPS:
            await channel.queue_delete(self._queue(group))
        await channel.exchange_delete(self._exchange_name)
        await channel.close()
        if self._publishing is not None:
            await self._publishing.close()
        publishing = self._publishing = await connection.channel(publisher_confirms=True)
        self._exchange = await publishing.declare_exchange(
            self._exchange_name, ExchangeType.FANOUT, durable=True
        )
        for group in GROUPS:
            queue = await publishing.declare_queue(self._queue(group), durable=True)
            await queue.bind(self._exchange)

    async def publish(self, entries: Sequence[OutboxEntry]) -> None:
        assert self._exchange is not None, "reset first"
        exchange = self._exchange
        await asyncio.gather(
            *(
                exchange.publish(
                    Message(
                        entry.payload,
                        delivery_mode=DeliveryMode.PERSISTENT,
                        message_id=entry.event_id,
                        type=entry.event_type,
                        headers={"outbox_id": entry.id},
                    ),
                    routing_key="",
                )
                for entry in entries
            )
        )

    async def consume(self, group: str, acked: Acked, stop: asyncio.Event) -> None:
        connection = await self._connect()
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.get_queue(self._queue(group))

        async def arrived(message: AbstractIncomingMessage) -> None:
            await message.ack()
            acked(str(message.message_id))

        tag = await queue.consume(arrived)
        try:
            await stop.wait()
        finally:
            await queue.cancel(tag)
            await channel.close()

    async def close(self) -> None:
        connection = await self._connect()
        channel = await connection.channel()
        for group in GROUPS:
            await channel.queue_delete(self._queue(group))
        await channel.exchange_delete(self._exchange_name)
        await connection.close()
        self._connection = None
