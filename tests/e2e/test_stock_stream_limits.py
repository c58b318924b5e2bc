"""Live stock streams are bounded: per client address and per process, and in time. One
client held every stream a process could serve, and open streams never ended; now a client past
its share gets 429, a full process 503 (both with Retry-After), and a stream ends after its
time with a `retry:` hint, giving its slot back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.http.services import ApiServices
from adapters.http.stream_slots import StreamSlots
from shopcore import CreateProduct, Money, Variant
from tests.e2e.conftest import sqlite_url
from tests.support.api import api_app, test_settings
from tests.support.sse import served, sse
from tests.support.waiting import until

pytestmark = pytest.mark.sqlite
STREAM = "/v1/inventory/stream"


@contextlib.asynccontextmanager
async def app_with(
    tmp_path: Path, **limits: int
) -> AsyncIterator[tuple[httpx.AsyncClient, ApiServices]]:
    settings = test_settings(await sqlite_url(tmp_path), stream_heartbeat_ms=100, **limits)
    app, _, side = api_app(settings)
    services: ApiServices = app.state["services"]
    await services.shop.handle(
        CreateProduct(
            name="Limited",
            slug="limited",
            category="shirts",
            variants=(Variant(sku="LIM-1", price=Money(1000, "EUR")),),
        )
    )
    try:
        async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield client, services
    finally:
        await side.aclose()


async def refused(client: httpx.AsyncClient) -> httpx.Response:
    response = await client.get(STREAM, params={"sku": "LIM-1"})
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    return response


async def test_a_client_past_its_share_of_streams_is_refused_with_429(tmp_path: Path) -> None:
    async with app_with(tmp_path, stream_max_per_client=2) as (client, services):
        async with (
            sse(client, STREAM, skus=["LIM-1"]) as first,
            sse(client, STREAM, skus=["LIM-1"]) as second,
        ):
            await first.next_event()
            await second.next_event()
            over = await refused(client)
            assert over.status_code == 429, over.text
            assert services.stream_slots.open == 2

        await until(lambda: services.stream_slots.open == 0)
        async with sse(client, STREAM, skus=["LIM-1"]) as again:  # the slots came back
            assert (await again.next_event()).event == "snapshot"


async def test_a_process_with_every_stream_taken_answers_503(tmp_path: Path) -> None:
    async with (
        app_with(tmp_path, stream_max_per_client=5, stream_max_per_process=1) as (
            client,
            _,
        ),
        sse(client, STREAM, skus=["LIM-1"]) as only,
    ):
        await only.next_event()
        full = await refused(client)

    assert full.status_code == 503, full.text
    assert full.json()["code"] == "busy"


async def test_a_stream_ends_after_its_time_and_tells_the_client_when_to_return(
    tmp_path: Path,
) -> None:
    async with app_with(tmp_path, stream_max_seconds=1) as (client, services):
        async with sse(client, STREAM, skus=["LIM-1"]) as stream:
            assert (await stream.next_event()).event == "snapshot"
            last = await stream.next_event(within=5)
            assert (last.event, last.retry) == (None, 2000)
            with pytest.raises(EOFError):
                await stream.next(within=5)
        await until(lambda: services.stream_slots.open == 0)


def test_a_stream_whose_body_never_started_gives_its_slot_back() -> None:
    """The client left before the first byte: the generator is never run, so no `finally`
    of its runs; the slot goes back when the stream is collected."""
    slots = StreamSlots(per_client=1, per_process=1)

    class Stream:
        pass

    stream = Stream()
    slots.take("10.0.0.1").bind(stream)
    assert slots.open == 1
    del stream

    assert slots.open == 0
    slots.take("10.0.0.1").release()
