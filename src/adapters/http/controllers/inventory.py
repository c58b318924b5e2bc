"""Stock as shoppers see it: how many units of a SKU can be bought now, once or as a live
stream of server-sent events."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from adapters.http.problem_docs import INVALID_REQUEST, problem
from adapters.http.schemas.carts import SKU_PATTERN
from adapters.http.services import ApiServices
from adapters.http.stream_slots import Slot
from adapters.machinery.stock_fanout import StockSubscription, StockUpdate, SubscriptionEnded
from adapters.machinery.stock_feed import MAX_SKUS
from shopcore.bootstrap import Shop
from shopcore.catalog.queries import price_list
from shopcore.inventory.queries import availability
from shopcore.shared.errors import Busy

Sku = Annotated[str, msgspec.Meta(pattern=SKU_PATTERN)]


class AvailabilityOut(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    available: int  # over every location, less what is reserved and allocated


class StockSnapshotOut(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AvailabilityOut]
    at: datetime


class StockChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    available: int
    at: datetime


@dataclass
class _Encoded(ServerSentEventMessage):
    """An event already encoded: the same bytes go to every stream that follows its SKU."""

    raw: bytes = b""

    def encode(self) -> bytes:
        return self.raw


_HEARTBEAT = _Encoded(raw=ServerSentEventMessage(comment="heartbeat", data=None).encode())


@functools.lru_cache(maxsize=256)
def _stock_event(update: StockUpdate) -> _Encoded:
    """`event: stock` for an update, encoded once however many streams it goes to: a
    publish hands the same update to each of them in turn, so one entry is all it needs."""
    change = StockChangeOut(sku=update.sku, available=update.available, at=update.at)
    message = ServerSentEventMessage(
        event="stock", id=update.position, data=msgspec.json.encode(change).decode()
    )
    return _Encoded(raw=message.encode())


STREAM_DESCRIPTION = """\
Server-sent events (`text/event-stream`) for up to 50 SKUs the catalog sells:

- `event: snapshot`: the units available of every requested SKU now,
  `{"items": [{"sku": "TSHIRT-BLUE-M", "available": 7}], "at": "..."}`;
- `event: stock`: after every stock change of one of them, `{"sku", "available", "at"}`;
- a comment line (`: heartbeat`) when nothing else was sent for a while, which keeps proxies
  from closing an idle stream.

Every event has an `id`. A client that reconnects with `Last-Event-ID` (browsers' `EventSource`
does so by itself) gets the changes it missed instead of a snapshot, as far back as the event
stream is kept; otherwise it gets a fresh snapshot. A client too slow to keep up has its stream
ended and reconnects the same way. With Redis configured, every API instance sees every change;
without, a stream sees the changes made through its own process.

