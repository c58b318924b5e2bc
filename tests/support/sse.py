"""Server-sent events for tests: the app served over real HTTP on this test's event loop (the
Litestar test client buffers whole responses, which an endless stream never finishes), and a
reader that parses an httpx streaming response into events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import uvicorn
from litestar import Litestar


@dataclass(frozen=True)
class Sse:
    """One dispatched event, or a comment line (`comment` set, nothing else)."""

    event: str | None = None
    id: str | None = None
    data: str = ""
    retry: int | None = None
    comment: str | None = None


@contextlib.asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """The app on an ephemeral port of 127.0.0.1, lifespan included; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    # Leave SIGINT to pytest: uvicorn would hold it back until the server stops.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


class SseStream:
    """Events of an open `text/event-stream` response, one `next()` at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within: float = 5.0) -> Sse:
        async with asyncio.timeout(within):
            return await self._next()

    async def next_event(self, within: float = 5.0) -> Sse:
        """The next event that is not a comment."""
        async with asyncio.timeout(within):
            while True:
                item = await self._next()
                if item.comment is None:
                    return item

    async def _next(self) -> Sse:
        fields: dict[str, str] = {}
        data: list[str] = []
        async for line in self._lines:
            if line == "":
                if fields or data:
                    retry = fields.get("retry")
                    return Sse(
                        event=fields.get("event"),
                        id=fields.get("id"),
                        data="\n".join(data),
                        retry=None if retry is None else int(retry),
                    )
                continue
            if line.startswith(":"):
                return Sse(comment=line[1:].strip())
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
        raise EOFError("the stream ended")


@contextlib.asynccontextmanager
async def sse(
    client: httpx.AsyncClient, url: str, *, skus: list[str], last_event_id: str | None = None
) -> AsyncIterator[SseStream]:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    params = [("sku", sku) for sku in skus]
    async with client.stream("GET", url, params=params, headers=headers) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseStream(response)