A stream ends after `SHOPCORE_STREAM_MAX_SECONDS` (an hour by default) with a `retry:` hint, and
the client reconnects the same way. One client address may hold
`SHOPCORE_STREAM_MAX_PER_CLIENT` streams (16) on one server, and a server holds
`SHOPCORE_STREAM_MAX_PER_PROCESS` (1,000): past either, 429 or 503 with `Retry-After`.
"""

STREAM_EXAMPLE = (
    "id: 1767225600000-0\r\nevent: snapshot\r\n"
    'data: {"items":[{"sku":"TSHIRT-BLUE-M","available":7}],"at":"2026-01-01T00:00:00Z"}\r\n'
    "retry: 2000\r\n\r\n"
    "id: 1767225601234-0\r\nevent: stock\r\n"
    'data: {"sku":"TSHIRT-BLUE-M","available":6,"at":"2026-01-01T00:00:01.2Z"}\r\n\r\n'
    ": heartbeat\r\n\r\n"
)


class InventoryController(Controller):
    path = "/v1/inventory"
    tags = ("inventory",)

    @get(
        "/stream",
        summary="Stream stock changes",
        description=STREAM_DESCRIPTION,
        responses={
            200: ResponseSpec(
                str,
                description="An endless stream of server-sent events",
                media_type="text/event-stream",
                generate_examples=False,
                examples=[Example(summary="Snapshot, change, heartbeat", value=STREAM_EXAMPLE)],
            ),
            400: INVALID_REQUEST,
            404: problem(404, "not-found", "The catalog sells not every one of these SKUs"),
            503: problem(503, "busy", "Live stock is not available right now; retry shortly"),
        },
    )
    async def stream(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        sku: Annotated[
            list[Sku],
            QueryParameter(
                min_items=1,
                max_items=MAX_SKUS,
                description="a SKU to follow; repeat for several (`?sku=A&sku=B`)",
            ),
        ],
        last_event_id: Annotated[
            str | None,
            HeaderParameter(
                name="Last-Event-ID",
                max_length=100,
                description="the `id` of the last event received, to resume after it",
            ),
        ] = None,
    ) -> ServerSentEvent:
        shop = services.shop
        skus = list(dict.fromkeys(sku))
        prices = await price_list(shop.uow(), skus)
        unsold = [s for s in skus if s not in prices or not prices[s].sellable]
        if unsold:
            raise NotFoundException(f"the catalog sells no SKU {', '.join(unsold)}")
        if services.stock_feed is None:
            raise Busy("live stock is not configured in this process")
        slot = services.stream_slots.take(request.client.host if request.client else "")
        try:
            # Follow first, then read the snapshot: no change can fall between the two.
            subscription = await services.stock_feed.subscribe(skus, last_event_id)
            try:
                resumed = subscription.resumed
                first = None if resumed else await self._snapshot(services, subscription)
            except BaseException:
                subscription.close()
                raise
        except BaseException:
            slot.release()
            raise
        events = self._events(services, subscription, first, slot)
        slot.bind(events)
        return ServerSentEvent(events)

    async def _snapshot(
        self, services: ApiServices, subscription: StockSubscription
    ) -> ServerSentEventMessage:
        """The units available now, with the feed's position as its id: a client that
        reconnects with it gets every change since."""
        skus = sorted(subscription.skus)
        now = services.shop.ports.clock.now()
        levels = await availability(services.shop.ports.stock_views, skus, now)
        snapshot = StockSnapshotOut(
            items=[AvailabilityOut(sku=s, available=levels[s]) for s in skus], at=now
        )
        return ServerSentEventMessage(
            event="snapshot",
            id=subscription.position,
            data=msgspec.json.encode(snapshot).decode(),
            retry=services.config.stream_retry_ms,
        )

    async def _events(
        self,
        services: ApiServices,
        subscription: StockSubscription,
        first: ServerSentEventMessage | None,
        slot: Slot,
    ) -> AsyncIterator[ServerSentEventMessage]:
        config = services.config
        heartbeat = config.stream_heartbeat_seconds
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + config.stream_max_seconds
        try:
            if first is not None:
                yield first
            while (left := ends_at - loop.time()) > 0:
                update = await subscription.next(min(heartbeat, left))
                if update is not None:
                    yield _stock_event(update)
                elif loop.time() < ends_at:
                    yield _HEARTBEAT
            # Its time is up: the client is told when to come back, and resumes from the last
            # id it got (nothing is missed).
            yield ServerSentEventMessage(comment="reconnect", retry=config.stream_retry_ms)
        except SubscriptionEnded:
            # The process is stopping: the client is told to come back (to another instance,
            # which resumes from the last id it got).
            yield ServerSentEventMessage(comment="reconnect", retry=config.stream_retry_ms)
        finally:
            subscription.close()
            slot.release()

    @get(
        "/{sku:str}",
        summary="Units available of a SKU",
        description="How many units of a SKU can be bought right now, over every stock "
        "location, less what checkouts have reserved. A SKU the catalog does not sell "
        "(unknown or archived) is 404.",
        responses={
            200: ResponseSpec(
                AvailabilityOut,
                description="The units available now",
                generate_examples=False,
                examples=[Example(value={"sku": "TSHIRT-BLUE-M", "available": 7})],
            ),
            400: INVALID_REQUEST,
            404: problem(404, "not-found", "The catalog sells no such SKU"),
        },
    )
    async def available(
        self,
        shop: NamedDependency[Shop],
        sku: Annotated[str, PathParameter(pattern=SKU_PATTERN, description="the SKU")],
    ) -> AvailabilityOut:
        known = (await price_list(shop.uow(), [sku])).get(sku)
        if known is None or not known.sellable:
            raise NotFoundException(f"the catalog sells no SKU {sku}")
        levels = await availability(shop.ports.stock_views, [sku], shop.ports.clock.now())
        return AvailabilityOut(sku=sku, available=levels[sku])
